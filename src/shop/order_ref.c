/* The gateway's own id for an order's payment (a Stripe Checkout Session id), written once the
 * gateway made it; the reconciler reads it back with the due orders. */
#include "internal.h"

static const char *sql_set_ref =
    "UPDATE orders SET gateway_ref = :ref WHERE order_no = :no AND gateway_ref IS NULL";

struct ref_ctx {
	const char *order_no, *ref;
};

static int set_ref_tx(sqlite3 *db, void *arg)
{
	(void)db;
	struct ref_ctx *c = arg;
	sqlite3_stmt *st = db_stmt(sql_set_ref);
	if (!st)
		return -1;
	db_bind_text(st, ":ref", c->ref);
	db_bind_text(st, ":no", c->order_no);
	return db_step(st) == SQLITE_DONE ? 0 : db_log_error("gateway ref update failed");
}

int order_set_gateway_ref(const char *order_no, const char *ref)
{
	struct ref_ctx c = {order_no, ref};
	return db_write(set_ref_tx, &c);
}
