/* Mail contents for orders: the buyer's delivery mail and the merchant's alerts. */
#include <stdlib.h>
#include <string.h>

#include "cardshop/config.h"
#include "cardshop/sec.h"
#include "internal.h"

static const char *sql_order =
    "SELECT o.order_no, o.email, o.status, o.quantity, o.amount,"
    " o.currency, p.name FROM orders o JOIN products p ON p.id = o.product_id"
    " WHERE o.id = :id";

struct order_info {
	char *order_no, *email, *status, *currency, *product;
	int64_t quantity, amount;
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

int order_mail_compose(const struct config *cfg, int64_t order_id, struct mail *m)
{
	struct order_info o;
	if (load(order_id, &o) != 0)
		return -1;
	char token[33];
	order_token(o.order_no, token);
	struct buf b;
	buf_init(&b);
	int delivered = strcmp(o.status, "delivered") == 0;
	buf_printf(&b, "Thank you for your order at %s.\r\n\r\n", cfg->shop_name);
	buf_printf(&b, "Order:    %s\r\nProduct:  %s x %lld\r\nAmount:   %lld.%02lld %s\r\n\r\n",
	           o.order_no, o.product, (long long)o.quantity, (long long)(o.amount / 100),
	           (long long)(o.amount % 100), o.currency);
	if (delivered) {
		buf_puts(&b, "Your keys:\r\n\r\n");
		json_t *keys = order_keys_json(order_id);
		size_t i;
		for (i = 0; i < json_array_size(keys); i++)
			buf_printf(&b, "  %s\r\n", json_string_value(json_array_get(keys, i)));
		json_decref(keys);
		buf_puts(&b, "\r\n");
	} else {
		buf_puts(&b, "Your payment is received. The merchant will deliver your order "
		             "shortly.\r\n\r\n");
	}
	buf_printf(&b, "Your order page: %s/shop/order?order_no=%s&token=%s\r\n", cfg->base_url,
	           o.order_no, token);
	m->to = xstrdup(o.email);
	m->subject = xasprintf("[%s] Order %s %s", cfg->shop_name, o.order_no,
	                       delivered ? "delivered" : "paid");
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
