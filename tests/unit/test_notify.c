/* Unit tests of the outgoing notifications on a temporary database: the signature against a
 * vector computed elsewhere (Python's hmac), events put in the caller's transaction (and gone
 * with its rollback), order.refunded as engineer-facing API, nothing put when nothing is set up,
 * and low-stock re-armed by the trigger whichever path raised the stock. */
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

static const unsigned char secret[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                         12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                         23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static char tmpdir[256];
static char dbpath[300];
static struct config cfg;

static void setup_db(void)
{
	snprintf(tmpdir, sizeof tmpdir, "%s/cardshop-test-notify-XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof dbpath, "%s/notify.db", tmpdir);
	sec_init_with(secret);
	char err[256] = "";
	ck_assert_msg(db_init(dbpath, 5000, err, sizeof err) == 0, "db_init: %s", err);
	ck_assert_int_ge(db_migrate(), 1);
	config_defaults(&cfg);
	notify_configure(&cfg);
}

static void teardown_db(void)
{
	notify_configure(NULL);
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

static void set(const char *key, const char *value)
{
	char err[200];
	ck_assert_msg(config_set(&cfg, "notify", key, value, err, sizeof err) == 0, "%s", err);
}

static void sql_exec(const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db_conn(), sql, NULL, NULL, &msg);
	ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : "?");
	sqlite3_free(msg);
}

static int64_t sql_int(const char *sql)
{
	sqlite3_stmt *st;
	ck_assert_int_eq(sqlite3_prepare_v2(db_conn(), sql, -1, &st, NULL), SQLITE_OK);
	int64_t v = -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The payload of the only job of kind, as JSON (caller decrefs). */
static json_t *only_job(const char *kind)
{
	sqlite3_stmt *st;
	ck_assert_int_eq(
	    sqlite3_prepare_v2(db_conn(), "SELECT payload FROM jobs WHERE kind = ?", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	json_t *j = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	ck_assert_ptr_nonnull(j);
	return j;
}

/* A delivered-then-refunded order of 2 keys of product 1 (3 free keys left), id 1. */
static void seed_order(const char *status)
{
	sql_exec("INSERT INTO products (id, name, price, currency, created_at, updated_at)"
	         " VALUES (1, 'Gift card', 500, 'CNY', 1, 1)");
	sql_exec("INSERT INTO card_keys (product_id, secret, hash, status, created_at)"
	         " VALUES (1, x'00', x'01', 'available', 1), (1, x'00', x'02', 'available', 1),"
	         " (1, x'00', x'03', 'available', 1)");
	char sql[512];
	snprintf(sql, sizeof sql,
	         "INSERT INTO orders (id, order_no, product_id, quantity, unit_price, amount,"
	         " currency, email, gateway, status, created_at, expires_at, paid_at)"
	         " VALUES (1, 'N0001', 1, 2, 500, 1000, 'CNY', 'b@example.com', 'epay', '%s', 1,"
	         " 2, 3)",
	         status);
	sql_exec(sql);
}

struct event_ctx {
	enum shop_event ev;
	int rollback;
};

static int event_tx(sqlite3 *db, void *arg)
{
	(void)db;
	const struct event_ctx *c = arg;
	if (notify_order_event(1, c->ev) != 0)
		return -1;
	return c->rollback ? 1 : 0;
}

static int fire(enum shop_event ev, int rollback)
{
	struct event_ctx c = {ev, rollback};
	return db_write(event_tx, &c);
}

START_TEST(test_signature_matches_an_independent_hmac)
{
	/* python3: hmac.new(b"whsec_unit", b'1700000000.{"id":"evt_1"}', sha256).hexdigest() */
	char out[NOTIFY_SIGNATURE_MAX];
	const char *body = "{\"id\":\"evt_1\"}";
	notify_signature("whsec_unit", 1700000000, body, strlen(body), out);
	ck_assert_str_eq(out, "t=1700000000,v1="
	                      "e32d0b0792e3e11e6c07c688e34efe8eefe86705d67b0c1efa2d12cec3ad17e0");
	notify_signature("whsec_unit", 1700000001, body, strlen(body), out);
	ck_assert_ptr_null(strstr(out, "e32d0b07")); /* t is signed too */
}
END_TEST

START_TEST(test_refund_event_is_put_with_the_change)
{
	set("webhook_url", "http://127.0.0.1:9/hook");
	set("webhook_secret", "s3cret");
	set("telegram_bot_token", "1:tok");
	set("telegram_chat_id", "42");
	seed_order("refunded");
	ck_assert_int_eq(fire(EVENT_ORDER_REFUNDED, 0), 0);
	json_t *job = only_job("webhook");
	ck_assert_str_eq(json_string_value(json_object_get(job, "event")), "order.refunded");
	json_t *body = json_loads(json_string_value(json_object_get(job, "body")), 0, NULL);
	ck_assert_ptr_nonnull(body);
	const char *id = json_string_value(json_object_get(body, "id"));
	ck_assert_ptr_nonnull(id);
	ck_assert_int_eq(strncmp(id, "evt_", 4), 0);
	ck_assert_str_eq(id, json_string_value(json_object_get(job, "event_id")));
	ck_assert_str_eq(json_string_value(json_object_get(body, "event")), "order.refunded");
	json_t *data = json_object_get(body, "data");
	ck_assert_str_eq(json_string_value(json_object_get(data, "order_no")), "N0001");
	ck_assert_str_eq(json_string_value(json_object_get(data, "status")), "refunded");
	ck_assert_int_eq(json_integer_value(json_object_get(data, "amount")), 1000);
	ck_assert_int_eq(json_integer_value(json_object_get(data, "quantity")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(data, "product_id")), 1);
	/* Nothing secret goes into the stored job. */
	ck_assert_ptr_null(strstr(json_string_value(json_object_get(job, "body")), "s3cret"));
	json_decref(body);
	json_decref(job);
	json_t *tg = only_job("telegram");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(tg, "text")), "refunded"));
	ck_assert_ptr_null(strstr(json_string_value(json_object_get(tg, "text")), "tok"));
	json_decref(tg);
	/* A refund is no sale: no low-stock check, no sale mail. */
	ck_assert_int_eq(sql_int("SELECT count(*) FROM jobs"), 2);
}
END_TEST

START_TEST(test_rolled_back_change_leaves_no_event)
{
	set("webhook_url", "http://127.0.0.1:9/hook");
	set("webhook_secret", "s3cret");
	set("mail_on_sale", "true");
	set("low_stock", "5");
	seed_order("paid");
	ck_assert_int_eq(fire(EVENT_ORDER_PAID, 1), 1);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM jobs"), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM low_stock_alerts"), 0);
}
END_TEST

START_TEST(test_nothing_set_up_puts_nothing)
{
	set("low_stock", "5");
	seed_order("delivered");
	ck_assert_int_eq(fire(EVENT_ORDER_PAID, 0), 0);
	ck_assert_int_eq(fire(EVENT_ORDER_DELIVERED, 0), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM jobs"), 0);
}
END_TEST

START_TEST(test_sale_mail_needs_both_switch_and_address)
{
	set("mail_on_sale", "true");
	seed_order("paid");
	ck_assert_int_eq(fire(EVENT_ORDER_PAID, 0), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM jobs"), 0); /* no [shop] alert_email */
	char err[200];
	ck_assert_int_eq(config_set(&cfg, "shop", "alert_email", "m@example.com", err, sizeof err),
	                 0);
	ck_assert_int_eq(fire(EVENT_ORDER_PAID, 0), 0);
	json_t *job = only_job("alert_mail");
	ck_assert_str_eq(json_string_value(json_object_get(job, "what")), "sale");
	json_decref(job);
	struct mail m = {0};
	ck_assert_int_eq(alert_mail_compose(&cfg, 1, "sale", &m), 0);
	ck_assert_str_eq(m.to, "m@example.com");
	ck_assert_ptr_nonnull(strstr(m.subject, "Sale"));
	ck_assert_ptr_nonnull(strstr(m.subject, "N0001"));
	ck_assert_ptr_nonnull(strstr(m.body, "10.00 CNY"));
	mail_free(&m);
}
END_TEST

/* [shop] merchant_lang = zh-CN: the sale mail and the alert in Chinese, in text and HTML, with
 * every value escaped in the HTML part (the product's name is the merchant's own text). */
START_TEST(test_merchant_mails_in_chinese_escaped)
{
	seed_order("delivered");
	sql_exec("UPDATE products SET name = '<b>卡</b> & \"x\"' WHERE id = 1");
	char err[200];
	ck_assert_int_eq(config_set(&cfg, "shop", "alert_email", "m@example.com", err, sizeof err),
	                 0);
	ck_assert_int_eq(config_set(&cfg, "shop", "merchant_lang", "zh-CN", err, sizeof err), 0);
	ck_assert_int_eq(config_check(&cfg, err, sizeof err), 0);
	struct mail m = {0};
	ck_assert_int_eq(alert_mail_compose(&cfg, 1, "sale", &m), 0);
	ck_assert_str_eq(m.lang, "zh-CN");
	ck_assert_ptr_nonnull(strstr(m.subject, "成交：订单 N0001，¥10.00"));
	ck_assert_ptr_nonnull(strstr(m.body, "<b>卡</b> & \"x\" x 2"));
	ck_assert_ptr_nonnull(strstr(m.body, "状态：已发货"));
	ck_assert_ptr_nonnull(strstr(m.html, "&lt;b&gt;卡&lt;/b&gt; &amp; &quot;x&quot; x 2"));
	ck_assert_ptr_null(strstr(m.html, "<b>"));
	ck_assert_ptr_nonnull(strstr(m.html, "/admin/orders?q=N0001\">"));
	mail_free(&m);
	ck_assert_int_eq(alert_mail_compose(&cfg, 1, "paid_undelivered", &m), 0);
	ck_assert_ptr_nonnull(strstr(m.subject, "提醒：订单 N0001 需要处理（paid_undelivered）"));
	ck_assert_ptr_nonnull(strstr(m.body, "原因：订单过期后才付款"));
	ck_assert_ptr_nonnull(strstr(m.html, "<html lang=\"zh-CN\">"));
	mail_free(&m);
	/* back to English: the same mail in the English table's words */
	ck_assert_int_eq(config_set(&cfg, "shop", "merchant_lang", "en", err, sizeof err), 0);
	ck_assert_int_eq(alert_mail_compose(&cfg, 1, "paid_undelivered", &m), 0);
	ck_assert_ptr_nonnull(strstr(m.subject, "ALERT: order N0001 needs attention"));
	ck_assert_ptr_nonnull(strstr(m.body, "10.00 CNY"));
	ck_assert_str_eq(m.lang, "en");
	mail_free(&m);
	/* a language we have no texts in is refused where the configuration is checked */
	ck_assert_int_eq(config_set(&cfg, "shop", "merchant_lang", "fr", err, sizeof err), 0);
	ck_assert_int_eq(config_check(&cfg, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "merchant_lang"));
}
END_TEST

START_TEST(test_low_stock_once_then_rearmed_by_any_rise)
{
	set("webhook_url", "http://127.0.0.1:9/hook");
	set("webhook_secret", "s3cret");
	set("low_stock", "3");
	seed_order("paid"); /* 3 free keys: at the threshold */
	ck_assert_int_eq(fire(EVENT_ORDER_PAID, 0), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM jobs WHERE payload LIKE "
	                         "'%product.low_stock%'"),
	                 1);
	ck_assert_int_eq(fire(EVENT_ORDER_PAID, 0), 0); /* still at it: no second */
	ck_assert_int_eq(sql_int("SELECT count(*) FROM jobs WHERE payload LIKE "
	                         "'%product.low_stock%'"),
	                 1);
	/* Any path that frees keys (here a key row changed by hand, like an expiry would) re-arms
	 * once the stock is above the threshold; a change that frees none does not. */
	sql_exec("INSERT INTO card_keys (product_id, secret, hash, status, order_id, created_at)"
	         " VALUES (1, x'00', x'04', 'reserved', 1, 1)");
	ck_assert_int_eq(sql_int("SELECT count(*) FROM low_stock_alerts"), 1);
	sql_exec("UPDATE card_keys SET status = 'available', order_id = NULL WHERE hash = x'04'");
	ck_assert_int_eq(sql_int("SELECT count(*) FROM low_stock_alerts"), 0);
	sql_exec("UPDATE card_keys SET status = 'sold', order_id = 1 WHERE hash = x'04'");
	ck_assert_int_eq(fire(EVENT_ORDER_PAID, 0), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM jobs WHERE payload LIKE "
	                         "'%product.low_stock%'"),
	                 2);
}
END_TEST

static Suite *notify_suite(void)
{
	Suite *s = suite_create("notify");
	TCase *tc = tcase_create("notify");
	tcase_add_checked_fixture(tc, setup_db, teardown_db);
	tcase_add_test(tc, test_signature_matches_an_independent_hmac);
	tcase_add_test(tc, test_refund_event_is_put_with_the_change);
	tcase_add_test(tc, test_rolled_back_change_leaves_no_event);
	tcase_add_test(tc, test_nothing_set_up_puts_nothing);
	tcase_add_test(tc, test_sale_mail_needs_both_switch_and_address);
	tcase_add_test(tc, test_low_stock_once_then_rearmed_by_any_rise);
	tcase_add_test(tc, test_merchant_mails_in_chinese_escaped);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(notify_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
