/* Fuzz target: a WeChat Pay v3 notify (Wechatpay-* headers + JSON body with an AES-256-GCM
 * resource) checked by the gateway's verify, with a platform key pair made at start-up.
 * Input: "nonce\nserial\nsignature\n" then the body. Checks that nothing verifies without the
 * platform's signature over "timestamp\nnonce\nbody\n" (as sent, by another key, with another
 * serial, outside the 300 s window, or with a broken GCM tag), and that the input's body used
 * as the transaction, encrypted and signed properly, verifies exactly when it is acceptable. */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../src/pay/internal.h"
#include "cardshop/config.h"
#include "cardshop/pay.h"
#include "cardshop/util.h"
#include "fuzz.h"

#define MCHID "1900000109"
#define APPID "wxd678efh567hg6787"
#define SERIAL "PUB_KEY_ID_0114232134912410000000"
#define APIV3 "0123456789abcdef0123456789abcdef"

static struct config cfg;
static char dir[64], *pub;

/* The key file stays while the target runs: the gateway re-reads it when it changes. */
static void cleanup(void)
{
	unlink(pub);
	rmdir(dir);
	free(pub);
}
static const struct gateway *gw;
static EVP_PKEY *platform_key, *other_key;

struct headers {
	const char *ts, *nonce, *sig, *serial;
};

static const char *header(void *ctx, const char *name)
{
	const struct headers *h = ctx;
	if (!strcmp(name, "Wechatpay-Timestamp"))
		return h->ts;
	if (!strcmp(name, "Wechatpay-Nonce"))
		return h->nonce;
	if (!strcmp(name, "Wechatpay-Signature"))
		return h->sig;
	if (!strcmp(name, "Wechatpay-Serial"))
		return h->serial;
	return NULL;
}

static void init_once(void)
{
	if (gw)
		return;
	char err[256];
	snprintf(dir, sizeof dir, "/tmp/cardshop-fuzz-wechat-XXXXXX");
	FUZZ_CHECK(mkdtemp(dir) != NULL);
	atexit(cleanup);
	pub = xasprintf("%s/platform.pem", dir);
	platform_key = EVP_RSA_gen(2048);
	other_key = EVP_RSA_gen(2048);
	FUZZ_CHECK(platform_key && other_key);
	FILE *f = fopen(pub, "w");
	FUZZ_CHECK(f && PEM_write_PUBKEY(f, platform_key) == 1);
	fclose(f);
	config_defaults(&cfg);
	const char *kv[][2] = {{"enabled", "true"},
	                       {"mchid", MCHID},
	                       {"appid", APPID},
	                       {"apiv3_key", APIV3},
	                       {"platform_serial", SERIAL},
	                       {"platform_public_key_file", pub}};
	for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
		if (config_set(&cfg, "payment.wechat", kv[i][0], kv[i][1], err, sizeof err) != 0)
			abort();
	}
	gw = pay_gateway(&cfg, "wechat");
	FUZZ_CHECK(gw != NULL);
	EVP_PKEY *k = pay_key_load(pub, 0);
	FUZZ_CHECK(k != NULL);
	EVP_PKEY_free(k);
}

static int verified(struct headers *h, const char *body, size_t len, struct notify *n)
{
	struct pay_notify_in in = {.method = "POST",
	                           .params = &(struct kvlist){0},
	                           .body = body,
	                           .body_len = len,
	                           .header = header,
	                           .header_ctx = h};
	memset(n, 0, sizeof *n);
	gw->verify(&cfg, &in, n);
	FUZZ_CHECK(n->verified || n->reason != NULL);
	return n->verified;
}

static char *sign(EVP_PKEY *key, const char *ts, const char *nonce, const char *body, size_t len)
{
	char *msg = wechat_answer_message(ts, nonce, body, len);
	char *sig = pay_rsa_sign(key, msg, strlen(ts) + strlen(nonce) + len + 3);
	FUZZ_CHECK(sig != NULL);
	free(msg);
	return sig;
}

/* The notify body carrying plain (the transaction) encrypted under the APIv3 key. */
static char *notify_body(const char *plain, size_t len, int break_tag)
{
	const char *nonce = "fuzznonce123", *aad = "transaction";
	unsigned char *out = xmalloc(len + 16);
	int n = 0, f = 0;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	FUZZ_CHECK(c && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, (const unsigned char *)APIV3,
	                                   (const unsigned char *)nonce) == 1);
	FUZZ_CHECK(EVP_EncryptUpdate(c, NULL, &n, (const unsigned char *)aad, 11) == 1);
	FUZZ_CHECK(EVP_EncryptUpdate(c, out, &n, (const unsigned char *)plain, (int)len) == 1);
	FUZZ_CHECK(EVP_EncryptFinal_ex(c, out + n, &f) == 1);
	FUZZ_CHECK(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + n + f) == 1);
	EVP_CIPHER_CTX_free(c);
	if (break_tag)
		out[len + 15] ^= 1;
	char *ct = pay_base64_encode(out, len + 16);
	free(out);
	json_t *j = json_pack("{ss s{ss ss ss ss}}", "event_type", "TRANSACTION.SUCCESS",
	                      "resource", "algorithm", "AEAD_AES_256_GCM", "ciphertext", ct,
	                      "associated_data", aad, "nonce", nonce);
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	free(ct);
	return text;
}

static int acceptable(const char *plain, size_t len)
{
	json_t *t = json_loadb(plain, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *amount = json_object_get(t, "amount"), *total = json_object_get(amount, "total");
	const char *s[] = {"out_trade_no", "transaction_id"};
	int ok = json_is_object(t) && json_is_integer(total) && json_integer_value(total) >= 0;
	for (size_t i = 0; ok && i < 2; i++) {
		const char *v = json_string_value(json_object_get(t, s[i]));
		ok = v && *v && strlen(v) < 64;
	}
	const char *cur = json_string_value(json_object_get(amount, "currency"));
	const char *m = json_string_value(json_object_get(t, "mchid"));
	const char *a = json_string_value(json_object_get(t, "appid"));
	const char *st = json_string_value(json_object_get(t, "trade_state"));
	ok = ok && cur && *cur && strlen(cur) < 8 && m && !strcmp(m, MCHID) && a &&
	     !strcmp(a, APPID) && st && !strcmp(st, "SUCCESS");
	json_decref(t);
	return ok;
}

/* The platform's properly signed notify for plain, and its variations that must all fail. */
static void check_signed(const char *plain, size_t len, const char *nonce)
{
	char ts[24], stale[24];
	snprintf(ts, sizeof ts, "%lld", (long long)util_now());
	snprintf(stale, sizeof stale, "%lld", (long long)util_now() - 400);
	char *body = notify_body(plain, len, 0);
	char *sig = sign(platform_key, ts, nonce, body, strlen(body));
	struct headers h = {ts, nonce, sig, SERIAL};
	struct notify n;
	FUZZ_CHECK(verified(&h, body, strlen(body), &n) == acceptable(plain, len));
	h.serial = "PUB_KEY_ID_SOMEONE_ELSE";
	FUZZ_CHECK(!verified(&h, body, strlen(body), &n));
	free(sig);
	h.serial = SERIAL;
	h.sig = sig = sign(other_key, ts, nonce, body, strlen(body));
	FUZZ_CHECK(!verified(&h, body, strlen(body), &n));
	free(sig);
	h.ts = stale;
	h.sig = sig = sign(platform_key, stale, nonce, body, strlen(body));
	FUZZ_CHECK(!verified(&h, body, strlen(body), &n));
	free(sig);
	free(body);
	body = notify_body(plain, len, 1);
	h.ts = ts;
	h.sig = sig = sign(platform_key, ts, nonce, body, strlen(body));
	FUZZ_CHECK(!verified(&h, body, strlen(body), &n));
	free(sig);
	free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init_once();
	char *in = xmalloc(size + 1);
	memcpy(in, data, size);
	in[size] = '\0';
	char *line[3] = {in, NULL, NULL}, *rest = NULL;
	for (int i = 0; i < 3 && line[i]; i++) {
		char *nl = memchr(line[i], '\n', size - (size_t)(line[i] - in));
		if (!nl)
			break;
		*nl = '\0';
		if (i < 2)
			line[i + 1] = nl + 1;
		else
			rest = nl + 1;
	}
	if (rest && line[1] && line[2]) {
		size_t len = size - (size_t)(rest - in);
		char ts[24];
		snprintf(ts, sizeof ts, "%lld", (long long)util_now());
		struct headers h = {ts, line[0], line[2], line[1]};
		struct notify n;
		/* As it came: the platform key was made at start-up, no input can be signed by it.
		 */
		FUZZ_CHECK(!verified(&h, rest, len, &n));
		if (strlen(line[0]) < 64)
			check_signed(rest, len, line[0]);
	}
	free(in);
	return 0;
}
