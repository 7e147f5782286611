/* What products carry beyond price and stock: loop keys (one key delivered to every buyer),
 * the input fields asked at checkout, the image and the low-stock threshold. Kept apart from
 * catalog.c and order.c so those read as before: they call in at one point each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define FIELDS_MAX 10
#define FIELD_NAME_MAX 32
#define FIELD_LABEL_MAX 200
#define FIELD_VALUE_MAX 1000

static const char *sql_extra_update =
    "UPDATE products SET"
    " loop_key = CASE WHEN :set_loop THEN :loop ELSE loop_key END,"
    " fields = CASE WHEN :set_fields THEN :fields ELSE fields END,"
    " low_stock = CASE WHEN :set_low THEN :low ELSE low_stock END WHERE id = :id";
static const char *sql_extra_product = "SELECT loop_key, fields FROM products WHERE id = :id";
static const char *sql_extra_order = "UPDATE orders SET loop_key = :loop, fields = :fields"
                                     " WHERE id = :id";
static const char *sql_loop_free = "SELECT EXISTS (SELECT 1 FROM card_keys WHERE product_id = :pid"
                                   " AND status = 'available')";
/* The first available key, every time: all buyers of a loop product get the same one; and
 * whether it is linked to a loop order already. */
static const char *sql_loop_pick =
    "SELECT id, EXISTS (SELECT 1 FROM order_keys WHERE key_id = card_keys.id) FROM card_keys"
    " WHERE product_id = :pid AND status = 'available' ORDER BY id LIMIT 1";
static const char *sql_loop_link = "INSERT INTO order_keys (order_id, key_id, created_at)"
                                   " VALUES (:oid, :kid, :now)";
/* A key once given to loop buyers is never reserved again (order.c), so the counter of keys
 * free to sell lets it go when it is first linked (stock.c counts the rows the same way). It
 * stays 'available' and is never deleted, sold or reserved after, so no trigger counts it
 * out a second time. */
static const char *sql_loop_uncount = "UPDATE product_stock SET available = available - 1"
                                      " WHERE product_id = :pid";
static const char *sql_low_stock =
    "SELECT p.id, p.name, coalesce(s.available, 0), p.low_stock FROM products p"
    " LEFT JOIN product_stock s ON s.product_id = p.id"
    " WHERE p.active = 1 AND p.low_stock > 0 AND p.loop_key = 0 AND p.delivery = 'auto'"
    " AND coalesce(s.available, 0) <= p.low_stock ORDER BY p.id";

/* ---- the field definitions of a product ---- */

static int name_ok(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n <= FIELD_NAME_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

static int text_ok(json_t *v, size_t min, size_t max, int single_line)
{
	if (!json_is_string(v))
		return 0;
	const char *s = json_string_value(v);
	size_t bytes = json_string_length(v);
	if (strlen(s) != bytes || !util_utf8_valid(s, bytes))
		return 0;
	if (single_line && strpbrk(s, "\r\n\t"))
		return 0;
	size_t chars = util_utf8_len(s, bytes);
	return chars >= min && chars <= max;
}

/* One definition, checked and rewritten with every key set; NULL with err. */
static json_t *field_def(json_t *f, size_t i, json_t *done, struct shop_err *err)
{
	if (!json_is_object(f)) {
		shop_fail(err, SHOP_INVALID, "fields[%zu]: must be an object", i);
		return NULL;
	}
	for (void *it = json_object_iter(f); it; it = json_object_iter_next(f, it)) {
		const char *k = json_object_iter_key(it);
		if (strcmp(k, "name") && strcmp(k, "label") && strcmp(k, "required") &&
		    strcmp(k, "max_len")) {
			shop_fail(err, SHOP_INVALID, "fields[%zu].%.40s: unknown field", i, k);
			return NULL;
		}
	}
	json_t *name = json_object_get(f, "name"), *label = json_object_get(f, "label");
	json_t *req = json_object_get(f, "required"), *max = json_object_get(f, "max_len");
	if (!json_is_string(name) || !name_ok(json_string_value(name)))
		shop_fail(err, SHOP_INVALID, "fields[%zu].name: 1 to 32 of a-z, 0-9 and _", i);
	else if (!text_ok(label, 1, FIELD_LABEL_MAX, 1))
		shop_fail(err, SHOP_INVALID, "fields[%zu].label: 1 to 200 characters, one line", i);
	else if (req && !json_is_boolean(req))
		shop_fail(err, SHOP_INVALID, "fields[%zu].required: must be true or false", i);
	else if (max && (!json_is_integer(max) || json_integer_value(max) < 1 ||
	                 json_integer_value(max) > FIELD_VALUE_MAX))
		shop_fail(err, SHOP_INVALID,
		          "fields[%zu].max_len: must be an integer from 1 to 1000", i);
	else if (json_object_get(done, json_string_value(name)))
		shop_fail(err, SHOP_INVALID, "fields[%zu].name: used twice", i);
	else
		return json_pack("{sO sO sb sI}", "name", name, "label", label, "required",
		                 json_is_true(req), "max_len",
		                 (json_int_t)(max ? json_integer_value(max) : 200));
	return NULL;
}

static json_t *fields_normalize(json_t *v, struct shop_err *err)
{
	if (!json_is_array(v)) {
		shop_fail(err, SHOP_INVALID, "fields: must be an array");
		return NULL;
	}
	if (json_array_size(v) > FIELDS_MAX) {
		shop_fail(err, SHOP_INVALID, "fields: at most %d", FIELDS_MAX);
		return NULL;
	}
	json_t *out = json_array(), *done = json_object();
	for (size_t i = 0; i < json_array_size(v); i++) {
		json_t *f = field_def(json_array_get(v, i), i, done, err);
		if (!f) {
			json_decref(out);
			out = NULL;
			break;
		}
		json_object_set_new(done, json_string_value(json_object_get(f, "name")),
		                    json_true());
		json_array_append_new(out, f);
	}
	json_decref(done);
	return out;
}

int product_extra_validate(json_t *in, struct shop_err *err)
{
	json_t *v = json_object_get(in, "fields");
	if (!v)
		return 0;
	json_t *norm = fields_normalize(v, err);
	if (!norm)
		return -1;
	json_object_set_new(in, "fields", norm); /* stored and audited in its full form */
	return 0;
}

int product_extra_write(int64_t id, json_t *in)
{
	json_t *loop = json_object_get(in, "loop"), *fields = json_object_get(in, "fields");
	json_t *low = json_object_get(in, "low_stock");
	if (!loop && !fields && !low)
		return 0;
	sqlite3_stmt *st = db_stmt(sql_extra_update);
	if (!st)
		return -1;
	char *text = fields ? json_dumps(fields, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	db_bind_int(st, ":set_loop", loop != NULL);
	db_bind_int(st, ":loop", json_is_true(loop));
	db_bind_int(st, ":set_fields", text != NULL);
	db_bind_text(st, ":fields", text ? text : "[]");
	db_bind_int(st, ":set_low", low != NULL);
	db_bind_int(st, ":low", json_integer_value(low));
	db_bind_int(st, ":id", id);
	int rc = db_step(st) == SQLITE_DONE ? 0 : db_log_error("product extras write failed");
	sqlite3_reset(st);
	free(text);
	return rc;
}

void product_extra_json(json_t *p, sqlite3_stmt *st, int col, int admin_view)
{
	int loop = sqlite3_column_int(st, col);
	json_t *fields = json_loads(db_col_text(st, col + 1), 0, NULL);
	json_object_set_new(p, "loop", json_boolean(loop));
	json_object_set_new(p, "fields", json_is_array(fields) ? fields : json_array());
	if (fields && !json_is_array(fields))
		json_decref(fields);
	json_object_set_new(p, "image_url",
	                    sqlite3_column_type(st, col + 2) == SQLITE_NULL
	                        ? json_null()
	                        : json_sprintf("/uploads/%s", db_col_text(st, col + 2)));
	if (loop) /* one key for everyone: never sold out, no count to show */
		json_object_set_new(p, "stock", json_null());
	if (admin_view)
		json_object_set_new(p, "low_stock",
		                    json_integer(sqlite3_column_int64(st, col + 3)));
}

json_t *products_low_stock_json(struct shop_err *err)
{
	sqlite3_stmt *st = db_stmt(sql_low_stock);
	if (!st) {
		shop_fail(err, SHOP_ERROR, "internal error");
		return NULL;
	}
	json_t *list = json_array();
	int rc;
	while ((rc = db_step(st)) == SQLITE_ROW)
		json_array_append_new(
		    list, json_pack("{sI ss sI sI}", "id", (json_int_t)sqlite3_column_int64(st, 0),
		                    "name", db_col_text(st, 1), "stock",
		                    (json_int_t)sqlite3_column_int64(st, 2), "threshold",
		                    (json_int_t)sqlite3_column_int64(st, 3)));
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		db_log_error("low stock read failed");
		json_decref(list);
		shop_fail(err, SHOP_ERROR, "internal error");
		return NULL;
	}
	return list;
}

/* ---- orders ---- */

/* The buyer's answer to one field: a string within its length, counted in characters. */
static int answer_check(json_t *def, json_t *v, const char *name, struct shop_err *err)
{
	if (!json_is_string(v))
		return shop_fail(err, SHOP_INVALID, "fields.%s: must be a string", name);
	const char *s = json_string_value(v);
	size_t bytes = json_string_length(v);
	if (strlen(s) != bytes || !util_utf8_valid(s, bytes))
		return shop_fail(err, SHOP_INVALID, "fields.%s: contains invalid characters", name);
	int64_t max = json_integer_value(json_object_get(def, "max_len"));
	if ((int64_t)util_utf8_len(s, bytes) > max)
		return shop_fail(err, SHOP_INVALID, "fields.%s: at most %lld characters", name,
		                 (long long)max);
	return 0;
}

static json_t *def_find(json_t *defs, const char *name)
{
	for (size_t i = 0; i < json_array_size(defs); i++) {
		json_t *d = json_array_get(defs, i);
		if (strcmp(json_string_value(json_object_get(d, "name")), name) == 0)
			return d;
	}
	return NULL;
}

/* The answers against the definitions: unknown names refused, required ones present. */
static json_t *answers_check(json_t *defs, json_t *answers, struct shop_err *err)
{
	if (answers && !json_is_object(answers)) {
		shop_fail(err, SHOP_INVALID, "fields: must be an object");
		return NULL;
	}
	json_t *out = json_object();
	for (void *it = json_object_iter(answers); it; it = json_object_iter_next(answers, it)) {
		const char *name = json_object_iter_key(it);
		json_t *def = def_find(defs, name);
		if (!def || !name_ok(name)) {
			shop_fail(err, SHOP_INVALID, "fields.%.40s: unknown field", name);
			goto fail;
		}
		json_t *v = json_object_iter_value(it);
		if (answer_check(def, v, name, err) != 0)
			goto fail;
		if (json_string_length(v) > 0)
			json_object_set(out, name, v);
	}
	for (size_t i = 0; i < json_array_size(defs); i++) {
		json_t *d = json_array_get(defs, i);
		const char *name = json_string_value(json_object_get(d, "name"));
		if (json_is_true(json_object_get(d, "required")) && !json_object_get(out, name)) {
			shop_fail(err, SHOP_INVALID, "fields.%s: required", name);
			goto fail;
		}
	}
	return out;
fail:
	json_decref(out);
	return NULL;
}

int order_extra_check(int64_t product_id, int64_t qty, int manual, json_t *answers, int answers_due,
                      struct order_extra *x, struct shop_err *err)
{
	memset(x, 0, sizeof *x);
	sqlite3_stmt *st = db_stmt(sql_extra_product);
	if (!st)
		return shop_fail(err, SHOP_ERROR, "internal error");
	db_bind_int(st, ":id", product_id);
	int rc = db_step(st);
	int loop = rc == SQLITE_ROW && sqlite3_column_int(st, 0);
	json_t *defs = rc == SQLITE_ROW ? json_loads(db_col_text(st, 1), 0, NULL) : NULL;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW) {
		if (rc != SQLITE_DONE)
			db_log_error("product extras read failed");
		return shop_fail(err, rc == SQLITE_DONE ? SHOP_NOT_FOUND : SHOP_ERROR, "%s",
		                 rc == SQLITE_DONE ? "product_id: no such product"
		                                   : "internal error");
	}
	x->loop = loop && !manual; /* the merchant fulfils manual orders: no key to share */
	json_t *out = NULL;
	if (loop && qty != 1) /* the contract's rule, whoever delivers */
		shop_fail(err, SHOP_INVALID, "quantity: this product is sold one at a time");
	else if (!answers_due) /* a quote asked before the buyer filled the fields in */
		out = json_object();
	else
		out = answers_check(json_is_array(defs) ? defs : NULL, answers, err);
	json_decref(defs);
	if (!out)
		return -1;
	x->fields = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(out);
	return x->fields ? 0 : shop_fail(err, SHOP_ERROR, "internal error");
}

int order_extra_store(int64_t order_id, const struct order_extra *x)
{
	if (!x->loop && (!x->fields || strcmp(x->fields, "{}") == 0))
		return 0; /* the defaults already */
	sqlite3_stmt *st = db_stmt(sql_extra_order);
	if (!st)
		return -1;
	db_bind_int(st, ":loop", x->loop);
	db_bind_text(st, ":fields", x->fields ? x->fields : "{}");
	db_bind_int(st, ":id", order_id);
	return db_step(st) == SQLITE_DONE ? 0 : db_log_error("order extras write failed");
}

void order_extra_cleanup(struct order_extra *x)
{
	free(x->fields);
	x->fields = NULL;
}

int loop_key_free(int64_t product_id)
{
	sqlite3_stmt *st = db_stmt(sql_loop_free);
	if (!st)
		return -1;
	db_bind_int(st, ":pid", product_id);
	int rc = db_step(st);
	int any = rc == SQLITE_ROW && sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? any : db_log_error("loop key check failed");
}

/* The loop key for product_id: 1 with *key and *linked set, 0 when none is left, -1. */
static int loop_key_pick(int64_t product_id, int64_t *key, int *linked)
{
	sqlite3_stmt *st = db_stmt(sql_loop_pick);
	if (!st)
		return -1;
	db_bind_int(st, ":pid", product_id);
	int rc = db_step(st);
	if (rc == SQLITE_ROW) {
		*key = sqlite3_column_int64(st, 0);
		*linked = sqlite3_column_int(st, 1);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_log_error("loop key pick failed");
	return rc == SQLITE_ROW;
}

static int loop_key_uncount(int64_t product_id)
{
	sqlite3_stmt *st = db_stmt(sql_loop_uncount);
	if (!st)
		return -1;
	db_bind_int(st, ":pid", product_id);
	int rc = db_step(st) == SQLITE_DONE ? 0 : db_log_error("loop key uncount failed");
	sqlite3_reset(st);
	return rc;
}

int loop_key_link(int64_t order_id, int64_t product_id)
{
	int64_t key = 0;
	int linked = 0;
	int r = loop_key_pick(product_id, &key, &linked);
	if (r <= 0)
		return r < 0 ? -1 : 1;
	sqlite3_stmt *st = db_stmt(sql_loop_link);
	if (!st)
		return -1;
	db_bind_int(st, ":oid", order_id);
	db_bind_int(st, ":kid", key);
	db_bind_int(st, ":now", util_now());
	int rc = db_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_log_error("loop key link failed");
	return linked ? 0 : loop_key_uncount(product_id);
}
