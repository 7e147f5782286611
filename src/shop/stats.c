/* The merchant's dashboard: orders, payments and revenue per day of the shop's time zone, the
 * best sellers and the products running out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cardshop/log.h"
#include "internal.h"

/* Local days are looked up in a table of their first second (UTC), built once at start with
 * the C library's zone rules: setenv("TZ") races every other thread's localtime() and
 * getenv(), so it is only ever done while the process has one thread, and each request
 * reads the finished table. Days 2000-01-01 to 2099-12-31; a day boundary is a binary search. */
#define TABLE_FIRST_DAY 10957 /* 2000-01-01, in days since 1970-01-01 */
#define TABLE_DAYS 36525      /* to 2099-12-31 */

static int64_t *day_start; /* TABLE_DAYS + 1 entries: the last one ends the last day */
static char zone_name[64] = "UTC";

/* 0, or -1 when the zone cannot be set (TZ is restored either way). */
static int table_fill(const char *tz)
{
	const char *old = getenv("TZ");
	char *saved = old ? xstrdup(old) : NULL;
	setenv("TZ", tz, 1);
	tzset();
	int64_t *t = xmalloc((TABLE_DAYS + 1) * sizeof *t);
	for (int i = 0; i <= TABLE_DAYS; i++) {
		/* mktime normalises the day of the month; -1 asks it to find DST for that date, and
		 * a midnight that does not exist (a DST jump at 00:00) becomes the first real
		 * second. */
		struct tm tm = {.tm_year = 100, .tm_mon = 0, .tm_mday = 1 + i, .tm_isdst = -1};
		t[i] = (int64_t)mktime(&tm);
	}
	if (saved) {
		setenv("TZ", saved, 1);
		free(saved);
	} else {
		unsetenv("TZ");
	}
	tzset();
	free(day_start);
	day_start = t;
	return 0;
}

int stats_timezone_load(const char *tz)
{
	if (strlen(tz) >= sizeof zone_name)
		return -1;
	snprintf(zone_name, sizeof zone_name, "%s", tz);
	return table_fill(tz);
}

/* The table index of the local day holding t, clamped to the table. */
static int day_of(int64_t t)
{
	int lo = 0, hi = TABLE_DAYS; /* day_start[lo] <= t < day_start[hi] */
	if (t < day_start[0])
		return 0;
	if (t >= day_start[TABLE_DAYS])
		return TABLE_DAYS - 1;
	while (hi - lo > 1) {
		int mid = lo + (hi - lo) / 2;
		if (day_start[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static void day_date(int day, char out[11])
{
	time_t t = (time_t)(TABLE_FIRST_DAY + (int64_t)day) * 86400;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

static const char *sql_created =
    "SELECT count(*) FROM orders WHERE created_at >= :lo AND created_at < :hi";
static const char *sql_paid = "SELECT count(*), coalesce(sum(amount), 0) FROM orders"
                              " WHERE paid_at >= :lo AND paid_at < :hi";
static const char *sql_top =
    "SELECT p.id, p.name, count(*), sum(o.amount) FROM orders o"
    " JOIN products p ON p.id = o.product_id WHERE o.paid_at >= :lo AND o.paid_at < :hi"
    " GROUP BY p.id ORDER BY 4 DESC, 3 DESC, p.id LIMIT 10";
/* Products that sell from stock and hold at most their threshold of free keys: the product's
 * own (low_stock), else the default. Loop products never run low: one key serves everyone. */
static const char *sql_low =
    "SELECT p.id, p.name, s.available FROM products p JOIN product_stock s ON s.product_id = p.id"
    " WHERE p.active = 1 AND p.delivery = 'auto' AND p.loop_key = 0"
    " AND s.available <= coalesce(nullif(p.low_stock, 0), :threshold)"
    " ORDER BY s.available, p.id LIMIT 50";

/* The alert level of a product that sets none. */
#define LOW_STOCK_DEFAULT 5

static int64_t low_stock_threshold(void)
{
	return LOW_STOCK_DEFAULT;
}

/* One count (and sum) over [lo, hi); 0 or -1. */
static int range_count(const char *sql, int64_t lo, int64_t hi, int64_t *n, int64_t *sum)
{
	sqlite3_stmt *st = db_stmt(sql);
	if (!st)
		return -1;
	db_bind_int(st, ":lo", lo);
	db_bind_int(st, ":hi", hi);
	int ok = db_step(st) == SQLITE_ROW;
	if (ok) {
		*n = sqlite3_column_int64(st, 0);
		if (sum)
			*sum = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	return ok ? 0 : db_log_error("stats query failed");
}

/* {"date", "orders", "paid", "revenue"} of local day `day`, or NULL on a database error. */
static json_t *day_json(int day)
{
	int64_t lo = day_start[day], hi = day_start[day + 1], orders = 0, paid = 0, revenue = 0;
	if (range_count(sql_created, lo, hi, &orders, NULL) != 0 ||
	    range_count(sql_paid, lo, hi, &paid, &revenue) != 0)
		return NULL;
	json_t *j = json_pack("{sI sI sI}", "orders", (json_int_t)orders, "paid", (json_int_t)paid,
	                      "revenue", (json_int_t)revenue);
	char date[11];
	day_date(day, date);
	json_object_set_new(j, "date", json_string(date));
	return j;
}

static json_t *top_row(sqlite3_stmt *st)
{
	return json_pack("{sI ss sI sI}", "id", (json_int_t)sqlite3_column_int64(st, 0), "name",
	                 db_col_text(st, 1), "paid", (json_int_t)sqlite3_column_int64(st, 2),
	                 "revenue", (json_int_t)sqlite3_column_int64(st, 3));
}

static json_t *low_row(sqlite3_stmt *st)
{
	return json_pack("{sI ss sI}", "id", (json_int_t)sqlite3_column_int64(st, 0), "name",
	                 db_col_text(st, 1), "stock", (json_int_t)sqlite3_column_int64(st, 2));
}

static json_t *top_json(int64_t lo, int64_t hi, struct shop_err *err)
{
	sqlite3_stmt *st = db_stmt(sql_top);
	if (!st) {
		shop_fail(err, SHOP_ERROR, "internal error");
		return NULL;
	}
	db_bind_int(st, ":lo", lo);
	db_bind_int(st, ":hi", hi);
	return shop_rows_json(st, top_row, err);
}

static json_t *low_json(struct shop_err *err)
{
	sqlite3_stmt *st = db_stmt(sql_low);
	if (!st) {
		shop_fail(err, SHOP_ERROR, "internal error");
		return NULL;
	}
	db_bind_int(st, ":threshold", low_stock_threshold());
	return shop_rows_json(st, low_row, err);
}

static json_t *days_json(int first, int last)
{
	json_t *list = json_array();
	for (int d = first; d <= last; d++) {
		json_t *j = day_json(d);
		if (!j) {
			json_decref(list);
			return NULL;
		}
		json_array_append_new(list, j);
	}
	return list;
}

json_t *stats_json(int64_t now, int days, struct shop_err *err)
{
	if (!day_start) { /* stats_timezone_load not called at start: a wiring bug */
		log_error("stats: the day table was not built", NULL);
		shop_fail(err, SHOP_ERROR, "internal error");
		return NULL;
	}
	int today = day_of(now);
	int first = today - days + 1 < 0 ? 0 : today - days + 1;
	json_t *list = days_json(first, today);
	json_t *top = list ? top_json(day_start[first], day_start[today + 1], err) : NULL;
	json_t *low = top ? low_json(err) : NULL;
	if (!low) {
		if (!list)
			shop_fail(err, SHOP_ERROR, "internal error");
		json_decref(list);
		json_decref(top);
		return NULL;
	}
	json_t *last = json_array_get(list, json_array_size(list) - 1);
	json_t *t =
	    json_pack("{sO sO sO}", "orders", json_object_get(last, "orders"), "paid",
	              json_object_get(last, "paid"), "revenue", json_object_get(last, "revenue"));
	return json_pack("{so so so so ss sI}", "today", t, "days", list, "top_products", top,
	                 "low_stock", low, "timezone", zone_name, "low_stock_threshold",
	                 (json_int_t)low_stock_threshold());
}
