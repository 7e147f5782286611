/* Lost callbacks: before an unpaid order expires, the gateway is asked whether it was paid
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

static void reconcile_one(const struct config *cfg, const char *order_no, const char *gateway,
                          int *unreachable)
{
	const struct gateway *gw = pay_gateway(cfg, gateway);
	if (!gw || !gw->query || *unreachable)
		return;
	struct pay_query q;
	if (gw->query(cfg, order_no, &q) != 0) {
		*unreachable = 1; /* one timeout per tick is enough to wait for */
		log_warn("gateway query failed",
		         json_pack("{ss ss}", "gateway", gateway, "order_no", order_no));
		return;
	}
	if (q.paid) {
		struct notify n = {.gateway = gw->name,
		                   .order_no = order_no,
		                   .trade_no = q.trade_no,
		                   .amount = q.amount,
		                   .verified = 1,
		                   .raw = q.raw ? q.raw : "",
		                   .ip = "reconcile"};
		payment_apply(cfg, &n);
	}
	free(q.raw);
}

void jobs_reconcile(const struct config *cfg)
{
	json_t *due = orders_due_json(util_now(), RECONCILE_MAX);
	int unreachable = 0;
	for (size_t i = 0; i < json_array_size(due); i++) {
		json_t *o = json_array_get(due, i);
		reconcile_one(cfg, json_string_value(json_object_get(o, "order_no")),
		              json_string_value(json_object_get(o, "gateway")), &unreachable);
	}
	json_decref(due);
}
