/* Retention: rows nobody needs after a while, dropped by the periodic sweep. Delivered and paid
 * orders, their payments and verified notifies are the shop's books and are never dropped. */
#include "cardshop/log.h"
#include "internal.h"

/* Unverified notifies are whatever anyone sent (up to 4 KiB each): a month is enough to look
 * into a dispute or an attack. */
static const char *sql_prune_events =
    "DELETE FROM payment_events WHERE verified = 0 AND created_at < :before";
/* Abandoned orders: expired or cancelled by the merchant, never paid, holding no key (the
 * expiry or the cancel gave their keys and coupon uses back, so dropping the row releases
 * nothing). After 90 days a late payment for one is refused as an unknown order (its event
 * stays in payment_events). An order ever paid has paid_at or a payment: the books keep it. */
static const char *sql_prune_orders =
    "DELETE FROM orders WHERE status IN ('expired', 'cancelled') AND paid_at IS NULL"
    " AND refunded_at IS NULL AND created_at < :before"
    " AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.order_id = orders.id)"
    " AND NOT EXISTS (SELECT 1 FROM card_keys k WHERE k.order_id = orders.id)"
    " AND NOT EXISTS (SELECT 1 FROM order_keys ok WHERE ok.order_id = orders.id)";

struct prune_ctx {
	int64_t events_before, orders_before;
	int events, orders;
};

static int prune_one(sqlite3 *db, const char *sql, int64_t before, int *count)
{
	sqlite3_stmt *st = db_stmt(sql);
	if (!st)
		return -1;
	db_bind_int(st, ":before", before);
	int rc = db_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_log_error("retention prune failed");
	*count = sqlite3_changes(db);
	return 0;
}

static int prune_tx(sqlite3 *db, void *arg)
{
	struct prune_ctx *c = arg;
	if (prune_one(db, sql_prune_events, c->events_before, &c->events) != 0 ||
	    prune_one(db, sql_prune_orders, c->orders_before, &c->orders) != 0)
		return -1;
	return 0;
}

int shop_retention_prune(int64_t now)
{
	struct prune_ctx c = {now - SHOP_KEEP_UNVERIFIED_DAYS * 86400,
	                      now - SHOP_KEEP_EXPIRED_DAYS * 86400, 0, 0};
	if (db_write(prune_tx, &c) != 0)
		return -1;
	if (c.events || c.orders)
		log_info("retention prune", json_pack("{si si}", "unverified_notifies", c.events,
		                                      "abandoned_orders", c.orders));
	return c.events + c.orders;
}
