/* Shared between the shop/ files. */
#ifndef CARDSHOP_SHOP_INTERNAL_H
#define CARDSHOP_SHOP_INTERNAL_H

#include "cardshop/db.h"
#include "cardshop/shop.h"
#include "cardshop/util.h"

enum fkind { F_STR, F_NAME, F_INT, F_INT_NULL, F_BOOL, F_ENUM };

struct field {
	const char *name;
	enum fkind kind;
	int64_t min, max;           /* characters for strings, value for integers */
	const char *const *choices; /* F_ENUM, NULL-terminated */
	int required;               /* when creating */
};

int shop_validate(json_t *in, const struct field *fields, size_t n, int creating,
                  struct shop_err *err);
const char *shop_json_str(json_t *in, const char *name, const char *def);
int64_t shop_json_int(json_t *in, const char *name, int64_t def);
int shop_json_bool(json_t *in, const char *name, int def);

/* order.c: reserves exactly qty available keys for the order: 0, 1 when too few, -1 error. */
int order_reserve_keys(int64_t order_id, int64_t product_id, int64_t qty);
json_t *order_keys_json(int64_t order_id);
/* coupon.c: inside the order transaction, validates code for the product and takes one use. */
int coupon_take(const char *code, int64_t product_id, int64_t gross, int64_t *discount,
                int64_t *coupon_id, struct shop_err *err);

/* cardkey.c: parses an upload (BOM, CRLF, blanks tolerated) into encrypted keys + lookup
 * hashes, outside any transaction. Lines that cannot be keys are counted in *rejected. */
struct sealed_key {
	unsigned char hash[32];
	unsigned char *box;
	size_t boxlen;
};
struct sealed_key *cardkey_seal_text(const char *text, size_t len, size_t *count,
                                     int64_t *rejected);
void cardkey_sealed_free(struct sealed_key *keys, size_t n);
/* payment.c: settles an order that costs nothing, inside the creating transaction. */
int payment_settle_free(int64_t order_id, int64_t quantity, int manual);

#define PRICE_MAX 1000000000 /* 10 million in major units: anything above is a typo */

#endif
