/* Unit tests of the dashboard's days (stats.c) with a fixed clock: local day boundaries across
 * both DST changes of Europe/Berlin, Asia/Shanghai's UTC+8 midnight, payments counted on the
 * day they were paid, and TZ left as it was. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "cardshop/db.h"
#include "cardshop/shop.h"

static char tmpdir[256];
static char dbpath[300];

static void setup_db(void)
{
	snprintf(tmpdir, sizeof tmpdir, "%s/cardshop-test-stats-XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof dbpath, "%s/shop.db", tmpdir);
	char err[256] = "";
	ck_assert_msg(db_init(dbpath, 5000, err, sizeof err) == 0, "db_init: %s", err);
	ck_assert_int_ge(db_migrate(), 1);
	ck_assert_int_eq(sqlite3_exec(db_conn(),
	                              "INSERT INTO products (id, name, price, currency, created_at,"
	                              " updated_at) VALUES (1, 'Card', 100, 'CNY', 0, 0)",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
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

/* An order created at `created` (UTC seconds), paid at `paid` (0: never). */
static void order_at(int64_t created, int64_t paid, int64_t amount)
{
	static int n;
	char sql[512];
	char paid_sql[32] = "NULL";
	if (paid)
		snprintf(paid_sql, sizeof paid_sql, "%lld", (long long)paid);
	snprintf(
	    sql, sizeof sql,
	    "INSERT INTO orders (order_no, product_id, quantity, unit_price, amount, currency,"
	    " email, gateway, status, created_at, expires_at, paid_at) VALUES ('U%d', 1, 1, %lld,"
	    " %lld, 'CNY', 'b@example.com', 'epay', '%s', %lld, %lld, %s)",
	    ++n, (long long)amount, (long long)amount, paid ? "refunded" : "expired",
	    (long long)created, (long long)created + 900, paid_sql);
	ck_assert_msg(sqlite3_exec(db_conn(), sql, NULL, NULL, NULL) == SQLITE_OK, "%s",
	              sqlite3_errmsg(db_conn()));
}

static json_t *day(json_t *stats, const char *date)
{
	json_t *days = json_object_get(stats, "days"), *d;
	size_t i;
	json_array_foreach(days, i, d)
	{
		if (strcmp(json_string_value(json_object_get(d, "date")), date) == 0)
			return d;
	}
	ck_abort_msg("no day %s", date);
	return NULL;
}

static void check_day(json_t *stats, const char *date, int orders, int paid, int revenue)
{
	json_t *d = day(stats, date);
	ck_assert_msg(json_integer_value(json_object_get(d, "orders")) == orders &&
	                  json_integer_value(json_object_get(d, "paid")) == paid &&
	                  json_integer_value(json_object_get(d, "revenue")) == revenue,
	              "%s: %s", date, json_dumps(d, 0));
}

START_TEST(test_berlin_autumn_day_has_25_hours)
{
	ck_assert_int_eq(stats_timezone_load("Europe/Berlin"), 0);
	/* 2024-10-27 (CEST -> CET at 03:00): it starts 2024-10-26 22:00 UTC, ends 10-27 23:00 UTC
	 */
	order_at(1729980000 + 60, 0, 0);                  /* 10-27 00:01 CEST */
	order_at(1730070000 - 600, 1730070000 - 60, 500); /* 10-27 23:50 CET, paid 23:59 */
	order_at(1730070000 + 60, 0, 0);                  /* 10-28 00:01 CET */
	order_at(1729980000 - 60, 1729980000 + 30, 200);  /* created 10-26, paid 10-27 */
	struct shop_err err = {0};
	json_t *s = stats_json(1730070000 + 43200, 3, &err); /* now: 10-28 12:00 CET */
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(json_array_size(json_object_get(s, "days")), 3);
	check_day(s, "2024-10-26", 1, 0, 0);
	check_day(s, "2024-10-27", 2, 2, 700); /* a 24-hour day would put 23:50 on the 28th */
	check_day(s, "2024-10-28", 1, 0, 0);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(s, "today"), "orders")),
	                 1);
	json_decref(s);
}
END_TEST

START_TEST(test_berlin_spring_day_has_23_hours)
{
	ck_assert_int_eq(stats_timezone_load("Europe/Berlin"), 0);
	/* 2024-03-31 (CET -> CEST at 02:00): 03-30 23:00 UTC to 03-31 22:00 UTC */
	order_at(1711839600 + 60, 1711839600 + 120, 100); /* 03-31 00:01 CET */
	order_at(1711922400 - 60, 0, 0);                  /* 03-31 23:59 CEST */
	order_at(1711922400 + 60, 0, 0);                  /* 04-01 00:01 CEST */
	struct shop_err err = {0};
	json_t *s = stats_json(1711922400 + 3600, 2, &err);
	ck_assert_ptr_nonnull(s);
	check_day(s, "2024-03-31", 2, 1, 100);
	check_day(s, "2024-04-01", 1, 0, 0); /* a 24-hour day would have taken it into the 31st */
	json_decref(s);
}
END_TEST

START_TEST(test_shanghai_midnight_and_tz_left_alone)
{
	setenv("TZ", "America/New_York", 1);
	ck_assert_int_eq(stats_timezone_load("Asia/Shanghai"), 0);
	ck_assert_str_eq(getenv("TZ"), "America/New_York");
	unsetenv("TZ");
	ck_assert_int_eq(stats_timezone_load("Asia/Shanghai"), 0);
	ck_assert_ptr_null(getenv("TZ"));
	/* 2025-01-02 00:00 in Shanghai is 2025-01-01 16:00 UTC */
	order_at(1735747200 + 60, 1735747200 + 60, 300);
	order_at(1735747200 - 60, 0, 0);
	struct shop_err err = {0};
	json_t *s = stats_json(1735747200 + 3600, 2, &err);
	ck_assert_ptr_nonnull(s);
	check_day(s, "2025-01-01", 1, 0, 0);
	check_day(s, "2025-01-02", 1, 1, 300);
	ck_assert_str_eq(json_string_value(json_object_get(s, "timezone")), "Asia/Shanghai");
	json_decref(s);
}
END_TEST

START_TEST(test_database_error_is_an_error)
{
	ck_assert_int_eq(stats_timezone_load("UTC"), 0);
	db_fault_inject("FROM orders WHERE paid_at");
	struct shop_err err = {0};
	ck_assert_ptr_null(stats_json(1735747200, 7, &err));
	ck_assert_int_eq(err.status, SHOP_ERROR);
	db_fault_inject(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("days");
	tcase_add_checked_fixture(tc, setup_db, teardown_db);
	tcase_add_test(tc, test_berlin_autumn_day_has_25_hours);
	tcase_add_test(tc, test_berlin_spring_day_has_23_hours);
	tcase_add_test(tc, test_shanghai_midnight_and_tz_left_alone);
	tcase_add_test(tc, test_database_error_is_an_error);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
