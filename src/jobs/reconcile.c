/* Lost callbacks: before an unpaid order expires, its gateway is asked whether it was paid
 * after all. A "paid" answer goes through payment_apply like a notify would, so it is applied
 * exactly once whichever comes first, the answer or a late notify. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cardshop/log.h"
#include "cardshop/pay.h"
#include "cardshop/shop.h"
#include "cardshop/util.h"
#include "internal.h"

#define RECONCILE_MAX 20 /* per tick: a flood of abandoned orders must not stall the thread */

/* Gateways that failed to answer this tick, as ",name,": their other orders wait for the next
 * one (one timeout per gateway and tick is enough to wait for), the other gateways' do not. */
struct tick {
	char unreachable[128];
};

static int tick_unreachable(const struct tick *t, const char *gateway)
{
	char item[40];
	snprintf(item, sizeof item, ",%s,", gateway);
	return strstr(t->unreachable, item) != NULL;
}

/* Asks about one due order: paid → applied like a notify; not paid → expired now;
 * unreachable or down (its breaker open) → left pending, within the bounded grace. */
static void reconcile_one(const struct config *cfg, const char *order_no, const char *gateway,
                          const char *ref, struct tick *t)
{
	const struct gateway *gw = pay_gateway(cfg, gateway);
	if (!gw || !gw->query || tick_unreachable(t, gateway))
		return;
	struct pay_query q;
	if (pay_query(cfg, gw, order_no, ref, &q) != 0) {
		size_t used = strlen(t->unreachable);
		snprintf(t->unreachable + used, sizeof t->unreachable - used, "%s%s,",
		         used ? "" : ",", gateway);
		log_warn("gateway query failed",
		         json_pack("{ss ss sb}", "gateway", gateway, "order_no", order_no, "down",
		                   !pay_gateway_up(gw)));
		free(q.raw);
		return;
	}
	if (q.paid) {
		struct notify n = {.gateway = gw->name,
		                   .order_no = order_no,
		                   .trade_no = q.trade_no,
		                   .amount = q.amount,
		                   .currency = q.currency[0] ? q.currency : NULL,
		                   .verified = 1,
		                   .raw = q.raw ? q.raw : "",
		                   .ip = "reconcile"};
		/* A "payment" that does not match the order (wrong amount) counts as none; a
		 * database error (NOTIFY_ERROR) leaves the order pending for the next tick. */
		if (payment_apply(cfg, &n) == NOTIFY_REJECTED)
			order_expire(order_no, util_now());
	} else {
		order_expire(order_no, util_now());
	}
	free(q.raw);
}

/* Orders whose gateway can be asked expire only once it said "not paid" (or after an hour of
 * it being unreachable); the others expire at their time. */
void jobs_expire_due(const struct config *cfg)
{
	char queryable[128];
	pay_queryable(cfg, queryable, sizeof queryable);
	int64_t now = util_now();
	struct shop_err err = {0};
	json_t *due = orders_due_json(now, queryable, RECONCILE_MAX, &err);
	if (!due)
		return; /* a database error is not "nothing due": expire nothing this tick */
	struct tick t = {""};
	for (size_t i = 0; i < json_array_size(due); i++) {
		json_t *o = json_array_get(due, i);
		reconcile_one(cfg, json_string_value(json_object_get(o, "order_no")),
		              json_string_value(json_object_get(o, "gateway")),
		              json_string_value(json_object_get(o, "gateway_ref")), &t);
	}
	json_decref(due);
	orders_expire(now, queryable);
}
