/* Lookup by email alone: the request (one window of 10 minutes per address) and the mail of
 * the links to the address's recent orders, for a buyer who set no query password. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cardshop/config.h"
#include "cardshop/sec.h"
#include "internal.h"

#define LOOKUP_MAIL_WINDOW 600 /* seconds: at most one mail per address in it */
#define LOOKUP_MAIL_ORDERS 20

static const char *sql_prune = "DELETE FROM lookup_mail_sent WHERE sent_at <= :before";
static const char *sql_take = "INSERT INTO lookup_mail_sent (email_hash, sent_at)"
                              " VALUES (:h, :now) ON CONFLICT DO NOTHING";
static const char *sql_has_orders =
    "SELECT EXISTS (SELECT 1 FROM orders WHERE email = :email COLLATE NOCASE)";
static const char *sql_recent =
    "SELECT o.order_no, p.name, o.amount, o.currency, o.status, o.created_at, o.lang, o.email"
    " FROM orders o JOIN products p ON p.id = o.product_id"
    " WHERE o.email = :email COLLATE NOCASE ORDER BY o.created_at DESC, o.id DESC"
    " LIMIT :max";

struct request_ctx {
	const char *email;
	char hash[65];
	int queued;
};

/* A keyed hash of the lower-cased address: the window's key, useless without the secret. */
static void email_hash(const char *email, char out[65])
{
	struct buf b;
	buf_init(&b);
	buf_append(&b, "lookup-mail", 12); /* with its NUL: no other hash of ours collides */
	for (const char *p = email; *p; p++) {
		char c = (char)tolower((unsigned char)*p);
		buf_append(&b, &c, 1);
	}
	unsigned char h[32];
	sec_lookup_hash(b.data, b.len, h);
	sec_hex(h, 32, out);
	buf_cleanup(&b);
}

/* The window's two steps: drop what is older than it, then take this address's place. */
static int window_take(struct request_ctx *c, int64_t now)
{
	sqlite3_stmt *prune = db_stmt(sql_prune), *take = db_stmt(sql_take);
	if (!prune || !take)
		return -1;
	db_bind_int(prune, ":before", now - LOOKUP_MAIL_WINDOW);
	int rc = db_step(prune);
	sqlite3_reset(prune);
	if (rc != SQLITE_DONE)
		return db_log_error("lookup mail: pruning the window failed");
	db_bind_text(take, ":h", c->hash);
	db_bind_int(take, ":now", now);
	rc = db_step(take);
	sqlite3_reset(take);
	return rc == SQLITE_DONE ? 0 : db_log_error("lookup mail: taking the window failed");
}

/* Every request not inside its window writes the same row, with or without orders: the same
 * commit (and fsync) either way, so the answer's timing does not tell them apart. */
static int request_tx(sqlite3 *db, void *arg)
{
	struct request_ctx *c = arg;
	int64_t now = util_now();
	if (window_take(c, now) != 0)
		return -1;
	if (sqlite3_changes(db) == 0)
		return 0; /* asked within the window: nothing more */
	sqlite3_stmt *st = db_stmt(sql_has_orders);
	if (!st)
		return -1;
	db_bind_text(st, ":email", c->email);
	int rc = db_step(st);
	int has = rc == SQLITE_ROW && sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return db_log_error("lookup mail: reading orders failed");
	if (has && outbox_put(JOB_LOOKUP_MAIL, json_pack("{ss}", "email", c->email), 0) != 0)
		return -1;
	c->queued = has;
	return 0;
}

int order_lookup_mail_request(const char *email, struct shop_err *err)
{
	if (strlen(email) > 254 || !order_email_valid(email))
		return shop_fail(err, SHOP_INVALID, "email: not a valid address");
	struct request_ctx c = {.email = email};
	email_hash(email, c.hash);
	if (db_write(request_tx, &c) != 0)
		return shop_fail(err, SHOP_ERROR, "internal error");
	if (c.queued)
		outbox_wake();
	return 0;
}

/* ---- the mail ---- */

/* The status as the buyer reads it (a name it does not know is shown as stored). */
static const char *status_words(const char *s, int zh)
{
	enum order_status st;
	return order_status_parse(s, &st) == 0 ? mail_status_text(st, zh) : s;
}

struct line {
	char *no, *product, *status, *date, *url;
	char amount[48];
};

static void line_fill(const struct config *cfg, sqlite3_stmt *st, int zh, struct line *l)
{
	char token[33], date[32];
	l->no = xstrdup(db_col_text(st, 0));
	l->product = xstrdup(db_col_text(st, 1));
	mail_amount_format(l->amount, sizeof l->amount, sqlite3_column_int64(st, 2),
	                   db_col_text(st, 3), zh);
	l->status = xstrdup(status_words(db_col_text(st, 4), zh));
	time_t t = (time_t)sqlite3_column_int64(st, 5);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", &tm);
	l->date = xstrdup(date);
	order_token(l->no, token);
	l->url = xasprintf("%s/shop/order?order_no=%s&token=%s", cfg->base_url, l->no, token);
}

static void lines_free(struct line *l, int n)
{
	for (int i = 0; i < n; i++) {
		free(l[i].no);
		free(l[i].product);
		free(l[i].status);
		free(l[i].date);
		free(l[i].url);
	}
}

/* The rows into lines (the language and address from the newest). 0, or -1 on error. */
static int lines_read(const struct config *cfg, const char *email, struct line *l, int *n, int *zh,
                      char **to)
{
	sqlite3_stmt *st = db_stmt(sql_recent);
	if (!st)
		return -1;
	db_bind_text(st, ":email", email);
	db_bind_int(st, ":max", LOOKUP_MAIL_ORDERS);
	int rc = SQLITE_DONE;
	*n = 0;
	while (*n < LOOKUP_MAIL_ORDERS && (rc = db_step(st)) == SQLITE_ROW) {
		if (*n == 0) {
			*zh = strcmp(db_col_text(st, 6), "zh-CN") == 0;
			*to = xstrdup(db_col_text(st, 7));
		}
		line_fill(cfg, st, *zh, &l[(*n)++]);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		lines_free(l, *n);
		free(*to);
		*to = NULL;
		return db_log_error("lookup mail: reading orders failed");
	}
	return 0;
}

static const struct {
	const char *subject, *intro, *outro, *order, *product, *amount, *status, *date, *link;
} texts[2] = {
    {"[%s] Your orders",
     "You (or someone who typed your address) asked %s for the links to your orders. "
     "Your most recent orders, newest first:",
     "If you did not ask for this mail, you can ignore it.", "Order", "Product", "Amount", "Status",
     "Date", "Order page"},
    {"[%s] 您的订单",
     "您（或输入了您的邮箱的人）在 %s 请求了您的订单链接。您最近的订单（最新的在前）：",
     "如果这不是您本人的请求，请忽略此邮件。", "订单号", "商品", "金额", "状态", "日期",
     "订单页面"},
};

static char *text_part(const char *shop, const struct line *l, int n, int zh)
{
	struct buf b;
	buf_init(&b);
	buf_printf(&b, texts[zh].intro, shop);
	buf_puts(&b, "\r\n\r\n");
	for (int i = 0; i < n; i++)
		buf_printf(&b, "%s: %s\r\n%s: %s\r\n%s: %s\r\n%s: %s\r\n%s: %s\r\n%s: %s\r\n\r\n",
		           texts[zh].order, l[i].no, texts[zh].product, l[i].product,
		           texts[zh].amount, l[i].amount, texts[zh].status, l[i].status,
		           texts[zh].date, l[i].date, texts[zh].link, l[i].url);
	buf_printf(&b, "%s\r\n", texts[zh].outro);
	return buf_release(&b);
}

static void html_cell(struct buf *b, const char *s, const char *tag)
{
	buf_printf(b, "<%s style=\"text-align:left;padding:4px 8px\">", tag);
	mail_html_escape(b, s, strlen(s));
	buf_printf(b, "</%s>", tag);
}

static void html_row(struct buf *b, const struct line *l, int zh)
{
	buf_puts(b, "<tr>");
	html_cell(b, l->no, "td");
	html_cell(b, l->product, "td");
	html_cell(b, l->amount, "td");
	html_cell(b, l->status, "td");
	html_cell(b, l->date, "td");
	buf_puts(b, "<td style=\"padding:4px 8px\"><a href=\"");
	mail_html_escape(b, l->url, strlen(l->url));
	buf_puts(b, "\">");
	mail_html_escape(b, texts[zh].link, strlen(texts[zh].link));
	buf_puts(b, "</a></td></tr>\r\n");
}

static char *html_part(const char *shop, const struct line *l, int n, int zh)
{
	struct buf b;
	buf_init(&b);
	char *intro = xasprintf(texts[zh].intro, shop);
	buf_printf(&b,
	           "<!doctype html>\r\n<html lang=\"%s\"><head><meta charset=\"utf-8\"></head>\r\n"
	           "<body style=\"font-family:sans-serif;line-height:1.5\">\r\n<p>",
	           zh ? "zh-CN" : "en");
	mail_html_escape(&b, intro, strlen(intro));
	free(intro);
	buf_puts(&b, "</p>\r\n<table style=\"border-collapse:collapse\">\r\n<tr>");
	const char *heads[] = {texts[zh].order,  texts[zh].product, texts[zh].amount,
	                       texts[zh].status, texts[zh].date,    texts[zh].link};
	for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++)
		html_cell(&b, heads[i], "th");
	buf_puts(&b, "</tr>\r\n");
	for (int i = 0; i < n; i++)
		html_row(&b, &l[i], zh);
	buf_puts(&b, "</table>\r\n<p>");
	mail_html_escape(&b, texts[zh].outro, strlen(texts[zh].outro));
	buf_puts(&b, "</p>\r\n</body></html>\r\n");
	return buf_release(&b);
}

int lookup_mail_compose(const struct config *cfg, const char *email, struct mail *m)
{
	struct line l[LOOKUP_MAIL_ORDERS];
	int n = 0, zh = 0;
	char *to = NULL;
	if (lines_read(cfg, email, l, &n, &zh, &to) != 0)
		return -1;
	if (n == 0)
		return 1;
	m->to = to;
	m->subject = xasprintf(texts[zh].subject, cfg->shop_name);
	m->body = text_part(cfg->shop_name, l, n, zh);
	m->html = html_part(cfg->shop_name, l, n, zh);
	snprintf(m->lang, sizeof m->lang, "%s", zh ? "zh-CN" : "en");
	lines_free(l, n);
	return 0;
}
