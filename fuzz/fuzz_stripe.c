/* Fuzz target: a Stripe webhook as the server receives it: the Stripe-Signature header (the
 * input's first line) and the raw body (the rest), checked by the gateway's verify. Nothing is
 * accepted (verified or acknowledged) without a v1 equal to HMAC-SHA256("t.body") with our
 * secret and a t within the tolerance; the same body signed properly passes the signature
 * check, and one hex digit off fails it. */
#include <inttypes.h>
#include <string.h>

#include "cardshop/config.h"
#include "cardshop/pay.h"
#include "cardshop/util.h"
#include "fuzz.h"

#define SECRET "whsec_fuzzSecret0123456789"

static struct config cfg;
static const struct gateway *gw;

static void init_once(void)
{
	if (gw)
		return;
	char err[256];
	config_defaults(&cfg);
	if (config_set(&cfg, "payment.stripe", "enabled", "true", err, sizeof err) != 0 ||
	    config_set(&cfg, "payment.stripe", "secret_key", "sk_test_fuzz", err, sizeof err) !=
	        0 ||
	    config_set(&cfg, "payment.stripe", "webhook_secret", SECRET, err, sizeof err) != 0)
		abort();
	gw = pay_gateway(&cfg, "stripe");
	FUZZ_CHECK(gw != NULL);
}

static const char *header_of(void *ctx, const char *name)
{
	return strcmp(name, "Stripe-Signature") == 0 ? ctx : NULL;
}

static void run(const char *header, const char *body, size_t len, struct notify *n)
{
	json_t *hold = NULL;
	struct pay_notify_in in = {.method = "POST",
	                           .body = body,
	                           .body_len = len,
	                           .header = header_of,
	                           .header_ctx = (void *)(uintptr_t)header,
	                           .hold = &hold};
	struct kvlist none = {0};
	in.params = &none;
	memset(n, 0, sizeof *n);
	gw->verify(&cfg, &in, n);
	if (n->verified) {
		FUZZ_CHECK(n->order_no && n->trade_no && n->currency);
		FUZZ_CHECK(hold != NULL);
	}
	json_decref(hold);
}

/* Whether header holds a t near now and a v1 that is the right signature for body. */
static int properly_signed(const char *header, const char *body, size_t len)
{
	int64_t now = util_now();
	char *copy = xstrdup(header), *save = NULL;
	int64_t t = -1;
	for (char *it = strtok_r(copy, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
		if (strncmp(it, "t=", 2) == 0 && t < 0 &&
		    util_parse_i64(it + 2, 0, INT64_MAX / 2, &t) != 0)
			t = -2;
	}
	free(copy);
	if (t < 0 || t < now - 301 || t > now + 301)
		return 0;
	char want[65], needle[70];
	stripe_sign(SECRET, t, body, len, want);
	snprintf(needle, sizeof needle, "v1=%s", want);
	const char *p = strstr(header, needle);
	return p && (p[strlen(needle)] == '\0' || p[strlen(needle)] == ',');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init_once();
	const uint8_t *nl = memchr(data, '\n', size);
	size_t hlen = nl ? (size_t)(nl - data) : size;
	char *header = xstrndup((const char *)data, hlen);
	size_t blen = nl ? size - hlen - 1 : 0;
	char *body = xmalloc(blen + 1);
	memcpy(body, nl ? nl + 1 : data, blen);
	body[blen] = '\0';
	header[strcspn(header, "\r")] = '\0';

	struct notify n;
	run(header, body, blen, &n);
	if (n.verified || n.ignored)
		FUZZ_CHECK(properly_signed(header, body, blen));

	/* The same body with a proper header passes the signature check... */
	char sig[65];
	int64_t now = util_now();
	stripe_sign(SECRET, now, body, blen, sig);
	char *good = xasprintf("t=%lld,v1=%s", (long long)now, sig);
	FUZZ_CHECK(stripe_check_signature(SECRET, good, body, blen, now) == NULL);
	run(good, body, blen, &n);
	FUZZ_CHECK(!n.reason || strcmp(n.reason, "bad signature") != 0);
	/* ...and fails it with one digit off, or with another secret. */
	char *bad = xasprintf("t=%lld,v1=%c%s", (long long)now, sig[0] == '0' ? '1' : '0', sig + 1);
	run(bad, body, blen, &n);
	FUZZ_CHECK(!n.verified && !n.ignored);
	FUZZ_CHECK(stripe_check_signature("whsec_other", good, body, blen, now) != NULL);
	free(good);
	free(bad);
	free(header);
	free(body);
	return 0;
}
