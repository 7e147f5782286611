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

/* common.c: the offset of a 1-based page; every row of st through row() into a JSON array
 * (rows row() cannot build are skipped). NULL with err (SHOP_ERROR) when a step fails: a
 * failed read is never an empty list. st is reset either way. */
int64_t shop_page_offset(int64_t page, int64_t per_page);
json_t *shop_rows_json(sqlite3_stmt *st, json_t *(*row)(sqlite3_stmt *st), struct shop_err *err);
/* outbox.c: runs the wake hook, after a commit that put jobs. */
void outbox_wake(void);

/* order.c: the order row the domain works with (one loader for every caller). */
struct order_row {
	int64_t id, amount, product_id, quantity;
	enum order_status status;
	int manual;
	char order_no[33];
	char gateway[33];
	char currency[4];
	char email[255];
	char product_name[201];
	char lang[8]; /* the buyer's language: "en" or "zh-CN" */
};
/* 1 and o filled when found, 0 when there is no such order, -1 on a database error (or a
 * stored status this build does not know). */
int order_load(const char *order_no, struct order_row *o);
int order_load_id(int64_t id, struct order_row *o);

/* order.c: reserves exactly qty available keys for the order: 0, 1 when too few, -1 error. */
int order_reserve_keys(int64_t order_id, int64_t product_id, int64_t qty);
/* The decrypted keys of a delivered order into *out (a new array): 0, or -1 when a key cannot
 * be read or decrypted (logged) — a delivery is never shown or mailed with a key missing. */
int order_keys_json(int64_t order_id, json_t **out);
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

/* mail_template.c: the values a buyer's mail template is filled with (borrowed). */
struct mail_values {
	const char *shop_name, *order_no, *product, *quantity, *amount, *order_url, *status;
	const char *lang;
	json_t *keys; /* array of strings; NULL or empty outside the delivery mail */
};
/* The template name's text for lang: the merchant's (settings) or the built-in one, into *out
 * (malloc'd). 0, or -1 on a database error or an unknown name or language. */
int mail_template_get(const char *name, const char *lang, char **out);
/* tpl with its placeholders filled: plain text (CRLF lines) or, with html, an HTML document in
 * which every value is escaped. Malloc'd. */
char *mail_template_render(const char *tpl, const struct mail_values *v, int html);

/* demo_sales.c: a fortnight of demo orders (sold keys, payments) for the dashboard. 0 or -1. */
int shop_demo_sales(void);

#define PRICE_MAX 1000000000 /* 10 million in major units: anything above is a typo */

#endif
