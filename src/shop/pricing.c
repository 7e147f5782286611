/* Pricing: a product's wholesale tiers and the one function that prices an order, used by
 * order creation (which takes the coupon's uses) and by the quote (which only reads), so the
 * price a buyer is shown is the price he is charged. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define TIERS_MAX 20 /* more steps than any price list needs; keeps the page's table short */

static const char *sql_tier_unit =
    "SELECT unit_price FROM product_tiers WHERE product_id = :pid AND min_qty <= :qty"
    " ORDER BY min_qty DESC LIMIT 1";
static const char *sql_tiers = "SELECT min_qty, unit_price FROM product_tiers"
                               " WHERE product_id = :pid ORDER BY min_qty";
static const char *sql_tiers_clear = "DELETE FROM product_tiers WHERE product_id = :pid";
static const char *sql_tier_insert = "INSERT INTO product_tiers (product_id, min_qty, unit_price)"
                                     " VALUES (:pid, :min, :unit)";

static int tier_check(json_t *t, size_t i, int64_t prev, struct shop_err *err)
{
	json_t *min = json_object_get(t, "min_qty"), *unit = json_object_get(t, "unit_price");
	if (!json_is_object(t) || json_object_size(t) != 2 || !min || !unit)
		return shop_fail(err, SHOP_INVALID,
		                 "tiers: item %zu must be {\"min_qty\", \"unit_price\"}", i);
	if (!json_is_integer(min) || json_integer_value(min) < 1 ||
	    json_integer_value(min) > 100000)
		return shop_fail(err, SHOP_INVALID, "tiers: item %zu: min_qty from 1 to 100000", i);
	if (json_integer_value(min) <= prev)
		return shop_fail(err, SHOP_INVALID,
		                 "tiers: min_qty must increase from one tier to the next");
	if (!json_is_integer(unit) || json_integer_value(unit) < 0 ||
	    json_integer_value(unit) > PRICE_MAX)
		return shop_fail(err, SHOP_INVALID, "tiers: item %zu: unit_price from 0 to %d", i,
		                 PRICE_MAX);
	return 0;
}

int pricing_tiers_check(json_t *in, struct shop_err *err)
{
	json_t *tiers = json_object_get(in, "tiers");
	if (!tiers)
		return 0;
	if (!json_is_array(tiers) || json_array_size(tiers) > TIERS_MAX)
		return shop_fail(err, SHOP_INVALID, "tiers: an array of at most %d tiers",
		                 TIERS_MAX);
	int64_t prev = 0;
	for (size_t i = 0; i < json_array_size(tiers); i++) {
		json_t *t = json_array_get(tiers, i);
		if (tier_check(t, i, prev, err) != 0)
			return -1;
		prev = json_integer_value(json_object_get(t, "min_qty"));
	}
	return 0;
}

int pricing_tiers_store(int64_t product_id, json_t *in)
{
	json_t *tiers = json_object_get(in, "tiers");
	if (!tiers)
		return 0; /* not in the change: the tiers stay as they are */
	sqlite3_stmt *st = db_stmt(sql_tiers_clear);
	if (!st)
		return -1;
	db_bind_int(st, ":pid", product_id);
	if (db_step(st) != SQLITE_DONE)
		return db_log_error("tiers clear failed");
	size_t i;
	json_t *t;
	json_array_foreach(tiers, i, t)
	{
		st = db_stmt(sql_tier_insert);
		if (!st)
			return -1;
		db_bind_int(st, ":pid", product_id);
		db_bind_int(st, ":min", json_integer_value(json_object_get(t, "min_qty")));
		db_bind_int(st, ":unit", json_integer_value(json_object_get(t, "unit_price")));
		if (db_step(st) != SQLITE_DONE)
			return db_log_error("tier insert failed");
	}
	return 0;
}

int pricing_tiers_attach(json_t *p, int64_t product_id)
{
	sqlite3_stmt *st = db_stmt(sql_tiers);
	if (!st)
		return -1;
	db_bind_int(st, ":pid", product_id);
	json_t *list = json_array();
	int rc;
	while ((rc = db_step(st)) == SQLITE_ROW)
		json_array_append_new(
		    list, json_pack("{sI sI}", "min_qty", (json_int_t)sqlite3_column_int64(st, 0),
		                    "unit_price", (json_int_t)sqlite3_column_int64(st, 1)));
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		json_decref(list);
		return db_log_error("tiers read failed");
	}
	json_object_set_new(p, "tiers", list);
	return 0;
}

/* The unit price for quantity: the tier of the highest min_qty <= quantity, else price. */
static int tier_unit(int64_t product_id, int64_t price, int64_t quantity, int64_t *unit)
{
	sqlite3_stmt *st = db_stmt(sql_tier_unit);
	if (!st)
		return -1;
	db_bind_int(st, ":pid", product_id);
	db_bind_int(st, ":qty", quantity);
	int rc = db_step(st);
	*unit = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : price;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_log_error("tier read failed");
	return 0;
}

int pricing_compute(int64_t product_id, int64_t price, int64_t quantity, const char *coupon,
                    int take, struct price *out, struct shop_err *err)
{
	memset(out, 0, sizeof *out);
	if (tier_unit(product_id, price, quantity, &out->unit) != 0)
		return shop_fail(err, SHOP_ERROR, "internal error");
	if (__builtin_mul_overflow(out->unit, quantity, &out->subtotal) ||
	    out->subtotal > 100 * (int64_t)PRICE_MAX)
		return shop_fail(err, SHOP_INVALID, "quantity: total too large");
	if (coupon) {
		struct coupon_price cp;
		if (coupon_apply(coupon, product_id, out->unit, quantity, take, &cp, err) != 0)
			return -1;
		out->discount = cp.discount;
		out->coupon_id = cp.coupon_id;
		out->coupon_uses = cp.uses;
	}
	out->amount = out->subtotal - out->discount;
	return 0;
}
