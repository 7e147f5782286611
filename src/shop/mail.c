/* Mail contents for orders: the buyer's delivery mail and the merchant's alerts. */
#include <stdlib.h>
#include <string.h>

#include "cardshop/config.h"
#include "cardshop/sec.h"
#include "internal.h"

static const char *sql_order =
    "SELECT o.order_no, o.email, o.status, o.quantity, o.amount,"
    " o.currency, p.name, o.lang FROM orders o JOIN products p ON p.id = o.product_id"
    " WHERE o.id = :id";

struct order_info {
	char *order_no, *email, *status, *currency, *product;
	int64_t quantity, amount;
	int zh; /* placed in zh-CN: the buyer's mail is in Chinese */
};

static int load(int64_t id, struct order_info *o)
{
	sqlite3_stmt *st = db_stmt(sql_order);
	if (!st)
		return -1;
	db_bind_int(st, ":id", id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return -1;
	}
	o->order_no = xstrdup(db_col_text(st, 0));
	o->email = xstrdup(db_col_text(st, 1));
	o->status = xstrdup(db_col_text(st, 2));
	o->quantity = sqlite3_column_int64(st, 3);
	o->amount = sqlite3_column_int64(st, 4);
	o->currency = xstrdup(db_col_text(st, 5));
	o->product = xstrdup(db_col_text(st, 6));
	o->zh = strcmp(db_col_text(st, 7), "zh-CN") == 0;
	sqlite3_reset(st);
	return 0;
}

static void info_free(struct order_info *o)
{
	free(o->order_no);
	free(o->email);
	free(o->status);
	free(o->currency);
	free(o->product);
}

/* The buyer's mail texts, in the language the order was placed in. */
struct mail_text {
	const char *thanks, *order, *product, *amount, *keys, *pending, *page, *delivered, *paid,
	    *subject;
};
static const struct mail_text text_en = {
    "Thank you for your order at %s.",
    "Order:    ",
    "Product:  ",
    "Amount:   ",
    "Your keys:",
    "Your payment is received. The merchant will deliver your order shortly.",
    "Your order page: ",
    "delivered",
    "paid",
    "[%s] Order %s %s",
};
static const struct mail_text text_zh = {
    "感谢您在 %s 购买。",
    "订单号：",
    "商品：",
    "金额：",
    "您的卡密：",
    "已收到您的付款，商家将尽快为您发货。",
    "订单页面：",
    "已发货",
    "已付款",
    "[%s] 订单 %s %s",
};

static void keys_append(struct buf *b, int64_t order_id)
{
	json_t *keys = order_keys_json(order_id);
	for (size_t i = 0; i < json_array_size(keys); i++)
		buf_printf(b, "  %s\r\n", json_string_value(json_array_get(keys, i)));
	json_decref(keys);
}

int order_mail_compose(const struct config *cfg, int64_t order_id, struct mail *m)
{
	struct order_info o;
	if (load(order_id, &o) != 0)
		return -1;
	const struct mail_text *t = o.zh ? &text_zh : &text_en;
	char token[33];
	order_token(o.order_no, token);
	struct buf b;
	buf_init(&b);
	int delivered = strcmp(o.status, "delivered") == 0;
	buf_printf(&b, t->thanks, cfg->shop_name);
	buf_puts(&b, "\r\n\r\n");
	buf_printf(&b, "%s%s\r\n%s%s x %lld\r\n%s%lld.%02lld %s\r\n\r\n", t->order, o.order_no,
	           t->product, o.product, (long long)o.quantity, t->amount,
	           (long long)(o.amount / 100), (long long)(o.amount % 100), o.currency);
	if (delivered) {
		buf_printf(&b, "%s\r\n\r\n", t->keys);
		keys_append(&b, order_id);
		buf_puts(&b, "\r\n");
	} else {
		buf_printf(&b, "%s\r\n\r\n", t->pending);
	}
	buf_printf(&b, "%s%s/shop/order?order_no=%s&token=%s\r\n", t->page, cfg->base_url,
	           o.order_no, token);
	m->to = xstrdup(o.email);
	m->subject =
	    xasprintf(t->subject, cfg->shop_name, o.order_no, delivered ? t->delivered : t->paid);
	m->body = buf_release(&b);
	info_free(&o);
	return 0;
}

int alert_mail_compose(const struct config *cfg, int64_t order_id, const char *what, struct mail *m)
{
	struct order_info o;
	if (!cfg->alert_email[0] || load(order_id, &o) != 0)
		return -1;
	m->to = xstrdup(cfg->alert_email);
	m->subject = xasprintf("[%s] ALERT: order %s needs attention (%s)", cfg->shop_name,
	                       o.order_no, what);
	m->body =
	    xasprintf("Order %s (%s x %lld, %lld.%02lld %s, buyer %s) is %s.\r\n"
	              "Outcome: %s. Please check it in the admin.\r\n",
	              o.order_no, o.product, (long long)o.quantity, (long long)(o.amount / 100),
	              (long long)(o.amount % 100), o.currency, o.email, o.status, what);
	info_free(&o);
	return 0;
}

void mail_free(struct mail *m)
{
	if (m->body)
		sec_wipe(m->body, strlen(m->body));
	free(m->to);
	free(m->subject);
	free(m->body);
	memset(m, 0, sizeof *m);
}
