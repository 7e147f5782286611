/* Key-value settings and the shop-wide gauges. */
#include <stdatomic.h>

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

void shop_metrics_render(struct buf *out)
{
	sqlite3_stmt *st = db_stmt(sql_gauges);
	if (!st || db_step(st) != SQLITE_ROW)
		return;
	static const char *names[] = {"cardshop_keys_available", "cardshop_orders_pending",
	                              "cardshop_orders_paid_undelivered", "cardshop_jobs_queued"};
	for (int i = 0; i < 4; i++)
		buf_printf(out, "# TYPE %s gauge\n%s %lld\n", names[i], names[i],
		           (long long)sqlite3_column_int64(st, i));
	sqlite3_reset(st);
}
