/* Helpers shared by the handlers: domain errors to HTTP, ids, admin authentication and CSRF. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cardshop/log.h"
#include "cardshop/sec.h"
#include "internal.h"

static const struct {
	unsigned status;
	const char *code;
} err_map[] = {
    [SHOP_OK] = {200, "ok"},
    [SHOP_INVALID] = {400, "invalid_request"},
    [SHOP_UNAUTHORIZED] = {401, "unauthorized"},
    [SHOP_FORBIDDEN] = {403, "forbidden"},
    [SHOP_NOT_FOUND] = {404, "not_found"},
    [SHOP_CONFLICT] = {409, "conflict"},
    [SHOP_OUT_OF_STOCK] = {409, "out_of_stock"},
    [SHOP_UNPROCESSABLE] = {422, "unprocessable"},
    [SHOP_RATE_LIMITED] = {429, "rate_limited"},
    [SHOP_TOO_MANY_PENDING] = {429, "too_many_pending"},
    [SHOP_TOTP_REQUIRED] = {401, "totp_required"},
    [SHOP_UNAVAILABLE] = {503, "unavailable"},
    [SHOP_ERROR] = {500, "internal"},
};

void api_reply_shop_err(struct http_req *req, const struct shop_err *err)
{
	enum shop_status s = err->status <= SHOP_ERROR ? err->status : SHOP_ERROR;
	if (s == SHOP_RATE_LIMITED || s == SHOP_TOO_MANY_PENDING) {
		char secs[24];
		snprintf(secs, sizeof secs, "%lld",
		         (long long)(err->retry_after > 0 ? err->retry_after : 60));
		http_add_header(req, "Retry-After", secs);
	}
	if (s == SHOP_ERROR) /* the domain logged the cause; this line ties it to the route */
		log_error("request failed",
		          json_pack("{ss ss}", "method", http_method(req), "path", http_path(req)));
	http_reply_error(req, err_map[s].status, err_map[s].code,
	                 s == SHOP_ERROR ? "internal error" : err->message);
}

void api_reply_view(struct http_req *req, const char *key, json_t *value,
                    const struct shop_err *err)
{
	if (!value)
		api_reply_shop_err(req, err);
	else if (key)
		http_reply_json(req, 200, json_pack("{so}", key, value));
	else
		http_reply_json(req, 200, value);
}

/* FNV-1a: an ETag only needs to change when the bytes do. */
static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

void api_reply_cached_json(struct http_req *req, const char *json, size_t len)
{
	char etag[24];
	snprintf(etag, sizeof etag, "\"%016llx\"", (unsigned long long)fnv1a(json, len));
	http_add_header(req, "ETag", etag);
	http_add_header(req, "Cache-Control", "no-cache");
	const char *inm = http_header(req, "If-None-Match");
	if (inm && strstr(inm, etag))
		http_reply_text(req, 304, "application/json; charset=utf-8", "", 0);
	else
		http_reply_text(req, 200, "application/json; charset=utf-8", json, len);
}

int api_admin_page(struct http_req *req, int64_t *page)
{
	int bad = 0;
	if (!api_require_admin(req))
		return -1;
	*page = api_query_int(req, "page", 1, 1, 1000000, &bad);
	return bad || http_replied(req) ? -1 : 0;
}

int api_path_id(struct http_req *req, const char *name, int64_t *id)
{
	const char *v = http_param(req, name);
	if (!v || util_parse_i64(v, 1, INT64_MAX, id) != 0) {
		http_reply_error(req, 404, "not_found", "not found");
		return -1;
	}
	return 0;
}

int64_t api_query_int(struct http_req *req, const char *name, int64_t def, int64_t min, int64_t max,
                      int *bad)
{
	const char *v = http_query_get(req, name);
	int64_t out;
	if (!v || !*v)
		return def;
	if (util_parse_i64(v, min, max, &out) != 0) {
		char msg[96];
		snprintf(msg, sizeof msg, "%s: must be an integer from %lld", name, (long long)min);
		http_reply_error(req, 400, "invalid_request", msg);
		*bad = 1;
		return def;
	}
	return out;
}

static int is_unsafe(const char *method)
{
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

static void free_session(void *p)
{
	if (p)
		sec_wipe(p, sizeof(struct admin_session));
	free(p);
}

const struct admin_session *api_require_admin(struct http_req *req)
{
	/* Set only once the session and CSRF token passed: by the route's guard, usually. */
	if (http_user(req))
		return http_user(req);
	struct admin_session *s = xcalloc(1, sizeof *s);
	if (admin_session_get(http_config(req), http_cookie(req, ADMIN_COOKIE), s) != 0) {
		free_session(s);
		http_reply_error(req, 401, "unauthorized", "sign in first");
		return NULL;
	}
	if (is_unsafe(http_method(req))) {
		const char *token = http_header(req, "X-CSRF-Token");
		if (!token || !sec_streq(token, s->csrf)) {
			free_session(s);
			http_reply_error(req, 403, "forbidden", "missing or wrong CSRF token");
			return NULL;
		}
	}
	/* The one place the role rule is decided: routes marked HTTP_OWNER are the owner's. */
	if ((http_route_flags(req) & HTTP_OWNER) && s->role != ADMIN_OWNER) {
		free_session(s);
		http_reply_error(req, 403, "forbidden", "only an owner may do this");
		return NULL;
	}
	http_set_user(req, s, free_session);
	return s;
}

void api_admin_guard(struct http_req *req)
{
	(void)api_require_admin(req);
}

struct actor api_actor(struct http_req *req, const struct admin_session *s)
{
	struct actor a = {.admin_id = s ? s->admin_id : 0,
	                  .username = s ? s->username : "",
	                  .ip = http_client_ip(req)};
	return a;
}

void api_set_cookie(struct http_req *req, const char *name, const char *value, int64_t max_age,
                    const char *path, const char *same_site)
{
	char *header =
	    xasprintf("%s=%s; Path=%s; Max-Age=%lld; HttpOnly; SameSite=%s%s", name, value, path,
	              (long long)max_age, same_site, http_is_https(req) ? "; Secure" : "");
	http_add_header(req, "Set-Cookie", header);
	free(header);
}

int api_rate_limit(struct http_req *req, const char *bucket, int64_t limit, int64_t window)
{
	int64_t wait = sec_rate_hit(bucket, http_client_ip(req), limit, window);
	if (wait <= 0)
		return 0;
	metrics_inc(M_RATE_LIMITED, 1);
	char secs[24];
	snprintf(secs, sizeof secs, "%lld", (long long)wait);
	http_add_header(req, "Retry-After", secs);
	http_reply_error(req, 429, "rate_limited", "too many requests; slow down");
	return -1;
}
