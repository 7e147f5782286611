/* The shop's domain: catalog, card keys, orders, coupons, settings. Rules + SQL, no HTTP. */
#ifndef CARDSHOP_SHOP_H
#define CARDSHOP_SHOP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cardshop/util.h"

/* Outcome of a domain call, mapped to an HTTP status by api/. */
enum shop_status {
	SHOP_OK = 0,
	SHOP_INVALID,       /* 400 invalid_request: the message names the field */
	SHOP_UNAUTHORIZED,  /* 401 */
	SHOP_FORBIDDEN,     /* 403 */
	SHOP_NOT_FOUND,     /* 404 */
	SHOP_CONFLICT,      /* 409 conflict */
	SHOP_OUT_OF_STOCK,  /* 409 out_of_stock */
	SHOP_UNPROCESSABLE, /* 422 */
	SHOP_RATE_LIMITED,  /* 429: retry_after set */
	SHOP_UNAVAILABLE,   /* 503 */
	SHOP_ERROR,         /* 500: details only in the log */
};

struct shop_err {
	enum shop_status status;
	int64_t retry_after;
	char message[256];
};

/* Fills err and returns -1, so a failing path reads `return shop_fail(err, ...)`. */
int shop_fail(struct shop_err *err, enum shop_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Who performs an admin write: recorded in audit_log in the same transaction. */
struct actor {
	int64_t admin_id;
	const char *username;
	const char *ip;
};
/* Inside a db_write transaction. Steals detail (may be NULL). */
int audit_record(const struct actor *who, const char *action, const char *target, json_t *detail);

/* A real write transaction against the settings table, for /readyz. 0 or -1. */
int shop_probe_write(void);
/* Appends shop gauges (stock, pending orders, queued jobs) to a Prometheus exposition. */
void shop_metrics_render(struct buf *out);

/* Admin accounts. admin_create validates the name (1–64 of [A-Za-z0-9_.@-]) and the password
 * (12–1000 bytes), hashes it with argon2id and refuses an existing user. -1 with message. */
int admin_create(const char *username, const char *password, char *err, size_t errlen);

/* Admin sessions: the cookie value is 64 hex chars (256 random bits); only its SHA-256 is
 * stored. Login is rate limited per IP and per user and never tells whether the user exists. */
struct admin_session {
	int64_t admin_id;
	char username[65];
	char csrf[65];
	char cookie[65];
};
struct config;
int admin_login(const struct config *cfg, const char *username, const char *password,
                const char *ip, const char *old_cookie, struct admin_session *out,
                struct shop_err *err);
/* 0 and fills out when cookie names a live session (and refreshes its idle timer); -1 if not. */
int admin_session_get(const struct config *cfg, const char *cookie, struct admin_session *out);
void admin_logout(const char *cookie);
/* Demo only: sets a new password for an existing user. */
int admin_set_password(const char *username, const char *password);

/* Catalog. Inputs are JSON objects validated here: unknown fields, wrong types and out-of-range
 * values fail with SHOP_INVALID naming the field. */
int category_create(const struct actor *who, json_t *in, int64_t *id, struct shop_err *err);
int category_update(const struct actor *who, int64_t id, json_t *in, struct shop_err *err);
json_t *categories_json(int include_inactive);
int product_create(const struct actor *who, const char *currency, json_t *in, int64_t *id,
                   struct shop_err *err);
int product_update(const struct actor *who, int64_t id, json_t *in, struct shop_err *err);
/* Deletes a product never ordered; one with orders is only deactivated. *deleted says which. */
int product_delete(const struct actor *who, int64_t id, int *deleted, struct shop_err *err);
/* Public views list active products only; admin views include inactive ones and counts. */
json_t *products_json(int admin_view, int64_t category_id);
json_t *product_json(int64_t id, int admin_view); /* NULL when unknown (or inactive, public) */

/* Card keys. */
struct import_result {
	int64_t added, duplicates, rejected;
};
int cardkey_import(const struct actor *who, int64_t product_id, const char *text, size_t len,
                   struct import_result *res, struct shop_err *err);
json_t *cardkeys_json(int64_t product_id, const char *status, int64_t page, struct shop_err *err);
int cardkey_delete(const struct actor *who, int64_t product_id, int64_t key_id,
                   struct shop_err *err);
/* Unsold keys as text, one per line (malloc'd); audit-logged. */
char *cardkeys_export(const struct actor *who, int64_t product_id, size_t *len,
                      struct shop_err *err);
json_t *audit_json(int64_t page);

/* Orders. */
struct order_request {
	int64_t product_id;
	int64_t quantity;
	const char *email;
	const char *gateway;
	const char *coupon;         /* may be NULL */
	const char *query_password; /* may be NULL */
	const char *ip;
	const char *lang; /* "en" or "zh-CN" (the buyer's mails); NULL = en */
};
struct order_created {
	int64_t id;
	char order_no[33];
	char token[33];
	int64_t amount;
	char currency[4];
	int64_t expires_at;
	char product_name[201];
	char status[24]; /* "pending", or "delivered"/"paid" when nothing was due */
};
/* Validates the input JSON into req (strings borrowed from in). */
int order_parse(json_t *in, struct order_request *req, struct shop_err *err);
/* One BEGIN IMMEDIATE: prices, takes a coupon use, creates the order and reserves its keys. */
int order_create(const struct config *cfg, const struct order_request *req,
                 struct order_created *out, struct shop_err *err);
/* The order's access token (derived from the instance secret). */
void order_token(const char *order_no, char out[33]);
int order_token_ok(const char *order_no, const char *token);
/* The buyer's view; keys only once delivered. NULL when unknown. */
json_t *order_view(const char *order_no, int with_keys);
/* Orders of email whose query password matches, newest first, each with its token. */
json_t *order_lookup(const char *email, const char *query_password);
json_t *orders_admin_json(const char *status, const char *q, int64_t page, struct shop_err *err);
/* Pending orders past their expiry paid through one of gateways (",epay,"), oldest first, at
 * most max: [{"order_no", "gateway"}]. */
json_t *orders_due_json(int64_t now, const char *gateways, int max);
/* Returns pending orders past their expiry to the shelf, except those of skip_gateways
 * (",epay,": their gateway is asked first) until they are an hour overdue. The number expired. */
int orders_expire(int64_t now, const char *skip_gateways);
/* Expires one order if it is still pending and past its time. */
int order_expire(const char *order_no, int64_t now);
/* Drops unverified notify events older than SHOP_KEEP_UNVERIFIED_DAYS and expired, unpaid
 * orders holding no key older than SHOP_KEEP_EXPIRED_DAYS. The number of rows dropped, -1 on
 * error. */
#define SHOP_KEEP_UNVERIFIED_DAYS 30
#define SHOP_KEEP_EXPIRED_DAYS 90
int shop_retention_prune(int64_t now);

/* Merchant delivery of a paid order (manual products, or paid_undelivered ones): with keys in
 * text (exactly `quantity` of them, new for the product) or, when text is empty, from stock. */
int order_deliver(const struct actor *who, const char *order_no, const char *text, size_t len,
                  struct shop_err *err);

/* A gateway notify after its signature check. */
struct notify {
	const char *gateway;
	const char *order_no;
	const char *trade_no;
	int64_t amount;     /* minor units as claimed by the gateway */
	int verified;       /* signature and merchant id good */
	const char *reason; /* why it was rejected, when it was */
	const char *raw;    /* verbatim parameters, for payment_events */
	const char *ip;
};
enum notify_outcome {
	NOTIFY_DELIVERED,         /* first notify: paid, keys sold */
	NOTIFY_PAID,              /* first notify, manual delivery: waits for the merchant */
	NOTIFY_PAID_UNDELIVERED,  /* paid after expiry with no key left: merchant alerted */
	NOTIFY_REPEAT,            /* already applied: nothing changed */
	NOTIFY_DUPLICATE_PAYMENT, /* a second, different payment for one order: merchant alerted */
	NOTIFY_REJECTED,          /* bad signature, amount, order...: nothing changed */
	NOTIFY_ERROR,             /* database trouble: the gateway should retry */
};
/* Stores the event and, when verified, applies the payment exactly once. The outcome is
 * final (committed) when this returns. */
enum notify_outcome payment_apply(const struct config *cfg, const struct notify *n);
/* Stored notifies for the admin, newest first (100 a page); order_no "" = all. */
json_t *payment_events_json(const char *order_no, int64_t page);
/* Amount and status for a gateway that needs them to build a payment (sandbox). */
int order_amount(const char *order_no, int64_t *amount, char status[24]);

/* Mail contents built from an order (for the jobs thread). Fields are malloc'd; mail_free. */
struct mail {
	char *to;
	char *subject;
	char *body;
};
/* The buyer's mail for the order's current state; -1 when the order is unknown. */
int order_mail_compose(const struct config *cfg, int64_t order_id, struct mail *m);
/* The merchant's alert for an order that needs attention; -1 when no alert_email is set. */
int alert_mail_compose(const struct config *cfg, int64_t order_id, const char *what,
                       struct mail *m);
void mail_free(struct mail *m);

/* Coupons. */
int coupon_create(const struct actor *who, json_t *in, int64_t *id, struct shop_err *err);
json_t *coupons_json(void);

/* Demo data: categories, products, keys and an admin with a fresh password, once per database;
 * announce prints the URL and the login. */
struct config;
int shop_demo_seed(const struct config *cfg);
void shop_demo_announce(const struct config *cfg);

#endif
