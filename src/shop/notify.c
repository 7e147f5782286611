/* Outgoing notifications of order and stock events: each event becomes jobs (the signed
 * webhook, a Telegram message, the merchant's sale mail) in the transaction that caused it, so
 * an event exists exactly when its change does. The jobs thread sends them (jobs/notify.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cardshop/config.h"
#include "cardshop/sec.h"
#include "internal.h"

static const struct config *start_cfg;

void notify_configure(const struct config *cfg)
{
	start_cfg = cfg;
}

/* The settings may change while serving: each use reads the configuration published now. */
static const struct config *ncfg_now(void)
{
	const struct config *c = config_current();
	return c ? c : start_cfg;
}

static int webhook_on(void)
{
	const struct config *c = ncfg_now();
	return c && c->webhook_url[0] && c->webhook_secret[0];
}

static int telegram_on(void)
{
	const struct config *c = ncfg_now();
	return c && c->telegram_bot_token[0] && c->telegram_chat_id[0];
}

void notify_signature(const char *secret, int64_t t, const char *body, size_t len, char *out)
{
	char prefix[32];
	int plen = snprintf(prefix, sizeof prefix, "%lld.", (long long)t);
	struct buf signed_bytes;
	buf_init(&signed_bytes);
	buf_append(&signed_bytes, prefix, (size_t)plen);
	buf_append(&signed_bytes, body, len);
	unsigned char mac[32];
	sec_hmac_sha256(secret, strlen(secret), signed_bytes.data, signed_bytes.len, mac);
	buf_cleanup(&signed_bytes);
	char hex[65];
	sec_hex(mac, sizeof mac, hex);
	snprintf(out, NOTIFY_SIGNATURE_MAX, "t=%lld,v1=%s", (long long)t, hex);
}

/* One event to every destination set up (Telegram only when to_telegram). The webhook body
 * is written once, here, so every retry sends the same bytes with the same id. Steals data. */
static int event_put(enum shop_event ev, json_t *data, const char *text, int to_telegram)
{
	int rc = 0;
	if (webhook_on()) {
		char id[4 + 24 + 1] = "evt_";
		sec_random_hex(id + 4, 12);
		json_t *event = json_pack("{ss ss sI sO}", "id", id, "event", shop_event_name(ev),
		                          "created_at", (json_int_t)util_now(), "data", data);
		char *body = event ? json_dumps(event, JSON_COMPACT) : NULL;
		json_decref(event);
		rc = body ? outbox_put(JOB_WEBHOOK,
		                       json_pack("{ss ss ss}", "event_id", id, "event",
		                                 shop_event_name(ev), "body", body),
		                       0)
		          : -1;
		free(body);
	}
	if (rc == 0 && to_telegram && telegram_on())
		rc = outbox_put(JOB_TELEGRAM, json_pack("{ss}", "text", text), 0);
	json_decref(data);
	return rc;
}

/* ---- low stock ---- */

/* The product's own threshold (products.low_stock), else the [notify] low_stock default, as
 * the dashboard judges it (stats.c); a loop product never runs low: one key serves everyone. */
static const char *sql_stock =
    "SELECT p.name, s.available,"
    " CASE WHEN p.loop_key THEN 0 ELSE coalesce(nullif(p.low_stock, 0), :default_threshold) END"
    " FROM products p JOIN product_stock s ON s.product_id = p.id WHERE p.id = :pid";
/* A row means "sent"; the trigger of migration 0016 deletes it when the stock rises above. */
static const char *sql_mark = "INSERT INTO low_stock_alerts (product_id, threshold, sent_at)"
                              " VALUES (:pid, :threshold, :now) ON CONFLICT DO NOTHING";

static int low_stock_mark(int64_t product_id, int64_t threshold)
{
	sqlite3_stmt *st = db_stmt(sql_mark);
	if (!st)
		return -1;
	db_bind_int(st, ":pid", product_id);
	db_bind_int(st, ":threshold", threshold);
	db_bind_int(st, ":now", util_now());
	if (db_step(st) != SQLITE_DONE)
		return db_log_error("low stock mark failed");
	return sqlite3_changes(db_conn());
}

/* After a sale of product_id: product.low_stock once per crossing of the threshold. */
static int low_stock_check(int64_t product_id)
{
	sqlite3_stmt *st = db_stmt(sql_stock);
	if (!st)
		return -1;
	db_bind_int(st, ":pid", product_id);
	db_bind_int(st, ":default_threshold", ncfg_now()->notify_low_stock);
	int rc = db_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? 0 : db_log_error("low stock read failed");
	}
	char *name = xstrdup(db_col_text(st, 0));
	int64_t stock = sqlite3_column_int64(st, 1), threshold = sqlite3_column_int64(st, 2);
	sqlite3_reset(st);
	int marked =
	    threshold > 0 && stock <= threshold ? low_stock_mark(product_id, threshold) : 0;
	if (marked == 1) {
		json_t *data =
		    json_pack("{sI ss sI sI}", "id", (json_int_t)product_id, "name", name, "stock",
		              (json_int_t)stock, "low_stock", (json_int_t)threshold);
		char *text = merchant_low_stock_line(ncfg_now(), name, stock, threshold);
		marked = event_put(EVENT_PRODUCT_LOW_STOCK, data, text, 1);
		free(text);
	}
	free(name);
	return marked < 0 ? -1 : 0;
}

/* ---- order events ---- */

static json_t *order_data(const struct order_row *o)
{
	return json_pack("{ss ss sI ss sI ss sI ss}", "order_no", o->order_no, "status",
	                 order_status_name(o->status), "amount", (json_int_t)o->amount, "currency",
	                 o->currency, "product_id", (json_int_t)o->product_id, "product_name",
	                 o->product_name, "quantity", (json_int_t)o->quantity, "gateway",
	                 o->gateway);
}

static int sale_mail_put(const struct order_row *o)
{
	if (!ncfg_now()->notify_mail_on_sale || !ncfg_now()->alert_email[0])
		return 0;
	return outbox_put(JOB_ALERT_MAIL,
	                  json_pack("{sI ss}", "order_id", (json_int_t)o->id, "what", "sale"), 0);
}

int notify_order_event(int64_t order_id, enum shop_event ev)
{
	/* product.low_stock is not the caller's to send: it follows a sale, from here. */
	if (!ncfg_now() || (int)ev < 0 || ev >= EVENT_PRODUCT_LOW_STOCK)
		return 0;
	int out = webhook_on() || telegram_on();
	if (!out && !(ev == EVENT_ORDER_PAID && ncfg_now()->notify_mail_on_sale))
		return 0; /* nothing to send: not even a read of the order */
	struct order_row o;
	int found = order_load_id(order_id, &o);
	if (found <= 0)
		return found < 0 ? -1 : 0;
	if (ev == EVENT_ORDER_PAID && sale_mail_put(&o) != 0)
		return -1;
	if (!out)
		return 0;
	/* A delivery in the same transaction as its payment is already in the payment's message
	 * ("now delivered"): the chat hears of a delivery only when it comes later (the webhook
	 * gets every event). A rolled-back payment leaves a stale id, which only a later delivery
	 * of that same order on this thread could meet: one message fewer, never a wrong one. */
	static _Thread_local int64_t paid_here;
	int quiet = ev == EVENT_ORDER_DELIVERED && paid_here == o.id;
	paid_here = ev == EVENT_ORDER_PAID ? o.id : 0;
	char *text = merchant_order_line(ncfg_now(), ev, &o);
	int rc = event_put(ev, order_data(&o), text, !quiet);
	free(text);
	if (rc != 0)
		return -1;
	int sale = ev == EVENT_ORDER_PAID || ev == EVENT_ORDER_PAID_UNDELIVERED ||
	           ev == EVENT_ORDER_DELIVERED;
	return sale && !o.manual ? low_stock_check(o.product_id) : 0;
}
