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
	SHOP_TOTP_REQUIRED,    /* 401 totp_required: sign-in needs the second factor */
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
enum admin_role { ADMIN_OWNER, ADMIN_STAFF };
const char *admin_role_name(enum admin_role r);
int admin_role_parse(const char *s, enum admin_role *out);
enum job_kind {
	JOB_NOOP,
	JOB_ORDER_MAIL,
	JOB_ALERT_MAIL,
	JOB_SANDBOX_NOTIFY,
	JOB_WEBHOOK,     /* one signed event POSTed to [notify] webhook_url */
	JOB_TELEGRAM,    /* one event as a Telegram sendMessage */
	JOB_LOOKUP_MAIL, /* the links to an address's orders (lookup by email alone) */
};
/* The events of the outgoing notifications ([notify]): names as sent ("order.paid"). */
enum shop_event {
	EVENT_ORDER_PAID,
	EVENT_ORDER_DELIVERED,
	EVENT_ORDER_PAID_UNDELIVERED,
	EVENT_ORDER_REFUNDED,
	EVENT_PRODUCT_LOW_STOCK,
};
const char *order_status_name(enum order_status s);
int order_status_parse(const char *s, enum order_status *out);
const char *key_status_name(enum key_status s);
int key_status_parse(const char *s, enum key_status *out);
const char *job_status_name(enum job_status s);
int job_status_parse(const char *s, enum job_status *out);
const char *shop_event_name(enum shop_event e);
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

/* Outgoing notifications: signed webhook events, Telegram messages, the merchant's sale mail
 * and low-stock events, each a job put in the transaction that changed the order. */
struct config;
/* At start: the [notify] settings read when an event happens (borrowed for the process). */
void notify_configure(const struct config *cfg);
/* Inside the db_write transaction that moved the order (read again here, so the event shows
 * it as committed): queues the event for every destination set up, the sale mail for
 * order.paid when [notify] mail_on_sale is on, and, after a sale, product.low_stock when the
 * product's free stock is at or below its threshold for the first time since it was above.
 * Use the event that matches the change: order.paid when money arrived (also for an order
 * delivered at once: then order.delivered follows), order.delivered when the keys went out,
 * order.paid_undelivered, order.refunded. 0 or -1 (roll back). */
int notify_order_event(int64_t order_id, enum shop_event ev);
/* The X-Cardshop-Signature value for body at time t: "t=<t>,v1=<hex HMAC-SHA256 of
 * "<t>.<body>" keyed with secret>" into out (at least NOTIFY_SIGNATURE_MAX bytes). */
#define NOTIFY_SIGNATURE_MAX 96
void notify_signature(const char *secret, int64_t t, const char *body, size_t len, char *out);

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

/* The dashboard (stats.c). Days are those of the zone given once at start, before any thread
 * exists (it sets TZ for a moment): 0, or -1 when the name cannot be used. */
int stats_timezone_load(const char *tz);
/* GET /api/admin/stats for the `days` (1-366) local days ending with the one holding now:
 * {"today", "days", "top_products", "low_stock", ...}. A new reference, or NULL with err. */
json_t *stats_json(int64_t now, int days, struct shop_err *err);

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
	enum admin_role role;
	int totp; /* the second factor is on */
	char csrf[65];
	char cookie[65];
};
struct config;
/* totp (may be NULL) is the second factor's code once the admin enabled one: missing →
 * SHOP_TOTP_REQUIRED, wrong or used before → SHOP_UNAUTHORIZED. */
int admin_login(const struct config *cfg, const char *username, const char *password,
                const char *totp, const char *ip, const char *old_cookie, struct admin_session *out,
                struct shop_err *err);
/* 0 and fills out when cookie names a live session (and refreshes its idle timer); -1 if not. */
int admin_session_get(const struct config *cfg, const char *cookie, struct admin_session *out);
void admin_logout(const char *cookie);
/* Demo only: sets a new password for an existing user. */
int admin_set_password(const char *username, const char *password);

/* The team (team.c), every change audit-logged. The last active owner can be neither
 * disabled nor made staff (SHOP_CONFLICT); a disabled admin's sessions end at once. */
#define ADMIN_PASSWORD_MIN 10
/* [{"id", "username", "role", "active", "totp", "created_at"}], oldest first. */
json_t *admins_json(struct shop_err *err);
/* {"username", "password", "role"?} (role default staff) → *id. */
int admin_add(const struct actor *who, json_t *in, int64_t *id, struct shop_err *err);
/* {"active"?, "role"?} */
int admin_update(const struct actor *who, int64_t id, json_t *in, struct shop_err *err);
/* {"current", "new"}: the admin's own password; ends the admin's other sessions (all but the
 * one whose cookie is keep_cookie). */
int admin_password_change(const struct actor *who, const char *keep_cookie, json_t *in,
                          struct shop_err *err);
/* TOTP enrolment: a new secret (base32 into secret) kept until enabled, and its otpauth://
 * URI (malloc'd into *uri) naming issuer. SHOP_CONFLICT while one is enabled. */
#define ADMIN_TOTP_SECRET_LEN 32 /* base32 characters of the 20-byte secret */
int admin_totp_setup(const struct actor *who, const char *issuer,
                     char secret[ADMIN_TOTP_SECRET_LEN + 1], char **uri, struct shop_err *err);
/* With a current code of the set-up secret (which it spends): 2FA on for sign-in. */
int admin_totp_enable(const struct actor *who, const char *code, struct shop_err *err);
/* With a current code of the enabled secret: 2FA off, the secret forgotten. */
int admin_totp_disable(const struct actor *who, const char *code, struct shop_err *err);

/* The merchant's settings (settings_admin.c): the config file's keys marked CONFIG_LIVE,
 * stored in the settings table (secrets encrypted) and applied by publishing a new
 * configuration (config_publish). A key set in the file or the environment stays fixed. */
/* At start: base (borrowed until exit: the file's and the environment's configuration) with
 * the stored settings over it becomes the current configuration. 0 or -1 (base published). */
int settings_load(const struct config *base);
/* {"<section>.<key>": {"value", "fixed", "secret", "source", "restart"}}; secrets masked. */
json_t *settings_json(struct shop_err *err);
/* {"<section>.<key>": value or null (back to the file's or the built-in value), …}: all or
 * nothing; fixed keys → SHOP_CONFLICT, bad values → SHOP_INVALID naming the key. */
int settings_update(const struct actor *who, json_t *in, struct shop_err *err);

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
/* Active auto-delivery products whose free keys are at or below their low_stock threshold
 * (0: off; loop products never): [{"id", "name", "stock", "threshold"}]. NULL with err. */
json_t *products_low_stock_json(struct shop_err *err);

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
	json_t *fields; /* the buyer's answers to the product's fields; borrowed, may be NULL */
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
/* The price of an order (minor units): unit_price from the tiers, subtotal = unit_price x
 * quantity, the coupon's discount on the coupon_units it covers, amount = subtotal - discount. */
struct order_price {
	int64_t unit_price, quantity, subtotal, discount, amount, coupon_units;
	char currency[4];
};
/* Validates a quote body (the order body, email optional) into req (strings borrowed from in,
 * which may gain a stand-in email). 0, or -1 with err as order_parse. */
int order_parse_quote(json_t *in, struct order_request *req, struct shop_err *err);
/* What order_create would charge for req, priced by the same code, or the error it would
 * get (the hoarding cap aside: a quote holds nothing). Reads only. 0, or -1 with err. */
int order_quote(const struct config *cfg, const struct order_request *req, struct order_price *out,
                struct shop_err *err);
/* The order's access token (derived from the instance secret). */
void order_token(const char *order_no, char out[33]);
int order_token_ok(const char *order_no, const char *token);
/* The buyer's view; keys only once delivered. NULL with SHOP_NOT_FOUND when unknown, or
 * SHOP_ERROR when the order or one of its keys cannot be read. */
json_t *order_view(const char *order_no, int with_keys, struct shop_err *err);
/* Orders of email whose query password matches, newest first, each with its token. */
json_t *order_lookup(const char *email, const char *query_password, struct shop_err *err);
/* Lookup by email alone: unless email (case-insensitively) took its 10-minute window already,
 * takes it and, when it has orders, queues the mail of their links. The same work whether or
 * not it has orders. 0, or -1 with err (SHOP_INVALID: not an address; SHOP_ERROR). */
int order_lookup_mail_request(const char *email, struct shop_err *err);
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
/* Stores the QR payload a QR gateway gave for a pending order (borrowed). 0 or -1. */
int order_pay_qr_set(const char *order_no, const char *qr);
/* The QR payload of a pending order: 1 with *qr malloc'd, 0 when none (or no longer
 * pending), -1 on a database error. */
int order_pay_qr_get(const char *order_no, char **qr);
/* Drops unverified notify events older than SHOP_KEEP_UNVERIFIED_DAYS and expired or
 * cancelled orders never paid and holding no key older than SHOP_KEEP_EXPIRED_DAYS (counted
 * from their creation). The number of rows dropped, -1 on error. */
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
/* The merchant's orders (order_admin.c). A filter's strings are "" and its numbers 0 for
 * "any"; all borrowed. */
struct order_filter {
	const char *status;  /* an order status name */
	const char *gateway; /* the order's, or the payment's ("manual": confirmed by hand) */
	const char *q;       /* part of an order number, an email or a trade number */
	int64_t product_id;
	int64_t from, to; /* created_at from..to, both included, epoch seconds */
};
/* {"orders": [...] (newest first, 50 a page), "page", "totals": {"count", "amount",
 * "paid_count", "paid_amount"}} of the whole filter; NULL with err. */
json_t *orders_admin_json(const struct order_filter *f, int64_t page, struct shop_err *err);
/* Every order of the filter as CSV (malloc'd, *len bytes; RFC 4180, formula cells guarded),
 * audit-logged; NULL with err. */
char *orders_admin_csv(const struct actor *who, const struct order_filter *f, size_t *len,
                       struct shop_err *err);
/* One order for the merchant: its fields, "payment", "events" (stored notifies), "keys"
 * (delivered ones, masked) and "history" (its audit entries); NULL with err. */
json_t *order_admin_view(const char *order_no, struct shop_err *err);
/* {"order_no", "keys": [...]}: the delivered keys in clear, audit-logged; NULL with err. */
json_t *order_admin_keys(const struct actor *who, const char *order_no, struct shop_err *err);
/* The merchant's actions, each one transaction with its audit line; in is the JSON body
 * {"note"?} (borrowed, may be NULL). 0, or -1 with err: SHOP_NOT_FOUND for an unknown order,
 * SHOP_CONFLICT for one whose status does not allow the action. cancel: pending only (keys
 * back on sale, the coupon use given back); refund: paid, delivered or paid_undelivered (keys
 * stay sold); resend: delivered only (the buyer's mail queued again). */
int order_cancel(const struct actor *who, const char *order_no, json_t *in, struct shop_err *err);
int order_refund(const struct actor *who, const char *order_no, json_t *in, struct shop_err *err);
int order_resend(const struct actor *who, const char *order_no, json_t *in, struct shop_err *err);
/* A pending or expired order paid as if by a verified notify (gateway "manual"); *outcome
 * says what happened (NOTIFY_REPEAT: it was paid already and nothing changed). */
int order_confirm_paid(const struct config *cfg, const struct actor *who, const char *order_no,
                       json_t *in, enum notify_outcome *outcome, struct shop_err *err);
/* The sandbox's "pay" button: checks the order's token, that it was placed for the sandbox
 * and is still pending, and queues the sandbox's signed notify for it. 0 or -1 with err. */
int sandbox_pay_request(const char *order_no, const char *token, struct shop_err *err);

/* Mail contents built from an order (for the jobs thread). Fields are malloc'd; mail_free. */
struct mail {
	char *to;
	char *subject;
	char *body;   /* text/plain */
	char *html;   /* text/html alternative of body, or NULL for a plain-text mail */
	char lang[8]; /* Content-Language ("en", "zh-CN"), or "" */
};
/* The buyer's mail for the order's current state: 0 with m filled, 1 when there is nothing to
 * send (the order is gone), -1 when the order or a key cannot be read (retry later). */
int order_mail_compose(const struct config *cfg, int64_t order_id, struct mail *m);
/* The merchant's alert for an order that needs attention (what: the outcome), or with what
 * "sale" the news of a paid order ([notify] mail_on_sale); 0, 1 when no alert_email is set or
 * the order is gone, -1 on a database error. */
int alert_mail_compose(const struct config *cfg, int64_t order_id, const char *what,
                       struct mail *m);
/* The links to the recent orders of email (newest first, at most 20, no keys), in the
 * language of its newest order: 0 with m filled, 1 when it has no orders, -1 on a database
 * error. */
int lookup_mail_compose(const struct config *cfg, const char *email, struct mail *m);
void mail_free(struct mail *m);

/* The buyer's mail templates (settings keys `mail.template.<name>.<lang>`, lang "en" or
 * "zh-CN"). Names: delivery_subject, delivery_body, paid_subject, paid_body; placeholders
 * {shop_name} {order_no} {product} {quantity} {amount} {order_url} {status}, and {keys} in
 * delivery_body. mail_template_name(i) lists the names (NULL past the last). */
const char *mail_template_name(size_t i);
/* The built-in text (static), or NULL for an unknown name or language. */
const char *mail_template_default(const char *name, const char *lang);
/* 0 when text may be stored as template name; -1 with err (an unknown placeholder, a subject
 * on two lines, a body without {order_url}, a delivery body without {keys}). */
int mail_template_validate(const char *name, const char *text, char *err, size_t errlen);
/* For the settings PATCH: key must be mail.template.<name>.<lang> and value valid for it.
 * 0, or -1 with err (SHOP_INVALID naming the key). */
int mail_template_setting_check(const char *key, const char *value, struct shop_err *err);

/* Coupons. */
int coupon_create(const struct actor *who, json_t *in, int64_t *id, struct shop_err *err);
json_t *coupons_json(struct shop_err *err);
/* One coupon as coupons_json lists it (a new reference), or NULL with err (SHOP_NOT_FOUND,
 * SHOP_ERROR). */
json_t *coupon_json(int64_t id, struct shop_err *err);
/* PATCH: any of active, uses (the total; not below the uses taken; null: unlimited),
 * expires_at, max_discount (null: none). Audit-logged. 0, or -1 with err. */
int coupon_update(const struct actor *who, int64_t id, json_t *in, struct shop_err *err);
/* Deletes a coupon no order ever named; one that was used: -1 with SHOP_CONFLICT. */
int coupon_delete(const struct actor *who, int64_t id, struct shop_err *err);

/* Images the merchant uploads (product pictures, the shop logo): PNG, JPEG or WebP judged by
 * their first bytes, at most MEDIA_MAX bytes, stored 0600 under <database folder>/uploads/
 * (0700) with a random name, never the client's, and served at /uploads/<name>. A new upload
 * gets a new name, so the URL of a file never changes what it shows. */
#define MEDIA_MAX (2 * 1024 * 1024) /* = HTTP_IMAGE_MAX: refused from the head above it */
struct config;
/* The MIME type of an image by its magic bytes; NULL when it is not one we take. */
const char *media_type_of(const void *data, size_t len);
/* Opens a stored file by its public name: an fd (the caller closes it) with *type and *size,
 * or -1 when the name is not one of ours or the file is gone. */
int media_open(const struct config *cfg, const char *name, const char **type, uint64_t *size);
/* Stores data (borrowed) as the product's image, replacing (and removing) the previous one;
 * clear removes it. 0, or -1 with err (SHOP_NOT_FOUND, SHOP_INVALID for a non-image). */
int product_image_set(const struct actor *who, const struct config *cfg, int64_t product_id,
                      const void *data, size_t len, struct shop_err *err);
int product_image_clear(const struct actor *who, const struct config *cfg, int64_t product_id,
                        struct shop_err *err);
int shop_logo_set(const struct actor *who, const struct config *cfg, const void *data, size_t len,
                  struct shop_err *err);
int shop_logo_clear(const struct actor *who, const struct config *cfg, struct shop_err *err);
/* The sweep of uploads/ (cheap: one query for every name, one directory read): removes our files,
 * and temp files a crash left, older than MEDIA_ORPHAN_AGE that no product or logo names (an
 * upload not yet committed is younger). Symlinks, folders and other names are left alone.
 * The number removed, or -1 when the folder or the database cannot be read. */
#define MEDIA_ORPHAN_AGE (15 * 60)
int media_sweep(const struct config *cfg, int64_t now);
/* db_backup_hooks for the uploads (ctx: the struct config, borrowed): pack copies the files
 * the backup's copy names into its table backup_uploads; unpack writes them back to uploads/
 * and drops the table from the restore's copy. */
struct sqlite3;
int media_backup_pack(struct sqlite3 *copy, const void *ctx, int strict, char *err, size_t errlen);
int media_backup_unpack(struct sqlite3 *copy, const void *ctx, char *err, size_t errlen);
/* The shop's notice and contact link (settings shop.notice, shop.contact_url): in is
 * {"notice"?, "contact_url"?} (borrowed); contact_url is http(s)://, mailto: or tg:// (or ""
 * for none). 0 or -1 with err naming the field. */
int shop_info_update(const struct actor *who, json_t *in, struct shop_err *err);
/* {"logo_url", "notice", "contact_url"}: the logo from memory (loaded on first use and after
 * each change), the two others from cfg (borrowed). A new reference, never NULL. */
json_t *shop_info_json(const struct config *cfg);
/* Re-reads them, after a change of those settings made elsewhere (e.g. the settings API). */
void shop_info_reload(void);

/* Demo data: categories, products, keys and an admin with a fresh password, once per database;
 * announce prints the URL and the login. */
struct config;
int shop_demo_seed(const struct config *cfg);
void shop_demo_announce(const struct config *cfg);

#endif
