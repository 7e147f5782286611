/* Orders for the merchant: search with totals, the CSV export, the detail with its payment
 * events and keys, and the actions (cancel, confirm-paid, refund, resend), each one
 * transaction with its audit line. Confirm-paid goes through payment.c's exactly-once path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cardshop/log.h"
#include "cardshop/metrics.h"
#include "cardshop/sec.h"
#include "internal.h"

#define LIST_PAGE 50
#define CSV_MAX_ROWS 100000 /* one export; a larger shop narrows the dates */
#define NOTE_MAX 500

/* ---- search ---- */

#define ADMIN_FROM                                                                                 \
	" FROM orders o JOIN products p ON p.id = o.product_id"                                    \
	" LEFT JOIN payments pay ON pay.order_id = o.id"                                           \
	" LEFT JOIN coupons c ON c.id = o.coupon_id"
/* The filter: every parameter "" or 0 for "any". q is free text over the order number, the
 * email and the trade numbers (the payment's, and a verified notify's: a gateway trade that
 * came after the merchant confirmed the payment by hand is found too). */
#define ADMIN_WHERE                                                                                \
	" WHERE (:status = '' OR o.status = :status)"                                              \
	" AND (:pid = 0 OR o.product_id = :pid)"                                                   \
	" AND (:gateway = '' OR o.gateway = :gateway OR pay.gateway = :gateway)"                   \
	" AND (:from = 0 OR o.created_at >= :from) AND (:to = 0 OR o.created_at <= :to)"           \
	" AND (:q = '' OR instr(o.order_no, :q) > 0 OR instr(lower(o.email), lower(:q)) > 0"       \
	"  OR instr(pay.trade_no, :q) > 0 OR EXISTS (SELECT 1 FROM payment_events e"               \
	"  WHERE e.order_no = o.order_no AND e.verified = 1 AND instr(e.trade_no, :q) > 0))"
#define ADMIN_COLUMNS                                                                              \
	"SELECT o.id, o.order_no, o.status, o.amount, o.currency, o.quantity, o.product_id,"       \
	" o.created_at, o.paid_at, o.expires_at, o.delivered_at, p.name, o.email, o.gateway,"      \
	" o.discount, pay.trade_no, o.unit_price, o.cancelled_at, o.refunded_at, pay.gateway,"     \
	" o.lang, o.client_ip, c.code, pay.amount, pay.created_at, o.fields"

static const char *sql_list =
    ADMIN_COLUMNS ADMIN_FROM ADMIN_WHERE " ORDER BY o.id DESC LIMIT :limit OFFSET :off";
static const char *sql_totals =
    "SELECT count(*), coalesce(sum(o.amount), 0),"
    " coalesce(sum(o.status IN ('paid', 'delivered', 'paid_undelivered')), 0),"
    " coalesce(sum(CASE WHEN o.status IN ('paid', 'delivered', 'paid_undelivered')"
    "  THEN o.amount ELSE 0 END), 0)" ADMIN_FROM ADMIN_WHERE;
static const char *sql_by_no = ADMIN_COLUMNS ADMIN_FROM " WHERE o.order_no = :no";

enum col {
	C_ID,
	C_NO,
	C_STATUS,
	C_AMOUNT,
	C_CURRENCY,
	C_QTY,
	C_PID,
	C_CREATED,
	C_PAID,
	C_EXPIRES,
	C_DELIVERED,
	C_PRODUCT,
	C_EMAIL,
	C_GATEWAY,
	C_DISCOUNT,
	C_TRADE,
	C_UNIT,
	C_CANCELLED,
	C_REFUNDED,
	C_PAY_GATEWAY,
	C_LANG,
	C_IP,
	C_COUPON,
	C_PAY_AMOUNT,
	C_PAY_CREATED,
	C_FIELDS,
};

static int filter_check(const struct order_filter *f, struct shop_err *err)
{
	enum order_status s;
	if (*f->status && order_status_parse(f->status, &s) != 0)
		return shop_fail(err, SHOP_INVALID, "status: unknown order status");
	if (f->from && f->to && f->from > f->to)
		return shop_fail(err, SHOP_INVALID, "from: after to");
	return 0;
}

static void filter_bind(sqlite3_stmt *st, const struct order_filter *f)
{
	db_bind_text(st, ":status", f->status);
	db_bind_int(st, ":pid", f->product_id);
	db_bind_text(st, ":gateway", f->gateway);
	db_bind_int(st, ":from", f->from);
	db_bind_int(st, ":to", f->to);
	db_bind_text(st, ":q", f->q);
}

static json_t *nullable_int(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL
	           ? json_null()
	           : json_integer(sqlite3_column_int64(st, col));
}

static json_t *nullable_text(sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return json_null();
	/* Trade numbers come from gateways: invalid UTF-8 would make jansson drop the row. */
	char *clean = util_utf8_scrub(db_col_text(st, col));
	json_t *j = json_string(clean);
	free(clean);
	return j;
}

static json_t *list_row(sqlite3_stmt *st)
{
	json_t *o = json_pack("{ss ss sI ss sI sI sI ss ss ss sI}", "order_no",
	                      db_col_text(st, C_NO), "status", db_col_text(st, C_STATUS), "amount",
	                      (json_int_t)sqlite3_column_int64(st, C_AMOUNT), "currency",
	                      db_col_text(st, C_CURRENCY), "quantity",
	                      (json_int_t)sqlite3_column_int64(st, C_QTY), "product_id",
	                      (json_int_t)sqlite3_column_int64(st, C_PID), "created_at",
	                      (json_int_t)sqlite3_column_int64(st, C_CREATED), "product_name",
	                      db_col_text(st, C_PRODUCT), "email", db_col_text(st, C_EMAIL),
	                      "gateway", db_col_text(st, C_GATEWAY), "discount",
	                      (json_int_t)sqlite3_column_int64(st, C_DISCOUNT));
	if (!o)
		return NULL;
	json_object_set_new(o, "paid_at", nullable_int(st, C_PAID));
	json_object_set_new(o, "expires_at", nullable_int(st, C_EXPIRES));
	json_object_set_new(o, "delivered_at", nullable_int(st, C_DELIVERED));
	json_object_set_new(o, "cancelled_at", nullable_int(st, C_CANCELLED));
	json_object_set_new(o, "refunded_at", nullable_int(st, C_REFUNDED));
	json_object_set_new(o, "trade_no", nullable_text(st, C_TRADE));
	/* The buyer's answers to the product's checkout fields (stored as a JSON object). */
	json_t *fields = json_loads(db_col_text(st, C_FIELDS), 0, NULL);
	json_object_set_new(o, "fields",
	                    json_is_object(fields) ? json_incref(fields) : json_object());
	json_decref(fields);
	return o;
}

static json_t *totals_json(const struct order_filter *f)
{
	sqlite3_stmt *st = db_stmt(sql_totals);
	if (!st)
		return NULL;
	filter_bind(st, f);
	json_t *t = NULL;
	if (db_step(st) == SQLITE_ROW)
		t = json_pack("{sI sI sI sI}", "count", (json_int_t)sqlite3_column_int64(st, 0),
		              "amount", (json_int_t)sqlite3_column_int64(st, 1), "paid_count",
		              (json_int_t)sqlite3_column_int64(st, 2), "paid_amount",
		              (json_int_t)sqlite3_column_int64(st, 3));
	else
		db_log_error("order totals failed");
	sqlite3_reset(st);
	return t;
}

json_t *orders_admin_json(const struct order_filter *f, int64_t page, struct shop_err *err)
{
	if (filter_check(f, err) != 0)
		return NULL;
	sqlite3_stmt *st = db_stmt(sql_list);
	if (!st) {
		shop_fail(err, SHOP_ERROR, "internal error");
		return NULL;
	}
	filter_bind(st, f);
	db_bind_int(st, ":limit", LIST_PAGE);
	db_bind_int(st, ":off", shop_page_offset(page, LIST_PAGE));
	json_t *list = shop_rows_json(st, list_row, err);
	if (!list)
		return NULL;
	json_t *totals = totals_json(f);
	if (!totals) {
		json_decref(list);
		shop_fail(err, SHOP_ERROR, "internal error");
		return NULL;
	}
	return json_pack("{so sI so}", "orders", list, "page", (json_int_t)(page > 0 ? page : 1),
	                 "totals", totals);
}

/* ---- CSV ---- */

/* RFC 4180 with a guard for spreadsheets: a cell a spreadsheet would read as a formula
 * (= + - @, or a leading tab or CR) gets a leading apostrophe, so a buyer's email or a product
 * name cannot run anything in the merchant's spreadsheet. */
static void csv_cell(struct buf *b, const char *s, int first)
{
	if (!first)
		buf_puts(b, ",");
	int formula = strchr("=+-@\t\r", s[0]) != NULL && s[0] != '\0';
	int quote = formula || strpbrk(s, ",\"\r\n") != NULL;
	if (quote)
		buf_puts(b, "\"");
	if (formula)
		buf_puts(b, "'");
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			buf_puts(b, "\"\"");
		else
			buf_append(b, p, 1);
	}
	if (quote)
		buf_puts(b, "\"");
}

static void csv_time(struct buf *b, sqlite3_stmt *st, int col)
{
	char out[32] = "";
	if (sqlite3_column_type(st, col) != SQLITE_NULL) {
		time_t t = (time_t)sqlite3_column_int64(st, col);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	csv_cell(b, out, 0);
}

static void csv_money(struct buf *b, int64_t v)
{
	char out[32];
	snprintf(out, sizeof out, "%lld.%02lld", (long long)(v / 100), (long long)(v % 100));
	csv_cell(b, out, 0);
}

static void csv_int(struct buf *b, int64_t v)
{
	char out[24];
	snprintf(out, sizeof out, "%lld", (long long)v);
	csv_cell(b, out, 0);
}

static void csv_text(struct buf *b, sqlite3_stmt *st, int col)
{
	char *clean = util_utf8_scrub(db_col_text(st, col));
	csv_cell(b, clean, 0);
	free(clean);
}

static const char csv_header[] =
    "order_no,status,created_at,paid_at,delivered_at,product_id,product,quantity,unit_price,"
    "discount,amount,currency,email,gateway,trade_no,coupon\r\n";

static void csv_row(struct buf *b, sqlite3_stmt *st)
{
	csv_cell(b, db_col_text(st, C_NO), 1);
	csv_cell(b, db_col_text(st, C_STATUS), 0);
	csv_time(b, st, C_CREATED);
	csv_time(b, st, C_PAID);
	csv_time(b, st, C_DELIVERED);
	csv_int(b, sqlite3_column_int64(st, C_PID));
	csv_text(b, st, C_PRODUCT);
	csv_int(b, sqlite3_column_int64(st, C_QTY));
	csv_money(b, sqlite3_column_int64(st, C_UNIT));
	csv_money(b, sqlite3_column_int64(st, C_DISCOUNT));
	csv_money(b, sqlite3_column_int64(st, C_AMOUNT));
	csv_cell(b, db_col_text(st, C_CURRENCY), 0);
	csv_text(b, st, C_EMAIL);
	csv_text(b, st, C_GATEWAY);
	csv_text(b, st, C_TRADE);
	csv_text(b, st, C_COUPON);
	buf_puts(b, "\r\n");
}

/* The rows into b: the number written, or -1 on a database error. */
static int64_t csv_rows(struct buf *b, const struct order_filter *f)
{
	sqlite3_stmt *st = db_stmt(sql_list);
	if (!st)
		return -1;
	filter_bind(st, f);
	db_bind_int(st, ":limit", CSV_MAX_ROWS);
	db_bind_int(st, ":off", 0);
	int64_t n = 0;
	int rc;
	while ((rc = db_step(st)) == SQLITE_ROW) {
		csv_row(b, st);
		n++;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? n : db_log_error("order export failed");
}

struct csv_audit_ctx {
	const struct actor *who;
	const struct order_filter *f;
	int64_t rows;
};

static int csv_audit_tx(sqlite3 *db, void *arg)
{
	(void)db;
	const struct csv_audit_ctx *c = arg;
	const struct order_filter *f = c->f;
	return audit_record(c->who, "orders.export", "orders",
	                    json_pack("{sI ss ss ss sI sI sI}", "rows", (json_int_t)c->rows,
	                              "status", f->status, "gateway", f->gateway, "q", f->q,
	                              "product_id", (json_int_t)f->product_id, "from",
	                              (json_int_t)f->from, "to", (json_int_t)f->to));
}

char *orders_admin_csv(const struct actor *who, const struct order_filter *f, size_t *len,
                       struct shop_err *err)
{
	if (filter_check(f, err) != 0)
		return NULL;
	struct buf b;
	buf_init(&b);
	buf_puts(&b, "\xEF\xBB\xBF"); /* so spreadsheets read the UTF-8 (Chinese names) as such */
	buf_puts(&b, csv_header);
	/* Read first, then the audit line in a short write: the export is no secret (keys are not
	 * in it), so it need not hold the write lock; without its audit line it is not sent. */
	struct csv_audit_ctx c = {.who = who, .f = f, .rows = csv_rows(&b, f)};
	if (c.rows < 0 || db_write(csv_audit_tx, &c) != 0) {
		buf_cleanup(&b);
		shop_fail(err, SHOP_ERROR, "internal error");
		return NULL;
	}
	*len = b.len;
	return buf_release(&b);
}

/* ---- detail ---- */

/* What the buyer got (as order_keys_json): its sold keys and a loop order's linked key. */
static const char *sql_sold_keys =
    "SELECT id, secret FROM card_keys WHERE (order_id = :oid AND status = 'sold')"
    " OR id IN (SELECT key_id FROM order_keys WHERE order_id = :oid) ORDER BY id";
static const char *sql_history =
    "SELECT username, action, detail, ip, created_at FROM audit_log WHERE target = :no"
    " ORDER BY id DESC LIMIT 100";

static json_t *masked_key_row(sqlite3_stmt *st)
{
	char *plain = NULL;
	size_t n = 0;
	json_t *mask = sec_decrypt(sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1),
	                           &plain, &n) == 0
	                   ? cardkey_mask(plain, n)
	                   : json_string("(unreadable)");
	if (plain)
		sec_wipe(plain, n);
	free(plain);
	return json_pack("{sI so}", "id", (json_int_t)sqlite3_column_int64(st, 0), "masked", mask);
}

static json_t *history_row(sqlite3_stmt *st)
{
	return json_pack("{ss ss so* ss sI}", "admin", db_col_text(st, 0), "action",
	                 db_col_text(st, 1), "detail", json_loads(db_col_text(st, 2), 0, NULL),
	                 "ip", db_col_text(st, 3), "created_at",
	                 (json_int_t)sqlite3_column_int64(st, 4));
}

static json_t *detail_row(sqlite3_stmt *st)
{
	json_t *o = list_row(st);
	if (!o)
		return NULL;
	json_object_set_new(o, "unit_price", json_integer(sqlite3_column_int64(st, C_UNIT)));
	json_object_set_new(o, "lang", json_string(db_col_text(st, C_LANG)));
	json_object_set_new(o, "client_ip", json_string(db_col_text(st, C_IP)));
	json_object_set_new(o, "coupon", nullable_text(st, C_COUPON));
	json_object_set_new(
	    o, "payment",
	    sqlite3_column_type(st, C_PAY_GATEWAY) == SQLITE_NULL
	        ? json_null()
	        : json_pack("{so so sI sI}", "gateway", nullable_text(st, C_PAY_GATEWAY),
	                    "trade_no", nullable_text(st, C_TRADE), "amount",
	                    (json_int_t)sqlite3_column_int64(st, C_PAY_AMOUNT), "created_at",
	                    (json_int_t)sqlite3_column_int64(st, C_PAY_CREATED)));
	return o;
}

/* Sets the list of rows of sql (bound to :name = value) under key; -1 when it fails. */
static int attach_rows(json_t *o, const char *key, const char *sql, const char *name, int64_t id,
                       const char *text, json_t *(*row)(sqlite3_stmt *), struct shop_err *err)
{
	sqlite3_stmt *st = db_stmt(sql);
	if (!st)
		return shop_fail(err, SHOP_ERROR, "internal error");
	if (text)
		db_bind_text(st, name, text);
	else
		db_bind_int(st, name, id);
	json_t *list = shop_rows_json(st, row, err);
	if (!list)
		return -1;
	json_object_set_new(o, key, list);
	return 0;
}

json_t *order_admin_view(const char *order_no, struct shop_err *err)
{
	sqlite3_stmt *st = db_stmt(sql_by_no);
	if (!st) {
		shop_fail(err, SHOP_ERROR, "internal error");
		return NULL;
	}
	db_bind_text(st, ":no", order_no);
	int rc = db_step(st);
	json_t *o = rc == SQLITE_ROW ? detail_row(st) : NULL;
	int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(st, C_ID) : 0;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		db_log_error("order detail failed");
	sqlite3_reset(st);
	if (rc == SQLITE_DONE) {
		shop_fail(err, SHOP_NOT_FOUND, "order not found");
		return NULL;
	}
	json_t *events = o ? payment_events_json(order_no, 1, err) : NULL;
	if (!o || !events ||
	    attach_rows(o, "keys", sql_sold_keys, ":oid", id, NULL, masked_key_row, err) != 0 ||
	    attach_rows(o, "history", sql_history, ":no", 0, order_no, history_row, err) != 0) {
		json_decref(o);
		json_decref(events);
		shop_fail(err, SHOP_ERROR, "internal error");
		return NULL;
	}
	json_object_set_new(o, "events", events);
	return o;
}

/* ---- the delivered keys in clear, audit-logged ---- */

struct keys_ctx {
	const struct actor *who;
	const char *order_no;
	json_t *keys;
	struct shop_err *err;
};

/* A write, so that reading the keys and its audit line are one event. */
static int keys_tx(sqlite3 *db, void *arg)
{
	(void)db;
	struct keys_ctx *c = arg;
	struct order_row o;
	int found = order_load(c->order_no, &o);
	if (found <= 0)
		return found < 0 ? -1 : shop_fail(c->err, SHOP_NOT_FOUND, "order not found");
	if (order_keys_json(o.id, &c->keys) != 0)
		return -1;
	return audit_record(c->who, "order.keys_view", c->order_no,
	                    json_pack("{sI}", "keys", (json_int_t)json_array_size(c->keys)));
}

json_t *order_admin_keys(const struct actor *who, const char *order_no, struct shop_err *err)
{
	struct keys_ctx c = {.who = who, .order_no = order_no, .err = err};
	err->status = SHOP_OK;
	if (db_write(keys_tx, &c) != 0) {
		json_decref(c.keys); /* read, but its audit line did not commit: not shown */
		if (err->status == SHOP_OK)
			shop_fail(err, SHOP_ERROR, "internal error");
		return NULL;
	}
	return json_pack("{ss so}", "order_no", order_no, "keys", c.keys);
}

/* ---- actions ---- */

static const struct field note_fields[] = {
    {"note", F_STR, 0, NOTE_MAX, NULL, 0},
};

static const char *sql_release_keys = "UPDATE card_keys SET status = 'available', order_id = NULL"
                                      " WHERE order_id = :oid AND status = 'reserved'";
/* The uses taken when the order was placed (one per discounted unit) go back, as on expiry. */
static const char *sql_coupon_back =
    "UPDATE coupons SET used = used - n.uses,"
    " uses_left = CASE WHEN uses_left IS NULL THEN NULL ELSE uses_left + n.uses END"
    " FROM (SELECT coupon_id, coupon_uses AS uses FROM orders WHERE id = :oid) AS n"
    " WHERE coupons.id = n.coupon_id";
static const char *sql_mark_cancelled =
    "UPDATE orders SET status = 'cancelled', cancelled_at = :now"
    " WHERE id = :oid AND status = 'pending'";
static const char *sql_mark_refunded =
    "UPDATE orders SET status = 'refunded', refunded_at = :now"
    " WHERE id = :oid AND status IN ('paid', 'delivered', 'paid_undelivered')";

enum action { ACT_CANCEL, ACT_CONFIRM, ACT_REFUND, ACT_RESEND };

struct action_ctx {
	const struct config *cfg;
	const struct actor *who;
	const char *order_no;
	const char *note;
	struct shop_err *err;
	struct order_row o;
	struct payment_applied paid;
};

/* Runs sql bound to the order (and :now): the number of rows it changed, -1 on error. */
static int order_exec(const char *sql, int64_t oid)
{
	sqlite3_stmt *st = db_stmt(sql);
	if (!st)
		return -1;
	db_bind_int(st, ":oid", oid);
	if (sqlite3_bind_parameter_index(st, ":now") > 0)
		db_bind_int(st, ":now", util_now());
	if (db_step(st) != SQLITE_DONE)
		return db_log_error("order action failed");
	return sqlite3_changes(db_conn());
}

static int action_load(struct action_ctx *c)
{
	int found = order_load(c->order_no, &c->o);
	if (found <= 0)
		return found < 0 ? -1 : shop_fail(c->err, SHOP_NOT_FOUND, "order not found");
	return 0;
}

static int audit_action(struct action_ctx *c, const char *action, enum order_status from,
                        json_t *extra)
{
	json_t *d = extra ? extra : json_object();
	json_object_set_new(d, "note", json_string(c->note));
	json_object_set_new(d, "from", json_string(order_status_name(from)));
	return audit_record(c->who, action, c->order_no, d);
}

static int refuse(struct action_ctx *c, const char *what)
{
	return shop_fail(c->err, SHOP_CONFLICT, "a %s order cannot be %s",
	                 order_status_name(c->o.status), what);
}

static int cancel_tx(sqlite3 *db, void *arg)
{
	(void)db;
	struct action_ctx *c = arg;
	if (action_load(c) != 0)
		return -1;
	if (c->o.status != ORDER_PENDING)
		return refuse(c, "cancelled");
	int keys = order_exec(sql_release_keys, c->o.id);
	if (keys < 0 || order_exec(sql_coupon_back, c->o.id) < 0 ||
	    order_exec(sql_mark_cancelled, c->o.id) != 1)
		return -1;
	return audit_action(c, "order.cancel", ORDER_PENDING,
	                    json_pack("{si}", "keys_released", keys));
}

static int refund_tx(sqlite3 *db, void *arg)
{
	(void)db;
	struct action_ctx *c = arg;
	if (action_load(c) != 0)
		return -1;
	enum order_status s = c->o.status;
	if (s != ORDER_PAID && s != ORDER_DELIVERED && s != ORDER_PAID_UNDELIVERED)
		return refuse(c, "refunded");
	if (order_exec(sql_mark_refunded, c->o.id) != 1 ||
	    notify_order_event(c->o.id, EVENT_ORDER_REFUNDED) != 0)
		return -1;
	return audit_action(c, "order.refund", s, NULL);
}

static int resend_tx(sqlite3 *db, void *arg)
{
	(void)db;
	struct action_ctx *c = arg;
	if (action_load(c) != 0)
		return -1;
	if (c->o.status != ORDER_DELIVERED)
		return refuse(c, "mailed again (only delivered ones are)");
	if (outbox_put(JOB_ORDER_MAIL, json_pack("{sI}", "order_id", (json_int_t)c->o.id), 0) != 0)
		return -1;
	return audit_action(c, "order.resend", c->o.status, NULL);
}

/* The merchant saw the money arrive: the payment is applied exactly as a gateway's verified
 * notify would be (one payments row under gateway "manual", the order moved, its keys sold,
 * the mail queued, an event stored), so a later notify of the gateway finds the order paid
 * and is answered as a repeat. An order already paid is a repeat here too: nothing changes. */
static int confirm_tx(sqlite3 *db, void *arg)
{
	(void)db;
	struct action_ctx *c = arg;
	if (action_load(c) != 0)
		return -1;
	enum order_status s = c->o.status;
	if (s == ORDER_PAID || s == ORDER_DELIVERED || s == ORDER_PAID_UNDELIVERED) {
		c->paid.outcome = NOTIFY_REPEAT;
		return 0;
	}
	if (s != ORDER_PENDING && s != ORDER_EXPIRED)
		return refuse(c, "confirmed paid");
	char trade[64];
	snprintf(trade, sizeof trade, "%s-%s", PAYMENT_MANUAL, c->o.order_no);
	json_t *raw_json = json_pack("{ss ss}", "admin", c->who->username ? c->who->username : "",
	                             "note", c->note);
	char *raw = json_dumps(raw_json, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(raw_json);
	struct notify n = {.gateway = PAYMENT_MANUAL,
	                   .order_no = c->o.order_no,
	                   .trade_no = trade,
	                   .amount = c->o.amount,
	                   .verified = 1,
	                   .raw = raw,
	                   .ip = c->who->ip};
	int rc = payment_apply_in_tx(c->cfg, &n, &c->paid);
	free(raw);
	enum notify_outcome out = c->paid.outcome;
	if (rc != 0 ||
	    (out != NOTIFY_DELIVERED && out != NOTIFY_PAID && out != NOTIFY_PAID_UNDELIVERED)) {
		log_error("confirm-paid was not applied",
		          json_pack("{ss ss}", "order_no", c->o.order_no, "outcome",
		                    notify_outcome_name(out)));
		return -1;
	}
	return audit_action(c, "order.confirm_paid", s,
	                    json_pack("{ss}", "outcome", notify_outcome_name(out)));
}

static int note_of(json_t *in, const char **note, struct shop_err *err)
{
	*note = "";
	if (!in)
		return 0;
	if (shop_validate(in, note_fields, sizeof note_fields / sizeof note_fields[0], 0, err) != 0)
		return -1;
	*note = shop_json_str(in, "note", "");
	return 0;
}

static int run_action(struct action_ctx *c, db_write_fn fn, json_t *in)
{
	c->err->status = SHOP_OK;
	if (note_of(in, &c->note, c->err) != 0)
		return -1;
	if (db_write(fn, c) == 0)
		return 0;
	if (c->err->status == SHOP_OK)
		shop_fail(c->err, SHOP_ERROR, "internal error");
	return -1;
}

int order_cancel(const struct actor *who, const char *order_no, json_t *in, struct shop_err *err)
{
	struct action_ctx c = {.who = who, .order_no = order_no, .err = err};
	if (run_action(&c, cancel_tx, in) != 0)
		return -1;
	catalog_stock_changed(c.o.product_id); /* its reserved keys are on sale again */
	log_info("order cancelled", json_pack("{ss ss}", "order_no", order_no, "admin",
	                                      who->username ? who->username : ""));
	return 0;
}

int order_refund(const struct actor *who, const char *order_no, json_t *in, struct shop_err *err)
{
	struct action_ctx c = {.who = who, .order_no = order_no, .err = err};
	if (run_action(&c, refund_tx, in) != 0)
		return -1;
	log_info("order refunded", json_pack("{ss ss}", "order_no", order_no, "admin",
	                                     who->username ? who->username : ""));
	return 0;
}

int order_resend(const struct actor *who, const char *order_no, json_t *in, struct shop_err *err)
{
	struct action_ctx c = {.who = who, .order_no = order_no, .err = err};
	if (run_action(&c, resend_tx, in) != 0)
		return -1;
	outbox_wake();
	return 0;
}

int order_confirm_paid(const struct config *cfg, const struct actor *who, const char *order_no,
                       json_t *in, enum notify_outcome *outcome, struct shop_err *err)
{
	struct action_ctx c = {.cfg = cfg, .who = who, .order_no = order_no, .err = err};
	if (run_action(&c, confirm_tx, in) != 0)
		return -1;
	*outcome = c.paid.outcome;
	if (c.paid.outcome == NOTIFY_REPEAT)
		return 0;
	outbox_wake(); /* the buyer's mail was queued in the same commit */
	if (c.paid.took_stock)
		catalog_stock_changed(c.paid.product_id);
	if (c.paid.outcome == NOTIFY_DELIVERED)
		metrics_inc(M_ORDERS_DELIVERED, 1);
	else if (c.paid.outcome == NOTIFY_PAID_UNDELIVERED)
		metrics_inc(M_ORDERS_PAID_UNDELIVERED, 1);
	log_info("order confirmed paid by the merchant",
	         json_pack("{ss ss ss}", "order_no", order_no, "outcome",
	                   notify_outcome_name(c.paid.outcome), "admin",
	                   who->username ? who->username : ""));
	return 0;
}
