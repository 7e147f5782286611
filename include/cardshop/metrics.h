/* Process-wide counters, gauges and histograms, rendered in Prometheus text format. Any layer
 * may count here (db/ included: it reports commits without knowing about HTTP). */
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
	M_SHED,
	M_JOB_ATTEMPTS_FAILED,
	M_DB_BUSY_RETRIES,
	M_DB_COMMITS_FAILED,
	M_METRICS_ERRORS,
	M_CHALLENGED,
	M_COUNTERS
};

/* What a request was for: the latency histogram is kept per class. */
enum metric_route {
	MR_OTHER,
	MR_SHOP,   /* catalog and config reads */
	MR_ORDER,  /* order creation, lookup, the delivery view */
	MR_PAY,    /* gateway notifies and returns */
	MR_ADMIN,  /* the admin API */
	MR_SYSTEM, /* healthz, readyz, metrics */
	MR_STATIC, /* pages and assets */
	MR_ROUTES
};

enum metric_notify { MN_ACCEPTED, MN_REJECTED, MN_REPEATED, MN_RESULTS };

enum metric_gauge { G_BACKUP_LAST_SUCCESS, G_GAUGES };

/* One answered request (status 0: none was sent); count it before the reply is queued, so a
 * scrape that follows the reply sees it. */
void metrics_request(unsigned status, int64_t usec);
void metrics_request_route(enum metric_route route, unsigned status, int64_t usec);
void metrics_inc(enum metric_counter c, uint64_t by);
void metrics_set(enum metric_gauge g, int64_t value);
/* A gateway notify and how it ended; gateway borrowed (unknown names count as "other"). */
void metrics_notify(const char *gateway, enum metric_notify result);
/* One durable group commit: how long COMMIT took and how many writes it carried. */
void metrics_commit(int64_t usec, unsigned batch);
/* The version shown by cardshop_build_info; borrowed, must outlive the process. */
void metrics_set_version(const char *version);
/* Appends the Prometheus exposition (with # HELP and # TYPE on every family) to out. */
void metrics_render(struct buf *out);

#endif
