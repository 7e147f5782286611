/* Shop order endpoints: create, view (token or cookie), lookup by email + query password
 * (or by email alone: the links mailed),
 * and the buyer's recent orders from the cookie. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cardshop/config.h"
#include "cardshop/log.h"
#include "cardshop/pay.h"
#include "cardshop/qr.h"
#include "internal.h"

#define ORDERS_COOKIE "cs_orders"
#define ORDERS_KEPT 10

/* The cookie lists "order_no.token" pairs separated by '|', newest first. */
/* The order numbers in the cookie whose token is genuine, newest first (at most max). */
static int cookie_orders(struct http_req *req, char nos[][33], int max)
{
	const char *c = http_cookie(req, ORDERS_COOKIE);
	char *copy = xstrdup(c ? c : ""), *save = NULL;
	int n = 0;
	for (char *e = strtok_r(copy, "|", &save); e && n < max; e = strtok_r(NULL, "|", &save)) {
		char *dot = strchr(e, '.');
		if (!dot || dot - e >= 33)
			continue;
		*dot = '\0';
		if (order_token_ok(e, dot + 1))
			snprintf(nos[n++], 33, "%s", e);
	}
	free(copy);
	return n;
}

static int cookie_grants(struct http_req *req, const char *order_no)
{
	char nos[ORDERS_KEPT][33];
	int n = cookie_orders(req, nos, ORDERS_KEPT);
	for (int i = 0; i < n; i++) {
		if (strcmp(nos[i], order_no) == 0)
			return 1;
	}
	return 0;
}

static void remember_order(struct http_req *req, const char *order_no, const char *token)
{
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "%s.%s", order_no, token);
	const char *old = http_cookie(req, ORDERS_COOKIE);
	if (old) {
		char *copy = xstrdup(old), *save = NULL;
		int kept = 1;
		for (char *e = strtok_r(copy, "|", &save); e && kept < ORDERS_KEPT;
		     e = strtok_r(NULL, "|", &save)) {
			if (strlen(e) > 80 || strspn(e, "0123456789abcdefABCDEF.") != strlen(e))
				continue; /* only well-formed entries survive */
			buf_printf(&b, "|%s", e);
			kept++;
		}
		free(copy);
	}
	api_set_cookie(req, ORDERS_COOKIE, buf_cstr(&b), 30 * 86400, "/", "Lax");
	buf_cleanup(&b);
}

/* The buyer's mails follow the shop page's language: the body's "lang", else the browser's
 * first Accept-Language choice we have (zh* or en*), else English. */
static const char *lang_from_header(const char *h)
{
	for (const char *p = h ? h : ""; *p;) {
		p += strspn(p, " ,");
		size_t n = strcspn(p, ",");
		int refused = memmem(p, n, "q=0", 3) && !memmem(p, n, "q=0.", 4);
		if (!refused && strncasecmp(p, "zh", 2) == 0)
			return "zh-CN";
		if (!refused && strncasecmp(p, "en", 2) == 0)
			return "en";
		p += n;
	}
	return "en";
}

/* Creates the payment at the gateway. When that fails the order is expired at once, so its
 * keys and coupon use go back and the buyer can choose another method. */
static int create_payment(const struct config *cfg, const struct gateway *gw,
                          const struct order_request *r, const struct order_created *o,
                          struct pay_created *out)
{
	struct pay_order po = {.order_no = o->order_no,
	                       .token = o->token,
	                       .amount = o->amount,
	                       .currency = o->currency,
	                       .product_name = o->product_name,
	                       .channel = r->channel,
	                       .expires_at = o->expires_at};
	char err[256] = "";
	if (pay_create(cfg, gw, &po, out, err, sizeof err) == 0 && out->url &&
	    (!out->qr || order_pay_qr_set(o->order_no, out->qr) == 0)) {
		/* Without it a lost notify cannot be asked about; the notify itself still works. */
		if (out->ref && order_set_gateway_ref(o->order_no, out->ref) != 0)
			log_warn(
			    "gateway reference not stored",
			    json_pack("{ss ss}", "gateway", gw->name, "order_no", o->order_no));
		return 0;
	}
	log_warn("gateway create failed", json_pack("{ss ss ss}", "gateway", gw->name, "order_no",
	                                            o->order_no, "error", err));
	pay_created_cleanup(out);
	/* At its own expiry time: the order has not reached the real one yet. */
	order_expire(o->order_no, o->expires_at);
	return -1;
}

/* The gateway the body names, if it can take payments now; NULL after a 400 was sent. */
static const struct gateway *order_gateway(struct http_req *req, const char *name)
{
	const struct config *cfg = http_config(req);
	const struct gateway *gw = pay_gateway(cfg, name);
	if (!gw || (gw->ready && !gw->ready(cfg))) {
		http_reply_error(req, 400, "invalid_request", "gateway: not available");
		return NULL;
	}
	/* Known before any key is reserved, and no fault of the gateway's (its breaker is not
	 * told): the Chinese gateways charge yuan only. */
	if (!pay_gateway_takes(gw, cfg->currency)) {
		char msg[96];
		snprintf(msg, sizeof msg, "gateway: takes %s only, not %s", gw->currency,
		         cfg->currency);
		http_reply_error(req, 400, "invalid_request", msg);
		return NULL;
	}
	return gw;
}

/* The buyer is told to choose another method, never shown the gateway's error. */
static void reply_gateway_down(struct http_req *req)
{
	http_add_header(req, "Retry-After", "30");
	http_reply_error(req, 503, "gateway_unavailable",
	                 "this payment method is not available right now; please choose another");
}

static void order_create_handler(struct http_req *req)
{
	const struct config *cfg = http_config(req);
	if (api_rate_limit(req, "orders", cfg->rate_limit, 60) != 0 ||
	    api_challenge_rate(req, "orders", SEC_PRESSURE_ORDERS,
	                       cfg->challenge_orders_per_minute) != 0)
		return;
	json_t *in = http_json(req);
	if (!in)
		return;
	struct order_request r;
	struct shop_err err = {0};
	if (order_parse(in, &r, &err) != 0) {
		api_reply_shop_err(req, &err);
		return;
	}
	const struct gateway *gw = order_gateway(req, r.gateway);
	if (!gw)
		return;
	char channel[33];
	if (pay_channel_pick(cfg, gw, r.channel, channel) != 0) {
		http_reply_error(req, 400, "invalid_request",
		                 "channel: not offered by this gateway");
		return;
	}
	r.channel = channel[0] ? channel : NULL;
	if (!pay_gateway_up(gw)) {
		reply_gateway_down(req);
		return;
	}
	r.ip = http_client_ip(req);
	if (!r.lang)
		r.lang = lang_from_header(http_header(req, "Accept-Language"));
	struct order_created o;
	if (order_create(cfg, &r, &o, &err) != 0) {
		api_reply_shop_err(req, &err);
		return;
	}
	struct pay_created pay = {0};
	if (strcmp(o.status, "pending") != 0) {
		/* Nothing to pay (100% coupon): straight to the delivery page. */
		pay.url = xasprintf("/shop/order?order_no=%s&token=%s", o.order_no, o.token);
	} else if (create_payment(cfg, gw, &r, &o, &pay) != 0) {
		reply_gateway_down(req);
		return;
	}
	const char *url = pay.url;
	remember_order(req, o.order_no, o.token);
	json_t *res = json_pack("{ss ss ss sI ss sI ss}", "order_no", o.order_no, "token", o.token,
	                        "status", o.status, "amount", (json_int_t)o.amount, "currency",
	                        o.currency, "expires_at", (json_int_t)o.expires_at, "pay_url", url);
	if (pay.qr)
		json_object_set_new(res, "qr", json_string(pay.qr));
	http_reply_json(req, 201, res);
	pay_created_cleanup(&pay);
}

/* The price the order would be charged, from the same pricing code, before it is placed.
 * It writes nothing and holds nothing, so it is not under the order's limits; it has its own,
 * generous enough for a page that asks as the buyer types, tight enough that it is no
 * faster way to guess coupon codes than placing orders. */
static void order_quote_handler(struct http_req *req)
{
	const struct config *cfg = http_config(req);
	if (api_rate_limit(req, "quote", 3 * cfg->rate_limit, 60) != 0)
		return;
	json_t *in = http_json(req);
	if (!in)
		return;
	struct order_request r;
	struct shop_err err = {0};
	struct order_price q;
	if (order_parse_quote(in, &r, &err) != 0) {
		api_reply_shop_err(req, &err);
		return;
	}
	if (!order_gateway(req, r.gateway))
		return;
	if (order_quote(cfg, &r, &q, &err) != 0) {
		api_reply_shop_err(req, &err);
		return;
	}
	http_reply_json(req, 200,
	                json_pack("{sI sI sI sI sI ss sI}", "unit_price", (json_int_t)q.unit_price,
	                          "quantity", (json_int_t)q.quantity, "subtotal",
	                          (json_int_t)q.subtotal, "discount", (json_int_t)q.discount,
	                          "amount", (json_int_t)q.amount, "currency", q.currency,
	                          "coupon_units", (json_int_t)q.coupon_units));
}

/* A pending QR order shows its payload (the pay page draws it). 0 or -1. */
static int qr_add(json_t *view, const char *order_no)
{
	const char *status = json_string_value(json_object_get(view, "status"));
	if (!status || strcmp(status, "pending") != 0)
		return 0;
	char *qr;
	int found = order_pay_qr_get(order_no, &qr);
	if (found > 0)
		json_object_set_new(view, "qr", json_string(qr));
	free(qr);
	return found < 0 ? -1 : 0;
}

static int may_view(struct http_req *req, const char *order_no)
{
	const char *token = http_query_get(req, "token");
	return (token && order_token_ok(order_no, token)) || cookie_grants(req, order_no);
}

static void order_get_handler(struct http_req *req)
{
	/* Generous (pay pages poll), but bounded: nobody walks order numbers at full speed. */
	if (api_rate_limit(req, "order-view", 10 * http_config(req)->rate_limit, 60) != 0)
		return;
	const char *no = http_param(req, "order_no");
	if (!http_query(req)) /* malformed query: 400 already sent */
		return;
	/* Unknown and not-yours look the same: both are 404. */
	struct shop_err err = {0};
	if (!may_view(req, no)) {
		http_reply_error(req, 404, "not_found", "order not found");
		return;
	}
	json_t *view = order_view(no, 1, &err);
	if (view && qr_add(view, no) != 0) {
		json_decref(view);
		view = NULL;
		shop_fail(&err, SHOP_ERROR, "internal error");
	}
	api_reply_view(req, NULL, view, &err);
}

/* The pending order's QR payload as an SVG image, for the pay page (and an <img>). */
static void order_qr_handler(struct http_req *req)
{
	if (api_rate_limit(req, "order-view", 10 * http_config(req)->rate_limit, 60) != 0)
		return;
	const char *no = http_param(req, "order_no");
	if (!http_query(req))
		return;
	if (!may_view(req, no)) {
		http_reply_error(req, 404, "not_found", "order not found");
		return;
	}
	char *qr;
	int found = order_pay_qr_get(no, &qr);
	char *svg = found > 0 ? qr_svg_new(qr) : NULL;
	free(qr);
	if (found < 0 || (found > 0 && !svg)) {
		http_reply_error(req, 500, "internal", "internal error");
	} else if (!svg) {
		http_reply_error(req, 404, "not_found", "no QR code for this order");
	} else {
		http_add_header(req, "Cache-Control", "no-store");
		http_reply_text(req, 200, "image/svg+xml", svg, strlen(svg));
	}
	free(svg);
}

/* Email alone: the same 202 whether or not the address has orders (the links go by mail). */
static void lookup_mail_reply(struct http_req *req, const char *email)
{
	struct shop_err err = {0};
	if (order_lookup_mail_request(email, &err) != 0) {
		api_reply_shop_err(req, &err);
		return;
	}
	http_reply_json(req, 202, json_pack("{ss}", "status", "sent"));
}

static void order_lookup_handler(struct http_req *req)
{
	if (api_rate_limit(req, "lookup", 10, 60) != 0 ||
	    api_challenge_rate(req, "lookup", SEC_PRESSURE_LOOKUPS,
	                       http_config(req)->challenge_lookups_per_minute) != 0)
		return;
	json_t *in = http_json(req);
	if (!in)
		return;
	json_t *e = json_object_get(in, "email"), *p = json_object_get(in, "query_password");
	if (json_is_string(e) && json_object_size(in) == 1) {
		lookup_mail_reply(req, json_string_value(e));
		return;
	}
	if (!json_is_string(e) || !json_is_string(p) || json_object_size(in) != 2) {
		http_reply_error(req, 400, "invalid_request",
		                 "email, query_password: required strings");
		return;
	}
	struct shop_err err = {0};
	api_reply_view(req, "orders",
	               order_lookup(json_string_value(e), json_string_value(p), &err), &err);
}

/* The orders this browser made, from the cookie (no keys in the list). */
static void orders_recent_handler(struct http_req *req)
{
	char nos[ORDERS_KEPT][33];
	int n = cookie_orders(req, nos, ORDERS_KEPT);
	json_t *list = json_array();
	for (int i = 0; i < n; i++) {
		struct shop_err err = {0};
		json_t *o = order_view(nos[i], 0, &err);
		if (!o && err.status != SHOP_NOT_FOUND) {
			json_decref(list);
			api_reply_shop_err(req, &err);
			return;
		}
		if (!o)
			continue; /* gone from the database: dropped from the list */
		char token[33];
		order_token(nos[i], token);
		json_object_del(o, "keys");
		json_object_set_new(o, "token", json_string(token));
		json_array_append_new(list, o);
	}
	http_reply_json(req, 200, json_pack("{so}", "orders", list));
}

const struct http_route order_api_routes[] = {
    {"POST", "/api/orders", order_create_handler, HTTP_BODY_DEFAULT, HTTP_CORE},
    {"GET", "/api/orders", orders_recent_handler, HTTP_BODY_DEFAULT, HTTP_CORE},
    {"POST", "/api/orders/lookup", order_lookup_handler, HTTP_BODY_DEFAULT, HTTP_SHEDDABLE},
    {"POST", "/api/orders/quote", order_quote_handler, HTTP_BODY_DEFAULT, HTTP_SHEDDABLE},
    {"GET", "/api/orders/{order_no}", order_get_handler, HTTP_BODY_DEFAULT, HTTP_CORE},
    {"GET", "/api/orders/{order_no}/qr.svg", order_qr_handler, HTTP_BODY_DEFAULT, HTTP_CORE},
};
const size_t order_api_nroutes = sizeof order_api_routes / sizeof order_api_routes[0];
