/* Unit tests of the merchant's order actions on a temporary database: each action is one
 * transaction (a step failing midway leaves the order, its keys, the coupon, the payments and
 * the audit log as they were), and confirm-paid shares the notify's exactly-once path. */
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
    0x21, 0x32, 0x43, 0x54, 0x65, 0x76, 0x87, 0x98, 0xa9, 0xba, 0xcb, 0xdc, 0xed, 0xfe, 0x0f, 0x10,
    0x12, 0x23, 0x34, 0x45, 0x56, 0x67, 0x78, 0x89, 0x9a, 0xab, 0xbc, 0xcd, 0xde, 0xef, 0xf0, 0x01,
};

static char tmpdir[256];
static char dbpath[300];
static struct config cfg;
static const struct actor merchant = {.admin_id = 0, .username = "unit", .ip = "192.0.2.1"};

static void setup_db(void)
{
	snprintf(tmpdir, sizeof tmpdir, "%s/cardshop-test-orderadmin-XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof dbpath, "%s/shop.db", tmpdir);
	sec_init_with(secret);
	char err[256] = "";
	ck_assert_msg(db_init(dbpath, 5000, err, sizeof err) == 0, "db_init: %s", err);
	ck_assert_int_ge(db_migrate(), 1);
	config_defaults(&cfg);
}

static void teardown_db(void)
{
	db_fault_inject(NULL);
	config_cleanup(&cfg);
	db_shutdown();
	const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		char p[320];
		snprintf(p, sizeof p, "%s%s", dbpath, suffixes[i]);
		unlink(p);
	}
	rmdir(tmpdir);
}

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

/* A product with two keys, a one-use coupon, and a pending order for both keys with it. */
static void pending_order(char order_no[33], int64_t *amount)
{
	struct shop_err err = {0};
	int64_t pid = 0;
	json_t *in = json_pack("{ss si}", "name", "Unit", "price", 1000);
	ck_assert_msg(product_create(&merchant, "CNY", in, &pid, &err) == 0, "%s", err.message);
	json_decref(in);
	struct import_result r;
	ck_assert_int_eq(cardkey_import(&merchant, pid, "UNIT-KEY-1\nUNIT-KEY-2\n", 22, &r, &err),
	                 0);
	int64_t cid = 0;
	in = json_pack("{ss ss si si}", "code", "ONE", "kind", "fixed", "value", 100, "uses", 1);
	ck_assert_msg(coupon_create(&merchant, in, &cid, &err) == 0, "%s", err.message);
	json_decref(in);
	struct order_request req = {.product_id = pid,
	                            .quantity = 2,
	                            .email = "buyer@example.com",
	                            .gateway = "epay",
	                            .coupon = "ONE",
	                            .ip = "192.0.2.9"};
	struct order_created o;
	ck_assert_msg(order_create(&cfg, &req, &o, &err) == 0, "order_create: %s", err.message);
	snprintf(order_no, 33, "%s", o.order_no);
	*amount = o.amount;
}

static void assert_untouched(void)
{
	ck_assert_int_eq(sql_int("SELECT count(*) FROM orders WHERE status = 'pending'"), 1);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM card_keys WHERE status = 'reserved'"), 2);
	ck_assert_int_eq(sql_int("SELECT reserved FROM product_stock"), 2);
	ck_assert_int_eq(sql_int("SELECT used FROM coupons"), 1);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM payments"), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM payment_events"), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM jobs"), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM audit_log WHERE action LIKE 'order.%'"), 0);
}

START_TEST(test_cancel_is_one_transaction)
{
	char no[33];
	int64_t amount;
	pending_order(no, &amount);
	struct shop_err err = {0};
	/* The coupon step fails after the keys were released: all of it is rolled back. */
	db_fault_inject("UPDATE coupons SET used = used - n.uses");
	ck_assert_int_eq(order_cancel(&merchant, no, NULL, &err), -1);
	ck_assert_int_eq(err.status, SHOP_ERROR);
	assert_untouched();
	/* The audit line fails: nothing either. */
	db_fault_inject("INSERT INTO audit_log");
	ck_assert_int_eq(order_cancel(&merchant, no, NULL, &err), -1);
	assert_untouched();
	db_fault_inject(NULL);
	ck_assert_int_eq(order_cancel(&merchant, no, NULL, &err), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM orders WHERE status = 'cancelled'"
	                         " AND cancelled_at IS NOT NULL"),
	                 1);
	ck_assert_int_eq(sql_int("SELECT available FROM product_stock"), 2);
	ck_assert_int_eq(sql_int("SELECT used FROM coupons"), 0);
	ck_assert_int_eq(sql_int("SELECT uses_left FROM coupons"), 1);
	ck_assert_int_eq(order_cancel(&merchant, no, NULL, &err), -1);
	ck_assert_int_eq(err.status, SHOP_CONFLICT);
}
END_TEST

START_TEST(test_confirm_paid_is_one_transaction_and_a_late_notify_a_repeat)
{
	char no[33];
	int64_t amount;
	pending_order(no, &amount);
	struct shop_err err = {0};
	enum notify_outcome out;
	json_t *in = json_pack("{ss}", "note", "seen");
	/* The audit line is the last step: when it fails, the payment is not applied either. */
	db_fault_inject("INSERT INTO audit_log");
	ck_assert_int_eq(order_confirm_paid(&cfg, &merchant, no, in, &out, &err), -1);
	ck_assert_int_eq(err.status, SHOP_ERROR);
	assert_untouched();
	db_fault_inject(NULL);
	ck_assert_int_eq(order_confirm_paid(&cfg, &merchant, no, in, &out, &err), 0);
	ck_assert_int_eq(out, NOTIFY_DELIVERED);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM payments WHERE gateway = 'manual'"), 1);
	ck_assert_int_eq(sql_int("SELECT sold FROM product_stock"), 2);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM jobs WHERE kind = 'order_mail'"), 1);
	/* Again: a repeat that writes nothing. */
	ck_assert_int_eq(order_confirm_paid(&cfg, &merchant, no, in, &out, &err), 0);
	ck_assert_int_eq(out, NOTIFY_REPEAT);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM payment_events"), 1);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM audit_log WHERE action LIKE 'order.%'"), 1);
	/* The gateway's own notify for the same money: a repeat, no alert, no second payment. */
	struct notify n = {.gateway = "epay",
	                   .order_no = no,
	                   .trade_no = "GW-1",
	                   .amount = amount,
	                   .verified = 1,
	                   .raw = "",
	                   .ip = "198.51.100.1"};
	ck_assert_int_eq(payment_apply(&cfg, &n), NOTIFY_REPEAT);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM payments"), 1);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM jobs"), 1);
	ck_assert_int_eq(sql_int("SELECT sold FROM product_stock"), 2);
	/* A wrong amount is still refused. */
	n.amount = amount + 1;
	ck_assert_int_eq(payment_apply(&cfg, &n), NOTIFY_REJECTED);
	json_decref(in);
}
END_TEST

START_TEST(test_refund_and_resend_follow_the_status)
{
	char no[33];
	int64_t amount;
	pending_order(no, &amount);
	struct shop_err err = {0};
	ck_assert_int_eq(order_refund(&merchant, no, NULL, &err), -1);
	ck_assert_int_eq(err.status, SHOP_CONFLICT);
	ck_assert_int_eq(order_resend(&merchant, no, NULL, &err), -1);
	ck_assert_int_eq(err.status, SHOP_CONFLICT);
	enum notify_outcome out;
	ck_assert_int_eq(order_confirm_paid(&cfg, &merchant, no, NULL, &out, &err), 0);
	ck_assert_int_eq(order_resend(&merchant, no, NULL, &err), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM jobs WHERE kind = 'order_mail'"), 2);
	db_fault_inject("UPDATE orders SET status = 'refunded'");
	ck_assert_int_eq(order_refund(&merchant, no, NULL, &err), -1);
	ck_assert_int_eq(err.status, SHOP_ERROR);
	db_fault_inject(NULL);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM orders WHERE status = 'delivered'"), 1);
	ck_assert_int_eq(order_refund(&merchant, no, NULL, &err), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM card_keys WHERE status = 'sold'"), 2);
	ck_assert_int_eq(order_cancel(&merchant, "20990101ffffffffffffffff", NULL, &err), -1);
	ck_assert_int_eq(err.status, SHOP_NOT_FOUND);
}
END_TEST

START_TEST(test_views_report_database_errors)
{
	char no[33];
	int64_t amount;
	pending_order(no, &amount);
	struct shop_err err = {0};
	struct order_filter f = {.status = "", .gateway = "", .q = ""};
	db_fault_inject("coalesce(sum(o.amount)");
	ck_assert_ptr_null(orders_admin_json(&f, 1, &err));
	ck_assert_int_eq(err.status, SHOP_ERROR);
	db_fault_inject("FROM audit_log WHERE target");
	memset(&err, 0, sizeof err);
	ck_assert_ptr_null(order_admin_view(no, &err));
	ck_assert_int_eq(err.status, SHOP_ERROR);
	db_fault_inject("INSERT INTO audit_log");
	size_t len;
	ck_assert_ptr_null(orders_admin_csv(&merchant, &f, &len, &err));
	ck_assert_ptr_null(order_admin_keys(&merchant, no, &err));
	db_fault_inject(NULL);
	json_t *v = orders_admin_json(&f, 1, &err);
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(v, "totals"), "count")),
	                 1);
	json_decref(v);
}
END_TEST

static Suite *order_admin_suite(void)
{
	Suite *s = suite_create("order_admin");
	TCase *tc = tcase_create("actions");
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup_db, teardown_db);
	tcase_add_test(tc, test_cancel_is_one_transaction);
	tcase_add_test(tc, test_confirm_paid_is_one_transaction_and_a_late_notify_a_repeat);
	tcase_add_test(tc, test_refund_and_resend_follow_the_status);
	tcase_add_test(tc, test_views_report_database_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(order_admin_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
