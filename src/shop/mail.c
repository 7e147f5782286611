/* Mail contents for orders: the buyer's delivery mail, in the language the order was placed
 * in (the merchant's mails are merchant_mail.c's). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cardshop/config.h"
#include "cardshop/sec.h"
#include "internal.h"

static void wipe_str(char *s)
{
	if (s) {
		sec_wipe(s, strlen(s));
		free(s);
	}
}

/* The three templates of the order's state, rendered into m. 0, or -1 (nothing set). */
static int compose_parts(const char *kind, const struct mail_values *v, struct mail *m)
{
	char subject_name[32], body_name[32], *subject = NULL, *body = NULL;
	snprintf(subject_name, sizeof subject_name, "%s_subject", kind);
	snprintf(body_name, sizeof body_name, "%s_body", kind);
	if (mail_template_get(subject_name, v->lang, &subject) != 0 ||
	    mail_template_get(body_name, v->lang, &body) != 0) {
		free(subject);
		return -1;
	}
	m->subject = mail_template_render(subject, v, 0);
	m->body = mail_template_render(body, v, 0);
	m->html = mail_template_render(body, v, 1);
	free(subject);
	free(body);
	return 0;
}

/* {status} in the buyer's words: the order mails and the lookup mail's list. */
const char *mail_status_text(enum order_status s, int zh)
{
	static const char *const words[][2] = {
	    [ORDER_PENDING] = {"awaiting payment", "待付款"},
	    [ORDER_PAID] = {"paid", "已付款"},
	    [ORDER_DELIVERED] = {"delivered", "已发货"},
	    [ORDER_EXPIRED] = {"expired", "已过期"},
	    [ORDER_PAID_UNDELIVERED] = {"paid", "已付款"},
	    [ORDER_REFUNDED] = {"refunded", "已退款"},
	    [ORDER_CANCELLED] = {"cancelled", "已取消"},
	};
	if ((int)s < 0 || (size_t)s >= sizeof words / sizeof words[0])
		return order_status_name(s);
	return words[s][zh ? 1 : 0];
}

/* as the shop's pages write it: "¥12.34" for a Chinese buyer, "12.34 CNY" otherwise */
void mail_amount_format(char *out, size_t n, int64_t amount, const char *currency, int zh)
{
	if (zh && strcmp(currency, "CNY") == 0)
		snprintf(out, n, "¥%lld.%02lld", (long long)(amount / 100),
		         (long long)(amount % 100));
	else
		snprintf(out, n, "%lld.%02lld %s", (long long)(amount / 100),
		         (long long)(amount % 100), currency);
}

int order_mail_compose(const struct config *cfg, int64_t order_id, struct mail *m)
{
	struct order_row o;
	int found = order_load_id(order_id, &o);
	if (found <= 0)
		return found < 0 ? -1 : 1;
	int delivered = o.status == ORDER_DELIVERED;
	json_t *keys = NULL;
	if (delivered && order_keys_json(order_id, &keys) != 0)
		return -1; /* a delivery mail missing a key must not go out */
	char token[33], qty[24], amount[48];
	order_token(o.order_no, token);
	snprintf(qty, sizeof qty, "%lld", (long long)o.quantity);
	int zh = strcmp(o.lang, "zh-CN") == 0;
	mail_amount_format(amount, sizeof amount, o.amount, o.currency, zh);
	char *url =
	    xasprintf("%s/shop/order?order_no=%s&token=%s", cfg->base_url, o.order_no, token);
	const char *lang = zh ? "zh-CN" : "en";
	struct mail_values v = {.shop_name = cfg->shop_name,
	                        .order_no = o.order_no,
	                        .product = o.product_name,
	                        .quantity = qty,
	                        .amount = amount,
	                        .order_url = url,
	                        .status = mail_status_text(o.status, zh),
	                        .lang = lang,
	                        .keys = keys};
	int rc = compose_parts(delivered ? "delivery" : "paid", &v, m);
	json_decref(keys);
	free(url);
	if (rc != 0) {
		mail_free(m);
		return -1;
	}
	m->to = xstrdup(o.email);
	snprintf(m->lang, sizeof m->lang, "%s", lang);
	return 0;
}

void mail_free(struct mail *m)
{
	wipe_str(m->body); /* both hold the keys */
	wipe_str(m->html);
	free(m->to);
	free(m->subject);
	memset(m, 0, sizeof *m);
}
