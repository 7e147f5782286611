/* HTTP core on libmicrohttpd: server lifecycle, router, request access, replies.
 * Only http/ and api/ include this header. */
#ifndef CARDSHOP_HTTP_H
#define CARDSHOP_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "cardshop/config.h"
#include "cardshop/kv.h"

struct http_req;
typedef void (*http_handler)(struct http_req *req);

enum http_body_limit { HTTP_BODY_DEFAULT = 0, HTTP_BODY_UPLOAD = 1 };

/* Under overload ([server] max_inflight requests in flight), sheddable routes answer 503 at
 * once so that the core ones (the default) keep their place. */
enum http_priority { HTTP_CORE = 0, HTTP_SHEDDABLE = 1 };

struct http_route {
	const char *method;  /* "GET" also answers HEAD */
	const char *pattern; /* "/api/products/{id}": {name} captures one path segment */
	http_handler fn;
	enum http_body_limit limit;
	enum http_priority priority;
};

/* Starts the daemon on cfg's address with routes (kept by reference). 0 or -1 (logged). */
int http_server_start(const struct config *cfg, const struct http_route *routes, size_t nroutes);
/* Runs fn on the worker thread after each request completes, to let go of what it held
 * (e.g. database read snapshots): http/ knows no storage. Set before the server starts. */
void http_set_request_end_hook(void (*fn)(void));
/* Stops accepting, lets in-flight requests finish for up to grace_ms, then stops. */
void http_server_stop(int grace_ms);

/* Request access. Strings belong to the request and live until it completes. */
const char *http_method(const struct http_req *req);
const char *http_path(const struct http_req *req);
const char *http_req_id(const struct http_req *req);
const char *http_client_ip(const struct http_req *req);
const char *http_param(const struct http_req *req, const char *name);
const char *http_header(const struct http_req *req, const char *name);
const char *http_cookie(const struct http_req *req, const char *name);
const char *http_body(const struct http_req *req, size_t *len);
const struct kvlist *http_query(struct http_req *req); /* NULL: malformed (400 sent) */
const char *http_query_get(struct http_req *req, const char *name);
/* The undecoded query string ("" when none). */
const char *http_raw_query(const struct http_req *req);
/* The urlencoded body; NULL after replying 400/415 when it is not one. */
const struct kvlist *http_form(struct http_req *req);
/* The JSON object body; NULL after replying 400/415 when it is not one. Borrowed reference. */
json_t *http_json(struct http_req *req);
int http_is_https(const struct http_req *req);
/* 1 when Content-Type is want (parameters such as "; charset=" allowed), case-insensitively. */
int http_content_type_is(const struct http_req *req, const char *want);
const struct config *http_config(const struct http_req *req);

/* Request-scoped memory: freed when the request completes. */
void *http_alloc(struct http_req *req, size_t n);
char *http_strdup(struct http_req *req, const char *s);
/* Per-request slot for the api layer (e.g. the admin session); freed with free_fn at the end. */
void http_set_user(struct http_req *req, void *data, void (*free_fn)(void *));
void *http_user(const struct http_req *req);

/* Replies: the first one wins, later calls are ignored. */
void http_reply_json(struct http_req *req, unsigned status, json_t *body); /* steals body */
void http_reply_error(struct http_req *req, unsigned status, const char *code, const char *message);
void http_reply_text(struct http_req *req, unsigned status, const char *content_type,
                     const char *text, size_t len);
void http_reply_redirect(struct http_req *req, unsigned status, const char *location);
int http_replied(const struct http_req *req);
/* Extra headers on whatever reply is sent. */
void http_add_header(struct http_req *req, const char *name, const char *value);

/* Trusted proxies and address matching, for the client IP. */
int http_addr_in_list(const char *ip, const char *list);

#endif
