/* Gateway endpoints: notify (GET or POST, as the gateway sends it), the buyer's return, and
 * the sandbox's own pay action. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cardshop/config.h"
#include "cardshop/pay.h"
#include "cardshop/sec.h"
#include "internal.h"

#define NOTIFY_MAX_PARAMS 64

/* The gateway of the table the path names, enabled or not; NULL when there is none. */
static const struct gateway *named_gateway(struct http_req *req)
{
	const char *name = http_param(req, "gateway");
	for (size_t i = 0; name && pay_gateway_at(i); i++) {
		if (strcmp(pay_gateway_at(i)->name, name) == 0)
			return pay_gateway_at(i);
	}
	return NULL;
}

/* Whether what gw signs is still checked: while it is on, or, switched off, while its keys are
 * set up (ready). The sandbox, which signs its own notifies and has no keys, only while on. */
static int gateway_verifies(const struct config *cfg, const struct gateway *gw)
{
	return gw->enabled(cfg) || (gw->ready && gw->ready(cfg));
}

/* A notify is money already taken: a gateway the merchant switched off after the buyer paid
 * still has it verified and applied while its keys are set up. NULL after a 404. */
static const struct gateway *notify_gateway(struct http_req *req)
{
	const struct gateway *g = named_gateway(req);
	if (g && gateway_verifies(http_config(req), g))
		return g;
	http_reply_error(req, 404, "not_found", "no such gateway");
	return NULL;
}

/* Parameters from the query (GET) or the urlencoded body (POST), parsed whatever the
 * Content-Type says (gateways are lax about it) except JSON, which the gateway reads from the
 * raw body (no parameters); raw keeps them verbatim for the audit. */
static int notify_params(struct http_req *req, struct kvlist *out, const char **raw)
{
	if (strcmp(http_method(req), "POST") == 0) {
		size_t len;
		const char *body = http_body(req, &len);
		*raw = body; /* the request keeps its body NUL-terminated */
		/* A JSON notify (WeChat Pay v3, Stripe, epusdt) is read from the raw body by its
		 * gateway. */
		const char *ct = http_header(req, "Content-Type");
		if (ct && strncasecmp(ct, "application/json", 16) == 0) {
			*out = (struct kvlist){0};
			return 0;
		}
		return kv_parse(body, len, out);
	}
	const char *q = http_raw_query(req);
	*raw = q;
	return kv_parse(q, strlen(q), out);
}

static const char *req_header(void *ctx, const char *name)
{
	return http_header(ctx, name);
}

static void reply(struct http_req *req, const struct gateway *gw, int ok)
{
	struct pay_reply r;
	pay_reply_for(gw, ok, &r);
	http_reply_text(req, r.status, r.content_type, r.body, strlen(r.body));
}

static void notify(struct http_req *req)
{
	const struct gateway *gw = notify_gateway(req);
	if (!gw)
		return;
	const char *raw = "";
	struct kvlist params = {0};
	json_t *hold = NULL; /* a JSON gateway's parsed body, which n points into */
	struct notify n = {.gateway = gw->name, .ip = http_client_ip(req)};
	if (notify_params(req, &params, &raw) != 0) {
		n.reason = "malformed parameters";
		params.count = 0;
	} else if (params.count > NOTIFY_MAX_PARAMS) {
		/* Gateways send about ten: refusing floods keeps the checks below cheap. */
		n.reason = "too many parameters";
	} else {
		struct pay_notify_in in = {.method = http_method(req),
		                           .params = &params,
		                           .body = "",
		                           .header = req_header,
		                           .header_ctx = req,
		                           .hold = &hold};
		if (strcmp(in.method, "POST") == 0)
			in.body = http_body(req, &in.body_len);
		gw->verify(http_config(req), &in, &n);
	}
	n.raw = raw;
	/* Every notify is stored, but a sender of nothing but bad ones gets a bounded share of
	 * the disk: past 120 a minute its rejects are answered without being written. */
	if (!n.verified && sec_rate_hit("notify-reject", n.ip, 120, 60) > 0) {
		metrics_inc(M_NOTIFY_REJECTED, 1);
		metrics_notify(n.gateway, MN_REJECTED);
		reply(req, gw, n.ignored);
		kv_free(&params);
		json_decref(hold);
		return;
	}
	enum notify_outcome o = payment_apply(http_config(req), &n);
	reply(req, gw,
	      (o != NOTIFY_REJECTED && o != NOTIFY_ERROR) || (n.ignored && o != NOTIFY_ERROR));
	kv_free(&params);
	json_decref(hold);
}

/* The buyer back from the gateway lands on his order page, whatever became of the gateway
 * since he left (switched off, down): the page reads the order's status from the database,
 * never from these parameters. */
static void pay_return(struct http_req *req)
{
	const struct gateway *gw = named_gateway(req);
	if (!gw) {
		http_reply_error(req, 404, "not_found", "no such gateway");
		return;
	}
	const struct kvlist *p = http_query(req);
	if (!p)
		return;
	const char *no = gw->return_order(p);
	if (!no || strspn(no, "0123456789abcdef") != strlen(no) || strlen(no) > 32)
		no = "";
	/* A return the gateway signed may carry the access token, so a buyer who paid on another
	 * device still lands on the keys; an unsigned one relies on the buyer's cookie. */
	struct notify n = {.gateway = gw->name};
	struct pay_notify_in in = pay_notify_in_params(p);
	if (gateway_verifies(http_config(req), gw))
		gw->verify(http_config(req), &in, &n);
	char token[33] = "";
	if (n.verified && *no && n.order_no && strcmp(n.order_no, no) == 0)
		order_token(no, token);
	char *to = token[0] ? xasprintf("/shop/order?order_no=%s&token=%s", no, token)
	                    : xasprintf("/shop/order?order_no=%s", no);
	http_reply_redirect(req, 303, to);
	free(to);
}

/* The sandbox's "pay" button: queue a signed notify that the jobs thread will deliver to our
 * own notify URL over HTTP, like a real gateway would. */
static void sandbox_pay(struct http_req *req)
{
	const struct config *cfg = http_config(req);
	if (!pay_gateway(cfg, "sandbox")) {
		http_reply_error(req, 404, "not_found", "no such gateway");
		return;
	}
	json_t *in = http_json(req);
	if (!in)
		return;
	struct shop_err err = {0};
	if (sandbox_pay_request(json_string_value(json_object_get(in, "order_no")),
	                        json_string_value(json_object_get(in, "token")), &err) != 0) {
		api_reply_shop_err(req, &err);
		return;
	}
	http_reply_json(req, 202, json_pack("{ss}", "status", "notify_queued"));
}

const struct http_route pay_api_routes[] = {
    {"GET", "/pay/{gateway}/notify", notify, HTTP_BODY_DEFAULT, HTTP_CORE},
    {"POST", "/pay/{gateway}/notify", notify, HTTP_BODY_DEFAULT, HTTP_CORE},
    {"GET", "/pay/{gateway}/return", pay_return, HTTP_BODY_DEFAULT, HTTP_CORE},
    {"POST", "/pay/sandbox/pay", sandbox_pay, HTTP_BODY_DEFAULT, HTTP_CORE},
};
const size_t pay_api_nroutes = sizeof pay_api_routes / sizeof pay_api_routes[0];
