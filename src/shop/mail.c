/* Mail contents for orders: the buyer's delivery mail (in the language the order was placed
 * in) and the merchant's alerts. */
#include <stdlib.h>
#include <string.h>

#include "cardshop/config.h"
#include "cardshop/sec.h"
#include "internal.h"

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

/* 0 when the order's keys were written into b, -1 when one cannot be read. */
static int append_keys(struct buf *b, int64_t order_id, const struct mail_text *t)
{
	json_t *keys;
	if (order_keys_json(order_id, &keys) != 0)
		return -1;
	buf_printf(b, "%s\r\n\r\n", t->keys);
	for (size_t i = 0; i < json_array_size(keys); i++)
		buf_printf(b, "  %s\r\n", json_string_value(json_array_get(keys, i)));
	json_decref(keys);
	buf_puts(b, "\r\n");
	return 0;
}

static void wipe_buf(struct buf *b)
{
	if (b->data)
		sec_wipe(b->data, b->len);
	buf_cleanup(b);
}

int order_mail_compose(const struct config *cfg, int64_t order_id, struct mail *m)
{
	struct order_row o;
	int found = order_load_id(order_id, &o);
	if (found <= 0)
		return found < 0 ? -1 : 1;
	const struct mail_text *t = strcmp(o.lang, "zh-CN") == 0 ? &text_zh : &text_en;
	char token[33];
	order_token(o.order_no, token);
	struct buf b;
	buf_init(&b);
	int delivered = o.status == ORDER_DELIVERED;
	buf_printf(&b, t->thanks, cfg->shop_name);
	buf_puts(&b, "\r\n\r\n");
	buf_printf(&b, "%s%s\r\n%s%s x %lld\r\n%s%lld.%02lld %s\r\n\r\n", t->order, o.order_no,
	           t->product, o.product_name, (long long)o.quantity, t->amount,
	           (long long)(o.amount / 100), (long long)(o.amount % 100), o.currency);
	if (delivered) {
		if (append_keys(&b, order_id, t) != 0) {
			wipe_buf(&b); /* a delivery mail missing a key must not go out */
			return -1;
		}
	} else {
		buf_printf(&b, "%s\r\n\r\n", t->pending);
	}
	buf_printf(&b, "%s%s/shop/order?order_no=%s&token=%s\r\n", t->page, cfg->base_url,
	           o.order_no, token);
	m->to = xstrdup(o.email);
	m->subject =
	    xasprintf(t->subject, cfg->shop_name, o.order_no, delivered ? t->delivered : t->paid);
	m->body = buf_release(&b);
	return 0;
}

static int sale_mail_text(const struct config *cfg, const struct order_row *o, struct mail *m)
{
	m->subject =
	    xasprintf("[%s] Sale: order %s, %lld.%02lld %s", cfg->shop_name, o->order_no,
	              (long long)(o->amount / 100), (long long)(o->amount % 100), o->currency);
	m->body = xasprintf("Order %s: %s x %lld, %lld.%02lld %s, paid through %s by %s.\r\n"
	                    "Status: %s.\r\n",
	                    o->order_no, o->product_name, (long long)o->quantity,
	                    (long long)(o->amount / 100), (long long)(o->amount % 100), o->currency,
	                    o->gateway, o->email, order_status_name(o->status));
	return 0;
}

int alert_mail_compose(const struct config *cfg, int64_t order_id, const char *what, struct mail *m)
{
	if (!cfg->alert_email[0])
		return 1;
	struct order_row o;
	int found = order_load_id(order_id, &o);
	if (found <= 0)
		return found < 0 ? -1 : 1;
	m->to = xstrdup(cfg->alert_email);
	if (strcmp(what, "sale") == 0) /* [notify] mail_on_sale: news, not an alert */
		return sale_mail_text(cfg, &o, m);
	m->subject = xasprintf("[%s] ALERT: order %s needs attention (%s)", cfg->shop_name,
	                       o.order_no, what);
	m->body = xasprintf("Order %s (%s x %lld, %lld.%02lld %s, buyer %s) is %s.\r\n"
	                    "Outcome: %s. Please check it in the admin.\r\n",
	                    o.order_no, o.product_name, (long long)o.quantity,
	                    (long long)(o.amount / 100), (long long)(o.amount % 100), o.currency,
	                    o.email, order_status_name(o.status), what);
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
