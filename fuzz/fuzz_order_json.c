/* Fuzz target: the JSON body of POST /api/orders (order_parse). Property: a body that parses
 * names a product and a quantity in range, an email with one '@' and no control or space, a
 * gateway name, and every optional string it returns came from the body; one that does not
 * parse says which field is wrong. */
#include <string.h>

#include <jansson.h>

#include "cardshop/shop.h"
#include "fuzz.h"

static int from_body(json_t *in, const char *name, const char *s)
{
	return s == NULL || (json_is_string(json_object_get(in, name)) &&
	                     strcmp(json_string_value(json_object_get(in, name)), s) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *in = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!in)
		return 0;
	struct order_request req;
	struct shop_err err = {0};
	int rc = json_is_object(in) ? order_parse(in, &req, &err) : -1;
	if (rc == 0) {
		FUZZ_CHECK(req.product_id >= 1);
		FUZZ_CHECK(req.quantity >= 1 && req.quantity <= 100000);
		FUZZ_CHECK(req.email && strchr(req.email, '@') == strrchr(req.email, '@'));
		for (const char *p = req.email; *p; p++)
			FUZZ_CHECK((unsigned char)*p > ' ' && *p != 0x7f);
		FUZZ_CHECK(req.gateway && *req.gateway);
		FUZZ_CHECK(from_body(in, "email", req.email) &&
		           from_body(in, "gateway", req.gateway));
		FUZZ_CHECK(from_body(in, "coupon", req.coupon));
		FUZZ_CHECK(from_body(in, "query_password", req.query_password));
	} else if (json_is_object(in)) {
		FUZZ_CHECK(err.status == SHOP_INVALID && err.message[0]);
	}
	json_decref(in);
	return 0;
}
