/* Shared between the shop/ files. */
#ifndef CARDSHOP_SHOP_INTERNAL_H
#define CARDSHOP_SHOP_INTERNAL_H

#include "cardshop/db.h"
#include "cardshop/shop.h"
#include "cardshop/util.h"

/* F_ANY: any JSON value, checked by the caller (a structured field such as products' fields). */
enum fkind { F_STR, F_NAME, F_INT, F_INT_NULL, F_BOOL, F_ENUM, F_ANY, F_ARRAY };

struct field {
	const char *name;
	enum fkind kind;
	int64_t min, max;           /* characters for strings, value for integers, items for
	                             * F_ARRAY (whose items the owner checks) */
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
	int loop; /* a loop order: its key is linked in order_keys, never reserved */
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
/* coupon.c: validates code for the product and prices it for quantity units of unit: the
 * units it covers (at most its uses left), and the discount. With take (inside the order
 * transaction), those uses are taken. 0, or -1 with err (SHOP_UNPROCESSABLE naming coupon). */
struct coupon_price {
	int64_t discount, coupon_id, uses;
};
int coupon_apply(const char *code, int64_t product_id, int64_t unit, int64_t quantity, int take,
                 struct coupon_price *out, struct shop_err *err);

/* pricing.c: the one pricing of an order (tiers, then the coupon), for the order (take: the
 * coupon's uses are taken, inside its transaction) and the quote (reads only). 0, or -1 with
 * err: the same error either way. */
struct price {
	int64_t unit, subtotal, discount, amount, coupon_id, coupon_uses;
};
int pricing_compute(int64_t product_id, int64_t price, int64_t quantity, const char *coupon,
                    int take, struct price *out, struct shop_err *err);
/* The product input's "tiers" (when present): at most 20 {min_qty, unit_price}, min_qty
 * strictly increasing from 1. 0, or -1 with err naming tiers. */
int pricing_tiers_check(json_t *in, struct shop_err *err);
/* Inside the product's write: replaces its tiers with in's "tiers" when present. 0 or -1. */
int pricing_tiers_store(int64_t product_id, json_t *in);
/* Sets p's "tiers" (a new array, by min_qty). 0, or -1 on a database error. */
int pricing_tiers_attach(json_t *p, int64_t product_id);

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
/* A key as the admin lists show it ("ABCD****WXYZ"): a new JSON string. */
json_t *cardkey_mask(const char *plain, size_t n);
/* payment.c: the gateway name of a payment the merchant confirmed by hand (confirm-paid). */
#define PAYMENT_MANUAL "manual"

/* A free key: 'available' and never given to loop buyers (order_keys). A linked key stays
 * 'available' for its buyers' pages but is never reserved, sold or deleted, and the stock
 * counter stops counting it at its first link (product_extra.c). k names the card_keys row. */
#define KEY_FREE(k)                                                                                \
	k ".status = 'available' AND NOT EXISTS (SELECT 1 FROM order_keys o WHERE o.key_id = " k   \
	  ".id)"
struct payment_applied {
	enum notify_outcome outcome;
	int took_stock; /* free keys were taken (a late payment): the public stock moved */
	int64_t product_id;
};
/* payment_apply's decision and its payment_events row, inside the caller's db_write
 * transaction (the caller wakes the outbox and refreshes the stock after its commit). 0 with
 * out filled, -1 on a database error (the caller rolls back). */
int payment_apply_in_tx(const struct config *cfg, const struct notify *n,
                        struct payment_applied *out);
/* payment.c: settles an order that costs nothing, inside the creating transaction. */
int payment_settle_free(int64_t order_id, int64_t quantity, int manual);

/* product_extra.c: loop keys, checkout fields, image and low-stock threshold of products. */
/* Checks "fields" of a product input and rewrites it in full (every key set). 0 or -1. */
int product_extra_validate(json_t *in, struct shop_err *err);
/* Inside the product's write transaction: stores loop, fields, low_stock when present. */
int product_extra_write(int64_t id, json_t *in);
/* Adds loop, fields, image_url (and low_stock for the admin) to p from st's columns col..col+3
 * (loop_key, fields, image, low_stock); a loop product's stock becomes null. */
void product_extra_json(json_t *p, sqlite3_stmt *st, int col, int admin_view);
/* What an order pins beyond the product row: loop delivery and the buyer's answers. */
struct order_extra {
	int loop;
	char *fields; /* JSON object text, malloc'd; order_extra_cleanup */
};
/* Inside the order transaction: the loop rule (quantity 1) and the answers (borrowed, may be
 * NULL) against the product's fields. 0 with x filled, or -1 with err naming the field. */
/* answers_due 0: the answers are not judged (a quote without "fields"). */
int order_extra_check(int64_t product_id, int64_t qty, int manual, json_t *answers, int answers_due,
                      struct order_extra *x, struct shop_err *err);
int order_extra_store(int64_t order_id, const struct order_extra *x); /* 0 or -1 */
void order_extra_cleanup(struct order_extra *x);
/* 1 when the loop product has a key to give, 0 when not, -1 on error. */
int loop_key_free(int64_t product_id);
/* Links the product's loop key to the order (the key stays available): 0, 1 when there is no
 * key, -1 on error. */
int loop_key_link(int64_t order_id, int64_t product_id);
/* mail_template.c: the values a buyer's mail template is filled with (borrowed). */
struct mail_values {
	const char *shop_name, *order_no, *product, *quantity, *amount, *order_url, *status;
	const char *lang;
	json_t *keys; /* array of strings; NULL or empty outside the delivery mail */
	/* More placeholders, as name, value pairs ending with a NULL name (the merchant's mails,
	 * merchant_mail.c), or NULL. */
	const char *const *extra;
};
/* The template name's text for lang: the merchant's (settings) or the built-in one, into *out
 * (malloc'd). 0, or -1 on a database error or an unknown name or language. */
int mail_template_get(const char *name, const char *lang, char **out);
/* The same, with *stored (when not NULL) 1 when the merchant's text is the one given. */
int mail_template_read(const char *name, const char *lang, char **out, int *stored);
/* tpl with its placeholders filled: plain text (CRLF lines) or, with html, an HTML document in
 * which every value is escaped. Malloc'd. */
char *mail_template_render(const char *tpl, const struct mail_values *v, int html);
/* mail_template.c: the languages a template has (NULL past the last; static strings). */
const char *mail_template_lang(size_t i);
/* mail_template.c: s[0..n) HTML-escaped onto b. */
void mail_html_escape(struct buf *b, const char *s, size_t n);
/* mail.c: an amount in minor units as the buyer's mails write it, into out. */
void mail_amount_format(char *out, size_t n, int64_t amount, const char *currency, int zh);
/* mail.c: the order status in the buyer's language (a static string). */
const char *mail_status_text(enum order_status s, int zh);
/* merchant_mail.c: the Telegram line of an order event and of a product running low, in the
 * merchant's language (cfg borrowed). Malloc'd. */
char *merchant_order_line(const struct config *cfg, enum shop_event ev, const struct order_row *o);
char *merchant_low_stock_line(const struct config *cfg, const char *product, int64_t stock,
                              int64_t threshold);
/* order.c: 1 when e passes the order's email syntax check. */
int order_email_valid(const char *e);

/* demo_sales.c: a fortnight of demo orders (sold keys, payments) for the dashboard. 0 or -1. */
int shop_demo_sales(void);

#define PRICE_MAX 1000000000 /* 10 million in major units: anything above is a typo */

/* admin.c: 1 when u is a valid admin name (1-64 of A-Z a-z 0-9 _ . @ -). */
int admin_username_valid(const char *u);
/* team.c: the second factor at sign-in for admin id: 0 when it has none or code is right and
 * unused (now spent), else -1 with SHOP_TOTP_REQUIRED (no code) or SHOP_UNAUTHORIZED. */
int team_totp_login(int64_t admin_id, const char *code, struct shop_err *err);

/* media.c: the uploads folder (malloc'd); 1 when name is one of ours (32 hex digits and a known
 * extension: nothing else is opened, written or removed); data (borrowed) stored as name
 * (0600, written aside and renamed). 0 or -1. */
char *media_dir(const struct config *cfg);
int media_name_ok(const char *name);
int media_file_write(const struct config *cfg, const char *name, const void *data, size_t len);
/* media_files.c: removes the file name after the commit that dropped a reference to it, unless
 * a row still names it or that cannot be read (the sweep retries). cfg NULL: left to the sweep. */
void media_release(const struct config *cfg, const char *name);

#endif
