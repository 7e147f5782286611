/* Admin API for orders: the filtered list with totals, the CSV export, one order's detail and
 * keys, and the merchant's actions (cancel, confirm-paid, refund, resend). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cardshop/sec.h"
#include "internal.h"

/* The filter from the query string; -1 after a 400 was sent. Strings are the request's. */
static int filter_parse(struct http_req *req, struct order_filter *f)
{
	static const struct {
		const char *name;
		size_t max;
	} texts[] = {{"status", 32}, {"gateway", 32}, {"q", 254}};
	const char **dst[] = {&f->status, &f->gateway, &f->q};
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		const char *v = http_query_get(req, texts[i].name);
		*dst[i] = v ? v : "";
		if (strlen(*dst[i]) > texts[i].max) {
			char msg[64];
			snprintf(msg, sizeof msg, "%s: at most %zu bytes", texts[i].name,
			         texts[i].max);
			http_reply_error(req, 400, "invalid_request", msg);
			return -1;
		}
	}
	int bad = 0;
	f->product_id = api_query_int(req, "product_id", 0, 0, INT64_MAX, &bad);
	if (!bad)
		f->from = api_query_int(req, "from", 0, 0, INT64_MAX, &bad);
	if (!bad)
		f->to = api_query_int(req, "to", 0, 0, INT64_MAX, &bad);
	return bad ? -1 : 0;
}

static void orders_list(struct http_req *req)
{
	int64_t page;
	struct order_filter f;
	if (api_admin_page(req, &page) != 0 || filter_parse(req, &f) != 0)
		return;
	struct shop_err err = {0};
	api_reply_view(req, NULL, orders_admin_json(&f, page, &err), &err);
}

static void orders_csv(struct http_req *req)
{
	const struct admin_session *s = api_require_admin(req);
	struct order_filter f;
	if (!s || filter_parse(req, &f) != 0)
		return;
	struct actor who = api_actor(req, s);
	struct shop_err err = {0};
	size_t len;
	char *csv = orders_admin_csv(&who, &f, &len, &err);
	if (!csv) {
		api_reply_shop_err(req, &err);
		return;
	}
	http_add_header(req, "Content-Disposition", "attachment; filename=\"orders.csv\"");
	http_add_header(req, "Cache-Control", "no-store");
	http_reply_text(req, 200, "text/csv; charset=utf-8; header=present", csv, len);
	free(csv);
}

static void order_detail(struct http_req *req)
{
	if (!api_require_admin(req))
		return;
	struct shop_err err = {0};
	api_reply_view(req, NULL, order_admin_view(http_param(req, "order_no"), &err), &err);
}

static void order_keys(struct http_req *req)
{
	const struct admin_session *s = api_require_admin(req);
	if (!s)
		return;
	struct actor who = api_actor(req, s);
	struct shop_err err = {0};
	http_add_header(req, "Cache-Control", "no-store");
	api_reply_view(req, NULL, order_admin_keys(&who, http_param(req, "order_no"), &err), &err);
}

/* The frame of an action: a signed-in admin (CSRF checked) and an optional JSON body
 * {"note"}. 0 with *in set (NULL for an empty body), -1 after a reply was sent. */
static int action_begin(struct http_req *req, struct actor *who, json_t **in)
{
	const struct admin_session *s = api_require_admin(req);
	if (!s)
		return -1;
	size_t len;
	http_body(req, &len);
	*in = NULL;
	if (len > 0 && !(*in = http_json(req)))
		return -1;
	*who = api_actor(req, s);
	return 0;
}

/* After an action: the order as it is now, with what happened when the caller says so. */
static void reply_order(struct http_req *req, const char *order_no, const char *outcome)
{
	struct shop_err err = {0};
	json_t *o = order_admin_view(order_no, &err);
	if (o && outcome)
		json_object_set_new(o, "outcome", json_string(outcome));
	api_reply_view(req, NULL, o, &err);
}

typedef int (*order_action_fn)(const struct actor *who, const char *order_no, json_t *in,
                               struct shop_err *err);

static void run_action(struct http_req *req, order_action_fn fn)
{
	struct actor who;
	json_t *in;
	if (action_begin(req, &who, &in) != 0)
		return;
	const char *no = http_param(req, "order_no");
	struct shop_err err = {0};
	if (fn(&who, no, in, &err) != 0)
		api_reply_shop_err(req, &err);
	else
		reply_order(req, no, NULL);
}

static void order_cancel_handler(struct http_req *req)
{
	run_action(req, order_cancel);
}

static void order_refund_handler(struct http_req *req)
{
	run_action(req, order_refund);
}

static void order_resend_handler(struct http_req *req)
{
	run_action(req, order_resend);
}

static void order_confirm_handler(struct http_req *req)
{
	struct actor who;
	json_t *in;
	if (action_begin(req, &who, &in) != 0)
		return;
	const char *no = http_param(req, "order_no");
	struct shop_err err = {0};
	enum notify_outcome outcome;
	if (order_confirm_paid(http_config(req), &who, no, in, &outcome, &err) != 0)
		api_reply_shop_err(req, &err);
	else
		reply_order(req, no, notify_outcome_name(outcome));
}

#define ADMIN_GET (HTTP_BODY_DEFAULT | HTTP_GUARDED)
#define ADMIN_ACTION (HTTP_BODY_DEFAULT | HTTP_GUARDED)

const struct http_route order_admin_api_routes[] = {
    {"GET", "/api/admin/orders", orders_list, ADMIN_GET, HTTP_SHEDDABLE},
    {"GET", "/api/admin/orders.csv", orders_csv, ADMIN_GET, HTTP_SHEDDABLE},
    {"GET", "/api/admin/orders/{order_no}", order_detail, ADMIN_GET, HTTP_SHEDDABLE},
    {"GET", "/api/admin/orders/{order_no}/keys", order_keys, ADMIN_GET, HTTP_CORE},
    {"POST", "/api/admin/orders/{order_no}/cancel", order_cancel_handler, ADMIN_ACTION, HTTP_CORE},
    {"POST", "/api/admin/orders/{order_no}/confirm-paid", order_confirm_handler, ADMIN_ACTION,
     HTTP_CORE},
    {"POST", "/api/admin/orders/{order_no}/refund", order_refund_handler, ADMIN_ACTION, HTTP_CORE},
    {"POST", "/api/admin/orders/{order_no}/resend", order_resend_handler, ADMIN_ACTION, HTTP_CORE},
};
const size_t order_admin_api_nroutes =
    sizeof order_admin_api_routes / sizeof order_admin_api_routes[0];
