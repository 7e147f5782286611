/* Categories and products: validation, storage and the public/admin views with live stock. */
#include <stdio.h>
#include <string.h>

#include "cardshop/config.h"
#include "internal.h"

static const char *const delivery_choices[] = {"auto", "manual", NULL};

static const struct field category_fields[] = {
    {"name", F_NAME, 1, 200, NULL, 1},
    {"sort", F_INT, -1000000, 1000000, NULL, 0},
    {"active", F_BOOL, 0, 1, NULL, 0},
};

static const struct field product_fields[] = {
    {"name", F_NAME, 1, 200, NULL, 1},
    {"price", F_INT, 0, PRICE_MAX, NULL, 1},
    {"category_id", F_INT_NULL, 1, INT64_MAX, NULL, 0},
    {"description", F_STR, 0, 20000, NULL, 0},
    {"min_qty", F_INT, 1, 100000, NULL, 0},
    {"max_qty", F_INT, 0, 100000, NULL, 0},
    {"delivery", F_ENUM, 0, 0, delivery_choices, 0},
    {"active", F_BOOL, 0, 1, NULL, 0},
    {"sort", F_INT, -1000000, 1000000, NULL, 0},
    /* product_extra.c */
    {"loop", F_BOOL, 0, 1, NULL, 0},
    {"fields", F_ANY, 0, 0, NULL, 0},
    {"low_stock", F_INT, 0, 100000000, NULL, 0},
    {"tiers", F_ARRAY, 0, 20, NULL, 0}, /* items: pricing.c */
};

#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

static const char *sql_cat_insert = "INSERT INTO categories (name, sort, active, created_at)"
                                    " VALUES (:name, :sort, :active, :now)";
static const char *sql_cat_update =
    "UPDATE categories SET name = CASE WHEN :set_name THEN :name ELSE name END,"
    " sort = CASE WHEN :set_sort THEN :sort ELSE sort END,"
    " active = CASE WHEN :set_active THEN :active ELSE active END WHERE id = :id";
static const char *sql_cat_exists = "SELECT 1 FROM categories WHERE id = :id";
static const char *sql_cat_list = "SELECT id, name, sort, active FROM categories"
                                  " WHERE active = 1 OR :all ORDER BY sort, id";

struct cat_ctx {
	const struct actor *who;
	json_t *in;
	int64_t id;
	int creating;
};

static int cat_tx(sqlite3 *db, void *arg)
{
	struct cat_ctx *c = arg;
	sqlite3_stmt *st = db_stmt(c->creating ? sql_cat_insert : sql_cat_update);
	if (!st)
		return -1;
	json_t *in = c->in;
	db_bind_text(st, ":name", shop_json_str(in, "name", ""));
	db_bind_int(st, ":sort", shop_json_int(in, "sort", 0));
	db_bind_int(st, ":active", shop_json_bool(in, "active", 1));
	if (c->creating) {
		db_bind_int(st, ":now", util_now());
	} else {
		db_bind_int(st, ":id", c->id);
		db_bind_int(st, ":set_name", json_object_get(in, "name") != NULL);
		db_bind_int(st, ":set_sort", json_object_get(in, "sort") != NULL);
		db_bind_int(st, ":set_active", json_object_get(in, "active") != NULL);
	}
	if (db_step(st) != SQLITE_DONE)
		return db_log_error("category write failed");
	if (!c->creating && sqlite3_changes(db) == 0)
		return SHOP_NOT_FOUND;
	if (c->creating)
		c->id = sqlite3_last_insert_rowid(db);
	char target[32];
	snprintf(target, sizeof target, "category:%lld", (long long)c->id);
	return audit_record(c->who, c->creating ? "category.create" : "category.update", target,
	                    json_deep_copy(in));
}

static int write_result(int rc, struct shop_err *err, const char *what)
{
	if (rc == 0) {
		catalog_snapshot_rebuild(); /* the public views show it from now on */
		return 0;
	}
	if (rc == SHOP_NOT_FOUND)
		return shop_fail(err, SHOP_NOT_FOUND, "%s not found", what);
	return shop_fail(err, SHOP_ERROR, "internal error");
}

int category_create(const struct actor *who, json_t *in, int64_t *id, struct shop_err *err)
{
	if (shop_validate(in, category_fields, NFIELDS(category_fields), 1, err) != 0)
		return -1;
	struct cat_ctx c = {.who = who, .in = in, .creating = 1};
	if (write_result(db_write(cat_tx, &c), err, "category") != 0)
		return -1;
	*id = c.id;
	return 0;
}

int category_update(const struct actor *who, int64_t id, json_t *in, struct shop_err *err)
{
	if (shop_validate(in, category_fields, NFIELDS(category_fields), 0, err) != 0)
		return -1;
	struct cat_ctx c = {.who = who, .in = in, .id = id};
	return write_result(db_write(cat_tx, &c), err, "category");
}

static json_t *cat_row(sqlite3_stmt *st, int admin_view)
{
	json_t *c = json_pack("{sI ss}", "id", (json_int_t)sqlite3_column_int64(st, 0), "name",
	                      db_col_text(st, 1));
	if (c && admin_view) {
		json_object_set_new(c, "sort", json_integer(sqlite3_column_int64(st, 2)));
		json_object_set_new(c, "active", json_boolean(sqlite3_column_int(st, 3)));
	}
	return c;
}

static json_t *cat_row_public(sqlite3_stmt *st)
{
	return cat_row(st, 0);
}

static json_t *cat_row_admin(sqlite3_stmt *st)
{
	return cat_row(st, 1);
}

json_t *categories_json(int include_inactive, struct shop_err *err)
{
	sqlite3_stmt *st = db_stmt(sql_cat_list);
	if (!st) {
		shop_fail(err, SHOP_ERROR, "internal error");
		return NULL;
	}
	db_bind_int(st, ":all", include_inactive);
	return shop_rows_json(st, include_inactive ? cat_row_admin : cat_row_public, err);
}

/* ---- products ---- */

static const char *sql_prod_insert =
    "INSERT INTO products (category_id, name, description, price, currency, min_qty, max_qty,"
    " delivery, active, sort, created_at, updated_at)"
    " VALUES (:cat, :name, :desc, :price, :currency, :min, :max, :delivery, :active, :sort,"
    " :now, :now)";
static const char *sql_prod_update =
    "UPDATE products SET"
    " category_id = CASE WHEN :set_cat THEN :cat ELSE category_id END,"
    " name = CASE WHEN :set_name THEN :name ELSE name END,"
    " description = CASE WHEN :set_desc THEN :desc ELSE description END,"
    " price = CASE WHEN :set_price THEN :price ELSE price END,"
    " min_qty = CASE WHEN :set_min THEN :min ELSE min_qty END,"
    " max_qty = CASE WHEN :set_max THEN :max ELSE max_qty END,"
    " delivery = CASE WHEN :set_delivery THEN :delivery ELSE delivery END,"
    " active = CASE WHEN :set_active THEN :active ELSE active END,"
    " sort = CASE WHEN :set_sort THEN :sort ELSE sort END,"
    " updated_at = :now WHERE id = :id";
static const char *sql_prod_limits = "SELECT min_qty, max_qty FROM products WHERE id = :id";
static const char *sql_prod_has_orders =
    "SELECT EXISTS (SELECT 1 FROM orders WHERE product_id = :id)";
static const char *sql_prod_delete_keys = "DELETE FROM card_keys WHERE product_id = :id";
static const char *sql_prod_delete_coupons = "DELETE FROM coupons WHERE product_id = :id";
static const char *sql_prod_delete = "DELETE FROM products WHERE id = :id";
static const char *sql_prod_image = "SELECT image FROM products WHERE id = :id";
static const char *sql_prod_deactivate = "UPDATE products SET active = 0, updated_at = :now"
                                         " WHERE id = :id";

/* Stock from the counters the triggers keep (migration 0004): O(1) whatever the depth. */
#define PRODUCT_COLUMNS                                                                            \
	"SELECT p.id, p.name, p.category_id, p.price, p.currency, p.min_qty, p.max_qty,"           \
	" p.delivery, p.description, p.active, p.sort, coalesce(s.available, 0),"                  \
	" coalesce(s.reserved, 0), coalesce(s.sold, 0),"                                           \
	" p.loop_key, p.fields, p.image, p.low_stock"                                              \
	" FROM products p LEFT JOIN product_stock s ON s.product_id = p.id"

/* The public views hide the products of a hidden (inactive) category, as they hide it. */
#define CATEGORY_SHOWN                                                                             \
	" AND (:all OR p.category_id IS NULL"                                                      \
	" OR p.category_id IN (SELECT id FROM categories WHERE active = 1))"
static const char *sql_prod_list = PRODUCT_COLUMNS
    " WHERE (p.active = 1 OR :all) AND (:cat = 0 OR p.category_id = :cat)" CATEGORY_SHOWN
    " ORDER BY p.sort, p.id";
static const char *sql_prod_one =
    PRODUCT_COLUMNS " WHERE p.id = :id AND (p.active = 1 OR :all)" CATEGORY_SHOWN;

struct prod_ctx {
	const struct actor *who;
	json_t *in;
	const char *currency;
	int64_t id;
	int creating;
};

static int category_exists(json_t *in)
{
	json_t *v = json_object_get(in, "category_id");
	if (!v || json_is_null(v))
		return 1;
	sqlite3_stmt *st = db_stmt(sql_cat_exists);
	db_bind_int(st, ":id", json_integer_value(v));
	int found = db_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	return found;
}

static void bind_category(sqlite3_stmt *st, json_t *in)
{
	json_t *v = json_object_get(in, "category_id");
	if (v && json_is_integer(v))
		db_bind_int(st, ":cat", json_integer_value(v));
	else
		db_bind_null(st, ":cat");
}

static void bind_product(sqlite3_stmt *st, json_t *in)
{
	bind_category(st, in);
	db_bind_text(st, ":name", shop_json_str(in, "name", ""));
	db_bind_text(st, ":desc", shop_json_str(in, "description", ""));
	db_bind_int(st, ":price", shop_json_int(in, "price", 0));
	db_bind_int(st, ":min", shop_json_int(in, "min_qty", 1));
	db_bind_int(st, ":max", shop_json_int(in, "max_qty", 0));
	db_bind_text(st, ":delivery", shop_json_str(in, "delivery", "auto"));
	db_bind_int(st, ":active", shop_json_bool(in, "active", 1));
	db_bind_int(st, ":sort", shop_json_int(in, "sort", 0));
	db_bind_int(st, ":now", util_now());
}

static void bind_update_flags(sqlite3_stmt *st, json_t *in)
{
	static const char *const pairs[][2] = {
	    {":set_cat", "category_id"},   {":set_name", "name"},     {":set_desc", "description"},
	    {":set_price", "price"},       {":set_min", "min_qty"},   {":set_max", "max_qty"},
	    {":set_delivery", "delivery"}, {":set_active", "active"}, {":set_sort", "sort"},
	};
	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
		db_bind_int(st, pairs[i][0], json_object_get(in, pairs[i][1]) != NULL);
}

/* min_qty <= max_qty (0 = no limit) must hold after merging the change into the stored row. */
static int limits_ok(int64_t id, json_t *in)
{
	int64_t min = 1, max = 0;
	if (id) {
		sqlite3_stmt *st = db_stmt(sql_prod_limits);
		db_bind_int(st, ":id", id);
		if (db_step(st) == SQLITE_ROW) {
			min = sqlite3_column_int64(st, 0);
			max = sqlite3_column_int64(st, 1);
		}
		sqlite3_reset(st);
	}
	min = shop_json_int(in, "min_qty", min);
	max = shop_json_int(in, "max_qty", max);
	return max == 0 || min <= max;
}

static int prod_tx(sqlite3 *db, void *arg)
{
	struct prod_ctx *c = arg;
	if (!category_exists(c->in))
		return SHOP_INVALID;
	if (!limits_ok(c->creating ? 0 : c->id, c->in))
		return SHOP_UNPROCESSABLE;
	sqlite3_stmt *st = db_stmt(c->creating ? sql_prod_insert : sql_prod_update);
	if (!st)
		return -1;
	bind_product(st, c->in);
	if (c->creating) {
		db_bind_text(st, ":currency", c->currency);
	} else {
		bind_update_flags(st, c->in);
		db_bind_int(st, ":id", c->id);
	}
	if (db_step(st) != SQLITE_DONE)
		return db_log_error("product write failed");
	if (!c->creating && sqlite3_changes(db) == 0)
		return SHOP_NOT_FOUND;
	if (c->creating)
		c->id = sqlite3_last_insert_rowid(db);
	if (product_extra_write(c->id, c->in) != 0 || pricing_tiers_store(c->id, c->in) != 0)
		return -1;
	char target[32];
	snprintf(target, sizeof target, "product:%lld", (long long)c->id);
	return audit_record(c->who, c->creating ? "product.create" : "product.update", target,
	                    json_deep_copy(c->in));
}

static int prod_result(int rc, struct shop_err *err)
{
	switch (rc) {
	case 0:
		catalog_snapshot_rebuild(); /* the public views show it from now on */
		return 0;
	case SHOP_INVALID:
		return shop_fail(err, SHOP_INVALID, "category_id: no such category");
	case SHOP_UNPROCESSABLE:
		return shop_fail(err, SHOP_INVALID,
		                 "max_qty: must be 0 (no limit) or at least min_qty");
	case SHOP_NOT_FOUND:
		return shop_fail(err, SHOP_NOT_FOUND, "product not found");
	default:
		return shop_fail(err, SHOP_ERROR, "internal error");
	}
}

int product_create(const struct actor *who, const char *currency, json_t *in, int64_t *id,
                   struct shop_err *err)
{
	if (shop_validate(in, product_fields, NFIELDS(product_fields), 1, err) != 0 ||
	    product_extra_validate(in, err) != 0 || pricing_tiers_check(in, err) != 0)
		return -1;
	struct prod_ctx c = {.who = who, .in = in, .currency = currency, .creating = 1};
	if (prod_result(db_write(prod_tx, &c), err) != 0)
		return -1;
	*id = c.id;
	return 0;
}

int product_update(const struct actor *who, int64_t id, json_t *in, struct shop_err *err)
{
	if (shop_validate(in, product_fields, NFIELDS(product_fields), 0, err) != 0 ||
	    product_extra_validate(in, err) != 0 || pricing_tiers_check(in, err) != 0)
		return -1;
	struct prod_ctx c = {.who = who, .in = in, .id = id};
	return prod_result(db_write(prod_tx, &c), err);
}

struct del_ctx {
	const struct actor *who;
	int64_t id;
	int deleted;
	char image[64]; /* the deleted product's file, removed once the delete is committed */
};

/* The product's image name into out ("" for none). 0 or -1. */
static int prod_image(int64_t id, char out[64])
{
	sqlite3_stmt *st = db_stmt(sql_prod_image);
	if (!st)
		return -1;
	db_bind_int(st, ":id", id);
	int rc = db_step(st);
	out[0] = '\0';
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		snprintf(out, 64, "%s", db_col_text(st, 0));
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0
	                                             : db_log_error("product image read failed");
}

static int step_id(const char *sql, int64_t id)
{
	sqlite3_stmt *st = db_stmt(sql);
	if (!st)
		return -1;
	db_bind_int(st, ":id", id);
	if (sqlite3_bind_parameter_index(st, ":now"))
		db_bind_int(st, ":now", util_now());
	int rc = db_step(st);
	int64_t first = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_log_error("product delete step failed");
	return rc == SQLITE_ROW ? (int)first : 0;
}

static int del_tx(sqlite3 *db, void *arg)
{
	struct del_ctx *c = arg;
	int has_orders = step_id(sql_prod_has_orders, c->id);
	if (has_orders < 0)
		return -1;
	/* Sold history must stay: a product that was ever ordered is only deactivated. */
	if (has_orders) {
		if (step_id(sql_prod_deactivate, c->id) < 0)
			return -1;
	} else if (prod_image(c->id, c->image) != 0 || step_id(sql_prod_delete_keys, c->id) < 0 ||
	           step_id(sql_prod_delete_coupons, c->id) < 0 ||
	           step_id(sql_prod_delete, c->id) < 0) {
		return -1;
	}
	if (sqlite3_changes(db) == 0)
		return SHOP_NOT_FOUND;
	c->deleted = !has_orders;
	char target[32];
	snprintf(target, sizeof target, "product:%lld", (long long)c->id);
	return audit_record(c->who, c->deleted ? "product.delete" : "product.deactivate", target,
	                    NULL);
}

int product_delete(const struct actor *who, int64_t id, int *deleted, struct shop_err *err)
{
	struct del_ctx c = {.who = who, .id = id};
	if (prod_result(db_write(del_tx, &c), err) != 0)
		return -1;
	*deleted = c.deleted;
	/* After the commit: a crash before it leaves an orphan for the sweep, never a product
	 * whose image is gone. The file name is fixed at start, so the current copy serves. */
	if (c.deleted && c.image[0])
		media_release(config_current(), c.image);
	return 0;
}

static json_t *product_row(sqlite3_stmt *st, int admin_view, int with_description)
{
	int manual = strcmp(db_col_text(st, 7), "manual") == 0;
	json_t *p = json_pack(
	    "{sI ss sI ss sI sI ss}", "id", (json_int_t)sqlite3_column_int64(st, 0), "name",
	    db_col_text(st, 1), "price", (json_int_t)sqlite3_column_int64(st, 3), "currency",
	    db_col_text(st, 4), "min_qty", (json_int_t)sqlite3_column_int64(st, 5), "max_qty",
	    (json_int_t)sqlite3_column_int64(st, 6), "delivery", db_col_text(st, 7));
	json_object_set_new(p, "category_id",
	                    sqlite3_column_type(st, 2) == SQLITE_NULL
	                        ? json_null()
	                        : json_integer(sqlite3_column_int64(st, 2)));
	/* Manual products are fulfilled by the merchant: their stock is not counted in keys. */
	json_object_set_new(p, "stock",
	                    manual && !admin_view ? json_null()
	                                          : json_integer(sqlite3_column_int64(st, 11)));
	if (with_description || admin_view)
		json_object_set_new(p, "description", json_string(db_col_text(st, 8)));
	if (admin_view) {
		json_object_set_new(p, "active", json_boolean(sqlite3_column_int(st, 9)));
		json_object_set_new(p, "sort", json_integer(sqlite3_column_int64(st, 10)));
		json_object_set_new(p, "reserved", json_integer(sqlite3_column_int64(st, 12)));
		json_object_set_new(p, "sold", json_integer(sqlite3_column_int64(st, 13)));
		json_object_set_new(p, "available", json_integer(sqlite3_column_int64(st, 11)));
	}
	product_extra_json(p, st, 14, admin_view);
	/* Never shown without its tiers: a list skips it, a single read fails. */
	if (p && pricing_tiers_attach(p, sqlite3_column_int64(st, 0)) != 0) {
		json_decref(p);
		return NULL;
	}
	return p;
}

static json_t *product_row_public(sqlite3_stmt *st)
{
	return product_row(st, 0, 0);
}

static json_t *product_row_admin(sqlite3_stmt *st)
{
	return product_row(st, 1, 0);
}

json_t *products_json(int admin_view, int64_t category_id, struct shop_err *err)
{
	sqlite3_stmt *st = db_stmt(sql_prod_list);
	if (!st) {
		shop_fail(err, SHOP_ERROR, "internal error");
		return NULL;
	}
	db_bind_int(st, ":all", admin_view);
	db_bind_int(st, ":cat", category_id);
	return shop_rows_json(st, admin_view ? product_row_admin : product_row_public, err);
}

json_t *product_json(int64_t id, int admin_view, struct shop_err *err)
{
	sqlite3_stmt *st = db_stmt(sql_prod_one);
	if (!st) {
		shop_fail(err, SHOP_ERROR, "internal error");
		return NULL;
	}
	db_bind_int(st, ":id", id);
	db_bind_int(st, ":all", admin_view);
	int rc = db_step(st);
	json_t *p = rc == SQLITE_ROW ? product_row(st, admin_view, 1) : NULL;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		db_log_error("product read failed");
	sqlite3_reset(st);
	if (!p)
		shop_fail(err, rc == SQLITE_DONE ? SHOP_NOT_FOUND : SHOP_ERROR,
		          rc == SQLITE_DONE ? "product not found" : "internal error");
	return p;
}
