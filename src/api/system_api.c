/* Operations endpoints: liveness, readiness and Prometheus metrics. */
#include <stdlib.h>

#include "cardshop/metrics.h"
#include "cardshop/pay.h"
#include "cardshop/sec.h"
#include "cardshop/shop.h"
#include "internal.h"

static void healthz(struct http_req *req)
{
	http_reply_json(req, 200, json_pack("{ss}", "status", "ok"));
}

static void readyz(struct http_req *req)
{
	struct shop_err err = {0};
	if (shop_ready(&err) != 0) {
		http_add_header(req, "Retry-After", "5");
		http_reply_error(req, 503, "unavailable", err.message);
		return;
	}
	http_reply_json(req, 200, json_pack("{ss}", "status", "ready"));
}

static void metrics(struct http_req *req)
{
	if (!http_addr_in_list(http_client_ip(req), http_config(req)->metrics_allow)) {
		http_reply_error(req, 403, "forbidden", "metrics are not served to this address");
		return;
	}
	/* The shop's gauges first: a failed query counts in cardshop_metrics_errors_total, which
	 * this same page must already show. */
	struct buf gauges, out;
	buf_init(&gauges);
	shop_metrics_render(&gauges);
	buf_init(&out);
	metrics_render(&out);
	buf_printf(&out,
	           "# HELP cardshop_ratelimit_evictions_total Rate-limiter entries evicted from a "
	           "full set (the table is fixed; a flood of new keys shows here).\n"
	           "# TYPE cardshop_ratelimit_evictions_total counter\n"
	           "cardshop_ratelimit_evictions_total %llu\n",
	           (unsigned long long)sec_rate_evictions());
	pay_metrics_render(http_config(req), &out);
	sec_pressure_metrics_render(&out);
	if (gauges.len)
		buf_append(&out, gauges.data, gauges.len);
	buf_cleanup(&gauges);
	http_reply_text(req, 200, "text/plain; version=0.0.4; charset=utf-8", out.data, out.len);
	buf_cleanup(&out);
}

const struct http_route system_api_routes[] = {
    {"GET", "/healthz", healthz, HTTP_BODY_DEFAULT, HTTP_CORE},
    {"GET", "/readyz", readyz, HTTP_BODY_DEFAULT, HTTP_CORE},
    {"GET", "/metrics", metrics, HTTP_BODY_DEFAULT, HTTP_CORE},
};
const size_t system_api_nroutes = sizeof system_api_routes / sizeof system_api_routes[0];
