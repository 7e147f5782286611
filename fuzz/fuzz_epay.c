/* Fuzz target: an EPay notify as the server receives it (query or form), parsed and then
 * checked by the gateway's verify. Checks that the signature ignores parameter order, sign,
 * sign_type and empty values, that nothing verifies without the right signature, and that a
 * correctly signed notify verifies exactly when its fields are acceptable. */
#include <string.h>

#include "cardshop/config.h"
#include "cardshop/kv.h"
#include "cardshop/pay.h"
#include "cardshop/util.h"
#include "fuzz.h"

#define KEY "fuzz-merchant-key"
#define PID "1001"

static struct config cfg;
static const struct gateway *gw;

static void init_once(void)
{
	if (gw)
		return;
	char err[256];
	config_defaults(&cfg);
	if (config_set(&cfg, "payment.epay", "enabled", "true", err, sizeof err) != 0 ||
	    config_set(&cfg, "payment.epay", "key", KEY, err, sizeof err) != 0 ||
	    config_set(&cfg, "payment.epay", "pid", PID, err, sizeof err) != 0)
		abort();
	gw = pay_gateway(&cfg, "epay");
	FUZZ_CHECK(gw != NULL);
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

/* A shallow copy (borrowed strings) in reverse order, without the parameters the signature
 * leaves out. Free items only. */
static struct kvlist signed_subset_reversed(const struct kvlist *l)
{
	struct kvlist r = {xcalloc(l->count + 1, sizeof *r.items), 0};
	for (size_t i = l->count; i-- > 0;) {
		const struct kv *kv = &l->items[i];
		if (!kv->value[0] || !strcmp(kv->name, "sign") || !strcmp(kv->name, "sign_type"))
			continue;
		r.items[r.count++] = *kv;
	}
	return r;
}

/* Sets (or adds) sign to value in a list the caller owns. */
static void set_sign(struct kvlist *l, const char *value)
{
	for (size_t i = 0; i < l->count; i++) {
		if (strcmp(l->items[i].name, "sign") == 0) {
			free(l->items[i].value);
			l->items[i].value = xstrdup(value);
			return;
		}
	}
	l->items = xrealloc(l->items, (l->count + 1) * sizeof *l->items);
	l->items[l->count].name = xstrdup("sign");
	l->items[l->count].value = xstrdup(value);
	l->count++;
}

static int acceptable(const struct kvlist *l)
{
	const char *status = kv_get(l, "trade_status");
	const char *pid = kv_get(l, "pid");
	const char *money = kv_get(l, "money");
	int64_t amount;
	return kv_get(l, "out_trade_no") && kv_get(l, "trade_no") && pid && !strcmp(pid, PID) &&
	       status && !strcmp(status, "TRADE_SUCCESS") && money &&
	       pay_parse_money(money, &amount) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init_once();
	struct kvlist l;
	if (kv_parse((const char *)data, size, &l) != 0)
		return 0;

	char want[33];
	epay_sign(&l, KEY, want);
	FUZZ_CHECK(strlen(want) == 32);

	struct pay_notify_in in = pay_notify_in_params(&l);
	/* Whatever came in: it verifies only when it carries exactly our signature. */
	struct notify n;
	memset(&n, 0, sizeof n);
	gw->verify(&cfg, &in, &n);
	const char *sign = kv_get(&l, "sign");
	if (n.verified) {
		FUZZ_CHECK(sign && strcmp(sign, want) == 0);
		FUZZ_CHECK(names_unique(&l) && acceptable(&l));
	} else {
		FUZZ_CHECK(n.reason != NULL);
	}

	if (names_unique(&l)) {
		struct kvlist sub = signed_subset_reversed(&l);
		char other[33];
		epay_sign(&sub, KEY, other);
		FUZZ_CHECK(strcmp(want, other) == 0);
		free(sub.items);

		/* Signed properly, it verifies exactly when its fields are acceptable. */
		set_sign(&l, want);
		memset(&n, 0, sizeof n);
		gw->verify(&cfg, &in, &n);
		FUZZ_CHECK(n.verified == acceptable(&l));
		if (n.verified) {
			int64_t amount = -1;
			FUZZ_CHECK(pay_parse_money(kv_get(&l, "money"), &amount) == 0);
			FUZZ_CHECK(n.amount == amount);
			FUZZ_CHECK(n.order_no == kv_get(&l, "out_trade_no"));
		}
		/* One character off and it fails. */
		want[0] = want[0] == '0' ? '1' : '0';
		set_sign(&l, want);
		memset(&n, 0, sizeof n);
		gw->verify(&cfg, &in, &n);
		FUZZ_CHECK(!n.verified);
	}
	kv_free(&l);
	return 0;
}
