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
	int64_t min, max; /* characters for strings, value for integers */
	const char *const *choices; /* F_ENUM, NULL-terminated */
	int required;     /* when creating */
};

int shop_validate(json_t *in, const struct field *fields, size_t n, int creating,
		  struct shop_err *err);
const char *shop_json_str(json_t *in, const char *name, const char *def);
int64_t shop_json_int(json_t *in, const char *name, int64_t def);
int shop_json_bool(json_t *in, const char *name, int def);

#define PRICE_MAX 1000000000 /* 10 million in major units: anything above is a typo */

#endif
