/* The sandbox gateway's database half: the buyer's "pay" becomes a queued notify (a job the
 * jobs thread POSTs to our own notify URL, as an outside gateway would call us). */
#include <stdio.h>
#include <string.h>

#include "cardshop/sec.h"
#include "internal.h"

struct pay_ctx {
	const char *order_no;
	struct shop_err *err;
};

static int pay_tx(sqlite3 *db, void *arg)
{
	(void)db;
	struct pay_ctx *c = arg;
	struct order_row o;
	int found = order_load(c->order_no, &o);
	if (found <= 0)
		return found < 0 ? shop_fail(c->err, SHOP_ERROR, "internal error")
		                 : shop_fail(c->err, SHOP_NOT_FOUND, "order not found");
	/* A sandbox payment settles only what was bought through the sandbox: an order meant for a
	 * real gateway must not be "paid" by a click on the demo button. */
	if (strcmp(o.gateway, "sandbox") != 0)
		return shop_fail(c->err, SHOP_NOT_FOUND, "order not found");
	if (o.status != ORDER_PENDING)
		return shop_fail(c->err, SHOP_CONFLICT, "order is not awaiting payment");
	char trade[25] = "SBX";
	sec_random_hex(trade + 3, 10);
	if (outbox_put(JOB_SANDBOX_NOTIFY,
	               json_pack("{ss sI ss}", "order_no", c->order_no, "amount",
	                         (json_int_t)o.amount, "trade_no", trade),
	               0) != 0)
		return shop_fail(c->err, SHOP_ERROR, "internal error");
	return 0;
}

int sandbox_pay_request(const char *order_no, const char *token, struct shop_err *err)
{
	if (!order_no || !token || !order_token_ok(order_no, token))
		return shop_fail(err, SHOP_NOT_FOUND, "order not found");
	struct pay_ctx c = {order_no, err};
	err->status = SHOP_OK;
	if (db_write(pay_tx, &c) != 0) {
		if (err->status == SHOP_OK)
			shop_fail(err, SHOP_ERROR, "internal error");
		return -1;
	}
	outbox_wake();
	return 0;
}
