/* Process-wide counters and a latency histogram, rendered in Prometheus text format. */
#ifndef CARDSHOP_METRICS_H
#define CARDSHOP_METRICS_H

#include <stdint.h>

#include "cardshop/util.h"

enum metric_counter {
	M_ORDERS_CREATED,
	M_ORDERS_DELIVERED,
	M_ORDERS_EXPIRED,
	M_ORDERS_PAID_UNDELIVERED,
	M_NOTIFY_OK,
	M_NOTIFY_REJECTED,
	M_NOTIFY_REPEATED,
	M_MAIL_SENT,
	M_MAIL_FAILED,
	M_KEYS_IMPORTED,
	M_LOGIN_FAILED,
	M_RATE_LIMITED,
	M_CHALLENGED,
	M_SHED,
	M_COUNTERS
};

void metrics_request(unsigned status, int64_t usec);
void metrics_inc(enum metric_counter c, uint64_t by);
/* Appends the Prometheus exposition to out. */
void metrics_render(struct buf *out);

#endif
