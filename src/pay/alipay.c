/* Alipay 当面付 (face-to-face): alipay.trade.precreate gives the QR payload the buyer scans,
 * the notify (POST form) and alipay.trade.query answers are RSA2 (SHA256withRSA) signed. */
#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cardshop/fetch.h"
#include "cardshop/sec.h"
#include "cardshop/util.h"
#include "internal.h"

#define SHANGHAI_UTC_OFFSET (8 * 3600) /* Asia/Shanghai: no daylight saving since 1991 */

static int cmp_kv(const void *a, const void *b)
{
	const struct kv *x = *(const struct kv *const *)a;
	const struct kv *y = *(const struct kv *const *)b;
	return strcmp(x->name, y->name);
}

char *alipay_sign_content(const struct kvlist *params, int notify, int skip_empty)
{
	const struct kv **sorted = xmalloc((params->count + 1) * sizeof *sorted);
	size_t n = 0;
	for (size_t i = 0; i < params->count; i++) {
		const struct kv *kv = &params->items[i];
		if (!strcmp(kv->name, "sign") || (notify && !strcmp(kv->name, "sign_type")) ||
		    (skip_empty && !kv->value[0]))
			continue;
		sorted[n++] = kv;
	}
	qsort(sorted, n, sizeof *sorted, cmp_kv);
	struct buf b;
	buf_init(&b);
	buf_cstr(&b);
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%s%s=%s", i ? "&" : "", sorted[i]->name, sorted[i]->value);
	free(sorted);
	return buf_release(&b);
}

void alipay_time_format(int64_t utc, char out[20])
{
	time_t t = (time_t)(utc + SHANGHAI_UTC_OFFSET);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 20, "%Y-%m-%d %H:%M:%S", &tm);
}

/* Skips one JSON value starting at p (whitespace before it skipped); NULL when malformed. */
static const char *skip_value(const char *p, const char *end)
{
	int depth = 0, in_str = 0;
	for (; p < end; p++) {
		char c = *p;
		if (in_str) {
			if (c == '\\')
				p++;
			else if (c == '"')
				in_str = 0;
			else
				continue;
			if (!in_str && depth == 0)
				return p + 1;
			continue;
		}
		if (c == '"')
			in_str = 1;
		else if (c == '{' || c == '[')
			depth++;
		else if (c == '}' || c == ']') {
			if (depth == 0)
				return p; /* the end of a number or literal that closes its object
				           */
			if (--depth < 0)
				return NULL;
			if (depth == 0)
				return p + 1;
		} else if (depth == 0 &&
		           (c == ',' || c == ' ' || c == '\n' || c == '\r' || c == '\t'))
			return p;
	}
	return depth == 0 && !in_str ? p : NULL;
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	return p;
}

int alipay_response_span(const char *text, size_t len, const char *key, size_t *start, size_t *vlen)
{
	const char *p = skip_ws(text, text + len), *end = text + len;
	if (p >= end || *p++ != '{')
		return -1;
	size_t klen = strlen(key);
	while ((p = skip_ws(p, end)) < end && *p == '"') {
		const char *name = p + 1;
		const char *name_end = skip_value(p, end);
		if (!name_end)
			return -1;
		p = skip_ws(name_end, end);
		if (p >= end || *p++ != ':')
			return -1;
		p = skip_ws(p, end);
		const char *v = p;
		p = skip_value(p, end);
		if (!p || p == v)
			return -1;
		if ((size_t)(name_end - 1 - name) == klen && memcmp(name, key, klen) == 0) {
			*start = (size_t)(v - text);
			*vlen = (size_t)(p - v);
			return 0;
		}
		p = skip_ws(p, end);
		if (p < end && *p == ',')
			p++;
	}
	return -1;
}

static int enabled(const struct config *cfg)
{
	return cfg->alipay_enabled;
}

static int keys_ok(const struct config *cfg)
{
	return pay_keys_ok(cfg->alipay_private_key_file, cfg->alipay_public_key_file);
}

/* Without an app id, our key and Alipay's, no request could be signed or notify verified. */
static int ready(const struct config *cfg)
{
	return cfg->alipay_app_id[0] && cfg->alipay_gateway_url[0] && keys_ok(cfg);
}

static void add_param(struct kvlist *l, const char *name, const char *value)
{
	l->items = xrealloc(l->items, (l->count + 1) * sizeof *l->items);
	l->items[l->count].name = xstrdup(name);
	l->items[l->count].value = xstrdup(value);
	l->count++;
}

/* The signed form of one OpenAPI call (common parameters + biz_content); NULL on failure. */
static char *request_body(const struct config *cfg, const char *method, const char *biz,
                          int with_notify)
{
	struct kvlist p = {0};
	char ts[20];
	alipay_time_format(util_now(), ts);
	add_param(&p, "app_id", cfg->alipay_app_id);
	add_param(&p, "method", method);
	add_param(&p, "format", "JSON");
	add_param(&p, "charset", "utf-8");
	add_param(&p, "sign_type", "RSA2");
	add_param(&p, "timestamp", ts);
	add_param(&p, "version", "1.0");
	if (with_notify) {
		char *notify = xasprintf("%s/pay/alipay/notify", cfg->base_url);
		add_param(&p, "notify_url", notify);
		free(notify);
	}
	add_param(&p, "biz_content", biz);
	char *content = alipay_sign_content(&p, 0, 1);
	EVP_PKEY *key = pay_key_load(cfg->alipay_private_key_file, 1);
	char *sign = key ? pay_rsa_sign(key, content, strlen(content)) : NULL;
	EVP_PKEY_free(key);
	free(content);
	if (!sign) {
		kv_free(&p);
		return NULL;
	}
	add_param(&p, "sign", sign);
	free(sign);
	struct buf body;
	buf_init(&body);
	for (size_t i = 0; i < p.count; i++) {
		char *v = curl_easy_escape(NULL, p.items[i].value, 0);
		buf_printf(&body, "%s%s=%s", i ? "&" : "", p.items[i].name, v ? v : "");
		curl_free(v);
	}
	kv_free(&p);
	return buf_release(&body);
}

/* The named response object of an answer whose signature is Alipay's; NULL otherwise. The
 * signature covers the object's exact bytes, so they are cut from the text, not re-encoded;
 * repeated names are refused so the object read is the one that was signed. */
static json_t *signed_response(const struct config *cfg, const struct buf *reply, const char *key)
{
	const char *text = reply->data ? reply->data : "";
	json_t *whole = json_loadb(text, reply->len, JSON_REJECT_DUPLICATES, NULL);
	const char *sign = json_string_value(json_object_get(whole, "sign"));
	size_t start, len;
	json_t *resp = NULL;
	if (sign && alipay_response_span(text, reply->len, key, &start, &len) == 0) {
		EVP_PKEY *pub = pay_key_load(cfg->alipay_public_key_file, 0);
		if (pay_rsa_verify(pub, text + start, len, sign))
			resp = json_incref(json_object_get(whole, key));
		EVP_PKEY_free(pub);
	}
	json_decref(whole);
	if (resp && !json_is_object(resp)) {
		json_decref(resp);
		resp = NULL;
	}
	return resp;
}

/* "alipay.trade.query" -> "alipay_trade_query_response" (static buffer per call site). */
static const char *method_response_key(const char *method)
{
	static _Thread_local char key[64];
	snprintf(key, sizeof key, "%s_response", method);
	for (char *p = key; *p; p++) {
		if (*p == '.')
			*p = '_';
	}
	return key;
}

/* POSTs one call and returns its verified response object (NULL + err otherwise). */
static json_t *call(const struct config *cfg, const char *method, const char *biz, int with_notify,
                    char **raw, char *err, size_t errlen)
{
	char *body = request_body(cfg, method, biz, with_notify);
	if (!body) {
		snprintf(err, errlen, "cannot sign the request (check private_key_file)");
		return NULL;
	}
	struct fetch_req r = {.url = cfg->alipay_gateway_url,
	                      .body = body,
	                      .body_len = strlen(body),
	                      .content_type = "application/x-www-form-urlencoded;charset=utf-8",
	                      .connect_timeout_s = 5,
	                      .timeout_s = 10};
	struct fetch_reply reply;
	int rc = fetch_http(&r, &reply, err, errlen);
	free(body);
	if (rc != 0)
		return NULL;
	json_t *resp = NULL;
	if (reply.status != 200)
		snprintf(err, errlen, "gateway answered HTTP %ld", reply.status);
	else if (!(resp = signed_response(cfg, &reply.body, method_response_key(method))))
		snprintf(err, errlen, "answer not signed by Alipay's key");
	if (raw)
		*raw = buf_release(&reply.body);
	fetch_reply_cleanup(&reply);
	return resp;
}

static int code_ok(json_t *resp)
{
	const char *code = json_string_value(json_object_get(resp, "code"));
	return code && strcmp(code, "10000") == 0;
}

static char *precreate_biz(const struct config *cfg, const struct pay_order *o)
{
	char money[32], expire[20];
	pay_format_money(o->amount, money);
	alipay_time_format(o->expires_at, expire);
	(void)cfg;
	json_t *biz = json_pack("{ss ss ss ss}", "out_trade_no", o->order_no, "total_amount", money,
	                        "subject",
	                        o->product_name && *o->product_name ? o->product_name : o->order_no,
	                        "time_expire", expire);
	char *text = json_dumps(biz, JSON_COMPACT);
	json_decref(biz);
	return text;
}

/* The shop's own pay page shows the QR code; it is where the buyer goes. */
char *pay_qr_page_url(const struct pay_order *o)
{
	return xasprintf("/shop/pay?order_no=%s&token=%s", o->order_no, o->token);
}

static int create(const struct config *cfg, const struct pay_order *o, struct pay_created *out,
                  char *err, size_t errlen)
{
	/* Another currency never gets here: pay_create refuses it by .currency. */
	char *biz = precreate_biz(cfg, o);
	json_t *resp = call(cfg, "alipay.trade.precreate", biz, 1, NULL, err, errlen);
	free(biz);
	if (!resp)
		return -1;
	const char *no = json_string_value(json_object_get(resp, "out_trade_no"));
	const char *qr = json_string_value(json_object_get(resp, "qr_code"));
	int rc = -1;
	if (!code_ok(resp))
		snprintf(err, errlen, "precreate refused (code %s)",
		         json_string_value(json_object_get(resp, "code"))
		             ? json_string_value(json_object_get(resp, "code"))
		             : "?");
	else if (!no || strcmp(no, o->order_no) != 0 || !qr || !*qr)
		snprintf(err, errlen, "precreate answer without our order or a qr_code");
	else {
		out->qr = xstrdup(qr);
		out->url = pay_qr_page_url(o);
		rc = 0;
	}
	json_decref(resp);
	return rc;
}

static int paid_status(const char *s)
{
	return s && (strcmp(s, "TRADE_SUCCESS") == 0 || strcmp(s, "TRADE_FINISHED") == 0);
}

/* RSA2 over the sorted parameters without sign and sign_type. Alipay's servers leave empty
 * parameters out of what they sign: when the full string fails, that form is tried too (an
 * empty parameter carries nothing we read). */
int alipay_notify_signed(const struct config *cfg, const struct kvlist *params)
{
	const char *sign = kv_get(params, "sign");
	EVP_PKEY *pub = pay_key_load(cfg->alipay_public_key_file, 0);
	int ok = 0;
	for (int skip_empty = 0; pub && sign && !ok && skip_empty < 2; skip_empty++) {
		char *content = alipay_sign_content(params, 1, skip_empty);
		ok = pay_rsa_verify(pub, content, strlen(content), sign);
		free(content);
	}
	EVP_PKEY_free(pub);
	return ok;
}

static void verify(const struct config *cfg, const struct pay_notify_in *in, struct notify *n)
{
	const struct kvlist *params = in->params;
	n->order_no = kv_get(params, "out_trade_no");
	n->trade_no = kv_get(params, "trade_no");
	const char *app_id = kv_get(params, "app_id");
	const char *status = kv_get(params, "trade_status");
	const char *money = kv_get(params, "total_amount");
	const char *sign_type = kv_get(params, "sign_type");
	n->verified = 0;
	if (!pay_params_unique(params) || !kv_get(params, "sign") || !n->order_no || !n->trade_no ||
	    !money || !app_id) {
		n->reason = "missing or repeated parameters";
		return;
	}
	if ((sign_type && strcmp(sign_type, "RSA2") != 0) || !alipay_notify_signed(cfg, params)) {
		n->reason = "bad signature";
		return;
	}
	if (strcmp(app_id, cfg->alipay_app_id) != 0) {
		n->reason = "app_id does not match";
		return;
	}
	if (!paid_status(status)) {
		n->reason = "trade_status is not TRADE_SUCCESS or TRADE_FINISHED";
		return;
	}
	if (pay_parse_money(money, &n->amount) != 0) {
		n->reason = "total_amount is not an amount";
		return;
	}
	n->currency = "CNY"; /* 当面付 settles in yuan only */
	n->verified = 1;
}

static int can_query(const struct config *cfg)
{
	return ready(cfg);
}

/* A signed answer: paid (TRADE_SUCCESS/FINISHED for our order), or not paid (any other
 * status, or ACQ.TRADE_NOT_EXIST: the buyer never scanned). Unsigned answers count as none. */
static int query(const struct config *cfg, const char *order_no, struct pay_query *out)
{
	memset(out, 0, sizeof *out);
	json_t *biz = json_pack("{ss}", "out_trade_no", order_no);
	char *text = json_dumps(biz, JSON_COMPACT);
	json_decref(biz);
	char err[128];
	json_t *resp = call(cfg, "alipay.trade.query", text, 0, &out->raw, err, sizeof err);
	free(text);
	if (!resp) {
		free(out->raw);
		out->raw = NULL;
		return -1;
	}
	const char *no = json_string_value(json_object_get(resp, "out_trade_no"));
	const char *trade = json_string_value(json_object_get(resp, "trade_no"));
	const char *money = json_string_value(json_object_get(resp, "total_amount"));
	out->paid = code_ok(resp) &&
	            paid_status(json_string_value(json_object_get(resp, "trade_status"))) && no &&
	            strcmp(no, order_no) == 0 && trade && *trade &&
	            strlen(trade) < sizeof out->trade_no && money &&
	            pay_parse_money(money, &out->amount) == 0;
	if (out->paid)
		snprintf(out->trade_no, sizeof out->trade_no, "%s", trade);
	json_decref(resp);
	return 0;
}

static const char *return_order(const struct kvlist *params)
{
	return kv_get(params, "out_trade_no");
}

const struct gateway alipay_gateway = {
    .name = "alipay",
    .enabled = enabled,
    .ready = ready,
    .can_query = can_query,
    .query = query,
    .create = create,
    .verify = verify,
    .return_order = return_order,
    .success_reply = "success",
    .failure_reply = "fail",
    .currency = "CNY",
};
