/* The buyer's mail templates: built-in texts per language, overridden by the settings keys
 * `mail.template.<name>.<lang>`, and rendered as plain text and as HTML (every value escaped,
 * the keys in a monospace block). A template is plain text with {placeholders}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct template_def {
	const char *name;
	const char *allowed; /* " name name ": the placeholders this template may use */
	const char *en, *zh;
};

#define COMMON " shop_name order_no product quantity amount order_url status "

/* Keys never go into a subject: it is logged ("mail sent") and shown in mail lists. */
static const struct template_def defs[] = {
    {"delivery_subject", COMMON, "[{shop_name}] Order {order_no} delivered",
     "[{shop_name}] 订单 {order_no} 已发货"},
    {"delivery_body", COMMON "keys ",
     "Thank you for your order at {shop_name}.\n\n"
     "Order:    {order_no}\nProduct:  {product} x {quantity}\nAmount:   {amount}\n\n"
     "Your keys:\n\n{keys}\n\nYour order page: {order_url}\n",
     "感谢您在 {shop_name} 购买。\n\n"
     "订单号：{order_no}\n商品：{product} x {quantity}\n金额：{amount}\n\n"
     "您的卡密：\n\n{keys}\n\n订单页面：{order_url}\n"},
    {"paid_subject", COMMON, "[{shop_name}] Order {order_no} paid",
     "[{shop_name}] 订单 {order_no} 已付款"},
    {"paid_body", COMMON,
     "Thank you for your order at {shop_name}.\n\n"
     "Order:    {order_no}\nProduct:  {product} x {quantity}\nAmount:   {amount}\n\n"
     "Your payment is received. The merchant will deliver your order shortly.\n\n"
     "Your order page: {order_url}\n",
     "感谢您在 {shop_name} 购买。\n\n"
     "订单号：{order_no}\n商品：{product} x {quantity}\n金额：{amount}\n\n"
     "已收到您的付款，商家将尽快为您发货。\n\n订单页面：{order_url}\n"},
};
#define NDEFS (sizeof defs / sizeof defs[0])
#define TEMPLATE_MAX 8000 /* characters a merchant's template may hold */

static const struct template_def *def_find(const char *name)
{
	for (size_t i = 0; i < NDEFS; i++)
		if (strcmp(defs[i].name, name) == 0)
			return &defs[i];
	return NULL;
}

static const char *const langs[] = {"en", "zh-CN"};

const char *mail_template_lang(size_t i)
{
	return i < sizeof langs / sizeof langs[0] ? langs[i] : NULL;
}

static int lang_known(const char *lang)
{
	for (size_t i = 0; mail_template_lang(i); i++)
		if (strcmp(langs[i], lang) == 0)
			return 1;
	return 0;
}

const char *mail_template_name(size_t i)
{
	return i < NDEFS ? defs[i].name : NULL;
}

const char *mail_template_default(const char *name, const char *lang)
{
	const struct template_def *d = def_find(name);
	if (!d || !lang_known(lang))
		return NULL;
	return strcmp(lang, "zh-CN") == 0 ? d->zh : d->en;
}

/* The length of the placeholder name at p (just after '{'), when p holds "name}"; else 0. */
static size_t placeholder_len(const char *p)
{
	size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz_");
	return n > 0 && p[n] == '}' ? n : 0;
}

static int allowed(const struct template_def *d, const char *name, size_t n)
{
	char word[48];
	if (n + 3 > sizeof word)
		return 0;
	snprintf(word, sizeof word, " %.*s ", (int)n, name);
	return strstr(d->allowed, word) != NULL;
}

int mail_template_validate(const char *name, const char *text, char *err, size_t errlen)
{
	const struct template_def *d = def_find(name);
	if (!d) {
		snprintf(err, errlen, "no mail template named '%s'", name);
		return -1;
	}
	size_t len = strlen(text);
	if (!util_utf8_valid(text, len) || util_utf8_len(text, len) > TEMPLATE_MAX) {
		snprintf(err, errlen, "at most %d characters of UTF-8 text", TEMPLATE_MAX);
		return -1;
	}
	if (strstr(name, "subject") && strpbrk(text, "\r\n")) {
		snprintf(err, errlen, "a subject is one line");
		return -1;
	}
	for (const char *p = strchr(text, '{'); p; p = strchr(p + 1, '{')) {
		size_t n = placeholder_len(p + 1);
		if (n && !allowed(d, p + 1, n)) {
			snprintf(err, errlen, "unknown placeholder {%.*s}", (int)(n > 40 ? 40 : n),
			         p + 1);
			return -1;
		}
	}
	if (strstr(name, "_body") && !strstr(text, "{order_url}")) {
		snprintf(err, errlen, "the body must keep {order_url}");
		return -1;
	}
	if (strcmp(name, "delivery_body") == 0 && !strstr(text, "{keys}")) {
		snprintf(err, errlen, "the delivery mail must keep {keys}");
		return -1;
	}
	return 0;
}

int mail_template_setting_check(const char *key, const char *value, struct shop_err *err)
{
	static const char prefix[] = "mail.template.";
	char name[64], msg[200];
	if (strncmp(key, prefix, sizeof prefix - 1) != 0)
		return shop_fail(err, SHOP_INVALID, "%s: not a mail template", key);
	const char *rest = key + sizeof prefix - 1, *dot = strrchr(rest, '.');
	size_t n = dot ? (size_t)(dot - rest) : 0;
	if (!dot || n == 0 || n >= sizeof name || !lang_known(dot + 1))
		return shop_fail(err, SHOP_INVALID, "%s: mail.template.<name>.<en|zh-CN>", key);
	memcpy(name, rest, n);
	name[n] = '\0';
	if (mail_template_validate(name, value, msg, sizeof msg) != 0)
		return shop_fail(err, SHOP_INVALID, "%s: %s", key, msg);
	return 0;
}

static const char *sql_get = "SELECT value FROM settings WHERE key = :key";

int mail_template_get(const char *name, const char *lang, char **out)
{
	return mail_template_read(name, lang, out, NULL);
}

int mail_template_read(const char *name, const char *lang, char **out, int *stored)
{
	const char *def = mail_template_default(name, lang);
	if (!def)
		return -1;
	char key[96];
	snprintf(key, sizeof key, "mail.template.%s.%s", name, lang);
	sqlite3_stmt *st = db_stmt(sql_get);
	if (!st)
		return -1;
	db_bind_text(st, ":key", key);
	int rc = db_step(st);
	char err[200];
	/* A stored text that no longer validates (edited by hand) falls back to the default
	 * rather than mailing an unknown {placeholder} to the buyer. */
	if (rc == SQLITE_ROW &&
	    mail_template_validate(name, db_col_text(st, 0), err, sizeof err) == 0) {
		*out = xstrdup(db_col_text(st, 0));
		if (stored)
			*stored = 1;
	} else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		*out = xstrdup(def);
		if (stored)
			*stored = 0;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_log_error("reading a mail template failed");
	return 0;
}

/* ---- rendering ------------------------------------------------------------------------ */

void mail_html_escape(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '&':
			buf_puts(b, "&amp;");
			break;
		case '<':
			buf_puts(b, "&lt;");
			break;
		case '>':
			buf_puts(b, "&gt;");
			break;
		case '"':
			buf_puts(b, "&quot;");
			break;
		case '\'':
			buf_puts(b, "&#39;");
			break;
		default:
			buf_append(b, s + i, 1);
		}
	}
}

static const char *value_of(const struct mail_values *v, const char *name, size_t n)
{
	const struct {
		const char *name, *value;
	} map[] = {
	    {"shop_name", v->shop_name}, {"order_no", v->order_no}, {"product", v->product},
	    {"quantity", v->quantity},   {"amount", v->amount},     {"order_url", v->order_url},
	    {"status", v->status},
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strlen(map[i].name) == n && memcmp(map[i].name, name, n) == 0)
			return map[i].value;
	for (const char *const *e = v->extra; e && e[0]; e += 2)
		if (strlen(e[0]) == n && memcmp(e[0], name, n) == 0)
			return e[1];
	return NULL;
}

/* Text: values as they are, CRLF line ends, each key on its own indented line. */
static void text_keys(struct buf *b, json_t *keys)
{
	for (size_t i = 0; i < json_array_size(keys); i++)
		buf_printf(b, "%s  %s", i ? "\r\n" : "",
		           json_string_value(json_array_get(keys, i)));
}

static void html_keys(struct buf *b, json_t *keys)
{
	buf_puts(b, "</p>\r\n<pre style=\"font-family:Consolas,Menlo,monospace;font-size:14px;"
	            "background:#f4f4f5;padding:12px;border-radius:4px\">");
	for (size_t i = 0; i < json_array_size(keys); i++) {
		const char *k = json_string_value(json_array_get(keys, i));
		if (i)
			buf_puts(b, "\n");
		mail_html_escape(b, k, strlen(k));
	}
	buf_puts(b, "</pre>\r\n<p>");
}

/* One placeholder into the text part (html = 0) or the HTML part. */
static void put_value(struct buf *b, const struct mail_values *v, const char *name, size_t n,
                      int html)
{
	if (n == 4 && memcmp(name, "keys", 4) == 0) {
		if (html)
			html_keys(b, v->keys);
		else
			text_keys(b, v->keys);
		return;
	}
	const char *val = value_of(v, name, n);
	if (!val)
		val = "";
	if (!html) {
		buf_puts(b, val);
	} else if (n == 9 && memcmp(name, "order_url", 9) == 0) {
		buf_puts(b, "<a href=\"");
		mail_html_escape(b, val, strlen(val));
		buf_puts(b, "\">");
		mail_html_escape(b, val, strlen(val));
		buf_puts(b, "</a>");
	} else {
		mail_html_escape(b, val, strlen(val));
	}
}

/* Literal template text: lines end CRLF in text; in HTML a blank line ends a paragraph and a
 * single line end is a <br>. */
static void put_literal(struct buf *b, const char *s, size_t n, int html)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\r')
			continue;
		if (s[i] != '\n') {
			if (html)
				mail_html_escape(b, s + i, 1);
			else
				buf_append(b, s + i, 1);
		} else if (!html) {
			buf_puts(b, "\r\n");
		} else if (i + 1 < n && s[i + 1] == '\n') {
			buf_puts(b, "</p>\r\n<p>");
			while (i + 1 < n && (s[i + 1] == '\n' || s[i + 1] == '\r'))
				i++;
		} else {
			buf_puts(b, "<br>\r\n");
		}
	}
}

/* Removes the first n bytes of every occurrence of pat in s, in place. */
static void drop_all(char *s, const char *pat, size_t n)
{
	for (char *p = strstr(s, pat); p; p = strstr(p, pat))
		memmove(p, p + n, strlen(p + n) + 1);
}

char *mail_template_render(const char *tpl, const struct mail_values *v, int html)
{
	struct buf b;
	buf_init(&b);
	if (html)
		buf_printf(
		    &b,
		    "<!doctype html>\r\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
		    "</head>\r\n<body style=\"font-family:sans-serif;line-height:1.5\">\r\n<p>",
		    strcmp(v->lang, "zh-CN") == 0 ? "zh-CN" : "en");
	const char *p = tpl;
	for (;;) {
		const char *open = strchr(p, '{');
		size_t n = open ? placeholder_len(open + 1) : 0;
		if (!open) {
			put_literal(&b, p, strlen(p), html);
			break;
		}
		put_literal(&b, p, (size_t)(open - p), html);
		if (n)
			put_value(&b, v, open + 1, n, html);
		else
			put_literal(&b, open, 1, html);
		p = open + 1 + (n ? n + 1 : 0);
	}
	if (!html)
		return buf_release(&b);
	buf_puts(&b, "</p>\r\n</body></html>\r\n");
	char *out = buf_release(&b);
	/* the paragraphs a blank line around {keys} or at the end leaves empty */
	drop_all(out, "<br>\r\n</p>", 6);
	drop_all(out, "<p></p>\r\n", 9);
	drop_all(out, "<p></p>", 7);
	return out;
}
