/* Admin dashboard: GET /api/admin/stats?days=N. */
#include "internal.h"

static void stats(struct http_req *req)
{
	int bad = 0;
	if (!api_require_admin(req))
		return;
	int64_t days = api_query_int(req, "days", 30, 1, 366, &bad);
	if (bad)
		return;
	struct shop_err err = {0};
	api_reply_view(req, NULL, stats_json(util_now(), (int)days, &err), &err);
}

const struct http_route stats_api_routes[] = {
    {"GET", "/api/admin/stats", stats, HTTP_BODY_DEFAULT | HTTP_GUARDED, HTTP_SHEDDABLE},
};
const size_t stats_api_nroutes = sizeof stats_api_routes / sizeof stats_api_routes[0];
