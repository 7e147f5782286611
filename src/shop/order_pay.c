/* What a QR gateway gave for an order (the payload the pay page shows as a QR code). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *sql_qr_set =
    "UPDATE orders SET pay_qr = :qr WHERE order_no = :no AND status = 'pending'";
static const char *sql_qr_get =
    "SELECT pay_qr FROM orders WHERE order_no = :no AND status = 'pending'"
    " AND pay_qr IS NOT NULL";

struct qr_ctx {
	const char *order_no, *qr;
};

static int qr_set_tx(sqlite3 *db, void *arg)
{
	(void)db;
	struct qr_ctx *c = arg;
	sqlite3_stmt *st = db_stmt(sql_qr_set);
	if (!st)
		return -1;
	db_bind_text(st, ":qr", c->qr);
	db_bind_text(st, ":no", c->order_no);
	int rc = db_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_log_error("storing the order's QR payload failed");
}

int order_pay_qr_set(const char *order_no, const char *qr)
{
	struct qr_ctx c = {order_no, qr};
	return db_write(qr_set_tx, &c) == 0 ? 0 : -1;
}

int order_pay_qr_get(const char *order_no, char **qr)
{
	*qr = NULL;
	sqlite3_stmt *st = db_stmt(sql_qr_get);
	if (!st)
		return -1;
	db_bind_text(st, ":no", order_no);
	int rc = db_step(st);
	if (rc == SQLITE_ROW)
		*qr = xstrdup(db_col_text(st, 0));
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_log_error("reading the order's QR payload failed");
	return rc == SQLITE_ROW ? 1 : 0;
}
