/* The merchant's messages (the sale mail, the alerts of orders that need a hand, the Telegram
 * lines of order and stock events) in the merchant's language, [shop] merchant_lang: every
 * text in one table per language, filled by the buyer mails' renderer, so the HTML part of a
 * mail escapes every value as theirs does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cardshop/config.h"
#include "internal.h"

struct merchant_words {
	const char *lang; /* Content-Language, and the amounts' style */
	const char *sale_subject, *sale_body;
	const char *alert_subject, *alert_body;
	const char *paid_undelivered, *duplicate_payment; /* {outcome} of an alert */
	const char *status[ORDER_CANCELLED + 1];          /* {status}, by enum order_status */
	const char *event[EVENT_PRODUCT_LOW_STOCK];       /* {event} of a Telegram order line */
	const char *order_line, *low_stock_line;          /* Telegram: plain text, one line */
};

/* Subjects keep the order number and, for alerts, the outcome's code: mail filters use them. */
static const struct merchant_words en = {
    .lang = "en",
    .sale_subject = "[{shop_name}] Sale: order {order_no}, {amount}",
    .sale_body = "Order {order_no}: {product} x {quantity}, {amount}, paid through {gateway} "
                 "by {buyer}.\nStatus: {status}.\n\nIn the admin: {order_url}\n",
    .alert_subject = "[{shop_name}] ALERT: order {order_no} needs attention ({outcome_code})",
    .alert_body = "Order {order_no} ({product} x {quantity}, {amount}, buyer {buyer}) is "
                  "{status}.\nOutcome: {outcome} ({outcome_code}). Please check it in the "
                  "admin.\n\nIn the admin: {order_url}\n",
    .paid_undelivered = "paid after the order expired, with no key left to deliver",
    .duplicate_payment = "paid a second time by another trade: the money is to give back",
    .status = {[ORDER_PENDING] = "pending",
               [ORDER_PAID] = "paid, to deliver",
               [ORDER_DELIVERED] = "delivered",
               [ORDER_EXPIRED] = "expired",
               [ORDER_PAID_UNDELIVERED] = "paid, not delivered",
               [ORDER_REFUNDED] = "refunded",
               [ORDER_CANCELLED] = "cancelled"},
    .event = {[EVENT_ORDER_PAID] = "paid",
              [EVENT_ORDER_DELIVERED] = "delivered",
              [EVENT_ORDER_PAID_UNDELIVERED] = "ALERT: paid but no key left to deliver",
              [EVENT_ORDER_REFUNDED] = "refunded"},
    .order_line = "[{shop_name}] Order {order_no} {event}: {product} x {quantity}, {amount} "
                  "(now {status})",
    .low_stock_line = "[{shop_name}] Low stock: {product} has {stock} key(s) left (threshold "
                      "{threshold})",
};

static const struct merchant_words zh = {
    .lang = "zh-CN",
    .sale_subject = "[{shop_name}] 成交：订单 {order_no}，{amount}",
    .sale_body = "订单 {order_no}：{product} x {quantity}，{amount}，买家 {buyer} 通过 "
                 "{gateway} 付款。\n状态：{status}。\n\n在后台查看：{order_url}\n",
    .alert_subject = "[{shop_name}] 提醒：订单 {order_no} 需要处理（{outcome_code}）",
    .alert_body = "订单 {order_no}（{product} x {quantity}，{amount}，买家 {buyer}）当前状态："
                  "{status}。\n原因：{outcome}（{outcome_code}）。请在后台处理。\n\n"
                  "在后台查看：{order_url}\n",
    .paid_undelivered = "订单过期后才付款，已没有卡密可发",
    .duplicate_payment = "已被另一笔交易重复付款，需退还款项",
    .status = {[ORDER_PENDING] = "待付款",
               [ORDER_PAID] = "已付款（待发货）",
               [ORDER_DELIVERED] = "已发货",
               [ORDER_EXPIRED] = "已过期",
               [ORDER_PAID_UNDELIVERED] = "已付款，未发货",
               [ORDER_REFUNDED] = "已退款",
               [ORDER_CANCELLED] = "已取消"},
    .event = {[EVENT_ORDER_PAID] = "已付款",
              [EVENT_ORDER_DELIVERED] = "已发货",
              [EVENT_ORDER_PAID_UNDELIVERED] = "提醒：已付款但没有卡密可发",
              [EVENT_ORDER_REFUNDED] = "已退款"},
    .order_line = "[{shop_name}] 订单 {order_no} {event}：{product} x {quantity}，{amount}"
                  "（当前：{status}）",
    .low_stock_line = "[{shop_name}] 库存不足：{product} 仅剩 {stock} 个卡密（阈值 {threshold}）",
};

static const struct merchant_words *words_of(const struct config *cfg)
{
	return cfg && cfg->merchant_lang && strcmp(cfg->merchant_lang, "zh-CN") == 0 ? &zh : &en;
}

static const char *status_word(const struct merchant_words *w, enum order_status s)
{
	return (int)s >= 0 && s <= ORDER_CANCELLED ? w->status[s] : order_status_name(s);
}

/* An order's values, filled into the caller's buffers (they outlive v). */
struct order_text {
	char qty[24], amount[48];
	char *admin_url; /* malloc'd */
};

static void order_values(const struct config *cfg, const struct merchant_words *w,
                         const struct order_row *o, struct order_text *t, struct mail_values *v)
{
	snprintf(t->qty, sizeof t->qty, "%lld", (long long)o->quantity);
	mail_amount_format(t->amount, sizeof t->amount, o->amount, o->currency, w == &zh);
	t->admin_url = xasprintf("%s/admin/orders?q=%s", cfg->base_url, o->order_no);
	*v = (struct mail_values){.shop_name = cfg->shop_name,
	                          .order_no = o->order_no,
	                          .product = o->product_name,
	                          .quantity = t->qty,
	                          .amount = t->amount,
	                          .order_url = t->admin_url,
	                          .status = status_word(w, o->status),
	                          .lang = w->lang};
}

int alert_mail_compose(const struct config *cfg, int64_t order_id, const char *what, struct mail *m)
{
	if (!cfg->alert_email[0])
		return 1;
	struct order_row o;
	int found = order_load_id(order_id, &o);
	if (found <= 0)
		return found < 0 ? -1 : 1;
	const struct merchant_words *w = words_of(cfg);
	int sale = strcmp(what, "sale") == 0; /* [notify] mail_on_sale: news, not an alert */
	const char *outcome = strcmp(what, "paid_undelivered") == 0    ? w->paid_undelivered
	                      : strcmp(what, "duplicate_payment") == 0 ? w->duplicate_payment
	                                                               : what;
	const char *const extra[] = {"buyer", o.email,        "gateway", o.gateway, "outcome",
	                             outcome, "outcome_code", what,      NULL};
	struct order_text t = {.admin_url = NULL};
	struct mail_values v;
	order_values(cfg, w, &o, &t, &v);
	v.extra = extra;
	const char *subject = sale ? w->sale_subject : w->alert_subject;
	const char *body = sale ? w->sale_body : w->alert_body;
	m->to = xstrdup(cfg->alert_email);
	m->subject = mail_template_render(subject, &v, 0);
	m->body = mail_template_render(body, &v, 0);
	m->html = mail_template_render(body, &v, 1);
	snprintf(m->lang, sizeof m->lang, "%s", w->lang);
	free(t.admin_url);
	return 0;
}

char *merchant_order_line(const struct config *cfg, enum shop_event ev, const struct order_row *o)
{
	const struct merchant_words *w = words_of(cfg);
	const char *const extra[] = {
	    "event", (int)ev >= 0 && ev < EVENT_PRODUCT_LOW_STOCK ? w->event[ev] : "", NULL};
	struct order_text t = {.admin_url = NULL};
	struct mail_values v;
	order_values(cfg, w, o, &t, &v);
	v.extra = extra;
	char *line = mail_template_render(w->order_line, &v, 0);
	free(t.admin_url);
	return line;
}

char *merchant_low_stock_line(const struct config *cfg, const char *product, int64_t stock,
                              int64_t threshold)
{
	const struct merchant_words *w = words_of(cfg);
	char s[24], th[24];
	snprintf(s, sizeof s, "%lld", (long long)stock);
	snprintf(th, sizeof th, "%lld", (long long)threshold);
	const char *const extra[] = {"stock", s, "threshold", th, NULL};
	struct mail_values v = {
	    .shop_name = cfg->shop_name, .product = product, .lang = w->lang, .extra = extra};
	return mail_template_render(w->low_stock_line, &v, 0);
}
