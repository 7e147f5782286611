/* Fuzz target: an epusdt notify (a JSON body) checked by the gateway's verify. Nothing
 * verifies without a signature equal to the epusdt server's MD5 over the other fields with our
 * token, status 2 and an amount in cents; the same fields signed properly pass the signature
 * check, and one hex digit off fails it. */
#include <string.h>

#include "cardshop/config.h"
#include "cardshop/pay.h"
#include "cardshop/util.h"
#include "fuzz.h"

#define TOKEN "fuzz-epusdt-token"

static struct config cfg;
static const struct gateway *gw;

static void init_once(void)
{
	if (gw)
		return;
	char err[256];
	config_defaults(&cfg);
	if (config_set(&cfg, "payment.epusdt", "enabled", "true", err, sizeof err) != 0 ||
	    config_set(&cfg, "payment.epusdt", "api_url", "http://127.0.0.1:9", err, sizeof err) !=
	        0 ||
	    config_set(&cfg, "payment.epusdt", "token", TOKEN, err, sizeof err) != 0)
		abort();
	gw = pay_gateway(&cfg, "epusdt");
	FUZZ_CHECK(gw != NULL);
}

static void run(const char *body, size_t len, struct notify *n)
{
	json_t *hold = NULL;
	struct kvlist none = {0};
	struct pay_notify_in in = {
	    .method = "POST", .params = &none, .body = body, .body_len = len, .hold = &hold};
	memset(n, 0, sizeof *n);
	gw->verify(&cfg, &in, n);
	if (n->verified) {
		FUZZ_CHECK(hold && n->order_no && n->trade_no && n->amount >= 0);
		json_t *st = json_object_get(hold, "status");
		FUZZ_CHECK(json_is_number(st) && json_number_value(st) == 2);
	}
	json_decref(hold);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init_once();
	char *body = fuzz_cstr(data, size);
	size_t len = strlen(body);
	struct notify n;
	run(body, len, &n);
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	char want[33];
	if (n.verified) {
		FUZZ_CHECK(json_is_object(j) && epusdt_sign(j, TOKEN, want) == 0);
		const char *sig = json_string_value(json_object_get(j, "signature"));
		FUZZ_CHECK(sig && strcmp(sig, want) == 0);
	}
	if (json_is_object(j) && epusdt_sign(j, TOKEN, want) == 0) {
		/* Signed properly it passes the signature check... */
		json_object_set_new(j, "signature", json_string(want));
		char *signed_body = json_dumps(j, JSON_COMPACT);
		if (signed_body) {
			run(signed_body, strlen(signed_body), &n);
			FUZZ_CHECK(!n.reason || strcmp(n.reason, "bad signature") != 0);
			free(signed_body);
		}
		/* ...and one digit off it fails. */
		want[0] = want[0] == '0' ? '1' : '0';
		json_object_set_new(j, "signature", json_string(want));
		char *bad = json_dumps(j, JSON_COMPACT);
		if (bad) {
			run(bad, strlen(bad), &n);
			FUZZ_CHECK(!n.verified);
			free(bad);
		}
	}
	json_decref(j);
	free(body);
	return 0;
}
