/* Coupons: creation, and taking a use inside the order transaction (given back on expiry). */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const char *const kinds[] = {"percent", "fixed", NULL};
static const struct field coupon_fields[] = {
    {"code", F_NAME, 1, 64, NULL, 1},
    {"kind", F_ENUM, 0, 0, kinds, 1},
    {"value", F_INT, 1, PRICE_MAX, NULL, 1},
    {"uses", F_INT_NULL, 1, 100000000, NULL, 0},
    {"expires_at", F_INT_NULL, 1, INT64_MAX, NULL, 0},
    {"product_id", F_INT_NULL, 1, INT64_MAX, NULL, 0},
};

static const char *sql_insert =
    "INSERT INTO coupons (code, kind, value, uses_left, expires_at, product_id, created_at)"
    " VALUES (:code, :kind, :value, :uses, :exp, :pid, :now) ON CONFLICT (code) DO NOTHING";
static const char *sql_product = "SELECT 1 FROM products WHERE id = :id";
static const char *sql_find =
    "SELECT id, kind, value, uses_left, expires_at, product_id, active FROM coupons"
    " WHERE code = :code";
static const char *sql_take =
    "UPDATE coupons SET used = used + 1,"
    " uses_left = CASE WHEN uses_left IS NULL THEN NULL ELSE uses_left - 1 END"
    " WHERE id = :id AND (uses_left IS NULL OR uses_left > 0)";
static const char *sql_list = "SELECT id, code, kind, value, uses_left, used, expires_at,"
                              " product_id, active FROM coupons ORDER BY id DESC LIMIT 500";

struct create_ctx {
	const struct actor *who;
	json_t *in;
	int64_t id;
};

static void bind_opt(sqlite3_stmt *st, const char *param, json_t *v)
{
	if (json_is_integer(v))
		db_bind_int(st, param, json_integer_value(v));
	else
		db_bind_null(st, param);
}

static int create_tx(sqlite3 *db, void *arg)
{
	struct create_ctx *c = arg;
	json_t *pid = json_object_get(c->in, "product_id");
	if (json_is_integer(pid)) {
		sqlite3_stmt *chk = db_stmt(sql_product);
		db_bind_int(chk, ":id", json_integer_value(pid));
		int found = db_step(chk) == SQLITE_ROW;
		sqlite3_reset(chk);
		if (!found)
			return SHOP_INVALID;
	}
	sqlite3_stmt *st = db_stmt(sql_insert);
	if (!st)
		return -1;
	db_bind_text(st, ":code", shop_json_str(c->in, "code", ""));
	db_bind_text(st, ":kind", shop_json_str(c->in, "kind", ""));
	db_bind_int(st, ":value", shop_json_int(c->in, "value", 0));
	bind_opt(st, ":uses", json_object_get(c->in, "uses"));
	bind_opt(st, ":exp", json_object_get(c->in, "expires_at"));
	bind_opt(st, ":pid", pid);
	db_bind_int(st, ":now", util_now());
	if (db_step(st) != SQLITE_DONE)
		return db_log_error("coupon insert failed");
	if (sqlite3_changes(db) == 0)
		return SHOP_CONFLICT;
	c->id = sqlite3_last_insert_rowid(db);
	char target[32];
	snprintf(target, sizeof target, "coupon:%lld", (long long)c->id);
	return audit_record(c->who, "coupon.create", target, json_deep_copy(c->in));
}

int coupon_create(const struct actor *who, json_t *in, int64_t *id, struct shop_err *err)
{
	if (shop_validate(in, coupon_fields, sizeof coupon_fields / sizeof coupon_fields[0], 1,
	                  err) != 0)
		return -1;
	if (strcmp(shop_json_str(in, "kind", ""), "percent") == 0 &&
	    shop_json_int(in, "value", 0) > 100)
		return shop_fail(err, SHOP_INVALID, "value: a percent coupon takes 1 to 100");
	struct create_ctx c = {.who = who, .in = in};
	int rc = db_write(create_tx, &c);
	if (rc == SHOP_CONFLICT)
		return shop_fail(err, SHOP_CONFLICT, "code: a coupon with this code exists");
	if (rc == SHOP_INVALID)
		return shop_fail(err, SHOP_INVALID, "product_id: no such product");
	if (rc != 0)
		return shop_fail(err, SHOP_ERROR, "internal error");
	*id = c.id;
	return 0;
}

int coupon_take(const char *code, int64_t product_id, int64_t gross, int64_t *discount,
                int64_t *coupon_id, struct shop_err *err)
{
	sqlite3_stmt *st = db_stmt(sql_find);
	if (!st)
		return shop_fail(err, SHOP_ERROR, "internal error");
	db_bind_text(st, ":code", code);
	if (db_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return shop_fail(err, SHOP_UNPROCESSABLE, "coupon: unknown code");
	}
	int64_t id = sqlite3_column_int64(st, 0);
	int percent = strcmp(db_col_text(st, 1), "percent") == 0;
	int64_t value = sqlite3_column_int64(st, 2);
	int used_up = sqlite3_column_type(st, 3) != SQLITE_NULL && sqlite3_column_int64(st, 3) <= 0;
	int expired =
	    sqlite3_column_type(st, 4) != SQLITE_NULL && sqlite3_column_int64(st, 4) <= util_now();
	int wrong_product =
	    sqlite3_column_type(st, 5) != SQLITE_NULL && sqlite3_column_int64(st, 5) != product_id;
	int active = sqlite3_column_int(st, 6);
	sqlite3_reset(st);
	if (!active || expired)
		return shop_fail(err, SHOP_UNPROCESSABLE, "coupon: expired");
	if (used_up)
		return shop_fail(err, SHOP_UNPROCESSABLE, "coupon: used up");
	if (wrong_product)
		return shop_fail(err, SHOP_UNPROCESSABLE, "coupon: not valid for this product");
	st = db_stmt(sql_take);
	db_bind_int(st, ":id", id);
	if (db_step(st) != SQLITE_DONE || sqlite3_changes(db_conn()) != 1)
		return shop_fail(err, SHOP_UNPROCESSABLE, "coupon: used up");
	/* Integer minor units; a discount never takes the amount below zero. */
	*discount = percent ? gross * value / 100 : (value < gross ? value : gross);
	*coupon_id = id;
	return 0;
}

static json_t *coupon_row(sqlite3_stmt *st)
{
	json_t *c =
	    json_pack("{sI ss ss sI sI sb}", "id", (json_int_t)sqlite3_column_int64(st, 0), "code",
	              db_col_text(st, 1), "kind", db_col_text(st, 2), "value",
	              (json_int_t)sqlite3_column_int64(st, 3), "used",
	              (json_int_t)sqlite3_column_int64(st, 5), "active", sqlite3_column_int(st, 8));
	static const struct {
		int col;
		const char *name;
	} nullable[] = {{4, "uses_left"}, {6, "expires_at"}, {7, "product_id"}};
	for (size_t i = 0; c && i < sizeof nullable / sizeof nullable[0]; i++) {
		int col = nullable[i].col;
		json_object_set_new(c, nullable[i].name,
		                    sqlite3_column_type(st, col) == SQLITE_NULL
		                        ? json_null()
		                        : json_integer(sqlite3_column_int64(st, col)));
	}
	return c;
}

json_t *coupons_json(struct shop_err *err)
{
	sqlite3_stmt *st = db_stmt(sql_list);
	if (!st) {
		shop_fail(err, SHOP_ERROR, "internal error");
		return NULL;
	}
	return shop_rows_json(st, coupon_row, err);
}
