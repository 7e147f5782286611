/* WeChat Pay API v3, Native: the transaction's code_url is the QR code the buyer scans.
 * Requests carry a WECHATPAY2-SHA256-RSA2048 Authorization signed with our key; answers and
 * notifies are signed with the platform key (Wechatpay-* headers) and the notify's resource
 * is AEAD_AES_256_GCM encrypted with the APIv3 key. */
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

#define WECHAT_WINDOW 300 /* seconds a signed timestamp may be off, either way */
#define NATIVE_PATH "/v3/pay/transactions/native"
#define GCM_TAG 16

char *wechat_sign_message(const char *method, const char *url_path, const char *timestamp,
                          const char *nonce, const char *body)
{
	return xasprintf("%s\n%s\n%s\n%s\n%s\n", method, url_path, timestamp, nonce, body);
}

char *wechat_answer_message(const char *timestamp, const char *nonce, const char *body,
                            size_t body_len)
{
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "%s\n%s\n", timestamp, nonce);
	buf_append(&b, body, body_len);
	buf_puts(&b, "\n");
	return buf_release(&b);
}

int wechat_gcm_decrypt(const char *key, const char *nonce, const char *aad, const char *b64,
                       char **plain, size_t *plain_len)
{
	*plain = NULL;
	size_t n;
	unsigned char *ct = b64 ? pay_base64_decode(b64, strlen(b64), &n) : NULL;
	if (!ct || n < GCM_TAG || !key || strlen(key) != 32 || !nonce || !*nonce) {
		free(ct);
		return -1;
	}
	size_t len = n - GCM_TAG;
	unsigned char *out = xmalloc(len + 1);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl = 0, finl = 0;
	int ok = ctx && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
	         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, (int)strlen(nonce), NULL) == 1 &&
	         EVP_DecryptInit_ex(ctx, NULL, NULL, (const unsigned char *)key,
	                            (const unsigned char *)nonce) == 1 &&
	         EVP_DecryptUpdate(ctx, NULL, &outl, (const unsigned char *)(aad ? aad : ""),
	                           (int)strlen(aad ? aad : "")) == 1 &&
	         EVP_DecryptUpdate(ctx, out, &outl, ct, (int)len) == 1 &&
	         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG, ct + len) == 1 &&
	         EVP_DecryptFinal_ex(ctx, out + outl, &finl) == 1;
	EVP_CIPHER_CTX_free(ctx);
	free(ct);
	if (!ok) {
		sec_wipe(out, len + 1);
		free(out);
		return -1;
	}
	*plain_len = (size_t)(outl + finl);
	out[*plain_len] = '\0';
	*plain = (char *)out;
	return 0;
}

static int enabled(const struct config *cfg)
{
	return cfg->wechat_enabled;
}

static int keys_ok(const struct config *cfg)
{
	return pay_keys_ok(cfg->wechat_private_key_file, cfg->wechat_platform_public_key_file);
}

static int ready(const struct config *cfg)
{
	return cfg->wechat_mchid[0] && cfg->wechat_appid[0] && cfg->wechat_serial_no[0] &&
	       cfg->wechat_platform_serial[0] && strlen(cfg->wechat_apiv3_key) == 32 &&
	       cfg->wechat_api_url[0] && keys_ok(cfg);
}

/* The Authorization header line for one request; NULL when our key cannot sign. */
static char *authorization(const struct config *cfg, const char *method, const char *path,
                           const char *body)
{
	char nonce[33], ts[24];
	sec_random_hex(nonce, 16);
	snprintf(ts, sizeof ts, "%lld", (long long)util_now());
	char *msg = wechat_sign_message(method, path, ts, nonce, body);
	EVP_PKEY *key = pay_key_load(cfg->wechat_private_key_file, 1);
	char *sig = key ? pay_rsa_sign(key, msg, strlen(msg)) : NULL;
	EVP_PKEY_free(key);
	free(msg);
	if (!sig)
		return NULL;
	char *line =
	    xasprintf("Authorization: WECHATPAY2-SHA256-RSA2048 mchid=\"%s\",nonce_str=\"%s\","
	              "signature=\"%s\",timestamp=\"%s\",serial_no=\"%s\"",
	              cfg->wechat_mchid, nonce, sig, ts, cfg->wechat_serial_no);
	free(sig);
	return line;
}

static int timestamp_fresh(const char *ts)
{
	int64_t t;
	if (!ts || util_parse_i64(ts, 0, INT64_MAX / 2, &t) != 0)
		return 0;
	int64_t d = util_now() - t;
	return d <= WECHAT_WINDOW && d >= -WECHAT_WINDOW;
}

/* The platform's signature over "timestamp\nnonce\nbody\n", by a key whose serial we expect. */
static int platform_signed(const struct config *cfg, const char *ts, const char *nonce,
                           const char *sig, const char *serial, const char *body, size_t len)
{
	if (!ts || !nonce || !sig || !serial || !cfg->wechat_platform_serial[0] ||
	    !sec_streq(serial, cfg->wechat_platform_serial))
		return 0;
	char *msg = wechat_answer_message(ts, nonce, body, len);
	EVP_PKEY *pub = pay_key_load(cfg->wechat_platform_public_key_file, 0);
	int ok = pay_rsa_verify(pub, msg, strlen(ts) + strlen(nonce) + len + 3, sig);
	EVP_PKEY_free(pub);
	free(msg);
	return ok;
}

static int answer_signed(const struct config *cfg, const struct fetch_reply *r)
{
	char ts[32], nonce[128], sig[1024], serial[128];
	if (fetch_reply_header(r, "Wechatpay-Timestamp", ts, sizeof ts) != 0 ||
	    fetch_reply_header(r, "Wechatpay-Nonce", nonce, sizeof nonce) != 0 ||
	    fetch_reply_header(r, "Wechatpay-Signature", sig, sizeof sig) != 0 ||
	    fetch_reply_header(r, "Wechatpay-Serial", serial, sizeof serial) != 0)
		return 0;
	return timestamp_fresh(ts) &&
	       platform_signed(cfg, ts, nonce, sig, serial, r->body.data ? r->body.data : "",
	                       r->body.len);
}

/* One signed call; the verified JSON answer (NULL + err when none). status gets the HTTP
 * status of a verified answer. */
static json_t *call(const struct config *cfg, const char *method, const char *path,
                    const char *body, long *status, char **raw, char *err, size_t errlen)
{
	char *auth = authorization(cfg, method, path, body ? body : "");
	if (!auth) {
		snprintf(err, errlen, "cannot sign the request (check private_key_file)");
		return NULL;
	}
	const char *base = cfg->wechat_api_url;
	size_t blen = strlen(base);
	char *url =
	    xasprintf("%.*s%s", (int)(blen && base[blen - 1] == '/' ? blen - 1 : blen), base, path);
	const char *headers[] = {auth, "Accept: application/json", "User-Agent: cardshop", NULL};
	struct fetch_req r = {.url = url,
	                      .body = body,
	                      .body_len = body ? strlen(body) : 0,
	                      .content_type = "application/json",
	                      .connect_timeout_s = 5,
	                      .timeout_s = 10,
	                      .headers = headers};
	struct fetch_reply reply;
	int rc = fetch_http(&r, &reply, err, errlen);
	free(auth);
	free(url);
	if (rc != 0)
		return NULL;
	json_t *j = NULL;
	if (!answer_signed(cfg, &reply))
		snprintf(err, errlen, "answer (HTTP %ld) not signed by the platform key",
		         reply.status);
	else if (!(j = json_loadb(reply.body.data ? reply.body.data : "", reply.body.len,
	                          JSON_REJECT_DUPLICATES, NULL)))
		snprintf(err, errlen, "answer (HTTP %ld) is not JSON", reply.status);
	*status = reply.status;
	if (raw)
		*raw = buf_release(&reply.body);
	fetch_reply_cleanup(&reply);
	return j;
}

/* RFC 3339 in China Standard Time, as the API's examples write it. */
static void time_rfc3339(int64_t utc, char out[32])
{
	time_t t = (time_t)(utc + 8 * 3600);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%S+08:00", &tm);
}

static char *native_body(const struct config *cfg, const struct pay_order *o)
{
	char expire[32];
	time_rfc3339(o->expires_at, expire);
	const char *name = o->product_name && *o->product_name ? o->product_name : o->order_no;
	char *desc = xstrndup(name, util_utf8_prefix(name, 127)); /* description: 127 bytes */
	char *notify = xasprintf("%s/pay/wechat/notify", cfg->base_url);
	json_t *j = json_pack("{ss ss ss ss ss ss s{sI ss}}", "appid", cfg->wechat_appid, "mchid",
	                      cfg->wechat_mchid, "description", desc, "out_trade_no", o->order_no,
	                      "time_expire", expire, "notify_url", notify, "amount", "total",
	                      (json_int_t)o->amount, "currency", "CNY");
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	free(desc);
	free(notify);
	return text;
}

static int create(const struct config *cfg, const struct pay_order *o, struct pay_created *out,
                  char *err, size_t errlen)
{
	/* Another currency never gets here: pay_create refuses it by .currency. */
	char *body = native_body(cfg, o);
	long status = 0;
	json_t *j = call(cfg, "POST", NATIVE_PATH, body, &status, NULL, err, errlen);
	free(body);
	if (!j)
		return -1;
	const char *code_url = json_string_value(json_object_get(j, "code_url"));
	int rc = -1;
	if (status != 200 || !code_url || !*code_url) {
		const char *code = json_string_value(json_object_get(j, "code"));
		snprintf(err, errlen, "native order refused (HTTP %ld, %s)", status,
		         code ? code : "?");
	} else {
		out->qr = xstrdup(code_url);
		out->url = pay_qr_page_url(o);
		rc = 0;
	}
	json_decref(j);
	return rc;
}

/* The decrypted transaction outlives verify (payment_apply reads it): kept per thread until
 * that thread's next notify. */
static _Thread_local char tl_order_no[64], tl_trade_no[64], tl_currency[8];

static int copy_field(json_t *o, const char *name, char *out, size_t n)
{
	const char *v = json_string_value(json_object_get(o, name));
	if (!v || !*v || strlen(v) >= n)
		return -1;
	memcpy(out, v, strlen(v) + 1);
	return 0;
}

/* Checks the decrypted transaction and fills n; reason set when it does not pass. */
static void read_transaction(const struct config *cfg, json_t *t, struct notify *n)
{
	json_t *amount = json_object_get(t, "amount");
	json_t *total = json_object_get(amount, "total");
	const char *mchid = json_string_value(json_object_get(t, "mchid"));
	const char *appid = json_string_value(json_object_get(t, "appid"));
	const char *state = json_string_value(json_object_get(t, "trade_state"));
	if (copy_field(t, "out_trade_no", tl_order_no, sizeof tl_order_no) != 0 ||
	    copy_field(t, "transaction_id", tl_trade_no, sizeof tl_trade_no) != 0 ||
	    copy_field(amount, "currency", tl_currency, sizeof tl_currency) != 0 ||
	    !json_is_integer(total) || json_integer_value(total) < 0) {
		n->reason = "resource without out_trade_no, transaction_id or amount";
		return;
	}
	n->order_no = tl_order_no;
	n->trade_no = tl_trade_no;
	n->currency = tl_currency;
	n->amount = json_integer_value(total);
	if (!mchid || strcmp(mchid, cfg->wechat_mchid) != 0)
		n->reason = "mchid does not match";
	else if (!appid || strcmp(appid, cfg->wechat_appid) != 0)
		n->reason = "appid does not match";
	else if (!state || strcmp(state, "SUCCESS") != 0)
		n->reason = "trade_state is not SUCCESS";
	else
		n->verified = 1;
}

/* The resource, decrypted: a new reference or NULL. */
static json_t *decrypt_resource(const struct config *cfg, json_t *body)
{
	json_t *res = json_object_get(body, "resource");
	const char *alg = json_string_value(json_object_get(res, "algorithm"));
	if (!alg || strcmp(alg, "AEAD_AES_256_GCM") != 0)
		return NULL;
	char *plain;
	size_t len;
	if (wechat_gcm_decrypt(
	        cfg->wechat_apiv3_key, json_string_value(json_object_get(res, "nonce")),
	        json_string_value(json_object_get(res, "associated_data")),
	        json_string_value(json_object_get(res, "ciphertext")), &plain, &len) != 0)
		return NULL;
	json_t *t = json_loadb(plain, len, JSON_REJECT_DUPLICATES, NULL);
	free(plain);
	return t;
}

static void verify(const struct config *cfg, const struct pay_notify_in *in, struct notify *n)
{
	n->verified = 0;
	tl_order_no[0] = tl_trade_no[0] = tl_currency[0] = '\0';
	const char *ts = pay_notify_header(in, "Wechatpay-Timestamp");
	if (strlen(cfg->wechat_apiv3_key) != 32 ||
	    !platform_signed(cfg, ts, pay_notify_header(in, "Wechatpay-Nonce"),
	                     pay_notify_header(in, "Wechatpay-Signature"),
	                     pay_notify_header(in, "Wechatpay-Serial"), in->body, in->body_len)) {
		n->reason = "bad signature or serial";
		return;
	}
	if (!timestamp_fresh(ts)) {
		n->reason = "timestamp outside the 300 s window";
		return;
	}
	json_t *body = json_loadb(in->body, in->body_len, JSON_REJECT_DUPLICATES, NULL);
	json_t *t = body ? decrypt_resource(cfg, body) : NULL;
	json_decref(body);
	if (!json_is_object(t))
		n->reason = "resource does not decrypt";
	else
		read_transaction(cfg, t, n);
	json_decref(t);
}

static void reply(int ok, struct pay_reply *out)
{
	if (ok)
		*out = (struct pay_reply){204, "text/plain; charset=utf-8", ""};
	else
		*out = (struct pay_reply){500, "application/json; charset=utf-8",
		                          "{\"code\":\"FAIL\",\"message\":\"rejected\"}"};
}

static int can_query(const struct config *cfg)
{
	return ready(cfg);
}

static void read_query(const struct config *cfg, const char *order_no, json_t *t,
                       struct pay_query *out)
{
	json_t *amount = json_object_get(t, "amount");
	json_t *total = json_object_get(amount, "total");
	const char *cur = json_string_value(json_object_get(amount, "currency"));
	const char *no = json_string_value(json_object_get(t, "out_trade_no"));
	const char *trade = json_string_value(json_object_get(t, "transaction_id"));
	const char *state = json_string_value(json_object_get(t, "trade_state"));
	const char *mchid = json_string_value(json_object_get(t, "mchid"));
	const char *appid = json_string_value(json_object_get(t, "appid"));
	out->paid = state && strcmp(state, "SUCCESS") == 0 && no && strcmp(no, order_no) == 0 &&
	            mchid && strcmp(mchid, cfg->wechat_mchid) == 0 && appid &&
	            strcmp(appid, cfg->wechat_appid) == 0 && cur &&
	            strcmp(cur, cfg->currency) == 0 && json_is_integer(total) && trade && *trade &&
	            strlen(trade) < sizeof out->trade_no;
	if (out->paid) {
		out->amount = json_integer_value(total);
		snprintf(out->trade_no, sizeof out->trade_no, "%s", trade);
	}
}

/* A signed 200 (read as paid or not) or a signed 404 ORDER_NOT_EXIST (not paid) is an answer;
 * anything else counts as none. */
static int query(const struct config *cfg, const char *order_no, struct pay_query *out)
{
	memset(out, 0, sizeof *out);
	char *no = curl_easy_escape(NULL, order_no, 0);
	char *mchid = curl_easy_escape(NULL, cfg->wechat_mchid, 0);
	char *path = xasprintf("/v3/pay/transactions/out-trade-no/%s?mchid=%s", no ? no : "",
	                       mchid ? mchid : "");
	curl_free(no);
	curl_free(mchid);
	long status = 0;
	char err[160];
	json_t *j = call(cfg, "GET", path, NULL, &status, &out->raw, err, sizeof err);
	free(path);
	const char *code = json_string_value(json_object_get(j, "code"));
	int rc = -1;
	if (j && status == 200) {
		read_query(cfg, order_no, j, out);
		rc = 0;
	} else if (j && status == 404 && code && strcmp(code, "ORDER_NOT_EXIST") == 0) {
		rc = 0;
	}
	json_decref(j);
	if (rc != 0) {
		free(out->raw);
		out->raw = NULL;
	}
	return rc;
}

static const char *return_order(const struct kvlist *params)
{
	return kv_get(params, "out_trade_no");
}

const struct gateway wechat_gateway = {
    .name = "wechat",
    .enabled = enabled,
    .ready = ready,
    .can_query = can_query,
    .query = query,
    .create = create,
    .verify = verify,
    .return_order = return_order,
    .reply = reply,
    .success_reply = "",
    .failure_reply = "{\"code\":\"FAIL\",\"message\":\"rejected\"}",
    .currency = "CNY",
};
