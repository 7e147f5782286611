/* Admin API: sign-in, catalog management, card-key inventory, audit log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cardshop/sec.h"
#include "internal.h"

static void login(struct http_req *req)
{
	json_t *in = http_json(req);
	if (!in)
		return;
	json_t *u = json_object_get(in, "username"), *p = json_object_get(in, "password");
	json_t *t = json_object_get(in, "totp");
	if (!json_is_string(u) || !json_is_string(p) || (t && !json_is_string(t)) ||
	    json_object_size(in) != 2u + (t != NULL)) {
		http_reply_error(req, 400, "invalid_request",
		                 "username, password: required strings; totp: a string");
		return;
	}
	/* Checked before the limiter or argon2 see it: no admin has a longer name. */
	if (strlen(json_string_value(u)) > ADMIN_USERNAME_MAX) {
		http_reply_error(req, 400, "invalid_request", "username: at most 64 bytes");
		return;
	}
	const char *user = json_string_value(u);
	if (api_login_gate(req, user) != 0)
		return;
	struct admin_session s;
	struct shop_err err = {0};
	if (admin_login(http_config(req), user, json_string_value(p),
	                t ? json_string_value(t) : NULL, http_client_ip(req),
	                http_cookie(req, ADMIN_COOKIE), &s, &err) != 0) {
		/* Guessing is slowed by argon2id itself (~50 ms a try) and, past the failure
		 * budget, by a challenge; a sleep here would only hold an HTTP worker hostage.
		 * A wrong or missing second factor stays counted as a failed attempt. */
		if (err.status == SHOP_UNAUTHORIZED || err.status == SHOP_TOTP_REQUIRED)
			metrics_inc(M_LOGIN_FAILED, 1);
		else
			api_login_refused(req, user);
		api_reply_shop_err(req, &err);
		return;
	}
	api_login_succeeded(req, user);
	api_set_cookie(req, ADMIN_COOKIE, s.cookie, http_config(req)->session_max_ttl, "/",
	               "Strict");
	http_reply_json(req, 200,
	                json_pack("{ss ss}", "csrf_token", s.csrf, "username", s.username));
}

/* The signed-in admin as the pages need it: name, role (what to show), CSRF token. */
static json_t *session_json(const struct admin_session *s)
{
	return json_pack("{ss ss ss sb}", "username", s->username, "csrf_token", s->csrf, "role",
	                 admin_role_name(s->role), "totp", s->totp);
}

static void logout(struct http_req *req)
{
	if (!api_require_admin(req))
		return;
	admin_logout(http_cookie(req, ADMIN_COOKIE));
	api_set_cookie(req, ADMIN_COOKIE, "", 0, "/", "Strict");
	http_reply_json(req, 200, json_pack("{sb}", "ok", 1));
}

static void session(struct http_req *req)
{
	const struct admin_session *s = api_require_admin(req);
	if (s)
		http_reply_json(req, 200, session_json(s));
}

static void categories_list(struct http_req *req)
{
	struct shop_err err = {0};
	if (api_require_admin(req))
		api_reply_view(req, "categories", categories_json(1, &err), &err);
}

/* The frame every admin write shares: a signed-in admin (CSRF checked), the path id when
 * asked for, a JSON body when asked for. 0 with c filled, or -1 after a reply was sent. */
struct admin_call {
	struct actor who;
	int64_t id;
	json_t *in;
	struct shop_err err;
};

static int admin_begin(struct http_req *req, struct admin_call *c, int want_id, int want_json)
{
	memset(c, 0, sizeof *c);
	const struct admin_session *s = api_require_admin(req);
	if (!s || (want_id && api_path_id(req, "id", &c->id) != 0))
		return -1;
	if (want_json && !(c->in = http_json(req)))
		return -1;
	c->who = api_actor(req, s);
	return 0;
}

/* Replies {"id"} with status, or the domain error when rc says the call failed. */
static void reply_id(struct http_req *req, unsigned status, int rc, const struct admin_call *c,
                     int64_t id)
{
	if (rc != 0)
		api_reply_shop_err(req, &c->err);
	else
		http_reply_json(req, status, json_pack("{sI}", "id", (json_int_t)id));
}

static void category_add(struct http_req *req)
{
	struct admin_call c;
	int64_t id = 0;
	if (admin_begin(req, &c, 0, 1) != 0)
		return;
	int rc = category_create(&c.who, c.in, &id, &c.err); /* before reading id */
	reply_id(req, 201, rc, &c, id);
}

static void category_patch(struct http_req *req)
{
	struct admin_call c;
	if (admin_begin(req, &c, 1, 1) == 0)
		reply_id(req, 200, category_update(&c.who, c.id, c.in, &c.err), &c, c.id);
}

static void products_list(struct http_req *req)
{
	struct shop_err err = {0};
	if (api_require_admin(req))
		api_reply_view(req, "products", products_json(1, 0, &err), &err);
}

static void product_get(struct http_req *req)
{
	int64_t id;
	if (!api_require_admin(req) || api_path_id(req, "id", &id) != 0)
		return;
	struct shop_err err = {0};
	api_reply_view(req, NULL, product_json(id, 1, &err), &err);
}

static void product_add(struct http_req *req)
{
	struct admin_call c;
	int64_t id = 0;
	if (admin_begin(req, &c, 0, 1) != 0)
		return;
	int rc = product_create(&c.who, http_config(req)->currency, c.in, &id, &c.err);
	reply_id(req, 201, rc, &c, id);
}

static void product_patch(struct http_req *req)
{
	struct admin_call c;
	if (admin_begin(req, &c, 1, 1) != 0)
		return;
	if (product_update(&c.who, c.id, c.in, &c.err) != 0)
		api_reply_shop_err(req, &c.err);
	else
		api_reply_view(req, NULL, product_json(c.id, 1, &c.err), &c.err);
}

static void product_remove(struct http_req *req)
{
	struct admin_call c;
	int deleted;
	if (admin_begin(req, &c, 1, 0) != 0)
		return;
	if (product_delete(&c.who, c.id, &deleted, &c.err) != 0)
		api_reply_shop_err(req, &c.err);
	else
		http_reply_json(req, 200,
		                json_pack("{sb sb}", "deleted", deleted, "deactivated", !deleted));
}

static void keys_upload(struct http_req *req)
{
	struct admin_call c;
	struct import_result r;
	if (admin_begin(req, &c, 1, 0) != 0)
		return;
	if (!http_content_type_is(req, "text/plain")) {
		http_reply_error(req, 415, "unsupported_media_type", "body: expected text/plain");
		return;
	}
	size_t len;
	const char *body = http_body(req, &len);
	if (cardkey_import(&c.who, c.id, body, len, &r, &c.err) != 0) {
		api_reply_shop_err(req, &c.err);
		return;
	}
	http_reply_json(req, 200,
	                json_pack("{sI sI sI}", "added", (json_int_t)r.added, "duplicates",
	                          (json_int_t)r.duplicates, "rejected", (json_int_t)r.rejected));
}

static void keys_list(struct http_req *req)
{
	int64_t id, page;
	if (api_admin_page(req, &page) != 0 || api_path_id(req, "id", &id) != 0)
		return;
	const char *status = http_query_get(req, "status");
	struct shop_err err = {0};
	api_reply_view(req, NULL, cardkeys_json(id, status ? status : "", page, &err), &err);
}

static void key_remove(struct http_req *req)
{
	struct admin_call c;
	int64_t key_id;
	if (admin_begin(req, &c, 1, 0) != 0 || api_path_id(req, "key_id", &key_id) != 0)
		return;
	if (cardkey_delete(&c.who, c.id, key_id, &c.err) != 0)
		api_reply_shop_err(req, &c.err);
	else
		http_reply_json(req, 200, json_pack("{sb}", "deleted", 1));
}

static void keys_export(struct http_req *req)
{
	struct admin_call c;
	size_t len;
	if (admin_begin(req, &c, 1, 0) != 0)
		return;
	char *text = cardkeys_export(&c.who, c.id, &len, &c.err);
	if (!text) {
		api_reply_shop_err(req, &c.err);
		return;
	}
	char disp[96];
	snprintf(disp, sizeof disp, "attachment; filename=\"product-%lld-keys.txt\"",
	         (long long)c.id);
	http_add_header(req, "Content-Disposition", disp);
	http_reply_text(req, 200, "text/plain; charset=utf-8", text, len);
	sec_wipe(text, len);
	free(text);
}

static void audit_list(struct http_req *req)
{
	int64_t page;
	struct shop_err err = {0};
	if (api_admin_page(req, &page) == 0)
		api_reply_view(req, "entries", audit_json(page, &err), &err);
}

static void coupons_list(struct http_req *req)
{
	struct shop_err err = {0};
	if (api_require_admin(req))
		api_reply_view(req, "coupons", coupons_json(&err), &err);
}

static void coupon_add(struct http_req *req)
{
	struct admin_call c;
	int64_t id = 0;
	if (admin_begin(req, &c, 0, 1) != 0)
		return;
	int rc = coupon_create(&c.who, c.in, &id, &c.err);
	reply_id(req, 201, rc, &c, id);
}

/* Merchant delivery: text/plain keys in the body, or an empty body to take them from stock. */
static void order_deliver_handler(struct http_req *req)
{
	struct admin_call c;
	if (admin_begin(req, &c, 0, 0) != 0)
		return;
	size_t len;
	const char *body = http_body(req, &len);
	if (len > 0 && !http_content_type_is(req, "text/plain")) {
		http_reply_error(req, 415, "unsupported_media_type",
		                 "body: expected text/plain keys");
		return;
	}
	const char *no = http_param(req, "order_no");
	if (order_deliver(&c.who, no, body, len, &c.err) != 0)
		api_reply_shop_err(req, &c.err);
	else
		api_reply_view(req, NULL, order_view(no, 0, &c.err), &c.err);
}

/* Mail and other background jobs, so a merchant sees whether the delivery mail went out. */
static void jobs_list(struct http_req *req)
{
	int64_t page;
	if (api_admin_page(req, &page) != 0)
		return;
	const char *kind = http_query_get(req, "kind");
	const char *status = http_query_get(req, "status");
	struct shop_err err = {0};
	api_reply_view(req, "jobs",
	               outbox_admin_json(kind ? kind : "", status ? status : "", page, &err), &err);
}

static void payment_events_list(struct http_req *req)
{
	int64_t page;
	if (api_admin_page(req, &page) != 0)
		return;
	const char *no = http_query_get(req, "order_no");
	struct shop_err err = {0};
	api_reply_view(req, "events", payment_events_json(no ? no : "", page, &err), &err);
}

/* Every route but sign-in needs a session: checked from the head, before any body.
 * HTTP_OWNER marks what staff may not do (key export here; settings, gateways and the team in
 * team_api.c): the guard refuses them from the head. */
const struct http_route admin_api_routes[] = {
    {"GET", "/api/admin/jobs", jobs_list, HTTP_BODY_DEFAULT | HTTP_GUARDED, HTTP_SHEDDABLE},
    {"GET", "/api/admin/payment-events", payment_events_list, HTTP_BODY_DEFAULT | HTTP_GUARDED,
     HTTP_SHEDDABLE},
    {"POST", "/api/admin/orders/{order_no}/deliver", order_deliver_handler,
     HTTP_BODY_UPLOAD | HTTP_GUARDED, HTTP_CORE},
    {"GET", "/api/admin/coupons", coupons_list, HTTP_BODY_DEFAULT | HTTP_GUARDED, HTTP_SHEDDABLE},
    {"POST", "/api/admin/coupons", coupon_add, HTTP_BODY_DEFAULT | HTTP_GUARDED, HTTP_CORE},
    {"POST", "/api/admin/login", login, HTTP_BODY_DEFAULT, HTTP_CORE},
    {"POST", "/api/admin/logout", logout, HTTP_BODY_NONE | HTTP_GUARDED, HTTP_CORE},
    {"GET", "/api/admin/session", session, HTTP_BODY_DEFAULT | HTTP_GUARDED, HTTP_CORE},
    {"GET", "/api/admin/categories", categories_list, HTTP_BODY_DEFAULT | HTTP_GUARDED,
     HTTP_SHEDDABLE},
    {"POST", "/api/admin/categories", category_add, HTTP_BODY_DEFAULT | HTTP_GUARDED, HTTP_CORE},
    {"PATCH", "/api/admin/categories/{id}", category_patch, HTTP_BODY_DEFAULT | HTTP_GUARDED,
     HTTP_CORE},
    {"GET", "/api/admin/products", products_list, HTTP_BODY_DEFAULT | HTTP_GUARDED, HTTP_SHEDDABLE},
    {"POST", "/api/admin/products", product_add, HTTP_BODY_DEFAULT | HTTP_GUARDED, HTTP_CORE},
    {"GET", "/api/admin/products/{id}", product_get, HTTP_BODY_DEFAULT | HTTP_GUARDED, HTTP_CORE},
    {"PATCH", "/api/admin/products/{id}", product_patch, HTTP_BODY_DEFAULT | HTTP_GUARDED,
     HTTP_CORE},
    {"DELETE", "/api/admin/products/{id}", product_remove, HTTP_BODY_NONE | HTTP_GUARDED,
     HTTP_CORE},
    {"POST", "/api/admin/products/{id}/keys", keys_upload, HTTP_BODY_UPLOAD | HTTP_GUARDED,
     HTTP_CORE},
    {"GET", "/api/admin/products/{id}/keys", keys_list, HTTP_BODY_DEFAULT | HTTP_GUARDED,
     HTTP_SHEDDABLE},
    {"GET", "/api/admin/products/{id}/keys/export", keys_export,
     HTTP_BODY_DEFAULT | HTTP_GUARDED | HTTP_OWNER, HTTP_CORE},
    {"DELETE", "/api/admin/products/{id}/keys/{key_id}", key_remove, HTTP_BODY_NONE | HTTP_GUARDED,
     HTTP_CORE},
    {"GET", "/api/admin/audit", audit_list, HTTP_BODY_DEFAULT | HTTP_GUARDED, HTTP_SHEDDABLE},
};
const size_t admin_api_nroutes = sizeof admin_api_routes / sizeof admin_api_routes[0];
