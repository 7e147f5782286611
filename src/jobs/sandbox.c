/* The sandbox gateway's side: a queued notify, POSTed over HTTP to our own notify URL with the
 * sandbox signature, exactly as an outside gateway would call us. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cardshop/db.h"
#include "cardshop/pay.h"
#include "cardshop/sec.h"
#include "cardshop/util.h"
#include "internal.h"

struct request_ctx {
	const char *order_no;
	int64_t amount;
};

static int request_tx(sqlite3 *db, void *arg)
{
	(void)db;
	struct request_ctx *c = arg;
	char trade[25] = "SBX";
	sec_random_hex(trade + 3, 10);
	return jobs_enqueue("sandbox_notify",
	                    json_pack("{ss sI ss}", "order_no", c->order_no, "amount",
	                              (json_int_t)c->amount, "trade_no", trade),
	                    0);
}

int sandbox_request_notify(const char *order_no, int64_t amount)
{
	struct request_ctx c = {order_no, amount};
	if (db_write(request_tx, &c) != 0)
		return -1;
	jobs_wake();
	return 0;
}

static size_t collect(char *data, size_t size, size_t nmemb, void *arg)
{
	buf_append(arg, data, size * nmemb);
	return size * nmemb;
}

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
	struct buf reply;
	buf_init(&reply);
	CURL *curl = curl_easy_init();
	int rc = -1;
	if (curl) {
		curl_easy_setopt(curl, CURLOPT_URL, url);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
		curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
		curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
		curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
		CURLcode cc = curl_easy_perform(curl);
		if (cc != CURLE_OK)
			snprintf(err, errlen, "notify: %s", curl_easy_strerror(cc));
		else if (reply.len != 7 || memcmp(reply.data, "success", 7) != 0)
			snprintf(err, errlen, "notify answered: %.40s",
			         reply.len ? reply.data : "");
		else
			rc = 0;
		curl_easy_cleanup(curl);
	}
	buf_cleanup(&reply);
	free(body);
	free(url);
	return rc;
}
