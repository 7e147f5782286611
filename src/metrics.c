/* Process-wide counters, gauges and histograms (lock-free atomics), and the process's own
 * figures from /proc, rendered as Prometheus text with # HELP and # TYPE on every family. */
#include "cardshop/metrics.h"

#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

struct histogram {
	const double *le;
	size_t n;
	atomic_uint_fast64_t buckets[16]; /* n finite buckets, then +Inf; not cumulative */
	atomic_uint_fast64_t sum_micro;   /* sum of observations, in millionths */
};

static const double seconds_le[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
static const double commit_le[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                   0.05,   0.1,   0.25,   0.5,   1};
static const double batch_le[] = {1, 2, 4, 8, 16, 32, 64, 128};
#define NLE(a) (sizeof a / sizeof a[0])

static atomic_uint_fast64_t by_class[6]; /* index status/100; 0 = no reply */
#define HISTOGRAM(le)                                                                              \
	{                                                                                          \
		le, NLE(le), {0}, 0                                                                \
	}

_Static_assert(MR_ROUTES == 7, "one HISTOGRAM per route class");
static struct histogram requests = HISTOGRAM(seconds_le);
static struct histogram by_route[MR_ROUTES] = {
    HISTOGRAM(seconds_le), HISTOGRAM(seconds_le), HISTOGRAM(seconds_le), HISTOGRAM(seconds_le),
    HISTOGRAM(seconds_le), HISTOGRAM(seconds_le), HISTOGRAM(seconds_le),
};
static struct histogram commit_seconds = HISTOGRAM(commit_le);
static struct histogram commit_batch = HISTOGRAM(batch_le);
static atomic_uint_fast64_t counters[M_COUNTERS];
static atomic_int_fast64_t gauges[G_GAUGES];
static const char *build_version = "dev";

static const char *route_names[MR_ROUTES] = {
    [MR_OTHER] = "other", [MR_SHOP] = "shop",     [MR_ORDER] = "order",   [MR_PAY] = "pay",
    [MR_ADMIN] = "admin", [MR_SYSTEM] = "system", [MR_STATIC] = "static",
};

/* The gateways the shop speaks; anything else a notify path names counts as "other". */
static const char *gateway_names[] = {"epay",   "alipay",  "wechat", "stripe",
                                      "epusdt", "sandbox", "other"};
#define NGATEWAYS NLE(gateway_names)
static const char *notify_results[MN_RESULTS] = {
    [MN_ACCEPTED] = "accepted", [MN_REJECTED] = "rejected", [MN_REPEATED] = "repeated"};
static atomic_uint_fast64_t notifies[NGATEWAYS][MN_RESULTS];

static const struct {
	const char *name;
	const char *help;
} counter_info[M_COUNTERS] = {
    [M_ORDERS_CREATED] = {"cardshop_orders_created_total", "Orders created."},
    [M_ORDERS_DELIVERED] = {"cardshop_orders_delivered_total", "Orders delivered."},
    [M_ORDERS_EXPIRED] = {"cardshop_orders_expired_total", "Unpaid orders expired."},
    [M_ORDERS_PAID_UNDELIVERED] = {"cardshop_orders_paid_undelivered_total",
                                   "Orders paid with no key left to deliver."},
    [M_NOTIFY_OK] = {"cardshop_notify_accepted_total",
                     "Gateway notifies verified and applied (all gateways)."},
    [M_NOTIFY_REJECTED] = {"cardshop_notify_rejected_total",
                           "Gateway notifies refused or failed (all gateways)."},
    [M_NOTIFY_REPEATED] = {"cardshop_notify_repeated_total",
                           "Gateway notifies for an order already settled (all gateways)."},
    [M_MAIL_SENT] = {"cardshop_mail_sent_total", "Mails handed to the SMTP server."},
    [M_MAIL_FAILED] = {"cardshop_mail_failed_total", "Mail attempts that failed."},
    [M_KEYS_IMPORTED] = {"cardshop_keys_imported_total", "Card keys added by uploads."},
    [M_LOGIN_FAILED] = {"cardshop_login_failed_total", "Admin sign-ins refused."},
    [M_RATE_LIMITED] = {"cardshop_rate_limited_total", "Requests answered 429 by a limit."},
    [M_CHALLENGED] = {"cardshop_challenges_total",
                      "Proof-of-work challenges asked (428 challenge_required)."},
    [M_SHED] = {"cardshop_requests_shed_total",
                "Requests answered 503 to protect the server (body budget, overload)."},
    [M_JOB_ATTEMPTS_FAILED] = {"cardshop_job_attempts_failed_total",
                               "Background job attempts that failed (retried or given up)."},
    [M_DB_BUSY_RETRIES] = {"cardshop_db_busy_retries_total",
                           "BEGIN or COMMIT attempts that found the database busy."},
    [M_DB_COMMITS_FAILED] = {"cardshop_db_commits_failed_total",
                             "Group commits that failed (every write in them failed)."},
    [M_METRICS_ERRORS] = {"cardshop_metrics_errors_total",
                          "Gauge queries that failed; those gauges show their last value."},
};

static void observe(struct histogram *h, double v)
{
	size_t i = 0;
	while (i < h->n && v > h->le[i])
		i++;
	atomic_fetch_add(&h->buckets[i], 1);
	atomic_fetch_add(&h->sum_micro, (uint_fast64_t)(v > 0 ? v * 1e6 : 0));
}

void metrics_request_route(enum metric_route route, unsigned status, int64_t usec)
{
	unsigned cls = status / 100;
	atomic_fetch_add(&by_class[cls < 6 ? cls : 0], 1);
	double s = (double)usec / 1e6;
	observe(&requests, s);
	observe(&by_route[route < MR_ROUTES ? route : MR_OTHER], s);
}

void metrics_request(unsigned status, int64_t usec)
{
	metrics_request_route(MR_OTHER, status, usec);
}

void metrics_inc(enum metric_counter c, uint64_t by)
{
	atomic_fetch_add(&counters[c], by);
}

void metrics_set(enum metric_gauge g, int64_t value)
{
	atomic_store(&gauges[g], value);
}

void metrics_notify(const char *gateway, enum metric_notify result)
{
	size_t g = NGATEWAYS - 1;
	for (size_t i = 0; gateway && i + 1 < NGATEWAYS; i++) {
		if (strcmp(gateway, gateway_names[i]) == 0)
			g = i;
	}
	atomic_fetch_add(&notifies[g][result], 1);
}

void metrics_commit(int64_t usec, unsigned batch)
{
	observe(&commit_seconds, (double)usec / 1e6);
	observe(&commit_batch, (double)batch);
}

void metrics_set_version(const char *version)
{
	build_version = version;
}

static void family(struct buf *out, const char *name, const char *type, const char *help)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One histogram's series; labels is "" or `route="shop",` (with the trailing comma). */
static void render_histogram(struct buf *out, const char *name, const char *labels,
                             struct histogram *h)
{
	uint64_t cum = 0;
	for (size_t i = 0; i < h->n; i++) {
		cum += atomic_load(&h->buckets[i]);
		buf_printf(out, "%s_bucket{%sle=\"%g\"} %llu\n", name, labels, h->le[i],
		           (unsigned long long)cum);
	}
	cum += atomic_load(&h->buckets[h->n]);
	buf_printf(out, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, labels, (unsigned long long)cum);
	size_t n = strlen(labels);
	char plain[64] = "";
	if (n > 1 && n < sizeof plain) /* `a="b",` → `{a="b"}` */
		snprintf(plain, sizeof plain, "{%.*s}", (int)(n - 1), labels);
	buf_printf(out, "%s_sum%s %.6f\n", name, plain, (double)atomic_load(&h->sum_micro) / 1e6);
	buf_printf(out, "%s_count%s %llu\n", name, plain, (unsigned long long)cum);
}

static void render_requests(struct buf *out)
{
	family(out, "cardshop_http_requests_total", "counter",
	       "HTTP requests answered, by status class (none: no reply was sent).");
	buf_printf(out, "cardshop_http_requests_total{class=\"none\"} %llu\n",
	           (unsigned long long)atomic_load(&by_class[0]));
	for (int c = 1; c < 6; c++)
		buf_printf(out, "cardshop_http_requests_total{class=\"%dxx\"} %llu\n", c,
		           (unsigned long long)atomic_load(&by_class[c]));
	family(out, "cardshop_http_request_seconds", "histogram",
	       "Time from the request head to the reply being queued, all routes.");
	render_histogram(out, "cardshop_http_request_seconds", "", &requests);
	family(out, "cardshop_http_route_seconds", "histogram",
	       "Time from the request head to the reply being queued, by route class.");
	for (int r = 0; r < MR_ROUTES; r++) {
		char labels[48];
		snprintf(labels, sizeof labels, "route=\"%s\",", route_names[r]);
		render_histogram(out, "cardshop_http_route_seconds", labels, &by_route[r]);
	}
}

static void render_notifies(struct buf *out)
{
	family(out, "cardshop_notify_total", "counter", "Gateway notifies by gateway and result.");
	for (size_t g = 0; g < NGATEWAYS; g++) {
		for (int r = 0; r < MN_RESULTS; r++)
			buf_printf(out,
			           "cardshop_notify_total{gateway=\"%s\",result=\"%s\"} %llu\n",
			           gateway_names[g], notify_results[r],
			           (unsigned long long)atomic_load(&notifies[g][r]));
	}
}

static void render_db(struct buf *out)
{
	family(out, "cardshop_db_commit_seconds", "histogram",
	       "Duration of each durable group commit (COMMIT with synchronous=FULL).");
	render_histogram(out, "cardshop_db_commit_seconds", "", &commit_seconds);
	family(out, "cardshop_db_commit_batch_size", "histogram",
	       "Writes carried by each group commit.");
	render_histogram(out, "cardshop_db_commit_batch_size", "", &commit_batch);
}

static long open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	long n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

static long long resident_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long long size = 0, resident = -1;
	if (f) {
		if (fscanf(f, "%lld %lld", &size, &resident) != 2)
			resident = -1;
		fclose(f);
	}
	return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

/* The standard process_* families, read from /proc/self and getrusage at each scrape. */
static void render_process(struct buf *out)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		             (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
		family(out, "process_cpu_seconds_total", "counter",
		       "User and system CPU time spent, in seconds.");
		buf_printf(out, "process_cpu_seconds_total %.3f\n", cpu);
	}
	long long rss = resident_bytes();
	if (rss >= 0) {
		family(out, "process_resident_memory_bytes", "gauge", "Resident memory, in bytes.");
		buf_printf(out, "process_resident_memory_bytes %lld\n", rss);
	}
	long fds = open_fds();
	if (fds >= 0) {
		family(out, "process_open_fds", "gauge", "Open file descriptors.");
		buf_printf(out, "process_open_fds %ld\n", fds);
	}
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		family(out, "process_max_fds", "gauge", "The open file descriptor limit.");
		buf_printf(out, "process_max_fds %llu\n", (unsigned long long)rl.rlim_cur);
	}
}

void metrics_render(struct buf *out)
{
	family(out, "cardshop_build_info", "gauge", "Always 1; the version is the label.");
	buf_printf(out, "cardshop_build_info{version=\"%s\"} 1\n", build_version);
	render_requests(out);
	for (int c = 0; c < M_COUNTERS; c++) {
		family(out, counter_info[c].name, "counter", counter_info[c].help);
		buf_printf(out, "%s %llu\n", counter_info[c].name,
		           (unsigned long long)atomic_load(&counters[c]));
	}
	render_notifies(out);
	render_db(out);
	family(out, "cardshop_backup_last_success_timestamp_seconds", "gauge",
	       "When the last scheduled backup was written (0: none since start).");
	buf_printf(out, "cardshop_backup_last_success_timestamp_seconds %lld\n",
	           (long long)atomic_load(&gauges[G_BACKUP_LAST_SUCCESS]));
	render_process(out);
}
