/* Process-wide counters and a request latency histogram (lock-free atomics). */
#include "cardshop/metrics.h"

#include <stdatomic.h>

static const double bucket_le[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
#define NBUCKETS (sizeof bucket_le / sizeof bucket_le[0])

static atomic_uint_fast64_t by_class[6]; /* index status/100; 0 = no reply */
static atomic_uint_fast64_t buckets[NBUCKETS + 1];
static atomic_uint_fast64_t sum_us;
static atomic_uint_fast64_t counters[M_COUNTERS];

static const char *counter_names[M_COUNTERS] = {
    [M_ORDERS_CREATED] = "cardshop_orders_created_total",
    [M_ORDERS_DELIVERED] = "cardshop_orders_delivered_total",
    [M_ORDERS_EXPIRED] = "cardshop_orders_expired_total",
    [M_ORDERS_PAID_UNDELIVERED] = "cardshop_orders_paid_undelivered_total",
    [M_NOTIFY_OK] = "cardshop_notify_accepted_total",
    [M_NOTIFY_REJECTED] = "cardshop_notify_rejected_total",
    [M_NOTIFY_REPEATED] = "cardshop_notify_repeated_total",
    [M_MAIL_SENT] = "cardshop_mail_sent_total",
    [M_MAIL_FAILED] = "cardshop_mail_failed_total",
    [M_KEYS_IMPORTED] = "cardshop_keys_imported_total",
    [M_LOGIN_FAILED] = "cardshop_login_failed_total",
    [M_RATE_LIMITED] = "cardshop_rate_limited_total",
    [M_CHALLENGED] = "cardshop_challenges_total",
    [M_SHED] = "cardshop_shed_total",
};

void metrics_request(unsigned status, int64_t usec)
{
	unsigned cls = status / 100;
	atomic_fetch_add(&by_class[cls < 6 ? cls : 0], 1);
	double s = (double)usec / 1e6;
	size_t i = 0;
	while (i < NBUCKETS && s > bucket_le[i])
		i++;
	atomic_fetch_add(&buckets[i], 1);
	atomic_fetch_add(&sum_us, (uint_fast64_t)(usec > 0 ? usec : 0));
}

void metrics_inc(enum metric_counter c, uint64_t by)
{
	atomic_fetch_add(&counters[c], by);
}

void metrics_render(struct buf *out)
{
	buf_puts(out, "# TYPE cardshop_http_requests_total counter\n");
	for (int c = 0; c < 6; c++) {
		if (c == 0)
			buf_printf(out, "cardshop_http_requests_total{class=\"none\"} %llu\n",
			           (unsigned long long)atomic_load(&by_class[0]));
		else
			buf_printf(out, "cardshop_http_requests_total{class=\"%dxx\"} %llu\n", c,
			           (unsigned long long)atomic_load(&by_class[c]));
	}
	buf_puts(out, "# TYPE cardshop_http_request_seconds histogram\n");
	uint64_t cum = 0;
	for (size_t i = 0; i < NBUCKETS; i++) {
		cum += atomic_load(&buckets[i]);
		buf_printf(out, "cardshop_http_request_seconds_bucket{le=\"%g\"} %llu\n",
		           bucket_le[i], (unsigned long long)cum);
	}
	cum += atomic_load(&buckets[NBUCKETS]);
	buf_printf(out, "cardshop_http_request_seconds_bucket{le=\"+Inf\"} %llu\n",
	           (unsigned long long)cum);
	buf_printf(out, "cardshop_http_request_seconds_sum %.6f\n",
	           (double)atomic_load(&sum_us) / 1e6);
	buf_printf(out, "cardshop_http_request_seconds_count %llu\n", (unsigned long long)cum);
	for (int c = 0; c < M_COUNTERS; c++) {
		buf_printf(out, "# TYPE %s counter\n%s %llu\n", counter_names[c], counter_names[c],
		           (unsigned long long)atomic_load(&counters[c]));
	}
}
