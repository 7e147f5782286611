/* Key-value settings and the shop-wide gauges. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "cardshop/metrics.h"
#include "internal.h"

static const char *sql_probe = "INSERT INTO settings (key, value) VALUES ('ready_probe', :now)"
                               " ON CONFLICT (key) DO UPDATE SET value = excluded.value";

static int probe(sqlite3 *db, void *ctx)
{
	(void)db;
	(void)ctx;
	sqlite3_stmt *st = db_stmt(sql_probe);
	if (!st)
		return -1;
	db_bind_int(st, ":now", util_now());
	return db_step(st) == SQLITE_DONE ? 0 : db_log_error("readiness probe failed");
}

/* The write probe runs at most every PROBE_EVERY seconds, whoever asks: /readyz is anonymous,
 * and one write plus an fsync per call would let anyone load the disk. */
#define PROBE_EVERY 2
static _Atomic int64_t probed_at;
static atomic_int probe_ok = -1; /* -1: not probed yet */

int shop_ready(struct shop_err *err)
{
	int migrated = db_is_migrated();
	if (migrated != 1)
		return shop_fail(err, SHOP_UNAVAILABLE, "%s",
		                 migrated == 0 ? "migrations not applied" : "database unavailable");
	int64_t now = util_now(), last = atomic_load(&probed_at);
	if ((now - last >= PROBE_EVERY && atomic_compare_exchange_strong(&probed_at, &last, now)) ||
	    atomic_load(&probe_ok) < 0)
		atomic_store(&probe_ok, db_write(probe, NULL) == 0);
	if (atomic_load(&probe_ok) != 1)
		return shop_fail(err, SHOP_UNAVAILABLE, "database not writable");
	return 0;
}

static const char *sql_gauges =
    "SELECT (SELECT coalesce(sum(available), 0) FROM product_stock),"
    " (SELECT count(*) FROM orders WHERE status = 'pending'),"
    " (SELECT count(*) FROM orders WHERE status = 'paid_undelivered'),"
    " (SELECT count(*) FROM jobs WHERE status IN ('queued', 'running'))";
static const char *sql_orders_by_status = "SELECT status, count(*) FROM orders GROUP BY status";
static const char *sql_stock =
    "SELECT p.id, coalesce(s.available, 0) FROM products p"
    " LEFT JOIN product_stock s ON s.product_id = p.id WHERE p.active = 1 ORDER BY p.id";
static const char *sql_jobs_by_status = "SELECT status, count(*) FROM jobs GROUP BY status";

static void gauge_family(struct buf *out, const char *name, const char *help)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static int gauges_summary(struct buf *out)
{
	static const struct {
		const char *name, *help;
	} g[] = {
	    {"cardshop_keys_available", "Card keys free to sell, all products."},
	    {"cardshop_orders_pending", "Orders waiting for payment."},
	    {"cardshop_orders_paid_undelivered",
	     "Orders paid with no key to deliver: the merchant must act."},
	    {"cardshop_jobs_queued", "Background jobs queued or running."},
	};
	sqlite3_stmt *st = db_stmt(sql_gauges);
	if (!st)
		return -1;
	int ok = db_step(st) == SQLITE_ROW;
	for (int i = 0; ok && i < 4; i++) {
		gauge_family(out, g[i].name, g[i].help);
		buf_printf(out, "%s %lld\n", g[i].name, (long long)sqlite3_column_int64(st, i));
	}
	sqlite3_reset(st);
	return ok ? 0 : -1;
}

/* A `name{label="value"} n` series per row of a two-column (text, count) query; the known
 * values are always listed (0 when absent), so an alert on one never sees it vanish. */
static int gauges_by_label(struct buf *out, const char *sql, const char *name, const char *label,
                           const char *const *known, size_t nknown)
{
	sqlite3_stmt *st = db_stmt(sql);
	if (!st)
		return -1;
	long long counts[16] = {0};
	struct buf other;
	buf_init(&other);
	int rc;
	while ((rc = db_step(st)) == SQLITE_ROW) {
		const char *v = db_col_text(st, 0);
		long long n = (long long)sqlite3_column_int64(st, 1);
		size_t i = 0;
		while (i < nknown && strcmp(v, known[i]) != 0)
			i++;
		if (i < nknown)
			counts[i] = n;
		else if (strspn(v, "abcdefghijklmnopqrstuvwxyz_") == strlen(v))
			buf_printf(&other, "%s{%s=\"%s\"} %lld\n", name, label, v, n);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE) {
		for (size_t i = 0; i < nknown; i++)
			buf_printf(out, "%s{%s=\"%s\"} %lld\n", name, label, known[i], counts[i]);
		if (other.len)
			buf_append(out, other.data, other.len);
	}
	buf_cleanup(&other);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int gauges_orders(struct buf *out)
{
	static const char *const statuses[] = {
	    "pending", "paid", "delivered", "expired", "cancelled", "paid_undelivered", "refunded"};
	gauge_family(out, "cardshop_orders", "Orders by status.");
	return gauges_by_label(out, sql_orders_by_status, "cardshop_orders", "status", statuses,
	                       sizeof statuses / sizeof statuses[0]);
}

static int gauges_jobs(struct buf *out)
{
	static const char *const statuses[] = {"queued", "running", "failed"};
	gauge_family(out, "cardshop_jobs", "Background jobs by status (failed: gave up).");
	return gauges_by_label(out, sql_jobs_by_status, "cardshop_jobs", "status", statuses,
	                       sizeof statuses / sizeof statuses[0]);
}

static int gauges_stock(struct buf *out)
{
	sqlite3_stmt *st = db_stmt(sql_stock);
	if (!st)
		return -1;
	gauge_family(out, "cardshop_product_stock", "Card keys free to sell, per active product.");
	int rc;
	while ((rc = db_step(st)) == SQLITE_ROW)
		buf_printf(out, "cardshop_product_stock{product_id=\"%lld\"} %lld\n",
		           (long long)sqlite3_column_int64(st, 0),
		           (long long)sqlite3_column_int64(st, 1));
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Each group of gauges keeps its last good rendering: when its query fails that is served
 * again and the failure counted, so an alert on, say, paid_undelivered never goes silent
 * because the database hiccuped at scrape time. */
static struct gauge_group {
	int (*query)(struct buf *out);
	struct buf last;
} gauge_groups[] = {
    {gauges_summary, {0}}, {gauges_orders, {0}}, {gauges_stock, {0}}, {gauges_jobs, {0}}};
static pthread_mutex_t gauge_lock = PTHREAD_MUTEX_INITIALIZER;

void shop_metrics_render(struct buf *out)
{
	pthread_mutex_lock(&gauge_lock);
	for (size_t i = 0; i < sizeof gauge_groups / sizeof gauge_groups[0]; i++) {
		struct gauge_group *g = &gauge_groups[i];
		struct buf now;
		buf_init(&now);
		if (g->query(&now) == 0) {
			buf_cleanup(&g->last);
			g->last = now;
		} else {
			buf_cleanup(&now);
			metrics_inc(M_METRICS_ERRORS, 1);
		}
		if (g->last.len)
			buf_append(out, g->last.data, g->last.len);
	}
	pthread_mutex_unlock(&gauge_lock);
}
