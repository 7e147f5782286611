/* The sandbox gateway's network half: a queued notify (put by shop/sandbox.c), POSTed over HTTP to
 * our own notify URL with the sandbox signature, exactly as an outside gateway would call us. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cardshop/fetch.h"
#include "cardshop/pay.h"
#include "cardshop/sec.h"
#include "cardshop/util.h"
#include "internal.h"

int job_sandbox_notify(const struct config *cfg, json_t *payload, char *err, size_t errlen)
{
	const char *no = json_string_value(json_object_get(payload, "order_no"));
	const char *trade = json_string_value(json_object_get(payload, "trade_no"));
	json_int_t amount = json_integer_value(json_object_get(payload, "amount"));
	if (!no || !trade) {
		snprintf(err, errlen, "bad payload");
		return -1;
	}
	char sign[33];
	sandbox_sign(no, trade, amount, sign);
	char *body = xasprintf("order_no=%s&trade_no=%s&amount=%lld&sign=%s", no, trade,
	                       (long long)amount, sign);
	char *url = xasprintf("%s/pay/sandbox/notify", cfg->base_url);
	struct fetch_req r = {.url = url, .body = body, .body_len = strlen(body), .timeout_s = 10};
	struct fetch_reply reply;
	char why[128];
	int rc = -1;
	if (fetch_http(&r, &reply, why, sizeof why) != 0)
		snprintf(err, errlen, "notify: %s", why);
	else if (reply.body.len != 7 || memcmp(reply.body.data, "success", 7) != 0)
		snprintf(err, errlen, "notify answered %ld: %.40s", reply.status,
		         reply.body.len ? reply.body.data : "");
	else
		rc = 0;
	fetch_reply_cleanup(&reply);
	free(body);
	free(url);
	return rc;
}
