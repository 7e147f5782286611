/* Key-value settings and the shop-wide gauges. */
#include "cardshop/db.h"
#include "cardshop/shop.h"

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
	return sqlite3_step(st) == SQLITE_DONE ? 0 : db_log_error("readiness probe failed");
}

int shop_probe_write(void)
{
	return db_write(probe, NULL) == 0 ? 0 : -1;
}

static const char *sql_gauges =
    "SELECT (SELECT count(*) FROM card_keys WHERE status = 'available'),"
    " (SELECT count(*) FROM orders WHERE status = 'pending'),"
    " (SELECT count(*) FROM orders WHERE status = 'paid_undelivered'),"
    " (SELECT count(*) FROM jobs WHERE status IN ('queued', 'running'))";

void shop_metrics_render(struct buf *out)
{
	sqlite3_stmt *st = db_stmt(sql_gauges);
	if (!st || sqlite3_step(st) != SQLITE_ROW)
		return;
	static const char *names[] = {"cardshop_keys_available", "cardshop_orders_pending",
	                              "cardshop_orders_paid_undelivered", "cardshop_jobs_queued"};
	for (int i = 0; i < 4; i++)
		buf_printf(out, "# TYPE %s gauge\n%s %lld\n", names[i], names[i],
		           (long long)sqlite3_column_int64(st, i));
	sqlite3_reset(st);
}
