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

/* How much body a route takes: [server] max_body, max_upload, or none (a non-empty body is
 * 413 from the head). GET and HEAD routes take none whatever they declare. HTTP_GUARDED, or'd
 * in, runs the server's guard (http_server_set_guard) as soon as the head has arrived, before
 * a byte of body is read: a reply made there (401, 403…) is the answer and the handler never
 * runs. */
enum http_body_limit {
	HTTP_BODY_DEFAULT = 0,
	HTTP_BODY_UPLOAD = 1,
	HTTP_BODY_NONE = 2,
	HTTP_BODY_IMAGE = 3, /* HTTP_IMAGE_MAX: product pictures, the shop logo */
	HTTP_GUARDED = 0x10,
	/* With HTTP_GUARDED: the guard also asks for the owner role (staff get 403). http/
	 * only carries the flag (http_route_flags); api/ decides. */
	HTTP_OWNER = 0x20
};
#define HTTP_IMAGE_MAX (2 * 1024 * 1024) /* = MEDIA_MAX in shop.h */

/* Under overload ([server] max_inflight requests in flight), sheddable routes answer 503 at
 * once so that the core ones (the default) keep their place. */
enum http_priority { HTTP_CORE = 0, HTTP_SHEDDABLE = 1 };

struct http_route {
	const char *method;  /* "GET" also answers HEAD */
	const char *pattern; /* "/api/products/{id}": {name} captures one path segment */
	http_handler fn;
	unsigned limit; /* one HTTP_BODY_*, optionally | HTTP_GUARDED */
	enum http_priority priority;
};

/* Starts the daemon on cfg's address with routes (kept by reference). 0 or -1 (logged). */
int http_server_start(const struct config *cfg, const struct http_route *routes, size_t nroutes);
/* Runs fn on the worker thread after each request completes, to let go of what it held
 * (e.g. database read snapshots): http/ knows no storage. Set before the server starts. */
void http_set_request_end_hook(void (*fn)(void));
/* The check HTTP_GUARDED routes get from the head (e.g. a session); set before starting. */
void http_server_set_guard(http_handler guard);
/* Stops accepting, lets in-flight requests finish for up to grace_ms, then stops. */
void http_server_stop(int grace_ms);

/* Request access. Strings belong to the request and live until it completes. */
const char *http_method(const struct http_req *req);
const char *http_path(const struct http_req *req);
const char *http_req_id(const struct http_req *req);
const char *http_client_ip(const struct http_req *req);
const char *http_param(const struct http_req *req, const char *name);
const char *http_header(const struct http_req *req, const char *name);
/* The first cookie called name over all Cookie lines; owned by the request. */
const char *http_cookie(struct http_req *req, const char *name);
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
/* The configuration current when the request began (the same for all of it). */
const struct config *http_config(const struct http_req *req);
/* HTTP_GUARDED and HTTP_OWNER as the matched route declares them (0: no route). */
unsigned http_route_flags(const struct http_req *req);

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
/* Replies with the open file fd (size bytes), closed by http/ once sent. */
void http_reply_fd(struct http_req *req, unsigned status, const char *content_type, int fd,
                   uint64_t size);
/* Extra headers on whatever reply is sent. */
void http_add_header(struct http_req *req, const char *name, const char *value);

/* The value of cookie name in header (one Cookie header's value, "a=1; b=2"): the first
 * match, spaces and one pair of DQUOTEs around it removed. *val points into header (borrowed),
 * *len is its length. 0 found, -1 not. */
int http_cookie_parse(const char *header, const char *name, const char **val, size_t *len);

/* Trusted proxies and address matching, for the client IP. */
int http_addr_in_list(const char *ip, const char *list);
/* Parses an IPv4 or IPv6 address into 16 bytes (IPv4 as IPv4-mapped IPv6). 0 or -1. */
int http_addr_parse(const char *s, unsigned char out[16]);
/* The client of a request from peer: the peer, unless it is in trusted; then the right-most
 * address of xff (every X-Forwarded-For line joined by ','; NULL when none) that is not in
 * trusted, stopping at an entry that is no address. Written to out (n bytes); all borrowed. */
void http_client_choose(const char *peer, const char *xff, const char *trusted, char *out,
                        size_t n);

#endif
