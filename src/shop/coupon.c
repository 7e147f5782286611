/* Coupons: creation, edits and deletion by the merchant, and their price at checkout. A use is
 * one unit sold at the discount: an order covers min(quantity, uses left) units and takes that
 * many uses (kept in orders.coupon_uses, given back on expiry), so a one-use 100% code gives
 * away one key, never a whole stock. */
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
    {"max_discount", F_INT_NULL, 1, PRICE_MAX, NULL, 0},
};
/* What a merchant may change once codes are out: stop it, give it more or fewer uses, move its
 * expiry, cap it. Code, kind and value stay: orders already placed were priced by them. */
static const struct field coupon_patch_fields[] = {
    {"active", F_BOOL, 0, 1, NULL, 0},
    {"uses", F_INT_NULL, 0, 100000000, NULL, 0},
    {"expires_at", F_INT_NULL, 1, INT64_MAX, NULL, 0},
    {"max_discount", F_INT_NULL, 1, PRICE_MAX, NULL, 0},
};

static const char *sql_insert =
    "INSERT INTO coupons (code, kind, value, uses_left, expires_at, product_id, max_discount,"
    " created_at) VALUES (:code, :kind, :value, :uses, :exp, :pid, :max, :now)"
    " ON CONFLICT (code) DO NOTHING";
static const char *sql_product = "SELECT 1 FROM products WHERE id = :id";
static const char *sql_find =
    "SELECT id, kind, value, uses_left, expires_at, product_id, active, max_discount"
    " FROM coupons WHERE code = :code";
static const char *sql_take =
    "UPDATE coupons SET used = used + :n,"
    " uses_left = CASE WHEN uses_left IS NULL THEN NULL ELSE uses_left - :n END"
    " WHERE id = :id AND (uses_left IS NULL OR uses_left >= :n)";
/* `uses` is the total a coupon may cover: what is left follows from what is used. */
static const char *sql_update =
    "UPDATE coupons SET active = CASE WHEN :set_active THEN :active ELSE active END,"
    " uses_left = CASE WHEN :set_uses THEN"
    "   CASE WHEN :uses IS NULL THEN NULL ELSE :uses - used END ELSE uses_left END,"
    " expires_at = CASE WHEN :set_exp THEN :exp ELSE expires_at END,"
    " max_discount = CASE WHEN :set_max THEN :max ELSE max_discount END"
    " WHERE id = :id";
static const char *sql_used = "SELECT used FROM coupons WHERE id = :id";
static const char *sql_ordered = "SELECT EXISTS (SELECT 1 FROM orders WHERE coupon_id = :id)";
static const char *sql_delete = "DELETE FROM coupons WHERE id = :id";
#define COUPON_COLUMNS                                                                             \
	"SELECT id, code, kind, value, uses_left, used, expires_at, product_id, active,"           \
	" max_discount FROM coupons"
static const char *sql_list = COUPON_COLUMNS " ORDER BY id DESC LIMIT 500";
static const char *sql_one = COUPON_COLUMNS " WHERE id = :id";

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

static int audit_coupon(const struct actor *who, const char *action, int64_t id, json_t *in)
{
	char target[32];
	snprintf(target, sizeof target, "coupon:%lld", (long long)id);
	return audit_record(who, action, target, in ? json_deep_copy(in) : NULL);
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
	bind_opt(st, ":max", json_object_get(c->in, "max_discount"));
	db_bind_int(st, ":now", util_now());
	if (db_step(st) != SQLITE_DONE)
		return db_log_error("coupon insert failed");
	if (sqlite3_changes(db) == 0)
		return SHOP_CONFLICT;
	c->id = sqlite3_last_insert_rowid(db);
	return audit_coupon(c->who, "coupon.create", c->id, c->in);
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

/* The coupon's used count: 1 and *used set, 0 when there is no such coupon, -1 on error. */
static int coupon_used(int64_t id, int64_t *used)
{
	sqlite3_stmt *st = db_stmt(sql_used);
	if (!st)
		return -1;
	db_bind_int(st, ":id", id);
	int rc = db_step(st);
	*used = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_log_error("coupon read failed");
	return rc == SQLITE_ROW;
}

static int update_tx(sqlite3 *db, void *arg)
{
	(void)db;
	struct create_ctx *c = arg;
	int64_t used;
	int found = coupon_used(c->id, &used);
	if (found <= 0)
		return found < 0 ? -1 : SHOP_NOT_FOUND;
	/* Uses already taken by orders stay taken: the total cannot go below them. */
	json_t *uses = json_object_get(c->in, "uses");
	if (json_is_integer(uses) && json_integer_value(uses) < used)
		return SHOP_UNPROCESSABLE;
	sqlite3_stmt *st = db_stmt(sql_update);
	if (!st)
		return -1;
	static const char *const flags[][2] = {{":set_active", "active"},
	                                       {":set_uses", "uses"},
	                                       {":set_exp", "expires_at"},
	                                       {":set_max", "max_discount"}};
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
		db_bind_int(st, flags[i][0], json_object_get(c->in, flags[i][1]) != NULL);
	db_bind_int(st, ":active", shop_json_bool(c->in, "active", 1));
	bind_opt(st, ":uses", uses);
	bind_opt(st, ":exp", json_object_get(c->in, "expires_at"));
	bind_opt(st, ":max", json_object_get(c->in, "max_discount"));
	db_bind_int(st, ":id", c->id);
	if (db_step(st) != SQLITE_DONE)
		return db_log_error("coupon update failed");
	return audit_coupon(c->who, "coupon.update", c->id, c->in);
}

int coupon_update(const struct actor *who, int64_t id, json_t *in, struct shop_err *err)
{
	if (shop_validate(in, coupon_patch_fields,
	                  sizeof coupon_patch_fields / sizeof coupon_patch_fields[0], 0, err) != 0)
		return -1;
	if (json_object_size(in) == 0)
		return shop_fail(err, SHOP_INVALID,
		                 "body: one of active, uses, expires_at, max_discount");
	struct create_ctx c = {.who = who, .in = in, .id = id};
	int rc = db_write(update_tx, &c);
	if (rc == SHOP_NOT_FOUND)
		return shop_fail(err, SHOP_NOT_FOUND, "coupon not found");
	if (rc == SHOP_UNPROCESSABLE)
		return shop_fail(err, SHOP_INVALID, "uses: at least the uses already taken");
	if (rc != 0)
		return shop_fail(err, SHOP_ERROR, "internal error");
	return 0;
}

static int delete_tx(sqlite3 *db, void *arg)
{
	struct create_ctx *c = arg;
	int64_t used;
	int found = coupon_used(c->id, &used);
	if (found <= 0)
		return found < 0 ? -1 : SHOP_NOT_FOUND;
	/* An order that ever named it keeps it: its discount must stay explainable (and the
	 * foreign key would refuse anyway). Disable it instead. */
	sqlite3_stmt *st = db_stmt(sql_ordered);
	if (!st)
		return -1;
	db_bind_int(st, ":id", c->id);
	int rc = db_step(st);
	int ordered = rc == SQLITE_ROW && sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return db_log_error("coupon order check failed");
	if (ordered || used > 0)
		return SHOP_CONFLICT;
	st = db_stmt(sql_delete);
	if (!st)
		return -1;
	db_bind_int(st, ":id", c->id);
	if (db_step(st) != SQLITE_DONE || sqlite3_changes(db) != 1)
		return db_log_error("coupon delete failed");
	return audit_coupon(c->who, "coupon.delete", c->id, NULL);
}

int coupon_delete(const struct actor *who, int64_t id, struct shop_err *err)
{
	struct create_ctx c = {.who = who, .id = id};
	int rc = db_write(delete_tx, &c);
	if (rc == SHOP_NOT_FOUND)
		return shop_fail(err, SHOP_NOT_FOUND, "coupon not found");
	if (rc == SHOP_CONFLICT)
		return shop_fail(err, SHOP_CONFLICT,
		                 "coupon: used by orders; disable it instead (active: false)");
	if (rc != 0)
		return shop_fail(err, SHOP_ERROR, "internal error");
	return 0;
}

struct coupon_row {
	int64_t id, value, uses_left, max_discount; /* uses_left -1: unlimited; max 0: none */
	int percent, active, expired, wrong_product;
};

/* 1 with r filled, 0 for an unknown code, -1 on a database error. */
static int coupon_find(const char *code, int64_t product_id, struct coupon_row *r)
{
	sqlite3_stmt *st = db_stmt(sql_find);
	if (!st)
		return -1;
	db_bind_text(st, ":code", code);
	int rc = db_step(st);
	if (rc == SQLITE_ROW) {
		r->id = sqlite3_column_int64(st, 0);
		r->percent = strcmp(db_col_text(st, 1), "percent") == 0;
		r->value = sqlite3_column_int64(st, 2);
		r->uses_left =
		    sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 3);
		r->expired = sqlite3_column_type(st, 4) != SQLITE_NULL &&
		             sqlite3_column_int64(st, 4) <= util_now();
		r->wrong_product = sqlite3_column_type(st, 5) != SQLITE_NULL &&
		                   sqlite3_column_int64(st, 5) != product_id;
		r->active = sqlite3_column_int(st, 6);
		r->max_discount = sqlite3_column_int64(st, 7); /* NULL reads 0 */
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_log_error("coupon read failed");
	return rc == SQLITE_ROW;
}

/* What one use takes off one unit: rounded down for a percentage (the merchant never gives
 * more than he said), never more than the unit costs, never more than max_discount. */
static int64_t coupon_unit_discount(const struct coupon_row *r, int64_t unit)
{
	int64_t d = r->percent ? unit * r->value / 100 : r->value;
	if (d > unit)
		d = unit;
	if (r->max_discount > 0 && d > r->max_discount)
		d = r->max_discount;
	return d;
}

int coupon_apply(const char *code, int64_t product_id, int64_t unit, int64_t quantity, int take,
                 struct coupon_price *out, struct shop_err *err)
{
	memset(out, 0, sizeof *out);
	struct coupon_row r = {0};
	int found = coupon_find(code, product_id, &r);
	if (found < 0)
		return shop_fail(err, SHOP_ERROR, "internal error");
	/* A disabled code is refused exactly like one that never existed. */
	if (!found || !r.active)
		return shop_fail(err, SHOP_UNPROCESSABLE, "coupon: unknown code");
	if (r.expired)
		return shop_fail(err, SHOP_UNPROCESSABLE, "coupon: expired");
	if (r.uses_left == 0)
		return shop_fail(err, SHOP_UNPROCESSABLE, "coupon: used up");
	if (r.wrong_product)
		return shop_fail(err, SHOP_UNPROCESSABLE, "coupon: not valid for this product");
	int64_t units = r.uses_left < 0 || r.uses_left > quantity ? quantity : r.uses_left;
	if (take) {
		sqlite3_stmt *st = db_stmt(sql_take);
		if (!st)
			return shop_fail(err, SHOP_ERROR, "internal error");
		db_bind_int(st, ":id", r.id);
		db_bind_int(st, ":n", units);
		if (db_step(st) != SQLITE_DONE) {
			db_log_error("coupon take failed");
			return shop_fail(err, SHOP_ERROR, "internal error");
		}
		/* Read and taken in one write transaction: nobody took them in between. */
		if (sqlite3_changes(db_conn()) != 1)
			return shop_fail(err, SHOP_UNPROCESSABLE, "coupon: used up");
	}
	/* unit <= PRICE_MAX * 100 and units <= 100000: no overflow. */
	out->discount = coupon_unit_discount(&r, unit) * units;
	out->coupon_id = r.id;
	out->uses = units;
	return 0;
}

static json_t *nullable(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL
	           ? json_null()
	           : json_integer(sqlite3_column_int64(st, col));
}

static json_t *coupon_row_json(sqlite3_stmt *st)
{
	int64_t used = sqlite3_column_int64(st, 5);
	json_t *c = json_pack("{sI ss ss sI sI sb}", "id", (json_int_t)sqlite3_column_int64(st, 0),
	                      "code", db_col_text(st, 1), "kind", db_col_text(st, 2), "value",
	                      (json_int_t)sqlite3_column_int64(st, 3), "used", (json_int_t)used,
	                      "active", sqlite3_column_int(st, 8));
	if (!c)
		return NULL;
	json_object_set_new(c, "uses_left", nullable(st, 4));
	json_object_set_new(c, "uses",
	                    sqlite3_column_type(st, 4) == SQLITE_NULL
	                        ? json_null()
	                        : json_integer(sqlite3_column_int64(st, 4) + used));
	json_object_set_new(c, "expires_at", nullable(st, 6));
	json_object_set_new(c, "product_id", nullable(st, 7));
	json_object_set_new(c, "max_discount", nullable(st, 9));
	return c;
}

json_t *coupons_json(struct shop_err *err)
{
	sqlite3_stmt *st = db_stmt(sql_list);
	if (!st) {
		shop_fail(err, SHOP_ERROR, "internal error");
		return NULL;
	}
	return shop_rows_json(st, coupon_row_json, err);
}

json_t *coupon_json(int64_t id, struct shop_err *err)
{
	sqlite3_stmt *st = db_stmt(sql_one);
	if (!st) {
		shop_fail(err, SHOP_ERROR, "internal error");
		return NULL;
	}
	db_bind_int(st, ":id", id);
	int rc = db_step(st);
	json_t *c = rc == SQLITE_ROW ? coupon_row_json(st) : NULL;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		db_log_error("coupon read failed");
	sqlite3_reset(st);
	if (!c)
		shop_fail(err, rc == SQLITE_DONE ? SHOP_NOT_FOUND : SHOP_ERROR,
		          rc == SQLITE_DONE ? "coupon not found" : "internal error");
	return c;
}
