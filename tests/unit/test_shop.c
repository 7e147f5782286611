/* Unit tests of the shop domain on a temporary database: migrations (idempotence, a failing
 * migration rolled back), card-key import parsing and de-duplication, key storage, listing,
 * deletion and export, product validation, and the team (last owner, TOTP spending). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "cardshop/config.h"
#include "cardshop/db.h"
#include "cardshop/sec.h"
#include "cardshop/shop.h"

static const unsigned char secret[32] = {
    0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x76, 0x87, 0x98, 0xa9, 0xba, 0xcb, 0xdc, 0xed, 0xfe, 0x0f,
    0x01, 0x12, 0x23, 0x34, 0x45, 0x56, 0x67, 0x78, 0x89, 0x9a, 0xab, 0xbc, 0xcd, 0xde, 0xef, 0xf0,
};

static char tmpdir[256];
static char dbpath[300];
static const struct actor tester = {.admin_id = 0, .username = "unit", .ip = "192.0.2.1"};

static void setup_db(void)
{
	snprintf(tmpdir, sizeof tmpdir, "%s/cardshop-test-shop-XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof dbpath, "%s/shop.db", tmpdir);
	sec_init_with(secret);
	char err[256] = "";
	ck_assert_msg(db_init(dbpath, 5000, err, sizeof err) == 0, "db_init: %s", err);
	ck_assert_int_ge(db_migrate(), 1);
}

static void teardown_db(void)
{
	db_shutdown();
	const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		char p[320];
		snprintf(p, sizeof p, "%s%s", dbpath, suffixes[i]);
		unlink(p);
	}
	rmdir(tmpdir);
}

/* ---- small SQL helpers (tests may look at the tables directly) ---- */

static int64_t sql_int(const char *sql)
{
	sqlite3_stmt *st;
	ck_assert_msg(sqlite3_prepare_v2(db_conn(), sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
	              sqlite3_errmsg(db_conn()));
	int64_t v = -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void sql_exec(const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db_conn(), sql, NULL, NULL, &msg);
	ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : "?");
	sqlite3_free(msg);
}

static int64_t new_product(const char *name)
{
	json_t *in = json_pack("{ss si}", "name", name, "price", 990);
	struct shop_err err = {0};
	int64_t id = 0;
	ck_assert_msg(product_create(&tester, "CNY", in, &id, &err) == 0, "product_create: %s",
	              err.message);
	json_decref(in);
	ck_assert_int_gt(id, 0);
	return id;
}

static struct import_result import_ok(int64_t pid, const char *text, size_t len)
{
	struct import_result r;
	struct shop_err err = {0};
	ck_assert_msg(cardkey_import(&tester, pid, text, len, &r, &err) == 0, "import: %s",
	              err.message);
	return r;
}

#define IMPORT(pid, lit) import_ok((pid), (lit), sizeof(lit) - 1)

static void assert_counts(struct import_result r, int64_t added, int64_t dup, int64_t rej)
{
	ck_assert_int_eq(r.added, added);
	ck_assert_int_eq(r.duplicates, dup);
	ck_assert_int_eq(r.rejected, rej);
}

/* The export as a C string (the caller frees it). */
static char *export_text(int64_t pid)
{
	struct shop_err err = {0};
	size_t len = 0;
	char *text = cardkeys_export(&tester, pid, &len, &err);
	ck_assert_msg(text != NULL, "export: %s", err.message);
	char *out = malloc(len + 1);
	memcpy(out, text, len);
	out[len] = '\0';
	free(text);
	return out;
}

/* ---- retention ---- */

static void add_order(const char *no, const char *status, int64_t created, int64_t pid)
{
	char sql[600];
	snprintf(sql, sizeof sql,
	         "INSERT INTO orders (order_no, product_id, quantity, unit_price, amount, currency,"
	         " email, gateway, status, created_at, expires_at, paid_at) VALUES ('%s', %lld, 1,"
	         " 990, 990, 'CNY', 'b@example.com', 'epay', '%s', %lld, %lld, %s)",
	         no, (long long)pid, status, (long long)created, (long long)created + 900,
	         strcmp(status, "expired") == 0 || strcmp(status, "cancelled") == 0 ? "NULL" : "1");
	sql_exec(sql);
}

static void add_event(int verified, int64_t created)
{
	char sql[300];
	snprintf(
	    sql, sizeof sql,
	    "INSERT INTO payment_events (gateway, order_no, verified, outcome, raw, created_at)"
	    " VALUES ('epay', 'X', %d, 'rejected', 'r', %lld)",
	    verified, (long long)created);
	sql_exec(sql);
}

START_TEST(test_retention_drops_old_unverified_and_abandoned_only)
{
	int64_t now = 1800000000, day = 86400;
	int64_t pid = new_product("Retained");
	add_order("OLD-EXPIRED", "expired", now - 91 * day, pid);
	add_order("NEW-EXPIRED", "expired", now - 89 * day, pid);
	add_order("OLD-DELIVERED", "delivered", now - 400 * day, pid);
	add_order("OLD-EXPIRED-KEY", "expired", now - 200 * day, pid);
	add_order("OLD-CANCELLED", "cancelled", now - 91 * day, pid);
	add_order("NEW-CANCELLED", "cancelled", now - 89 * day, pid);
	add_order("OLD-REFUNDED", "refunded", now - 400 * day, pid);
	sql_exec("INSERT INTO card_keys (product_id, status, hash, secret, order_id, created_at)"
	         " SELECT product_id, 'sold', randomblob(32), x'00', id, 0 FROM orders"
	         " WHERE order_no = 'OLD-EXPIRED-KEY'");
	add_event(0, now - 31 * day);
	add_event(0, now - 29 * day);
	add_event(1, now - 400 * day);
	ck_assert_int_eq(shop_retention_prune(now), 3);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM orders WHERE order_no IN ('OLD-EXPIRED',"
	                         " 'OLD-CANCELLED')"),
	                 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM orders"), 5);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM payment_events"), 2);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM payment_events WHERE verified = 0"), 1);
	ck_assert_int_eq(shop_retention_prune(now), 0); /* nothing more to drop */
}
END_TEST

/* ---- migrations ---- */

START_TEST(test_migrate_twice_is_a_no_op)
{
	int64_t recorded = sql_int("SELECT count(*) FROM schema_migrations");
	ck_assert_int_eq(recorded, (int64_t)db_migrations_count);
	ck_assert_int_eq(db_migrate(), 0);
	ck_assert_int_eq(db_migrate(), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM schema_migrations"), recorded);
	ck_assert_int_eq(db_is_migrated(), 1);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM sqlite_master WHERE name = 'card_keys'"), 1);
}
END_TEST

START_TEST(test_failing_migration_leaves_nothing_behind)
{
	const struct migration bad[] = {
	    {99, "bad", "CREATE TABLE t1(x); THIS IS NOT SQL;"},
	};
	ck_assert_int_eq(db_migrate_list(bad, 1), -1);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM sqlite_master WHERE name = 't1'"), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM schema_migrations WHERE version = 99"), 0);
	/* Nothing else was lost, and the connection is not left inside a transaction. */
	ck_assert_int_eq(sqlite3_get_autocommit(db_conn()), 1);
	ck_assert_int_eq(db_is_migrated(), 1);
	ck_assert_int_eq(db_migrate(), 0);
	ck_assert_int_eq(db_migrate_list(bad, 1), -1);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM sqlite_master WHERE name = 't1'"), 0);
}
END_TEST

START_TEST(test_migrations_apply_one_transaction_each)
{
	const struct migration list[] = {
	    {97, "good", "CREATE TABLE t_good(y); INSERT INTO t_good VALUES (1);"},
	    {98, "bad", "CREATE TABLE t_bad(x); INSERT INTO t_bad VALUES (1); SELECT * FROM nope;"},
	    {99, "never", "CREATE TABLE t_never(z);"},
	};
	ck_assert_int_eq(db_migrate_list(list, 3), -1);
	/* The one before the failure is applied and recorded; the failing one and the ones after it
	 * are not. */
	ck_assert_int_eq(sql_int("SELECT count(*) FROM t_good"), 1);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM schema_migrations WHERE version = 97"), 1);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM sqlite_master WHERE name = 't_bad'"), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM sqlite_master WHERE name = 't_never'"), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM schema_migrations WHERE version >= 98"), 0);
	/* The good one is not applied twice. */
	ck_assert_int_eq(db_migrate_list(list, 1), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM t_good"), 1);
}
END_TEST

/* ---- card-key import ---- */

START_TEST(test_import_tolerates_bom_crlf_blanks_and_spaces)
{
	int64_t pid = new_product("Steam");
	assert_counts(IMPORT(pid, "\xEF\xBB\xBFK-0001\r\n"
	                          "\r\n"
	                          "  K-0002\t\r\n"
	                          "\n"
	                          " \t \n"
	                          "\tK-0003  \n"
	                          "K-0004"),
	              4, 0, 0);
	char *text = export_text(pid);
	ck_assert_str_eq(text, "K-0001\nK-0002\nK-0003\nK-0004\n");
	free(text);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM card_keys WHERE status = 'available'"), 4);
}
END_TEST

START_TEST(test_import_of_nothing)
{
	int64_t pid = new_product("Steam");
	assert_counts(import_ok(pid, "", 0), 0, 0, 0);
	assert_counts(IMPORT(pid, "\xEF\xBB\xBF"), 0, 0, 0);
	assert_counts(IMPORT(pid, "\r\n\n \t\r\n"), 0, 0, 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM card_keys"), 0);
}
END_TEST

START_TEST(test_import_duplicates_within_and_across_uploads)
{
	int64_t pid = new_product("Steam");
	assert_counts(IMPORT(pid, "A-1\nB-2\nA-1\r\n  A-1 \nC-3\n"), 3, 2, 0);
	assert_counts(IMPORT(pid, "C-3\nD-4\nB-2\nD-4\n"), 1, 3, 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM card_keys"), 4);
	/* Case matters: a different key. */
	assert_counts(IMPORT(pid, "a-1\n"), 1, 0, 0);

	/* The same key under another product is a different key. */
	int64_t other = new_product("Other");
	assert_counts(IMPORT(other, "A-1\nB-2\n"), 2, 0, 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM card_keys"), 7);
}
END_TEST

START_TEST(test_import_sold_keys_count_as_duplicates)
{
	int64_t pid = new_product("Steam");
	assert_counts(IMPORT(pid, "SOLD-1\nFREE-1\n"), 2, 0, 0);
	char sql[512];
	snprintf(sql, sizeof sql,
	         "INSERT INTO orders (order_no, product_id, quantity, unit_price, amount, currency,"
	         " email, gateway, status, created_at, expires_at, paid_at) VALUES ('O1', %lld, 1,"
	         " 990, 990, 'CNY', 'b@example.com', 'sandbox', 'delivered', 1, 2, 1)",
	         (long long)pid);
	sql_exec(sql);
	sql_exec("UPDATE card_keys SET status = 'sold', order_id = (SELECT id FROM orders),"
	         " sold_at = 1 WHERE id = (SELECT min(id) FROM card_keys)");
	assert_counts(IMPORT(pid, "SOLD-1\nFREE-1\nNEW-1\n"), 1, 2, 0);
	char *text = export_text(pid);
	ck_assert_str_eq(text, "FREE-1\nNEW-1\n");
	free(text);

	/* A sold key cannot be deleted, an available one can. */
	struct shop_err err = {0};
	int64_t sold_id = sql_int("SELECT id FROM card_keys WHERE status = 'sold'");
	ck_assert_int_eq(cardkey_delete(&tester, pid, sold_id, &err), -1);
	ck_assert_int_eq(err.status, SHOP_CONFLICT);
	int64_t free_id = sql_int("SELECT min(id) FROM card_keys WHERE status = 'available'");
	ck_assert_int_eq(cardkey_delete(&tester, pid, free_id, &err), 0);
	ck_assert_int_eq(cardkey_delete(&tester, pid, free_id, &err), -1);
	ck_assert_int_eq(err.status, SHOP_NOT_FOUND);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM card_keys"), 2);
}
END_TEST

START_TEST(test_import_rejects_long_lines_and_bad_utf8)
{
	int64_t pid = new_product("Steam");
	struct buf b;
	buf_init(&b);
	buf_puts(&b, "OK-1\n");
	for (int i = 0; i < 4097; i++)
		buf_puts(&b, "L"); /* one byte too long */
	buf_puts(&b, "\n");
	for (int i = 0; i < 4096; i++)
		buf_puts(&b, "M"); /* exactly at the limit */
	buf_puts(&b, "\n");
	buf_puts(&b, "BAD-\xff\xfe\n");                        /* not UTF-8 */
	buf_puts(&b, "BAD-\xc3\x28\n");                        /* broken sequence */
	buf_puts(&b, "BAD-\xc0\xaf\n");                        /* overlong */
	buf_puts(&b, "BAD-\xed\xa0\x80\n");                    /* surrogate */
	buf_puts(&b, "OK-\xd0\x9a\xd0\xbb\xd1\x8e\xd1\x87\n"); /* valid Cyrillic */
	buf_puts(&b, "OK-1\n");
	struct import_result r = import_ok(pid, b.data, b.len);
	buf_cleanup(&b);
	assert_counts(r, 3, 1, 5);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM card_keys"), 3);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM audit_log WHERE action = 'keys.import'"
	                         " AND detail LIKE '%\"rejected\":5%'"),
	                 1);
}
END_TEST

START_TEST(test_import_counts_in_a_large_upload)
{
	int64_t pid = new_product("Steam");
	struct buf b;
	buf_init(&b);
	for (int i = 0; i < 3000; i++)
		buf_printf(&b, "BULK-%05d\r\n", i % 2500); /* 500 repeats */
	buf_puts(&b, "\xff\n\n");
	struct import_result r = import_ok(pid, b.data, b.len);
	buf_cleanup(&b);
	assert_counts(r, 2500, 500, 1);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM card_keys"), 2500);
}
END_TEST

START_TEST(test_import_to_an_unknown_product)
{
	struct import_result r;
	struct shop_err err = {0};
	ck_assert_int_eq(cardkey_import(&tester, 4242, "K-1\n", 4, &r, &err), -1);
	ck_assert_int_eq(err.status, SHOP_NOT_FOUND);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM card_keys"), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM audit_log"), 0);
}
END_TEST

START_TEST(test_keys_are_stored_encrypted)
{
	int64_t pid = new_product("Steam");
	const char *key = "SECRET-CARD-KEY-0042";
	assert_counts(import_ok(pid, key, strlen(key)), 1, 0, 0);
	sqlite3_stmt *st;
	ck_assert_int_eq(
	    sqlite3_prepare_v2(db_conn(), "SELECT secret, hash FROM card_keys", -1, &st, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	const unsigned char *box = sqlite3_column_blob(st, 0);
	size_t boxlen = (size_t)sqlite3_column_bytes(st, 0);
	ck_assert_uint_eq(boxlen, strlen(key) + SEC_AEAD_OVERHEAD);
	ck_assert_ptr_null(memmem(box, boxlen, key, strlen(key)));
	char *plain = NULL;
	size_t n = 0;
	ck_assert_int_eq(sec_decrypt(box, boxlen, &plain, &n), 0);
	ck_assert_uint_eq(n, strlen(key));
	ck_assert(memcmp(plain, key, n) == 0);
	free(plain);
	unsigned char h[32];
	sec_lookup_hash(key, strlen(key), h);
	ck_assert_int_eq(sqlite3_column_bytes(st, 1), 32);
	ck_assert(memcmp(sqlite3_column_blob(st, 1), h, 32) == 0);
	sqlite3_finalize(st);

	/* The listing masks it. */
	struct shop_err err = {0};
	json_t *list = cardkeys_json(pid, "", 1, &err);
	ck_assert_ptr_nonnull(list);
	ck_assert_int_eq(json_integer_value(json_object_get(list, "total")), 1);
	json_t *k = json_array_get(json_object_get(list, "keys"), 0);
	const char *masked = json_string_value(json_object_get(k, "masked"));
	ck_assert_ptr_nonnull(masked);
	ck_assert_str_ne(masked, key);
	ck_assert_str_eq(masked, "SECR****0042");
	json_decref(list);
	ck_assert_ptr_null(cardkeys_json(pid, "gone", 1, &err));
	ck_assert_int_eq(err.status, SHOP_INVALID);
}
END_TEST

/* ---- product validation ---- */

static void expect_invalid(json_t *in, const char *field)
{
	struct shop_err err = {0};
	int64_t id = 0;
	int rc = product_create(&tester, "CNY", in, &id, &err);
	json_decref(in);
	ck_assert_msg(rc == -1, "accepted input that names %s", field);
	ck_assert_int_eq(err.status, SHOP_INVALID);
	ck_assert_msg(strstr(err.message, field) != NULL, "message '%s' does not name %s",
	              err.message, field);
}

START_TEST(test_product_create_validation)
{
	expect_invalid(json_pack("{ss si ss}", "name", "X", "price", 1, "colour", "red"), "colour");
	expect_invalid(json_pack("{ss si}", "name", "X", "price", -1), "price");
	expect_invalid(json_pack("{ss sI}", "name", "X", "price", (json_int_t)1000000001), "price");
	expect_invalid(json_pack("{ss ss}", "name", "X", "price", "990"), "price");
	expect_invalid(json_pack("{ss sf}", "name", "X", "price", 9.9), "price");
	expect_invalid(json_pack("{ss sb}", "name", "X", "price", 1), "price");
	expect_invalid(json_pack("{ss}", "name", "X"), "price");
	expect_invalid(json_pack("{si}", "price", 1), "name");
	expect_invalid(json_pack("{ss si}", "name", "", "price", 1), "name");
	expect_invalid(json_pack("{ss si}", "name", "two\nlines", "price", 1), "name");
	expect_invalid(
	    json_pack("{ss si si si}", "name", "X", "price", 1, "min_qty", 5, "max_qty", 3),
	    "max_qty");
	expect_invalid(json_pack("{ss si si}", "name", "X", "price", 1, "min_qty", 0), "min_qty");
	expect_invalid(json_pack("{ss si si}", "name", "X", "price", 1, "category_id", 77),
	               "category_id");
	expect_invalid(json_pack("{ss si ss}", "name", "X", "price", 1, "delivery", "post"),
	               "delivery");
	expect_invalid(json_pack("[]"), "body");
	ck_assert_int_eq(sql_int("SELECT count(*) FROM products"), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM audit_log"), 0);

	/* Boundaries are accepted. */
	json_t *in = json_pack("{ss sI si si}", "name", "X", "price", (json_int_t)1000000000,
	                       "min_qty", 3, "max_qty", 3);
	struct shop_err err = {0};
	int64_t id = 0;
	ck_assert_int_eq(product_create(&tester, "CNY", in, &id, &err), 0);
	json_decref(in);
	json_t *p = product_json(id, 0, &err);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(json_integer_value(json_object_get(p, "price")), 1000000000);
	ck_assert_str_eq(json_string_value(json_object_get(p, "currency")), "CNY");
	ck_assert_str_eq(json_string_value(json_object_get(p, "delivery")), "auto");
	json_decref(p);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM audit_log WHERE action = 'product.create'"),
	                 1);
}
END_TEST

START_TEST(test_product_update_validation)
{
	json_t *in =
	    json_pack("{ss si si si}", "name", "X", "price", 1, "min_qty", 5, "max_qty", 10);
	struct shop_err err = {0};
	int64_t id = 0;
	ck_assert_int_eq(product_create(&tester, "CNY", in, &id, &err), 0);
	json_decref(in);

	in = json_pack("{si}", "max_qty", 3); /* below the stored min_qty */
	ck_assert_int_eq(product_update(&tester, id, in, &err), -1);
	json_decref(in);
	ck_assert_int_eq(err.status, SHOP_INVALID);
	ck_assert_ptr_nonnull(strstr(err.message, "max_qty"));

	in = json_pack("{si}", "price", 5);
	ck_assert_int_eq(product_update(&tester, id + 100, in, &err), -1);
	ck_assert_int_eq(err.status, SHOP_NOT_FOUND);
	ck_assert_int_eq(product_update(&tester, id, in, &err), 0);
	json_decref(in);
	ck_assert_int_eq(sql_int("SELECT price * 1000 + min_qty * 10 + max_qty FROM products"),
	                 5060);
}
END_TEST

/* ---- one error convention: a failure is never read as absence ---- */

/* A product with two keys and a pending order for both of them through gateway. */
static void pending_order(const struct config *cfg, const char *gateway, char order_no[33],
                          int64_t *amount)
{
	int64_t pid = new_product("Errors");
	struct import_result r;
	struct shop_err err = {0};
	ck_assert_int_eq(cardkey_import(&tester, pid, "KEY-ONE-1\nKEY-TWO-2\n", 20, &r, &err), 0);
	struct order_request req = {.product_id = pid,
	                            .quantity = 2,
	                            .email = "buyer@example.com",
	                            .gateway = gateway,
	                            .ip = "192.0.2.9"};
	struct order_created o;
	ck_assert_msg(order_create(cfg, &req, &o, &err) == 0, "order_create: %s", err.message);
	snprintf(order_no, 33, "%s", o.order_no);
	*amount = o.amount;
}

static enum notify_outcome notify_paid(const struct config *cfg, const char *order_no,
                                       int64_t amount)
{
	struct notify n = {.gateway = "epay",
	                   .order_no = order_no,
	                   .trade_no = "T-1",
	                   .amount = amount,
	                   .verified = 1,
	                   .raw = "",
	                   .ip = "reconcile"};
	return payment_apply(cfg, &n);
}

/* The statements that read an order row (order_load) and the buyer's view. */
#define ORDER_ROW_SQL "o.delivery, o.gateway, o.email"
#define ORDER_VIEW_SQL "o.discount, (SELECT trade_no"

START_TEST(test_view_reports_a_database_error_as_an_error)
{
	struct config cfg;
	config_defaults(&cfg);
	char no[33];
	int64_t amount;
	pending_order(&cfg, "epay", no, &amount);
	struct shop_err err = {0};
	db_fault_inject(ORDER_VIEW_SQL);
	ck_assert_ptr_null(order_view(no, 1, &err));
	ck_assert_int_eq(err.status, SHOP_ERROR);
	db_fault_inject(NULL);
	json_t *v = order_view(no, 1, &err);
	ck_assert_ptr_nonnull(v);
	json_decref(v);
	memset(&err, 0, sizeof err);
	ck_assert_ptr_null(order_view("20260101ffffffffffffffff", 1, &err));
	ck_assert_int_eq(err.status, SHOP_NOT_FOUND);
	config_cleanup(&cfg);
}
END_TEST

START_TEST(test_payment_on_an_unreadable_order_is_an_error_not_unknown)
{
	/* The reconciler expires an order after a "rejected" outcome: a database error must not
	 * look like "unknown order", or an order the gateway says is paid would be expired. */
	struct config cfg;
	config_defaults(&cfg);
	char no[33];
	int64_t amount;
	pending_order(&cfg, "epay", no, &amount);
	db_fault_inject(ORDER_ROW_SQL);
	ck_assert_int_eq(notify_paid(&cfg, no, amount), NOTIFY_ERROR);
	db_fault_inject(NULL);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM orders WHERE status = 'pending'"), 1);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM payments"), 0);
	ck_assert_int_eq(notify_paid(&cfg, no, amount), NOTIFY_DELIVERED);
	ck_assert_int_eq(notify_paid(&cfg, no, amount), NOTIFY_REPEAT);
	config_cleanup(&cfg);
}
END_TEST

START_TEST(test_undecryptable_key_stops_the_mail_and_the_view)
{
	struct config cfg;
	config_defaults(&cfg);
	char no[33];
	int64_t amount;
	pending_order(&cfg, "epay", no, &amount);
	ck_assert_int_eq(notify_paid(&cfg, no, amount), NOTIFY_DELIVERED);
	int64_t oid = sql_int("SELECT id FROM orders");
	struct mail m = {0};
	ck_assert_int_eq(order_mail_compose(&cfg, oid, &m), 0);
	ck_assert_ptr_nonnull(strstr(m.body, "KEY-ONE-1"));
	ck_assert_ptr_nonnull(strstr(m.body, "KEY-TWO-2"));
	mail_free(&m);
	/* One of the two keys no longer decrypts (a damaged page, a wrong secret). */
	sql_exec("UPDATE card_keys SET secret = zeroblob(48) WHERE id = (SELECT min(id) FROM "
	         "card_keys)");
	ck_assert_int_eq(order_mail_compose(&cfg, oid, &m), -1);
	ck_assert_ptr_null(m.body);
	struct shop_err err = {0};
	ck_assert_ptr_null(order_view(no, 1, &err));
	ck_assert_int_eq(err.status, SHOP_ERROR);
	/* Without keys (the buyer's list of orders) the view still works. */
	json_t *v = order_view(no, 0, &err);
	ck_assert_ptr_nonnull(v);
	json_decref(v);
	/* An order that is gone is "nothing to send", not a failure. */
	ck_assert_int_eq(order_mail_compose(&cfg, oid + 1000, &m), 1);
	config_cleanup(&cfg);
}
END_TEST

START_TEST(test_lists_report_database_errors)
{
	struct config cfg;
	config_defaults(&cfg);
	char no[33];
	int64_t amount;
	pending_order(&cfg, "epay", no, &amount);
	struct shop_err err = {0};
	db_fault_inject("SELECT order_no, gateway, gateway_ref FROM orders");
	ck_assert_ptr_null(orders_due_json(util_now() + 3600, ",epay,", 20, &err));
	ck_assert_int_eq(err.status, SHOP_ERROR);
	db_fault_inject("FROM payment_events");
	memset(&err, 0, sizeof err);
	ck_assert_ptr_null(payment_events_json("", 1, &err));
	ck_assert_int_eq(err.status, SHOP_ERROR);
	db_fault_inject("FROM jobs");
	memset(&err, 0, sizeof err);
	ck_assert_ptr_null(outbox_admin_json("", "", 1, &err));
	ck_assert_int_eq(err.status, SHOP_ERROR);
	db_fault_inject(NULL);
	json_t *due = orders_due_json(util_now() + 3600, ",epay,", 20, &err);
	ck_assert_int_eq(json_array_size(due), 1);
	json_decref(due);
	config_cleanup(&cfg);
}
END_TEST

/* A tier that cannot be read fails the price: never the base price in its place. */
START_TEST(test_pricing_reports_a_database_error_as_an_error)
{
	struct config cfg;
	config_defaults(&cfg);
	json_t *in = json_pack("{ss si ss s[{si si}]}", "name", "Bulk", "price", 1000, "delivery",
	                       "manual", "tiers", "min_qty", 2, "unit_price", 800);
	struct shop_err err = {0};
	int64_t pid = 0;
	ck_assert_int_eq(product_create(&tester, "CNY", in, &pid, &err), 0);
	json_decref(in);
	struct order_request req = {.product_id = pid,
	                            .quantity = 3,
	                            .email = "b@example.com",
	                            .gateway = "epay",
	                            .ip = "192.0.2.7"};
	struct order_price q;
	ck_assert_int_eq(order_quote(&cfg, &req, &q, &err), 0);
	ck_assert_int_eq(q.unit_price, 800);
	ck_assert_int_eq(q.amount, 2400);

	db_fault_inject("product_tiers WHERE product_id = :pid AND min_qty");
	memset(&err, 0, sizeof err);
	ck_assert_int_eq(order_quote(&cfg, &req, &q, &err), -1);
	ck_assert_int_eq(err.status, SHOP_ERROR);
	struct order_created out;
	memset(&err, 0, sizeof err);
	ck_assert_int_eq(order_create(&cfg, &req, &out, &err), -1);
	ck_assert_int_eq(err.status, SHOP_ERROR);
	db_fault_inject("SELECT min_qty, unit_price FROM product_tiers");
	memset(&err, 0, sizeof err);
	ck_assert_ptr_null(product_json(pid, 1, &err));
	ck_assert_int_eq(err.status, SHOP_ERROR);
	db_fault_inject(NULL);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM orders"), 0);
	ck_assert_int_eq(order_create(&cfg, &req, &out, &err), 0);
	ck_assert_int_eq(out.amount, 2400);
	config_cleanup(&cfg);
}
END_TEST

START_TEST(test_status_tables_round_trip)
{
	for (int i = ORDER_PENDING; i <= ORDER_CANCELLED; i++) {
		enum order_status s;
		ck_assert_int_eq(order_status_parse(order_status_name((enum order_status)i), &s),
		                 0);
		ck_assert_int_eq((int)s, i);
	}
	for (int i = JOB_NOOP; i <= JOB_SANDBOX_NOTIFY; i++) {
		enum job_kind k;
		ck_assert_int_eq(job_kind_parse(job_kind_name((enum job_kind)i), &k), 0);
		ck_assert_int_eq((int)k, i);
		ck_assert_int_ge(job_kind_max_attempts(k), 1);
	}
	enum key_status k;
	ck_assert_int_eq(key_status_parse("sold", &k), 0);
	ck_assert_int_eq(k, KEY_SOLD);
	ck_assert_int_eq(key_status_parse("gone", &k), -1);
	enum order_status o;
	ck_assert_int_eq(order_status_parse("", &o), -1);
	ck_assert_str_eq(order_status_name((enum order_status)99), "unknown");
	ck_assert_str_eq(notify_outcome_name(NOTIFY_REPEAT), "repeat");
}
END_TEST

/* A pending epay order (2 keys) whose time ran out `overdue` seconds ago. */
static void overdue_order(struct config *cfg, int64_t overdue)
{
	config_defaults(cfg);
	char no[33];
	int64_t amount;
	pending_order(cfg, "epay", no, &amount);
	char sql[160];
	snprintf(sql, sizeof sql, "UPDATE orders SET expires_at = %lld",
	         (long long)(util_now() - overdue));
	sql_exec(sql);
}

/* An order whose gateway cannot be asked keeps its keys at most 5 minutes past its time. */
START_TEST(test_unreachable_gateway_grace_is_bounded)
{
	struct config cfg;
	overdue_order(&cfg, 200);
	ck_assert_int_eq(orders_expire(util_now(), ",epay,"), 0); /* its gateway is asked first */
	ck_assert_int_eq(orders_expire(util_now(), ""), 1); /* a gateway that cannot be asked */
	config_cleanup(&cfg);
}
END_TEST

START_TEST(test_grace_ends_after_five_minutes)
{
	struct config cfg;
	overdue_order(&cfg, 301);
	ck_assert_int_eq(orders_expire(util_now(), ",epay,"), 1);
	ck_assert_int_eq(shop_stock_check(0), 0); /* the counters followed the keys back */
	ck_assert_int_eq(sql_int("SELECT available FROM product_stock"), 2);
	config_cleanup(&cfg);
}
END_TEST

/* ---- the team ---- */

static int64_t new_admin(const char *name)
{
	char err[200];
	ck_assert_msg(admin_create(name, "team password 1234", err, sizeof err) == 0, "%s", err);
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT id FROM admins WHERE username = '%s'", name);
	return sql_int(sql);
}

START_TEST(test_last_active_owner_stays)
{
	int64_t a = new_admin("ann"), b = new_admin("bob");
	struct shop_err err = {0};
	json_t *staff = json_pack("{ss}", "role", "staff"), *off = json_pack("{sb}", "active", 0);
	ck_assert_int_eq(admin_update(&tester, a, staff, &err), 0);
	ck_assert_int_eq(admin_update(&tester, b, staff, &err), -1);
	ck_assert_int_eq(err.status, SHOP_CONFLICT);
	ck_assert_int_eq(admin_update(&tester, b, off, &err), -1);
	ck_assert_int_eq(err.status, SHOP_CONFLICT);
	ck_assert_int_eq(
	    sql_int("SELECT count(*) FROM admins WHERE role = 'owner' AND disabled = 0"), 1);
	/* a disabled owner is no owner to count on */
	json_t *owner = json_pack("{ss}", "role", "owner");
	ck_assert_int_eq(admin_update(&tester, a, owner, &err), 0);
	ck_assert_int_eq(admin_update(&tester, a, off, &err), 0);
	ck_assert_int_eq(admin_update(&tester, b, off, &err), -1);
	ck_assert_int_eq(admin_update(&tester, 999, off, &err), -1);
	ck_assert_int_eq(err.status, SHOP_NOT_FOUND);
	json_decref(staff);
	json_decref(off);
	json_decref(owner);
}
END_TEST

/* The TOTP key of an admin, decrypted from its row as the server would. */
static void totp_key(int64_t id, unsigned char key[20])
{
	sqlite3_stmt *st;
	ck_assert_int_eq(sqlite3_prepare_v2(db_conn(),
	                                    "SELECT totp_secret FROM admins WHERE id = ?", -1, &st,
	                                    NULL),
	                 SQLITE_OK);
	sqlite3_bind_int64(st, 1, id);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	char *plain = NULL;
	size_t n = 0;
	ck_assert_int_eq(sec_decrypt(sqlite3_column_blob(st, 0),
	                             (size_t)sqlite3_column_bytes(st, 0), &plain, &n),
	                 0);
	ck_assert_uint_eq(n, 20);
	memcpy(key, plain, 20);
	free(plain);
	sqlite3_finalize(st);
}

static void code_at(const unsigned char key[20], int64_t step, char out[8])
{
	snprintf(out, 8, "%06u", (unsigned)sec_totp_code(key, 20, step));
}

/* A code whose spending cannot be recorded does not sign in (no replay can slip through a
 * failed write), and works once when the write works. */
START_TEST(test_totp_code_spent_with_the_sign_in)
{
	int64_t id = new_admin("tess");
	struct actor me = {.admin_id = id, .username = "tess", .ip = "192.0.2.1"};
	struct shop_err err = {0};
	char b32[ADMIN_TOTP_SECRET_LEN + 1], *uri = NULL, code[8];
	ck_assert_int_eq(admin_totp_setup(&me, "Shop", b32, &uri, &err), 0);
	ck_assert_str_eq(strstr(uri, "otpauth://totp/Shop:tess?secret=") ? "ok" : uri, "ok");
	free(uri);
	unsigned char key[20];
	totp_key(id, key);
	int64_t step = util_now() / 30;
	code_at(key, step, code);
	ck_assert_int_eq(admin_totp_enable(&me, code, &err), 0);
	struct config cfg;
	config_defaults(&cfg);
	struct admin_session s;
	const char *pw = "team password 1234";
	ck_assert_int_eq(admin_login(&cfg, "tess", pw, NULL, "192.0.2.1", NULL, &s, &err), -1);
	ck_assert_int_eq(err.status, SHOP_TOTP_REQUIRED);
	ck_assert_int_eq(admin_login(&cfg, "tess", pw, code, "192.0.2.1", NULL, &s, &err), -1);
	ck_assert_int_eq(err.status, SHOP_UNAUTHORIZED); /* the enabling code */
	code_at(key, step + 1, code);
	db_fault_inject("totp_last_step = :step");
	ck_assert_int_eq(admin_login(&cfg, "tess", pw, code, "192.0.2.1", NULL, &s, &err), -1);
	ck_assert_int_eq(err.status, SHOP_ERROR);
	db_fault_inject(NULL);
	ck_assert_int_eq(admin_login(&cfg, "tess", pw, code, "192.0.2.1", NULL, &s, &err), 0);
	ck_assert_int_eq(admin_login(&cfg, "tess", pw, code, "192.0.2.1", NULL, &s, &err), -1);
	ck_assert_int_eq(err.status, SHOP_UNAUTHORIZED);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM sessions"), 1);
	config_cleanup(&cfg);
}
END_TEST

static int pack_fails(sqlite3 *copy, const void *ctx, int strict, char *err, size_t errlen)
{
	(void)copy, (void)ctx, (void)strict;
	snprintf(err, errlen, "disk full");
	return -1;
}

static int unpack_nothing(sqlite3 *copy, const void *ctx, char *err, size_t errlen)
{
	(void)copy, (void)ctx, (void)err, (void)errlen;
	return 0;
}

/* The old database's uploads cannot be packed: the restore stops with the live database as it
 * was and nothing kept beside it, instead of going on and losing its images to the sweep. */
START_TEST(test_restore_stops_when_the_old_uploads_cannot_be_kept)
{
	char backup[320], err[256] = "", *kept = NULL;
	snprintf(backup, sizeof backup, "%s/backup.db", tmpdir);
	ck_assert_msg(db_backup(backup, err, sizeof err) == 0, "backup: %s", err);
	ck_assert_int_eq(sqlite3_exec(db_conn(),
	                              "INSERT INTO settings (key, value)"
	                              " VALUES ('after.backup', '1')",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	db_shutdown();
	const struct db_backup_hooks failing = {.pack = pack_fails, .unpack = unpack_nothing};
	db_backup_hooks_set(&failing);
	int rc = db_restore(dbpath, backup, err, sizeof err, &kept);
	const struct db_backup_hooks none = {0};
	db_backup_hooks_set(&none);
	ck_assert_int_eq(rc, -1);
	ck_assert_msg(strstr(err, "uploads") && strstr(err, "disk full"), "%s", err);
	ck_assert_ptr_null(kept);
	char cmd[400];
	snprintf(cmd, sizeof cmd, "ls %s | grep -c before-restore", tmpdir);
	FILE *ls = popen(cmd, "r");
	int n = -1;
	ck_assert_int_eq(fscanf(ls, "%d", &n), 1);
	pclose(ls);
	ck_assert_int_eq(n, 0);
	ck_assert_msg(db_init(dbpath, 5000, err, sizeof err) == 0, "db_init: %s", err);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM settings WHERE key = 'after.backup'"), 1);
	unlink(backup);
}
END_TEST

static Suite *shop_suite(void)
{
	Suite *s = suite_create("shop");
	TCase *migr = tcase_create("migrations");
	tcase_add_checked_fixture(migr, setup_db, teardown_db);
	tcase_add_test(migr, test_migrate_twice_is_a_no_op);
	tcase_add_test(migr, test_failing_migration_leaves_nothing_behind);
	tcase_add_test(migr, test_restore_stops_when_the_old_uploads_cannot_be_kept);
	tcase_add_test(migr, test_migrations_apply_one_transaction_each);
	suite_add_tcase(s, migr);

	TCase *keys = tcase_create("cardkeys");
	tcase_set_timeout(keys, 30);
	tcase_add_checked_fixture(keys, setup_db, teardown_db);
	tcase_add_test(keys, test_import_tolerates_bom_crlf_blanks_and_spaces);
	tcase_add_test(keys, test_import_of_nothing);
	tcase_add_test(keys, test_import_duplicates_within_and_across_uploads);
	tcase_add_test(keys, test_import_sold_keys_count_as_duplicates);
	tcase_add_test(keys, test_import_rejects_long_lines_and_bad_utf8);
	tcase_add_test(keys, test_import_counts_in_a_large_upload);
	tcase_add_test(keys, test_import_to_an_unknown_product);
	tcase_add_test(keys, test_keys_are_stored_encrypted);
	suite_add_tcase(s, keys);

	TCase *errs = tcase_create("errors");
	tcase_add_checked_fixture(errs, setup_db, teardown_db);
	tcase_add_test(errs, test_view_reports_a_database_error_as_an_error);
	tcase_add_test(errs, test_payment_on_an_unreadable_order_is_an_error_not_unknown);
	tcase_add_test(errs, test_undecryptable_key_stops_the_mail_and_the_view);
	tcase_add_test(errs, test_lists_report_database_errors);
	tcase_add_test(errs, test_pricing_reports_a_database_error_as_an_error);
	tcase_add_test(errs, test_status_tables_round_trip);
	tcase_add_test(errs, test_unreachable_gateway_grace_is_bounded);
	tcase_add_test(errs, test_grace_ends_after_five_minutes);
	suite_add_tcase(s, errs);

	TCase *cat = tcase_create("catalog");
	tcase_add_checked_fixture(cat, setup_db, teardown_db);
	tcase_add_test(cat, test_product_create_validation);
	tcase_add_test(cat, test_product_update_validation);
	suite_add_tcase(s, cat);

	TCase *team = tcase_create("team");
	tcase_add_checked_fixture(team, setup_db, teardown_db);
	tcase_add_test(team, test_last_active_owner_stays);
	tcase_add_test(team, test_totp_code_spent_with_the_sign_in);
	suite_add_tcase(s, team);

	TCase *ret = tcase_create("retention");
	tcase_add_checked_fixture(ret, setup_db, teardown_db);
	tcase_add_test(ret, test_retention_drops_old_unverified_and_abandoned_only);
	suite_add_tcase(s, ret);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(shop_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
