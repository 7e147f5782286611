/* Applying a gateway notify exactly once: the event is stored, the trade number recorded
 * under a UNIQUE constraint, the order moved with a conditional update and its keys sold, all
 * in one transaction. Repeats change nothing; a late payment re-claims free keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cardshop/config.h"
#include "cardshop/log.h"
#include "cardshop/metrics.h"
#include "internal.h"

static const char *sql_event =
    "INSERT INTO payment_events (gateway, order_no, trade_no, amount, verified, outcome, raw,"
    " client_ip, created_at) VALUES (:g, :no, :trade, :amount, :verified, :outcome, :raw, :ip, "
    ":now)";
static const char *sql_pay_by_trade =
    "SELECT order_id FROM payments WHERE gateway = :g AND trade_no = :t";
/* 1: paid through a gateway, 2: confirmed by the merchant (PAYMENT_MANUAL). */
static const char *sql_pay_by_order =
    "SELECT CASE WHEN gateway = '" PAYMENT_MANUAL "' THEN 2 ELSE 1 END FROM payments"
    " WHERE order_id = :oid";
static const char *sql_pay_insert =
    "INSERT INTO payments (order_id, gateway, trade_no, amount, created_at)"
    " VALUES (:oid, :g, :t, :amount, :now)";
static const char *sql_sell = "UPDATE card_keys SET status = 'sold', sold_at = :now"
                              " WHERE order_id = :oid AND status = 'reserved'";
static const char *sql_mark = "UPDATE orders SET status = :to, paid_at = :now,"
                              " delivered_at = CASE WHEN :to = 'delivered' THEN :now ELSE NULL END"
                              " WHERE id = :oid AND status = :from";
static const char *sql_mark_delivered = "UPDATE orders SET status = :to, delivered_at = :now"
                                        " WHERE id = :oid AND status = :from";
static const char *sql_coupon_retake =
    "UPDATE coupons SET used = used + n.uses,"
    " uses_left = CASE WHEN uses_left IS NULL THEN NULL ELSE max(uses_left - n.uses, 0) END"
    " FROM (SELECT coupon_id, coupon_uses AS uses FROM orders WHERE id = :oid) AS n"
    " WHERE coupons.id = n.coupon_id";
static const char *sql_dup_seen =
    "SELECT count(*) FROM payment_events WHERE order_no = :no AND gateway = :g"
    " AND trade_no = :t AND outcome LIKE 'duplicate_payment%'";
static const char *sql_free = "SELECT count(*) FROM (SELECT 1 FROM card_keys WHERE product_id ="
                              " :pid AND " KEY_FREE("card_keys") " LIMIT :qty)";

struct apply_ctx {
	const struct config *cfg;
	const struct notify *n;
	enum notify_outcome outcome;
	const char *reason;
	struct order_row o;
	int took_stock; /* keys were taken from the shelf (a late payment), not from a reservation
	                 */
};

static int insert_event(const struct notify *n, enum notify_outcome outcome, const char *reason)
{
	sqlite3_stmt *st = db_stmt(sql_event);
	if (!st)
		return -1;
	char outcome_text[160];
	snprintf(outcome_text, sizeof outcome_text, "%s%s%s", notify_outcome_name(outcome),
	         reason ? ": " : "", reason ? reason : "");
	db_bind_text(st, ":g", n->gateway);
	db_bind_text(st, ":no", n->order_no);
	db_bind_text(st, ":trade", n->trade_no);
	if (n->verified)
		db_bind_int(st, ":amount", n->amount);
	else
		db_bind_null(st, ":amount");
	db_bind_int(st, ":verified", n->verified ? 1 : 0);
	db_bind_text(st, ":outcome", outcome_text);
	/* Kept verbatim, but an unverified sender gets 4 KiB of our disk, not its whole body. */
	const char *raw = n->raw ? n->raw : "";
	size_t rawlen = strlen(raw);
	if (!n->verified && rawlen > 4096) {
		rawlen = 4096;
		while (rawlen > 0 && ((unsigned char)raw[rawlen] & 0xc0) == 0x80)
			rawlen--; /* cut between UTF-8 characters */
	}
	db_bind_textn(st, ":raw", raw, rawlen);
	db_bind_text(st, ":ip", n->ip ? n->ip : "");
	db_bind_int(st, ":now", util_now());
	return db_step(st) == SQLITE_DONE ? 0 : db_log_error("payment event insert failed");
}

static int64_t query_int(const char *sql, const char *p1, int64_t v1, const char *p2,
                         const char *t2)
{
	sqlite3_stmt *st = db_stmt(sql);
	if (!st)
		return -1;
	db_bind_int(st, p1, v1);
	if (p2)
		db_bind_text(st, p2, t2);
	int rc = db_step(st);
	int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? v : db_log_error("payment query failed");
}

static int64_t trade_owner(const struct notify *n)
{
	sqlite3_stmt *st = db_stmt(sql_pay_by_trade);
	if (!st)
		return -1;
	db_bind_text(st, ":g", n->gateway);
	db_bind_text(st, ":t", n->trade_no);
	int rc = db_step(st);
	int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? v : db_log_error("trade lookup failed");
}

#define NO_MOVE (-1) /* exec_order: the statement moves keys, not the order */

static int exec_order(const char *sql, int64_t oid, int to, enum order_status from)
{
	sqlite3_stmt *st = db_stmt(sql);
	if (!st)
		return -1;
	db_bind_int(st, ":oid", oid);
	db_bind_int(st, ":now", util_now());
	if (to != NO_MOVE) {
		db_bind_text(st, ":to", order_status_name((enum order_status)to));
		db_bind_text(st, ":from", order_status_name(from));
	}
	if (db_step(st) != SQLITE_DONE)
		return db_log_error("order payment step failed");
	return sqlite3_changes(db_conn());
}

static int record_payment(struct apply_ctx *c)
{
	sqlite3_stmt *st = db_stmt(sql_pay_insert);
	if (!st)
		return -1;
	db_bind_int(st, ":oid", c->o.id);
	db_bind_text(st, ":g", c->n->gateway);
	db_bind_text(st, ":t", c->n->trade_no);
	db_bind_int(st, ":amount", c->n->amount);
	db_bind_int(st, ":now", util_now());
	return db_step(st) == SQLITE_DONE ? 0 : db_log_error("payment insert failed");
}

/* A loop order gets the product's shared key linked; none left (deleted by the merchant):
 * paid, undelivered, and the merchant is alerted like for any order without a key. */
static int deliver_loop(struct apply_ctx *c, enum order_status from)
{
	int r = loop_key_link(c->o.id, c->o.product_id);
	if (r < 0)
		return -1;
	enum order_status to = r == 0 ? ORDER_DELIVERED : ORDER_PAID_UNDELIVERED;
	if (exec_order(sql_mark, c->o.id, (int)to, from) != 1)
		return -1;
	c->outcome = r == 0 ? NOTIFY_DELIVERED : NOTIFY_PAID_UNDELIVERED;
	c->took_stock = r == 0; /* a key linked the first time leaves the stock's counter */
	return 0;
}

/* Sells the order's reserved keys and marks it delivered; both must hit exactly. */
static int deliver(struct apply_ctx *c, enum order_status from)
{
	if (c->o.loop)
		return deliver_loop(c, from);
	if (exec_order(sql_sell, c->o.id, NO_MOVE, 0) != c->o.quantity)
		return -1;
	if (exec_order(sql_mark, c->o.id, ORDER_DELIVERED, from) != 1)
		return -1;
	c->outcome = NOTIFY_DELIVERED;
	return 0;
}

/* A payment for an order no longer holding keys: take free ones if enough are left. */
static int reclaim(struct apply_ctx *c, enum order_status from)
{
	sqlite3_stmt *st = db_stmt(sql_free);
	if (!st)
		return -1;
	db_bind_int(st, ":pid", c->o.product_id);
	db_bind_int(st, ":qty", c->o.quantity);
	int64_t free_keys = db_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_reset(st);
	if (free_keys < 0)
		return -1;
	if (free_keys >= c->o.quantity) {
		if (order_reserve_keys(c->o.id, c->o.product_id, c->o.quantity) != 0)
			return -1;
		c->took_stock = 1;
		return deliver(c, from);
	}
	if (exec_order(sql_mark, c->o.id, ORDER_PAID_UNDELIVERED, from) != 1)
		return -1;
	c->outcome = NOTIFY_PAID_UNDELIVERED;
	return 0;
}

static int move_order(struct apply_ctx *c)
{
	enum order_status s = c->o.status;
	int late = s == ORDER_EXPIRED || s == ORDER_CANCELLED;
	if (s != ORDER_PENDING && !late) {
		c->reason = "order is not awaiting payment";
		c->outcome = NOTIFY_DUPLICATE_PAYMENT;
		return 0;
	}
	/* Expiry gave the coupon use back; the buyer paid the discounted price, so it is taken
	 * again (never below zero: the payment is honoured either way). */
	if (late && query_int(sql_coupon_retake, ":oid", c->o.id, NULL, NULL) < 0)
		return -1;
	if (c->o.manual) {
		if (exec_order(sql_mark, c->o.id, ORDER_PAID, s) != 1)
			return -1;
		c->outcome = NOTIFY_PAID;
		return 0;
	}
	return late && !c->o.loop ? reclaim(c, s) : deliver(c, s);
}

static int queue_mail(struct apply_ctx *c)
{
	if (outbox_put(JOB_ORDER_MAIL, json_pack("{sI}", "order_id", (json_int_t)c->o.id), 0) != 0)
		return -1;
	if (c->outcome == NOTIFY_PAID_UNDELIVERED || c->outcome == NOTIFY_DUPLICATE_PAYMENT)
		return outbox_put(JOB_ALERT_MAIL,
		                  json_pack("{sI ss}", "order_id", (json_int_t)c->o.id, "what",
		                            notify_outcome_name(c->outcome)),
		                  0);
	return 0;
}

/* The outgoing events of a payment just applied (notify.c); an order delivered with its
 * payment gets order.paid, then order.delivered. */
static int queue_events(const struct apply_ctx *c)
{
	int64_t id = c->o.id;
	switch (c->outcome) {
	case NOTIFY_PAID:
		return notify_order_event(id, EVENT_ORDER_PAID);
	case NOTIFY_DELIVERED:
		return notify_order_event(id, EVENT_ORDER_PAID) == 0
		           ? notify_order_event(id, EVENT_ORDER_DELIVERED)
		           : -1;
	case NOTIFY_PAID_UNDELIVERED:
		return notify_order_event(id, EVENT_ORDER_PAID_UNDELIVERED);
	default:
		return 0;
	}
}

/* A second, different trade for an order already paid: the money is real, so the gateway gets
 * its success answer and the merchant an alert, once; repeats of that trade change nothing. */
static int duplicate_payment(struct apply_ctx *c)
{
	sqlite3_stmt *st = db_stmt(sql_dup_seen);
	if (!st)
		return -1;
	db_bind_text(st, ":no", c->n->order_no);
	db_bind_text(st, ":g", c->n->gateway);
	db_bind_text(st, ":t", c->n->trade_no);
	int64_t seen = db_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_reset(st);
	if (seen < 0)
		return -1;
	if (seen > 0) {
		c->outcome = NOTIFY_REPEAT;
		c->reason = "repeat of a duplicate payment";
		return 0;
	}
	c->outcome = NOTIFY_DUPLICATE_PAYMENT;
	c->reason = "order already paid by another trade";
	return outbox_put(JOB_ALERT_MAIL,
	                  json_pack("{sI ss}", "order_id", (json_int_t)c->o.id, "what",
	                            notify_outcome_name(c->outcome)),
	                  0);
}

static int reject(struct apply_ctx *c, const char *why)
{
	c->outcome = NOTIFY_REJECTED;
	c->reason = why;
	return 0;
}

static int decide(struct apply_ctx *c)
{
	const struct notify *n = c->n;
	if (!n->verified)
		return reject(c, n->reason ? n->reason : "not verified");
	int found = order_load(n->order_no, &c->o);
	if (found <= 0)
		return found < 0 ? -1 : reject(c, "unknown order");
	if (n->amount != c->o.amount)
		return reject(c, "amount does not match the order");
	if (n->currency && strcasecmp(n->currency, c->o.currency) != 0)
		return reject(c, "currency does not match the order");
	int64_t owner = trade_owner(n);
	if (owner < 0)
		return -1;
	if (owner == c->o.id) {
		c->outcome = NOTIFY_REPEAT;
		return 0;
	}
	if (owner > 0)
		return reject(c, "trade number belongs to another order");
	int64_t paid = query_int(sql_pay_by_order, ":oid", c->o.id, NULL, NULL);
	if (paid < 0)
		return -1;
	/* The merchant saw this money arrive and confirmed it: the gateway's notify for it is the
	 * same payment, answered as a repeat (no second key, no alert). */
	if (paid == 2 && strcmp(n->gateway, PAYMENT_MANUAL) != 0) {
		c->outcome = NOTIFY_REPEAT;
		c->reason = "the merchant confirmed this payment";
		return 0;
	}
	if (paid > 0)
		return duplicate_payment(c);
	if (record_payment(c) != 0 || move_order(c) != 0)
		return -1;
	if (c->outcome == NOTIFY_REPEAT)
		return 0;
	return queue_mail(c) == 0 ? queue_events(c) : -1;
}

static int apply_tx(sqlite3 *db, void *arg)
{
	(void)db;
	struct apply_ctx *c = arg;
	if (decide(c) != 0)
		return -1;
	return insert_event(c->n, c->outcome, c->reason);
}

int payment_apply_in_tx(const struct config *cfg, const struct notify *n,
                        struct payment_applied *out)
{
	struct apply_ctx c = {.cfg = cfg, .n = n};
	if (apply_tx(NULL, &c) != 0)
		return -1;
	out->outcome = c.outcome;
	out->took_stock = c.took_stock;
	out->product_id = c.o.product_id;
	return 0;
}

struct event_ctx {
	const struct notify *n;
};

static int error_event_tx(sqlite3 *db, void *arg)
{
	(void)db;
	struct event_ctx *c = arg;
	return insert_event(c->n, NOTIFY_ERROR, "database error; the gateway will retry");
}

static void count(const char *gateway, enum notify_outcome o)
{
	if (o == NOTIFY_REPEAT) {
		metrics_inc(M_NOTIFY_REPEATED, 1);
		metrics_notify(gateway, MN_REPEATED);
	} else if (o == NOTIFY_REJECTED || o == NOTIFY_ERROR) {
		metrics_inc(M_NOTIFY_REJECTED, 1);
		metrics_notify(gateway, MN_REJECTED);
	} else {
		metrics_inc(M_NOTIFY_OK, 1);
		metrics_notify(gateway, MN_ACCEPTED);
	}
	if (o == NOTIFY_DELIVERED)
		metrics_inc(M_ORDERS_DELIVERED, 1);
	if (o == NOTIFY_PAID_UNDELIVERED)
		metrics_inc(M_ORDERS_PAID_UNDELIVERED, 1);
}

enum notify_outcome payment_apply(const struct config *cfg, const struct notify *n)
{
	struct apply_ctx c = {.cfg = cfg, .n = n};
	if (db_write(apply_tx, &c) != 0) {
		struct event_ctx e = {.n = n};
		db_write(error_event_tx, &e);
		c.outcome = NOTIFY_ERROR;
	}
	count(n->gateway, c.outcome);
	if (c.outcome != NOTIFY_REJECTED && c.outcome != NOTIFY_ERROR &&
	    c.outcome != NOTIFY_REPEAT) {
		outbox_wake(); /* the mail was queued in the same commit: send it now */
		/* Selling reserved keys leaves the public stock as it was; only a late payment that
		 * took free keys moves it. */
		if (c.took_stock)
			catalog_stock_changed(c.o.product_id);
	}
	log_write(c.outcome >= NOTIFY_REJECTED || c.outcome == NOTIFY_PAID_UNDELIVERED ? LOG_WARN
	                                                                               : LOG_INFO,
	          NULL, "payment notify",
	          json_pack("{ss ss ss ss ss*}", "gateway", n->gateway, "order_no",
	                    n->order_no ? n->order_no : "", "trade_no",
	                    n->trade_no ? n->trade_no : "", "outcome",
	                    notify_outcome_name(c.outcome), "reason", c.reason));
	return c.outcome;
}

/* ---- orders settled without a gateway ---- */

int payment_settle_free(int64_t order_id, int64_t quantity, int manual)
{
	struct apply_ctx c = {.o = {.id = order_id, .quantity = quantity, .manual = manual}};
	if (order_load_id(order_id, &c.o) != 1) /* inside the creating transaction: it is there */
		return -1;
	if (manual) {
		if (exec_order(sql_mark, order_id, ORDER_PAID, ORDER_PENDING) != 1)
			return -1;
		c.outcome = NOTIFY_PAID;
	} else if (deliver(&c, ORDER_PENDING) != 0) {
		return -1;
	}
	return queue_mail(&c) == 0 ? queue_events(&c) : -1;
}

static const char *sql_insert_sold =
    "INSERT INTO card_keys (product_id, secret, hash, status, order_id, created_at, sold_at)"
    " VALUES (:pid, :secret, :hash, 'sold', :oid, :now, :now)"
    " ON CONFLICT (product_id, hash) DO NOTHING";

struct deliver_ctx {
	const struct actor *who;
	const char *order_no;
	struct sealed_key *keys;
	size_t nkeys;
	struct shop_err *err;
	int64_t took_stock_of; /* the product whose free keys were taken (0: none) */
};

static int attach_keys(struct deliver_ctx *d, const struct order_row *o)
{
	if ((int64_t)d->nkeys != o->quantity)
		return shop_fail(d->err, SHOP_INVALID, "keys: the order needs exactly %lld",
		                 (long long)o->quantity);
	sqlite3_stmt *st = db_stmt(sql_insert_sold);
	if (!st)
		return -1;
	for (size_t i = 0; i < d->nkeys; i++) {
		sqlite3_reset(st);
		db_bind_int(st, ":pid", o->product_id);
		db_bind_blob(st, ":secret", d->keys[i].box, d->keys[i].boxlen);
		db_bind_blob(st, ":hash", d->keys[i].hash, 32);
		db_bind_int(st, ":oid", o->id);
		db_bind_int(st, ":now", util_now());
		if (db_step(st) != SQLITE_DONE)
			return db_log_error("deliver key insert failed");
		if (sqlite3_changes(db_conn()) != 1) {
			sqlite3_reset(st);
			return shop_fail(d->err, SHOP_CONFLICT,
			                 "keys: a key is already stored for this product");
		}
	}
	sqlite3_reset(st);
	return 0;
}

static int deliver_tx(sqlite3 *db, void *arg)
{
	(void)db;
	struct deliver_ctx *d = arg;
	struct apply_ctx c = {0};
	int found = order_load(d->order_no, &c.o);
	if (found <= 0)
		return found < 0 ? -1 : shop_fail(d->err, SHOP_NOT_FOUND, "order not found");
	enum order_status from = c.o.status;
	if (from != ORDER_PAID && from != ORDER_PAID_UNDELIVERED)
		return shop_fail(d->err, SHOP_CONFLICT,
		                 "only paid orders can be delivered by hand");
	if (d->nkeys > 0) {
		if (attach_keys(d, &c.o) != 0)
			return -1;
	} else if (c.o.loop) {
		int r = loop_key_link(c.o.id, c.o.product_id);
		if (r != 0)
			return r < 0 ? -1 : shop_fail(d->err, SHOP_OUT_OF_STOCK, "no key in stock");
		d->took_stock_of = c.o.product_id; /* the counter moves at a key's first link */
	} else {
		int r = order_reserve_keys(c.o.id, c.o.product_id, c.o.quantity);
		if (r != 0)
			return r < 0 ? -1
			             : shop_fail(d->err, SHOP_OUT_OF_STOCK,
			                         "not enough keys in stock");
		if (exec_order(sql_sell, c.o.id, NO_MOVE, 0) != c.o.quantity)
			return -1;
		d->took_stock_of = c.o.product_id;
	}
	if (exec_order(sql_mark_delivered, c.o.id, ORDER_DELIVERED, from) != 1)
		return -1;
	c.outcome = NOTIFY_DELIVERED;
	if (queue_mail(&c) != 0 || notify_order_event(c.o.id, EVENT_ORDER_DELIVERED) != 0)
		return -1;
	return audit_record(
	    d->who, "order.deliver", d->order_no,
	    json_pack("{sI sb}", "keys", (json_int_t)c.o.quantity, "from_stock", d->nkeys == 0));
}

int order_deliver(const struct actor *who, const char *order_no, const char *text, size_t len,
                  struct shop_err *err)
{
	struct deliver_ctx d = {.who = who, .order_no = order_no, .err = err};
	int64_t rejected = 0;
	d.keys = cardkey_seal_text(text, len, &d.nkeys, &rejected);
	err->status = SHOP_OK;
	int rc;
	if (rejected)
		rc = shop_fail(err, SHOP_INVALID, "keys: %lld line(s) cannot be keys",
		               (long long)rejected);
	else if (len > 0 && d.nkeys == 0) /* only an empty body means "from stock" */
		rc = shop_fail(err, SHOP_INVALID, "keys: the body holds no key");
	else
		rc = db_write(deliver_tx, &d);
	cardkey_sealed_free(d.keys, d.nkeys);
	if (rc == 0) {
		outbox_wake();
		if (d.took_stock_of)
			catalog_stock_changed(d.took_stock_of);
		metrics_inc(M_ORDERS_DELIVERED, 1);
		return 0;
	}
	if (err->status == SHOP_OK)
		shop_fail(err, SHOP_ERROR, "internal error");
	return -1;
}

static const char *sql_events =
    "SELECT id, gateway, order_no, trade_no, amount, verified, outcome, raw, client_ip, created_at"
    " FROM payment_events WHERE (:no = '' OR order_no = :no) ORDER BY id DESC LIMIT 100 OFFSET "
    ":off";

/* A client wrote these columns: invalid UTF-8 would make jansson refuse the whole event. */
static json_t *scrubbed(const char *s)
{
	char *clean = util_utf8_scrub(s);
	json_t *j = json_string(clean);
	free(clean);
	return j;
}

static json_t *event_row(sqlite3_stmt *st)
{
	json_t *e = json_pack(
	    "{sI so so so sb so so sI}", "id", (json_int_t)sqlite3_column_int64(st, 0), "gateway",
	    scrubbed(db_col_text(st, 1)), "order_no", scrubbed(db_col_text(st, 2)), "trade_no",
	    scrubbed(db_col_text(st, 3)), "verified", sqlite3_column_int(st, 5), "outcome",
	    scrubbed(db_col_text(st, 6)), "ip", scrubbed(db_col_text(st, 8)), "created_at",
	    (json_int_t)sqlite3_column_int64(st, 9));
	if (!e)
		return NULL;
	json_object_set_new(e, "raw", scrubbed(db_col_text(st, 7)));
	json_object_set_new(e, "amount",
	                    sqlite3_column_type(st, 4) == SQLITE_NULL
	                        ? json_null()
	                        : json_integer(sqlite3_column_int64(st, 4)));
	return e;
}

json_t *payment_events_json(const char *order_no, int64_t page, struct shop_err *err)
{
	sqlite3_stmt *st = db_stmt(sql_events);
	if (!st) {
		shop_fail(err, SHOP_ERROR, "internal error");
		return NULL;
	}
	db_bind_text(st, ":no", order_no);
	db_bind_int(st, ":off", shop_page_offset(page, 100));
	return shop_rows_json(st, event_row, err);
}
