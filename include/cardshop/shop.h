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
	SHOP_INVALID,          /* 400 invalid_request: the message names the field */
	SHOP_UNAUTHORIZED,     /* 401 */
	SHOP_FORBIDDEN,        /* 403 */
	SHOP_NOT_FOUND,        /* 404 */
	SHOP_CONFLICT,         /* 409 conflict */
	SHOP_OUT_OF_STOCK,     /* 409 out_of_stock */
	SHOP_UNPROCESSABLE,    /* 422 */
	SHOP_RATE_LIMITED,     /* 429: retry_after set */
	SHOP_TOO_MANY_PENDING, /* 429 too_many_pending: retry_after set */
	SHOP_UNAVAILABLE,      /* 503 */
	SHOP_ERROR,            /* 500: details only in the log */
};

struct shop_err {
	enum shop_status status;
	int64_t retry_after;
	char message[256];
};

/* Fills err and returns -1, so a failing path reads `return shop_fail(err, ...)`. */
int shop_fail(struct shop_err *err, enum shop_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Stored statuses and kinds, each with one string table (status.c). *_name never returns
 * NULL ("unknown" for a value out of range); *_parse is 0, or -1 for a name it does not know. */
enum order_status {
	ORDER_PENDING,
	ORDER_PAID,
	ORDER_DELIVERED,
	ORDER_EXPIRED,
	ORDER_PAID_UNDELIVERED,
	ORDER_REFUNDED,
	ORDER_CANCELLED,
};
enum key_status { KEY_AVAILABLE, KEY_RESERVED, KEY_SOLD };
enum job_status { JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_FAILED };
enum job_kind { JOB_NOOP, JOB_ORDER_MAIL, JOB_ALERT_MAIL, JOB_SANDBOX_NOTIFY };
const char *order_status_name(enum order_status s);
int order_status_parse(const char *s, enum order_status *out);
const char *key_status_name(enum key_status s);
int key_status_parse(const char *s, enum key_status *out);
const char *job_status_name(enum job_status s);
int job_status_parse(const char *s, enum job_status *out);
const char *job_kind_name(enum job_kind k);
int job_kind_parse(const char *s, enum job_kind *out);
/* How many times a job of this kind is tried before it is left failed. */
int job_kind_max_attempts(enum job_kind k);

/* The outbox: durable work caused by a domain change (mail, alerts, the sandbox's notify),
 * put in the same transaction as the change, so it exists exactly when the change does. The
 * jobs thread reads due jobs, runs them outside any transaction and records the outcomes. */
/* Inside a db_write transaction: a job due at run_at (0: now). Steals payload (may be NULL);
 * the current request id is kept with it, so its log lines carry the same id. 0 or -1. */
int outbox_put(enum job_kind kind, json_t *payload, int64_t run_at);
/* Called after a commit that put jobs, so they run now rather than at the next tick. The hook
 * is set once at start (app.c wires the jobs thread); NULL: jobs wait for the tick. */
void outbox_set_wake_hook(void (*wake)(void));
struct outbox_job {
	int64_t id;
	char kind[64];
	char *payload; /* malloc'd JSON text; outbox_jobs_free */
	int attempts;  /* including the run about to happen */
	int max_attempts;
	/* filled by the runner before outbox_finish */
	int ok;
	int64_t retry_at; /* when !ok and attempts remain */
	char err[512];
};
/* Up to max due jobs (queued, run_at <= now), oldest first, into out; *n set. 0 or -1. */
int outbox_due(int64_t now, struct outbox_job *out, int max, int *n);
void outbox_jobs_free(struct outbox_job *jobs, int n);
/* Records the outcomes of n jobs in one transaction: done, queued again at retry_at, or failed
 * once attempts reach max_attempts. 0 or -1 (nothing recorded). */
int outbox_finish(const struct outbox_job *jobs, int n);
/* At start: jobs left running by a dead process are queued again. 0 or -1. */
int outbox_recover(void);
/* Drops done jobs last updated before `before`. 0 or -1. */
int outbox_prune(int64_t before);
/* Jobs for the admin (newest first, 100 a page), filtered by kind and status ("" = any);
 * NULL with err on failure. */
json_t *outbox_admin_json(const char *kind, const char *status, int64_t page, struct shop_err *err);

/* Who performs an admin write: recorded in audit_log in the same transaction. */
struct actor {
	int64_t admin_id;
	const char *username;
	const char *ip;
};
/* Inside a db_write transaction. Steals detail (may be NULL). */
int audit_record(const struct actor *who, const char *action, const char *target, json_t *detail);

/* Readiness for /readyz: migrations applied and the database writable. 0, or -1 with err
 * (SHOP_UNAVAILABLE) saying why. */
int shop_ready(struct shop_err *err);
/* Compares the per-product stock counters with the key rows: the number of products whose
 * counters differ (0: all equal), -1 on a database error. With repair, differing counters are
 * rebuilt from the rows (logged). */
int shop_stock_check(int repair);
/* Appends shop gauges (stock, pending orders, queued jobs) to a Prometheus exposition. */
void shop_metrics_render(struct buf *out);

/* The longest admin user name, in bytes; sign-in refuses longer ones before anything else. */
#define ADMIN_USERNAME_MAX 64

/* Admin accounts. admin_create validates the name (1–64 of [A-Za-z0-9_.@-]) and the password
 * (12–1000 bytes), hashes it with argon2id and refuses an existing user. -1 with message. */
int admin_create(const char *username, const char *password, char *err, size_t errlen);

/* Admin sessions: the cookie value is 64 hex chars (256 random bits); only its SHA-256 is
 * stored. Login is rate limited per IP and per user and never tells whether the user exists. */
struct admin_session {
	int64_t admin_id;
	char username[ADMIN_USERNAME_MAX + 1];
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
json_t *categories_json(int include_inactive, struct shop_err *err);
int product_create(const struct actor *who, const char *currency, json_t *in, int64_t *id,
                   struct shop_err *err);
int product_update(const struct actor *who, int64_t id, json_t *in, struct shop_err *err);
/* Deletes a product never ordered; one with orders is only deactivated. *deleted says which. */
int product_delete(const struct actor *who, int64_t id, int *deleted, struct shop_err *err);
/* Read views return a new reference, or NULL with err: SHOP_NOT_FOUND for an unknown item,
 * SHOP_ERROR when the database failed (logged). A failure is never an empty list. */
/* Public views list active products only; admin views include inactive ones and counts. */
json_t *products_json(int admin_view, int64_t category_id, struct shop_err *err);
json_t *product_json(int64_t id, int admin_view, struct shop_err *err); /* inactive: not found
                                                                         * in the public view */

/* The public catalog from memory (categories, products, each product's page data), so that
 * browsing never touches the database. Rebuilt after every committed change to products or
 * categories; the stock in it is refreshed after every commit that moves keys. */
/* After a committed catalog change: 0, or -1 when the build failed (the previous snapshot
 * stays and the next refresh retries). */
int catalog_snapshot_rebuild(void);
/* After a commit that moved keys of product_id (0: of any product). 0 or -1. */
int catalog_stock_changed(int64_t product_id);
/* Periodic (jobs tick): re-reads the stock, and rebuilds when a build is due. */
void catalog_snapshot_refresh(void);
void catalog_snapshot_free(void);
/* The views' JSON bytes appended to out: 0, -1 when there is no snapshot yet; view_product
 * answers 1 for a product that is not on sale. */
int catalog_view_products(int64_t category_id, struct buf *out);
int catalog_view_product(int64_t id, struct buf *out);
int catalog_view_categories(struct buf *out);

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
json_t *audit_json(int64_t page, struct shop_err *err);

/* Orders. */
struct order_request {
	int64_t product_id;
	int64_t quantity;
	const char *email;
	const char *gateway;
	const char *coupon;         /* may be NULL */
	const char *query_password; /* may be NULL */
	const char *ip;
	const char *lang;    /* "en" or "zh-CN" (the buyer's mails); NULL = en */
	const char *channel; /* the wallet inside the gateway (e.g. EPay `type`); NULL = default */
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
/* The buyer's view; keys only once delivered. NULL with SHOP_NOT_FOUND when unknown, or
 * SHOP_ERROR when the order or one of its keys cannot be read. */
json_t *order_view(const char *order_no, int with_keys, struct shop_err *err);
/* Orders of email whose query password matches, newest first, each with its token. */
json_t *order_lookup(const char *email, const char *query_password, struct shop_err *err);
json_t *orders_admin_json(const char *status, const char *q, int64_t page, struct shop_err *err);
/* Pending orders past their expiry paid through one of gateways (",epay,"), oldest first, at
 * most max: [{"order_no", "gateway", "gateway_ref" (or null)}]. */
json_t *orders_due_json(int64_t now, const char *gateways, int max, struct shop_err *err);
/* Returns pending orders past their expiry to the shelf, except those of skip_gateways
 * (",epay,": their gateway is asked first) until they are 5 minutes overdue. The number
 * expired, or -1 on a database error. */
int orders_expire(int64_t now, const char *skip_gateways);
/* Keeps the gateway's own id for the order's payment (set once; borrowed). 0 or -1. */
int order_set_gateway_ref(const char *order_no, const char *ref);
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
	int64_t amount;       /* minor units as claimed by the gateway */
	const char *currency; /* as claimed by the gateway; NULL when it names none */
	int verified;         /* signature and merchant id good */
	int ignored;          /* genuine but not a payment (another event type): stored as not
	                       * applied, and answered as received so the gateway stops sending */
	const char *reason;   /* why it was rejected, when it was */
	const char *raw;      /* verbatim parameters, for payment_events */
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
const char *notify_outcome_name(enum notify_outcome o);
/* Stores the event and, when verified, applies the payment exactly once. The outcome is
 * final (committed) when this returns. */
enum notify_outcome payment_apply(const struct config *cfg, const struct notify *n);
/* Stored notifies for the admin, newest first (100 a page); order_no "" = all. */
json_t *payment_events_json(const char *order_no, int64_t page, struct shop_err *err);
/* The sandbox's "pay" button: checks the order's token, that it was placed for the sandbox
 * and is still pending, and queues the sandbox's signed notify for it. 0 or -1 with err. */
int sandbox_pay_request(const char *order_no, const char *token, struct shop_err *err);

/* Mail contents built from an order (for the jobs thread). Fields are malloc'd; mail_free. */
struct mail {
	char *to;
	char *subject;
	char *body;
};
/* The buyer's mail for the order's current state: 0 with m filled, 1 when there is nothing to
 * send (the order is gone), -1 when the order or a key cannot be read (retry later). */
int order_mail_compose(const struct config *cfg, int64_t order_id, struct mail *m);
/* The merchant's alert for an order that needs attention; 0, 1 when no alert_email is set or
 * the order is gone, -1 on a database error. */
int alert_mail_compose(const struct config *cfg, int64_t order_id, const char *what,
                       struct mail *m);
void mail_free(struct mail *m);

/* Coupons. */
int coupon_create(const struct actor *who, json_t *in, int64_t *id, struct shop_err *err);
json_t *coupons_json(struct shop_err *err);

/* Demo data: categories, products, keys and an admin with a fresh password, once per database;
 * announce prints the URL and the login. */
struct config;
int shop_demo_seed(const struct config *cfg);
void shop_demo_announce(const struct config *cfg);

#endif
