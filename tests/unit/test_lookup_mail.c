/* Unit tests of lookup by email alone (src/shop/lookup_mail.c) on a temporary database: one
 * window per address (case-insensitive), a job only for an address with orders, a failed
 * write rolled back, and the mail: the links, no keys, every value escaped in HTML. */
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
static const struct actor tester = {.admin_id = 0, .username = "unit", .ip = "192.0.2.1"};
static char tmpdir[256], dbpath[300];
static struct config cfg;
static char order_no[33];

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

/* A delivered order of buyer@example.com for a product whose name is markup. */
static void setup(void)
{
	snprintf(tmpdir, sizeof tmpdir, "%s/cardshop-test-lookup-XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof dbpath, "%s/shop.db", tmpdir);
	sec_init_with(secret);
	char err[256] = "";
	ck_assert_msg(db_init(dbpath, 5000, err, sizeof err) == 0, "db_init: %s", err);
	ck_assert_int_ge(db_migrate(), 1);
	config_defaults(&cfg);
	json_t *in = json_pack("{ss si}", "name", "Card <b>&", "price", 990);
	struct shop_err e = {0};
	int64_t pid = 0;
	ck_assert_int_eq(product_create(&tester, "CNY", in, &pid, &e), 0);
	json_decref(in);
	struct import_result r;
	ck_assert_int_eq(cardkey_import(&tester, pid, "KEY-ONE-1\n", 10, &r, &e), 0);
	struct order_request req = {.product_id = pid,
	                            .quantity = 1,
	                            .email = "Buyer@Example.com",
	                            .gateway = "epay",
	                            .ip = "192.0.2.9"};
	struct order_created o;
	ck_assert_msg(order_create(&cfg, &req, &o, &e) == 0, "order_create: %s", e.message);
	snprintf(order_no, sizeof order_no, "%s", o.order_no);
	struct notify n = {.gateway = "epay",
	                   .order_no = order_no,
	                   .trade_no = "T-1",
	                   .amount = o.amount,
	                   .verified = 1,
	                   .raw = "",
	                   .ip = "unit"};
	ck_assert_int_eq(payment_apply(&cfg, &n), NOTIFY_DELIVERED);
}

static void teardown(void)
{
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

#define JOBS "SELECT count(*) FROM jobs WHERE kind = 'lookup_mail'"

START_TEST(test_one_mail_per_address_per_window)
{
	struct shop_err err = {0};
	ck_assert_int_eq(order_lookup_mail_request("buyer@example.COM", &err), 0);
	ck_assert_int_eq(sql_int(JOBS), 1);
	ck_assert_int_eq(order_lookup_mail_request("BUYER@example.com", &err), 0);
	ck_assert_int_eq(sql_int(JOBS), 1); /* within the window: nothing more */
	ck_assert_int_eq(order_lookup_mail_request("nobody@example.com", &err), 0);
	ck_assert_int_eq(sql_int(JOBS), 1); /* no orders: no job, the same answer */
	ck_assert_int_eq(sql_int("SELECT count(*) FROM lookup_mail_sent"), 2);
	ck_assert_int_eq(order_lookup_mail_request("no at sign", &err), -1);
	ck_assert_int_eq(err.status, SHOP_INVALID);

	/* A failing write takes no window and queues nothing. */
	db_fault_inject("INSERT INTO lookup_mail_sent");
	memset(&err, 0, sizeof err);
	ck_assert_int_eq(order_lookup_mail_request("other@example.com", &err), -1);
	ck_assert_int_eq(err.status, SHOP_ERROR);
	db_fault_inject(NULL);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM lookup_mail_sent"), 2);

	/* Past the window: old rows go, the address may ask again. */
	ck_assert_int_eq(sqlite3_exec(db_conn(),
	                              "UPDATE lookup_mail_sent SET sent_at = sent_at - 601", NULL,
	                              NULL, NULL),
	                 SQLITE_OK);
	ck_assert_int_eq(order_lookup_mail_request("buyer@example.com", &err), 0);
	ck_assert_int_eq(sql_int(JOBS), 2);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM lookup_mail_sent"), 1);
	enum job_kind k;
	ck_assert_int_eq(job_kind_parse("lookup_mail", &k), 0);
	ck_assert_int_eq(k, JOB_LOOKUP_MAIL);
}
END_TEST

START_TEST(test_the_mail_has_links_and_no_keys)
{
	struct mail m = {0};
	ck_assert_int_eq(lookup_mail_compose(&cfg, "BUYER@example.com", &m), 0);
	ck_assert_str_eq(m.to, "Buyer@Example.com");
	ck_assert_str_eq(m.lang, "en");
	char token[33], *url;
	order_token(order_no, token);
	url = xasprintf("/shop/order?order_no=%s&token=%s", order_no, token);
	ck_assert_ptr_nonnull(strstr(m.body, url));
	free(url);
	url = xasprintf("/shop/order?order_no=%s&amp;token=%s", order_no, token);
	ck_assert_ptr_nonnull(strstr(m.html, url));
	free(url);
	ck_assert_ptr_nonnull(strstr(m.body, "Card <b>&"));
	ck_assert_ptr_null(strstr(m.html, "<b>"));
	ck_assert_ptr_nonnull(strstr(m.html, "Card &lt;b&gt;&amp;"));
	ck_assert_ptr_null(strstr(m.body, "KEY-ONE-1"));
	ck_assert_ptr_null(strstr(m.html, "KEY-ONE-1"));
	ck_assert_ptr_null(strstr(m.subject, order_no));
	mail_free(&m);
	ck_assert_int_eq(lookup_mail_compose(&cfg, "nobody@example.com", &m), 1);
	db_fault_inject("WHERE o.email = :email COLLATE NOCASE ORDER BY");
	ck_assert_int_eq(lookup_mail_compose(&cfg, "buyer@example.com", &m), -1);
	db_fault_inject(NULL);
	ck_assert_ptr_null(m.body);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lookup_mail");
	TCase *tc = tcase_create("lookup_mail");
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_one_mail_per_address_per_window);
	tcase_add_test(tc, test_the_mail_has_links_and_no_keys);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
