/* Fuzz target: the JSON bodies of the admin writes (product create and update, coupon create,
 * category create and update), through the same shop/ functions the API calls, on a real
 * database. The first byte picks the call ('0'..'4', else its value mod 5), the rest is the
 * body. Properties: a body that is accepted is stored exactly as sent (every field it names
 * reads back equal, every field it leaves out has its default or, for an update, its old value)
 * and every stored value is within its documented range; a body that is refused changes
 * nothing and is refused as invalid_request naming a field — never as an internal error. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cardshop/db.h"
#include "cardshop/log.h"
#include "cardshop/sec.h"
#include "cardshop/shop.h"
#include "fuzz.h"

enum op {
	OP_PRODUCT_CREATE,
	OP_PRODUCT_UPDATE,
	OP_COUPON_CREATE,
	OP_CATEGORY_CREATE,
	OP_CATEGORY_UPDATE
};

static const struct actor fuzzer = {.admin_id = 0, .username = "fuzz", .ip = "192.0.2.1"};
static char dir[256];

static void exec_sql(const char *sql)
{
	FUZZ_CHECK(sqlite3_exec(db_conn(), sql, NULL, NULL, NULL) == SQLITE_OK);
}

static void cleanup_dir(void)
{
	db_shutdown();
	const char *names[] = {"/admin.db", "/admin.db-wal", "/admin.db-shm"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char p[300];
		snprintf(p, sizeof p, "%s%s", dir, names[i]);
		unlink(p);
	}
	rmdir(dir);
}

static void setup_once(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	static const unsigned char key[32] = {7};
	sec_init_with(key);
	log_set_level(LOG_ERROR);
	snprintf(dir, sizeof dir, "%s/cardshop-fuzz-admin-XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	FUZZ_CHECK(mkdtemp(dir) != NULL);
	char path[300], err[256];
	snprintf(path, sizeof path, "%s/admin.db", dir);
	FUZZ_CHECK(db_init(path, 5000, err, sizeof err) == 0);
	FUZZ_CHECK(db_migrate() >= 1);
	exec_sql("PRAGMA synchronous=OFF"); /* speed: a fuzz database need not survive a crash */
	atexit(cleanup_dir);
}

static int64_t count_rows(const char *sql)
{
	sqlite3_stmt *st = NULL;
	FUZZ_CHECK(sqlite3_prepare_v2(db_conn(), sql, -1, &st, NULL) == SQLITE_OK);
	FUZZ_CHECK(sqlite3_step(st) == SQLITE_ROW);
	int64_t n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* Every input starts from an empty catalog; ids restart at 1 (no AUTOINCREMENT). */
static void reset(void)
{
	db_release();
	exec_sql("DELETE FROM coupons; DELETE FROM card_keys; DELETE FROM products;"
	         " DELETE FROM categories; DELETE FROM audit_log;");
}

/* The message names a field: "price: must be ...". The name before the colon is one of ours
 * (a-z and '_': "body", "name", ...) or one the body used, whatever its characters. */
static int names_a_field(json_t *in, const char *msg)
{
	size_t n = strspn(msg, "abcdefghijklmnopqrstuvwxyz_");
	if (n > 0 && msg[n] == ':')
		return 1;
	const char *key;
	json_t *v;
	json_object_foreach(in, key, v)
	{
		size_t k = strlen(key);
		if (k > 0 && strncmp(msg, key, k) == 0 && msg[k] == ':')
			return 1;
	}
	return 0;
}

/* A refusal is invalid_request (or a duplicate's conflict) naming the field, in valid UTF-8
 * (the reply carries it). */
static void check_refusal(json_t *in, const struct shop_err *err)
{
	FUZZ_CHECK(err->status == SHOP_INVALID || err->status == SHOP_CONFLICT);
	FUZZ_CHECK(names_a_field(in, err->message));
	json_t *as_json = json_string(err->message);
	FUZZ_CHECK(as_json != NULL);
	json_decref(as_json);
}

static int64_t utf8_chars(const char *s)
{
	int64_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static int64_t int_of(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);
	FUZZ_CHECK(json_is_integer(v));
	return json_integer_value(v);
}

/* Every field of a stored product within its range. */
static void check_product_ranges(json_t *p)
{
	const char *name = json_string_value(json_object_get(p, "name"));
	FUZZ_CHECK(name && utf8_chars(name) >= 1 && utf8_chars(name) <= 200);
	FUZZ_CHECK(!strpbrk(name, "\r\n\t"));
	const char *desc = json_string_value(json_object_get(p, "description"));
	FUZZ_CHECK(desc && utf8_chars(desc) <= 20000);
	int64_t price = int_of(p, "price"), min = int_of(p, "min_qty"), max = int_of(p, "max_qty");
	FUZZ_CHECK(price >= 0 && price <= 1000000000);
	FUZZ_CHECK(min >= 1 && min <= 100000 && max >= 0 && max <= 100000);
	FUZZ_CHECK(max == 0 || max >= min);
	const char *delivery = json_string_value(json_object_get(p, "delivery"));
	FUZZ_CHECK(delivery && (!strcmp(delivery, "auto") || !strcmp(delivery, "manual")));
	FUZZ_CHECK(json_is_boolean(json_object_get(p, "active")));
	int64_t sort = int_of(p, "sort");
	FUZZ_CHECK(sort >= -1000000 && sort <= 1000000);
}

/* Each field the body names reads back equal; the others equal `otherwise` (the defaults, or
 * the row before an update). */
static void check_stored(json_t *in, json_t *stored, json_t *otherwise)
{
	const char *key;
	json_t *v;
	json_object_foreach(in, key, v) FUZZ_CHECK(json_equal(json_object_get(stored, key), v));
	json_object_foreach(otherwise, key, v)
	{
		if (!json_object_get(in, key))
			FUZZ_CHECK(json_equal(json_object_get(stored, key), v));
	}
}

static json_t *product_defaults(void)
{
	return json_pack("{so ss si si ss sb si}", "category_id", json_null(), "description", "",
	                 "min_qty", 1, "max_qty", 0, "delivery", "auto", "active", 1, "sort", 0);
}

static int64_t base_product(void)
{
	json_t *in = json_pack("{ss si si si ss}", "name", "Base", "price", 100, "min_qty", 2,
	                       "max_qty", 5, "description", "old");
	struct shop_err err = {0};
	int64_t id = 0;
	FUZZ_CHECK(product_create(&fuzzer, "CNY", in, &id, &err) == 0);
	json_decref(in);
	return id;
}

static int64_t base_category(void)
{
	json_t *in = json_pack("{ss si}", "name", "Base category", "sort", 3);
	struct shop_err err = {0};
	int64_t id = 0;
	FUZZ_CHECK(category_create(&fuzzer, in, &id, &err) == 0);
	json_decref(in);
	return id;
}

static json_t *product_view(int64_t id)
{
	struct shop_err err = {0};
	json_t *p = product_json(id, 1, &err);
	FUZZ_CHECK(p != NULL);
	return p;
}

static void fuzz_product(json_t *in, int update)
{
	base_category(); /* so that category_id 1 exists */
	int64_t id = update ? base_product() : 0;
	json_t *before = update ? product_view(id) : NULL;
	struct shop_err err = {0};
	int rc = update ? product_update(&fuzzer, id, in, &err)
	                : product_create(&fuzzer, "CNY", in, &id, &err);
	if (rc != 0) {
		check_refusal(in, &err);
		if (update) {
			json_t *after = product_view(id);
			FUZZ_CHECK(
			    json_equal(after, before)); /* a refused update changes nothing */
			json_decref(after);
		} else {
			FUZZ_CHECK(count_rows("SELECT count(*) FROM products") == 0);
		}
		json_decref(before);
		return;
	}
	json_t *stored = product_view(id);
	json_t *defaults = update ? json_incref(before) : product_defaults();
	check_stored(in, stored, defaults);
	check_product_ranges(stored);
	json_decref(defaults);
	json_decref(stored);
	json_decref(before);
}

static json_t *coupon_view(int64_t id)
{
	struct shop_err err = {0};
	json_t *list = coupons_json(&err);
	FUZZ_CHECK(list != NULL);
	json_t *arr = json_is_array(list) ? list : json_object_get(list, "coupons");
	json_t *found = NULL;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *c = json_array_get(arr, i);
		if (json_integer_value(json_object_get(c, "id")) == id)
			found = json_incref(c);
	}
	json_decref(list);
	return found;
}

static void check_optional(json_t *in, const char *in_name, json_t *stored, const char *name)
{
	json_t *v = json_object_get(in, in_name);
	json_t *s = json_object_get(stored, name);
	FUZZ_CHECK(v && !json_is_null(v) ? json_equal(s, v) : json_is_null(s));
}

static void fuzz_coupon(json_t *in)
{
	base_product(); /* so that product_id 1 exists */
	struct shop_err err = {0};
	int64_t id = 0;
	if (coupon_create(&fuzzer, in, &id, &err) != 0) {
		check_refusal(in, &err);
		FUZZ_CHECK(coupon_view(1) == NULL);
		return;
	}
	json_t *c = coupon_view(id);
	FUZZ_CHECK(c != NULL);
	FUZZ_CHECK(json_equal(json_object_get(c, "code"), json_object_get(in, "code")));
	FUZZ_CHECK(json_equal(json_object_get(c, "kind"), json_object_get(in, "kind")));
	FUZZ_CHECK(json_equal(json_object_get(c, "value"), json_object_get(in, "value")));
	check_optional(in, "uses", c, "uses_left");
	check_optional(in, "expires_at", c, "expires_at");
	check_optional(in, "product_id", c, "product_id");
	FUZZ_CHECK(int_of(c, "used") == 0 && json_is_true(json_object_get(c, "active")));
	int64_t value = int_of(c, "value");
	const char *kind = json_string_value(json_object_get(c, "kind"));
	FUZZ_CHECK(kind && (!strcmp(kind, "percent") || !strcmp(kind, "fixed")));
	FUZZ_CHECK(value >= 1 && (strcmp(kind, "percent") != 0 || value <= 100));
	const char *code = json_string_value(json_object_get(c, "code"));
	FUZZ_CHECK(code && utf8_chars(code) >= 1 && utf8_chars(code) <= 64);
	json_decref(c);
}

static json_t *category_view(int64_t id)
{
	struct shop_err err = {0};
	json_t *list = categories_json(1, &err);
	FUZZ_CHECK(list != NULL);
	json_t *arr = json_is_array(list) ? list : json_object_get(list, "categories");
	json_t *found = NULL;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *c = json_array_get(arr, i);
		if (json_integer_value(json_object_get(c, "id")) == id)
			found = json_incref(c);
	}
	json_decref(list);
	return found;
}

static void fuzz_category(json_t *in, int update)
{
	int64_t id = update ? base_category() : 0;
	json_t *before = update ? category_view(id) : NULL;
	struct shop_err err = {0};
	int rc = update ? category_update(&fuzzer, id, in, &err)
	                : category_create(&fuzzer, in, &id, &err);
	if (rc != 0) {
		check_refusal(in, &err);
		json_t *after = category_view(update ? id : 1);
		FUZZ_CHECK(update ? json_equal(after, before) : after == NULL);
		json_decref(after);
		json_decref(before);
		return;
	}
	json_t *stored = category_view(id);
	FUZZ_CHECK(stored != NULL);
	json_t *defaults =
	    update ? json_incref(before) : json_pack("{si sb}", "sort", 0, "active", 1);
	check_stored(in, stored, defaults);
	const char *name = json_string_value(json_object_get(stored, "name"));
	FUZZ_CHECK(name && utf8_chars(name) >= 1 && utf8_chars(name) <= 200 &&
	           !strpbrk(name, "\r\n\t"));
	json_decref(defaults);
	json_decref(stored);
	json_decref(before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	setup_once();
	/* As the API reads a body: duplicates refused, an object or a 400 before the domain. */
	json_t *in = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
	if (!in || !json_is_object(in)) {
		json_decref(in);
		return 0;
	}
	reset();
	int op = data[0] >= '0' && data[0] <= '4' ? data[0] - '0' : data[0] % 5;
	switch ((enum op)op) {
	case OP_PRODUCT_CREATE:
	case OP_PRODUCT_UPDATE:
		fuzz_product(in, op == OP_PRODUCT_UPDATE);
		break;
	case OP_COUPON_CREATE:
		fuzz_coupon(in);
		break;
	case OP_CATEGORY_CREATE:
	case OP_CATEGORY_UPDATE:
		fuzz_category(in, op == OP_CATEGORY_UPDATE);
		break;
	}
	json_decref(in);
	return 0;
}
