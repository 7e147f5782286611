/* USDT through epusdt / BEpusdt: create-transaction signed with MD5 (the buyer is sent to its
 * checkout page), and its JSON notify verified the way the epusdt server signs it. epusdt has
 * no merchant order query (its check-status page is public, unsigned and carries no amount),
 * so a lost notify is not asked about: the order expires at its time and a late notify follows
 * the late-payment rules. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cardshop/fetch.h"
#include "cardshop/sec.h"
#include "cardshop/util.h"
#include "internal.h"

/* Go's strconv.FormatFloat(v, 'f', -1, 64): the fewest significant digits that read back as
 * v, written without an exponent. */
void epusdt_format_number(double v, char out[400])
{
	char e[40];
	int p = 0;
	for (; p < 17; p++) {
		snprintf(e, sizeof e, "%.*e", p, v);
		if (strtod(e, NULL) == v)
			break;
	}
	/* e is "[-]d[.ddd]e±XX": the digits, then the exponent of the first one. */
	char digits[24];
	size_t n = 0;
	const char *s = e;
	int neg = *s == '-';
	s += neg;
	for (; *s && *s != 'e'; s++) {
		if (*s != '.' && n + 1 < sizeof digits)
			digits[n++] = *s;
	}
	digits[n] = '\0';
	int exp = atoi(s + 1);
	while (n > 1 && digits[n - 1] == '0')
		digits[--n] = '\0';
	struct buf b;
	buf_init(&b);
	if (neg)
		buf_puts(&b, "-");
	if (exp >= (int)n - 1) {
		buf_puts(&b, digits);
		for (int i = 0; i < exp - ((int)n - 1); i++)
			buf_puts(&b, "0");
	} else if (exp >= 0) {
		buf_printf(&b, "%.*s.%s", exp + 1, digits, digits + exp + 1);
	} else {
		buf_puts(&b, "0.");
		for (int i = 0; i < -exp - 1; i++)
			buf_puts(&b, "0");
		buf_puts(&b, digits);
	}
	snprintf(out, 400, "%s", buf_cstr(&b));
	buf_cleanup(&b);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int epusdt_sign(json_t *obj, const char *token, char out[33])
{
	size_t cap = json_object_size(obj), n = 0;
	char **pairs = xcalloc(cap + 1, sizeof *pairs);
	const char *k;
	json_t *v;
	int rc = 0;
	json_object_foreach(obj, k, v)
	{
		char num[400];
		if (strcmp(k, "signature") == 0 || json_is_null(v))
			continue;
		if (json_is_string(v))
			pairs[n++] = xasprintf("%s=%s", k, json_string_value(v));
		else if (json_is_number(v)) {
			epusdt_format_number(json_number_value(v), num);
			pairs[n++] = xasprintf("%s=%s", k, num);
		} else {
			rc = -1; /* the server refuses to sign booleans, objects and arrays */
			break;
		}
	}
	if (rc == 0) {
		/* Sorted as whole "k=v" strings, as the server sorts them. */
		qsort(pairs, n, sizeof *pairs, cmp_str);
		struct buf b;
		buf_init(&b);
		for (size_t i = 0; i < n; i++)
			buf_printf(&b, "%s%s", i ? "&" : "", pairs[i]);
		buf_puts(&b, token);
		sec_md5_hex(b.data, b.len, out);
		sec_wipe(b.data, b.len);
		buf_cleanup(&b);
	}
	for (size_t i = 0; i < n; i++)
		free(pairs[i]);
	free(pairs);
	return rc;
}

static int enabled(const struct config *cfg)
{
	return cfg->epusdt_enabled;
}

static int ready(const struct config *cfg)
{
	return cfg->epusdt_token[0] && cfg->epusdt_api_url[0];
}

/* 1288 -> 12.88, 200 -> 2: the number the server reads and signs. */
static double major_units(int64_t minor)
{
	return (double)minor / 100.0;
}

static char *create_body(const struct config *cfg, const struct pay_order *o)
{
	char *notify = xasprintf("%s/pay/epusdt/notify", cfg->base_url);
	char *back = xasprintf("%s/pay/epusdt/return?order_no=%s", cfg->base_url, o->order_no);
	json_t *req = json_pack("{ss sf ss ss}", "order_id", o->order_no, "amount",
	                        major_units(o->amount), "notify_url", notify, "redirect_url", back);
	char sig[33];
	epusdt_sign(req, cfg->epusdt_token, sig);
	json_object_del(req, "amount");
	json_object_set_new(req, "signature", json_string(sig));
	char *rest = json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(req);
	free(notify);
	free(back);
	/* The amount is written in the form that was signed, not as jansson would print it. */
	char num[400];
	epusdt_format_number(major_units(o->amount), num);
	char *body = xasprintf("{\"amount\":%s,%s", num, rest + 1);
	free(rest);
	return body;
}

static int create(const struct config *cfg, const struct pay_order *o, struct pay_created *out,
                  char *err, size_t errlen)
{
	/* Another currency never gets here: pay_create refuses it by .currency. */
	const char *base = cfg->epusdt_api_url;
	size_t blen = strlen(base);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	char *url = xasprintf("%.*s/api/v1/order/create-transaction", (int)blen, base);
	char *body = create_body(cfg, o);
	struct fetch_req r = {.url = url,
	                      .body = body,
	                      .body_len = strlen(body),
	                      .content_type = "application/json",
	                      .timeout_s = 10};
	struct fetch_reply reply;
	int rc = fetch_http(&r, &reply, err, errlen);
	free(url);
	free(body);
	if (rc != 0)
		return -1;
	json_t *j = json_loadb(reply.body.data ? reply.body.data : "", reply.body.len, 0, NULL);
	json_t *data = json_object_get(j, "data");
	const char *pay = json_string_value(json_object_get(data, "payment_url"));
	const char *no = json_string_value(json_object_get(data, "order_id"));
	rc = -1;
	if (reply.status != 200 || !pay ||
	    (strncmp(pay, "https://", 8) && strncmp(pay, "http://", 7)))
		snprintf(err, errlen, "epusdt answered %ld without a payment_url", reply.status);
	else if (no && strcmp(no, o->order_no) != 0)
		snprintf(err, errlen, "epusdt answered for another order");
	else {
		out->url = xstrdup(pay);
		rc = 0;
	}
	json_decref(j);
	fetch_reply_cleanup(&reply);
	return rc;
}

static void verify(const struct config *cfg, const struct pay_notify_in *in, struct notify *n)
{
	n->verified = 0;
	if (!cfg->epusdt_token[0]) {
		n->reason = "no token configured";
		return;
	}
	json_t *j = json_loadb(in->body, in->body_len, JSON_REJECT_DUPLICATES, NULL);
	const char *sig = json_string_value(json_object_get(j, "signature"));
	if (!in->hold || !json_is_object(j) || !sig) {
		n->reason = "not an epusdt notify (JSON with a signature)";
		json_decref(j);
		return;
	}
	*in->hold = j; /* n's strings point into it */
	n->order_no = json_string_value(json_object_get(j, "order_id"));
	n->trade_no = json_string_value(json_object_get(j, "trade_id"));
	char want[33];
	if (epusdt_sign(j, cfg->epusdt_token, want) != 0 || !sec_streq(want, sig)) {
		n->reason = "bad signature";
		return;
	}
	json_t *status = json_object_get(j, "status"), *amount = json_object_get(j, "amount");
	char num[400];
	if (!n->order_no || !n->trade_no || !*n->trade_no || strlen(n->trade_no) > 128) {
		n->reason = "missing order_id or trade_id";
		return;
	}
	if (!json_is_number(status) || json_number_value(status) != 2) {
		n->reason = "status is not 2 (paid)";
		return;
	}
	if (!json_is_number(amount)) {
		n->reason = "amount is not a number";
		return;
	}
	epusdt_format_number(json_number_value(amount), num);
	if (pay_parse_money(num, &n->amount) != 0) {
		n->reason = "amount is not an amount";
		return;
	}
	n->currency = "CNY"; /* what epusdt's amount is in */
	n->verified = 1;
}

static const char *return_order(const struct kvlist *params)
{
	return kv_get(params, "order_no");
}

const struct gateway epusdt_gateway = {
    .name = "epusdt",
    .enabled = enabled,
    .ready = ready,
    .create = create,
    .verify = verify,
    .return_order = return_order,
    .success_reply = "ok",
    .failure_reply = "fail",
    .currency = "CNY",
};
