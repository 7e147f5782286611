/* Fuzz target: an Alipay notify (POST form) checked by the gateway's verify, with an Alipay key
 * pair made at start-up. Checks that nothing verifies without Alipay's RSA2 signature (as sent,
 * signed by another key, or one character off), and that a notify signed by Alipay's key over
 * its sorted parameters verifies exactly when its fields are acceptable. The input is also read
 * as a signed answer, whose signed span must lie inside it. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../src/pay/internal.h"
#include "cardshop/config.h"
#include "cardshop/kv.h"
#include "cardshop/pay.h"
#include "cardshop/util.h"
#include "fuzz.h"

#define APP_ID "2021000000000001"

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
static EVP_PKEY *alipay_key, *other_key;

static void write_public(EVP_PKEY *k, const char *path)
{
	FILE *f = fopen(path, "w");
	FUZZ_CHECK(f && PEM_write_PUBKEY(f, k) == 1);
	fclose(f);
}

static void init_once(void)
{
	if (gw)
		return;
	char err[256];
	snprintf(dir, sizeof dir, "/tmp/cardshop-fuzz-alipay-XXXXXX");
	FUZZ_CHECK(mkdtemp(dir) != NULL);
	atexit(cleanup);
	pub = xasprintf("%s/alipay_public.pem", dir);
	alipay_key = EVP_RSA_gen(2048);
	other_key = EVP_RSA_gen(2048);
	FUZZ_CHECK(alipay_key && other_key);
	write_public(alipay_key, pub);
	config_defaults(&cfg);
	if (config_set(&cfg, "payment.alipay", "enabled", "true", err, sizeof err) != 0 ||
	    config_set(&cfg, "payment.alipay", "app_id", APP_ID, err, sizeof err) != 0 ||
	    config_set(&cfg, "payment.alipay", "alipay_public_key_file", pub, err, sizeof err) != 0)
		abort();
	gw = pay_gateway(&cfg, "alipay");
	FUZZ_CHECK(gw != NULL);
	FUZZ_CHECK(alipay_notify_signed(&cfg, &(struct kvlist){0}) == 0);
}

static int names_unique(const struct kvlist *l)
{
	for (size_t i = 0; i < l->count; i++) {
		for (size_t j = i + 1; j < l->count; j++) {
			if (strcmp(l->items[i].name, l->items[j].name) == 0)
				return 0;
		}
	}
	return 1;
}

static void set_param(struct kvlist *l, const char *name, const char *value)
{
	for (size_t i = 0; i < l->count; i++) {
		if (strcmp(l->items[i].name, name) == 0) {
			free(l->items[i].value);
			l->items[i].value = xstrdup(value);
			return;
		}
	}
	l->items = xrealloc(l->items, (l->count + 1) * sizeof *l->items);
	l->items[l->count].name = xstrdup(name);
	l->items[l->count].value = xstrdup(value);
	l->count++;
}

static int acceptable(const struct kvlist *l)
{
	const char *status = kv_get(l, "trade_status");
	const char *app = kv_get(l, "app_id");
	const char *money = kv_get(l, "total_amount");
	const char *st = kv_get(l, "sign_type");
	int64_t amount;
	return names_unique(l) && kv_get(l, "out_trade_no") && kv_get(l, "trade_no") && app &&
	       !strcmp(app, APP_ID) && status &&
	       (!strcmp(status, "TRADE_SUCCESS") || !strcmp(status, "TRADE_FINISHED")) && money &&
	       pay_parse_money(money, &amount) == 0 && (!st || !strcmp(st, "RSA2"));
}

static int verified(const struct kvlist *l, struct notify *n)
{
	struct pay_notify_in in = pay_notify_in_params(l);
	memset(n, 0, sizeof *n);
	gw->verify(&cfg, &in, n);
	FUZZ_CHECK(n->verified || n->reason != NULL);
	return n->verified;
}

static void sign_with(struct kvlist *l, EVP_PKEY *key)
{
	char *content = alipay_sign_content(l, 1, 0);
	char *sig = pay_rsa_sign(key, content, strlen(content));
	FUZZ_CHECK(sig != NULL);
	set_param(l, "sign", sig);
	free(sig);
	free(content);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init_once();
	/* The same bytes as a signed answer: the span a signature is checked over stays inside. */
	size_t st, vlen;
	if (alipay_response_span((const char *)data, size, "alipay_trade_query_response", &st,
	                         &vlen) == 0)
		FUZZ_CHECK(vlen > 0 && st + vlen <= size);
	struct kvlist l;
	if (kv_parse((const char *)data, size, &l) != 0)
		return 0;
	struct notify n;
	/* As it came: the key was made at start-up, so no input can carry its signature. */
	FUZZ_CHECK(!verified(&l, &n));

	sign_with(&l, other_key);
	FUZZ_CHECK(!verified(&l, &n));

	if (names_unique(&l)) {
		sign_with(&l, alipay_key);
		int v = verified(&l, &n);
		if (v != acceptable(&l))
			fprintf(stderr, "reason: %s\n", n.reason);
		FUZZ_CHECK(v == acceptable(&l));
		if (n.verified) {
			int64_t amount = -1;
			FUZZ_CHECK(pay_parse_money(kv_get(&l, "total_amount"), &amount) == 0);
			FUZZ_CHECK(n.amount == amount && n.order_no == kv_get(&l, "out_trade_no"));
			FUZZ_CHECK(n.currency && !strcmp(n.currency, "CNY"));
		}
		/* One character of the signature off, and it fails. */
		char *sig = xstrdup(kv_get(&l, "sign"));
		sig[0] = sig[0] == 'A' ? 'B' : 'A';
		set_param(&l, "sign", sig);
		free(sig);
		FUZZ_CHECK(!verified(&l, &n));
	}
	kv_free(&l);
	return 0;
}
