/* Sandbox: a built-in demo gateway. Its pay page asks the server to send itself a signed
 * notify (through the jobs thread and real HTTP), which then takes the same path as any
 * gateway's. Only on when the demo or the config turns it on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cardshop/sec.h"
#include "cardshop/util.h"
#include "internal.h"

void sandbox_sign(const char *order_no, const char *trade_no, int64_t amount, char out[33])
{
	/* Length-prefixed fields: no two different (order, trade) pairs share a canonical form. */
	char *canon = xasprintf("%lld|%zu:%s|%zu:%s", (long long)amount, strlen(order_no), order_no,
	                        strlen(trade_no), trade_no);
	sec_derive_token("sandbox-notify", canon, out);
	free(canon);
}

static int enabled(const struct config *cfg)
{
	return cfg->sandbox_enabled;
}

static char *pay_url(const struct config *cfg, const struct pay_order *o)
{
	(void)cfg;
	return xasprintf("/pay/sandbox/checkout?order_no=%s&token=%s", o->order_no, o->token);
}

static int create(const struct config *cfg, const struct pay_order *o, struct pay_created *out,
                  char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	out->url = pay_url(cfg, o);
	return 0;
}

static void verify(const struct config *cfg, const struct pay_notify_in *in, struct notify *n)
{
	const struct kvlist *params = in->params;
	(void)cfg;
	n->order_no = kv_get(params, "order_no");
	n->trade_no = kv_get(params, "trade_no");
	const char *amount = kv_get(params, "amount");
	const char *sign = kv_get(params, "sign");
	n->verified = 0;
	if (!pay_params_unique(params) || !n->order_no || !n->trade_no || !amount || !sign ||
	    util_parse_i64(amount, 0, INT64_MAX, &n->amount) != 0) {
		n->reason = "missing, repeated or malformed parameters";
		return;
	}
	char want[33];
	sandbox_sign(n->order_no, n->trade_no, n->amount, want);
	if (!sec_streq(want, sign)) {
		n->reason = "bad signature";
		return;
	}
	n->verified = 1;
}

static const char *return_order(const struct kvlist *params)
{
	return kv_get(params, "order_no");
}

const struct gateway sandbox_gateway = {
    .name = "sandbox",
    .enabled = enabled,
    .create = create,
    .verify = verify,
    .return_order = return_order,
    .success_reply = "success",
    .failure_reply = "fail",
};
