/* Shared between the api/ files: route tables and handler helpers. */
#ifndef CARDSHOP_API_INTERNAL_H
#define CARDSHOP_API_INTERNAL_H

#include "cardshop/api.h"
#include "cardshop/metrics.h"
#include "cardshop/sec.h"
#include "cardshop/shop.h"
#include "cardshop/util.h"

#define ADMIN_COOKIE "cs_admin"

extern const struct http_route system_api_routes[];
extern const size_t system_api_nroutes;
extern const struct http_route admin_api_routes[];
extern const size_t admin_api_nroutes;
extern const struct http_route order_admin_api_routes[];
extern const size_t order_admin_api_nroutes;
extern const struct http_route order_api_routes[];
extern const size_t order_api_nroutes;
extern const struct http_route pay_api_routes[];
extern const size_t pay_api_nroutes;
extern const struct http_route team_api_routes[];
extern const size_t team_api_nroutes;
extern const struct http_route gateway_admin_api_routes[];
extern const size_t gateway_admin_api_nroutes;
extern const struct http_route shop_api_routes[];
extern const size_t shop_api_nroutes;
extern const struct http_route media_api_routes[];
extern const size_t media_api_nroutes;
extern const struct http_route coupon_api_routes[];
extern const size_t coupon_api_nroutes;
extern const struct http_route stats_api_routes[];
extern const size_t stats_api_nroutes;

/* Replies with the status and code that match a domain error. */
void api_reply_shop_err(struct http_req *req, const struct shop_err *err);
/* Replies 200 with value (wrapped as {key: value} when key is set), or the domain error in err
 * when value is NULL (a read that failed). Steals value. */
void api_reply_view(struct http_req *req, const char *key, json_t *value,
                    const struct shop_err *err);
/* Replies 200 with the JSON bytes (copied) and their ETag, or 304 when If-None-Match names
 * it: for the views served from memory. */
void api_reply_cached_json(struct http_req *req, const char *json, size_t len);
/* The frame of the admin lists: a signed-in admin and ?page= (1-1000000, default 1). 0 with
 * *page set, or -1 after a reply was sent. */
int api_admin_page(struct http_req *req, int64_t *page);
/* Path parameter as a positive id; replies 404 and returns -1 when it is not one. */
int api_path_id(struct http_req *req, const char *name, int64_t *id);
/* Optional integer query parameter; sets *bad and replies 400 when malformed. */
int64_t api_query_int(struct http_req *req, const char *name, int64_t def, int64_t min, int64_t max,
                      int *bad);
/* The signed-in admin (401 otherwise); unsafe methods also need X-CSRF-Token (403). */
const struct admin_session *api_require_admin(struct http_req *req);
struct actor api_actor(struct http_req *req, const struct admin_session *s);
void api_set_cookie(struct http_req *req, const char *name, const char *value, int64_t max_age,
                    const char *path, const char *same_site);
/* Per-IP limit on a bucket; replies 429 with Retry-After and returns -1 when exceeded. */
int api_rate_limit(struct http_req *req, const char *bucket, int64_t limit, int64_t window);

/* Proof-of-work challenge (challenge.c). Notes one event of kind and, when its rate is past
 * threshold, demands a solution for route: 0 to go on, -1 after a 428 was sent. */
int api_challenge_rate(struct http_req *req, const char *route, enum sec_pressure kind,
                       int64_t threshold);
/* Counts a sign-in attempt for the client and user; 0 to check the password, -1 after a 428
 * (or 429 with challenge = off) was sent. */
int api_login_gate(struct http_req *req, const char *user);
/* The attempt did not happen after all (e.g. a malformed request or a refused gate). */
void api_login_refused(struct http_req *req, const char *user);
void api_login_succeeded(struct http_req *req, const char *user);

#endif
