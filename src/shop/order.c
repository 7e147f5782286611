/* Orders: validation, pricing, creation with key reservation (one transaction), the buyer's
 * view, lookup by email + query password, admin listing and expiry. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cardshop/config.h"
#include "cardshop/log.h"
#include "cardshop/metrics.h"
#include "cardshop/sec.h"
#include "internal.h"

static const char *const lang_choices[] = {"en", "zh-CN", NULL};
static const struct field order_fields[] = {
    {"lang", F_ENUM, 0, 0, lang_choices, 0},     {"product_id", F_INT, 1, INT64_MAX, NULL, 1},
    {"quantity", F_INT, 1, 100000, NULL, 1},     {"email", F_NAME, 3, 254, NULL, 1},
    {"gateway", F_NAME, 1, 32, NULL, 1},         {"coupon", F_NAME, 0, 64, NULL, 0},
    {"query_password", F_NAME, 0, 200, NULL, 0}, {"fields", F_ANY, 0, 0, NULL, 0},
    {"channel", F_NAME, 0, 32, NULL, 0},
};

/* "active" is whether it is on sale: a product of a hidden category is not. */
static const char *sql_product =
    "SELECT p.name, p.price, p.currency, p.min_qty, p.max_qty, p.delivery,"
    " p.active AND (p.category_id IS NULL OR"
    "  EXISTS (SELECT 1 FROM categories c WHERE c.id = p.category_id AND c.active = 1))"
    " FROM products p WHERE p.id = :id";
static const char *sql_order_insert =
    "INSERT INTO orders (order_no, product_id, quantity, unit_price, discount, amount, currency,"
    " email, query_pw_hash, gateway, coupon_id, status, client_ip, client_net, created_at,"
    " expires_at, delivery, lang, coupon_uses)"
    " VALUES (:no, :pid, :qty, :unit, :discount, :amount, :currency, :email, :pw, :gateway,"
    " :coupon, 'pending', :ip, :net, :now, :exp, :delivery, :lang, :coupon_uses)";
/* Unpaid orders still holding keys, of one client network and of one email, and when the
 * first of them frees its place. */
static const char *sql_pending_net =
    "SELECT count(*), min(expires_at) FROM orders WHERE client_net = :net AND status = 'pending'"
    " AND expires_at > :now";
static const char *sql_pending_email =
    "SELECT count(*), min(expires_at) FROM orders WHERE email = :email COLLATE NOCASE"
    " AND status = 'pending' AND expires_at > :now";
static const char *sql_reserve = "UPDATE card_keys SET status = 'reserved', order_id = :oid"
                                 " WHERE id IN (SELECT id FROM card_keys WHERE product_id = :pid"
                                 " AND " KEY_FREE("card_keys") " ORDER BY id LIMIT :qty)";

/* Plain syntax check: one '@', a dot in the domain, no spaces or controls. */
int order_email_valid(const char *e)
{
	const char *at = strchr(e, '@');
	if (!at || at == e || strchr(at + 1, '@') || strlen(at + 1) < 3)
		return 0;
	const char *dot = strrchr(at + 1, '.');
	if (!dot || dot == at + 1 || dot[1] == '\0')
		return 0;
	for (const char *p = e; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == ',' || c == ';' ||
		    c == '"')
			return 0;
	}
	return 1;
}

int order_parse(json_t *in, struct order_request *req, struct shop_err *err)
{
	if (shop_validate(in, order_fields, sizeof order_fields / sizeof order_fields[0], 1, err) !=
	    0)
		return -1;
	memset(req, 0, sizeof *req);
	req->product_id = shop_json_int(in, "product_id", 0);
	req->quantity = shop_json_int(in, "quantity", 0);
	req->email = shop_json_str(in, "email", "");
	req->gateway = shop_json_str(in, "gateway", "");
	req->coupon = shop_json_str(in, "coupon", NULL);
	req->query_password = shop_json_str(in, "query_password", NULL);
	req->lang = shop_json_str(in, "lang", NULL);
	req->fields = json_object_get(in, "fields"); /* checked against the product's fields */
	req->channel = shop_json_str(in, "channel", NULL);
	if (req->channel && !*req->channel)
		req->channel = NULL;
	if (req->coupon && !*req->coupon)
		req->coupon = NULL;
	if (req->query_password && !*req->query_password)
		req->query_password = NULL;
	if (!order_email_valid(req->email))
		return shop_fail(err, SHOP_INVALID, "email: not a valid address");

	if (req->query_password && strlen(req->query_password) < 4)
		return shop_fail(err, SHOP_INVALID, "query_password: at least 4 characters");
	return 0;
}

void order_token(const char *order_no, char out[33])
{
	sec_derive_token("order", order_no, out);
}

int order_token_ok(const char *order_no, const char *token)
{
	char want[33];
	if (!order_no || !token)
		return 0;
	order_token(order_no, want);
	return sec_streq(want, token);
}

/* Keyed hash of email + password: fast to check, useless to a thief without the secret. */
static void query_pw_hash(const char *email, const char *pw, char out[65])
{
	struct buf b;
	buf_init(&b);
	/* Addresses are matched without regard to case, so the hash is of the lower-case form. */
	for (const char *p = email; *p; p++) {
		char c = (char)tolower((unsigned char)*p);
		buf_append(&b, &c, 1);
	}
	buf_append(&b, "", 1); /* NUL separator: ("ab","c") and ("a","bc") differ */
	buf_puts(&b, pw);
	unsigned char h[32];
	sec_lookup_hash(b.data, b.len, h);
	sec_hex(h, 32, out);
	buf_cleanup(&b);
}

/* The day, the microsecond of the day (10 hex digits) and 6 random hex digits: numbers made in
 * time order go into the order-number indexes (orders, payment events, trade numbers) side by
 * side, so a batch of orders dirties a few index pages instead of one random page per order
 * and index: fewer WAL frames per commit, and the indexes' pages stay cached as the tables
 * grow (purchases +21% on the bench). Orders are created in the one writer, one after another,
 * so two numbers share a microsecond only after a clock step; the random part keeps them apart
 * then (the unique index refuses a clash rather than mixing two orders). */
static void new_order_no(char out[33])
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	long long usec = (long long)(ts.tv_sec % 86400) * 1000000 + ts.tv_nsec / 1000;
	char rnd[7];
	sec_random_hex(rnd, 3);
	snprintf(out, 33, "%04d%02d%02d%010llx%.6s", (tm.tm_year + 1900) % 10000,
	         (tm.tm_mon + 1) % 100, tm.tm_mday % 100, usec, rnd);
}

struct create_ctx {
	const struct config *cfg;
	const struct order_request *req;
	struct order_created *out;
	struct shop_err *err;
	char pw_hash[65];
	char net[48]; /* the client's network: an IPv4 address, an IPv6 /64 */
	struct order_extra x;
};

/* One client is an IPv4 address or an IPv6 /64 (what one subscriber gets): anything finer and
 * a single line could take a whole stock with fresh addresses. */
static void client_net(const char *ip, char out[48])
{
	unsigned char a[16];
	if (ip && inet_pton(AF_INET6, ip, a) == 1) {
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(a, mapped, 12) == 0) {
			snprintf(out, 48, "%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
			return;
		}
		memset(a + 8, 0, 8);
		/* The first 8 bytes as hex: one spelling per network, whatever the text form. */
		for (int i = 0; i < 8; i++)
			snprintf(out + 2 * i, 3, "%02x", a[i]);
		memcpy(out + 16, "/64", 4);
		return;
	}
	snprintf(out, 48, "%s", ip ? ip : "");
}

/* 0 when the count for (param, value) is under the cap; 1 (retry_after set) when it is not. */
static int pending_over(struct create_ctx *c, const char *sql, const char *param, const char *value,
                        int64_t now)
{
	sqlite3_stmt *st = db_stmt(sql);
	if (!st)
		return -1;
	db_bind_text(st, param, value);
	db_bind_int(st, ":now", now);
	int rc = db_step(st);
	int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	int64_t first = rc == SQLITE_ROW ? sqlite3_column_int64(st, 1) : 0;
	sqlite3_reset(st);
	if (n < 0)
		return db_log_error("pending count failed");
	if (n < c->cfg->pending_per_client)
		return 0;
	c->err->retry_after = first > now ? first - now : 1;
	return 1;
}

/* The hoarding caps: inside the creating transaction, so concurrent orders cannot pass them
 * together. */
static int check_pending(struct create_ctx *c)
{
	int64_t now = util_now();
	int over = c->net[0] ? pending_over(c, sql_pending_net, ":net", c->net, now) : 0;
	if (over == 0)
		over = pending_over(c, sql_pending_email, ":email", c->req->email, now);
	if (over < 0)
		return shop_fail(c->err, SHOP_ERROR, "internal error");
	if (over > 0)
		return shop_fail(c->err, SHOP_TOO_MANY_PENDING,
		                 "too many unpaid orders: pay or wait for one to expire");
	return 0;
}

struct product_row {
	int64_t price, min_qty, max_qty;
	int manual, active;
};

static int load_product(struct create_ctx *c, struct product_row *p)
{
	sqlite3_stmt *st = db_stmt(sql_product);
	if (!st)
		return -1;
	db_bind_int(st, ":id", c->req->product_id);
	if (db_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return shop_fail(c->err, SHOP_NOT_FOUND, "product_id: no such product");
	}
	/* Cut between characters: a gateway may refuse a name ending in half a character. */
	const char *name = db_col_text(st, 0);
	size_t nlen = util_utf8_prefix(name, sizeof c->out->product_name - 1);
	memcpy(c->out->product_name, name, nlen);
	c->out->product_name[nlen] = '\0';
	p->price = sqlite3_column_int64(st, 1);
	snprintf(c->out->currency, sizeof c->out->currency, "%s", db_col_text(st, 2));
	p->min_qty = sqlite3_column_int64(st, 3);
	p->max_qty = sqlite3_column_int64(st, 4);
	p->manual = strcmp(db_col_text(st, 5), "manual") == 0;
	p->active = sqlite3_column_int(st, 6);
	sqlite3_reset(st);
	if (!p->active)
		return shop_fail(c->err, SHOP_NOT_FOUND, "product_id: no such product");
	int64_t q = c->req->quantity;
	/* No product limit still has one: a single order must not take a whole stock. */
	int64_t max = p->max_qty > 0 ? p->max_qty : c->cfg->default_max_qty;
	if (max < p->min_qty)
		max = p->min_qty;
	if (q < p->min_qty || q > max)
		return shop_fail(c->err, SHOP_INVALID, "quantity: must be from %lld to %lld",
		                 (long long)p->min_qty, (long long)max);
	return 0;
}

static int insert_order(struct create_ctx *c, const struct price *pr, int manual)
{
	int64_t now = util_now();
	new_order_no(c->out->order_no);
	sqlite3_stmt *st = db_stmt(sql_order_insert);
	if (!st)
		return -1;
	db_bind_text(st, ":no", c->out->order_no);
	db_bind_int(st, ":pid", c->req->product_id);
	db_bind_int(st, ":qty", c->req->quantity);
	db_bind_int(st, ":unit", pr->unit);
	db_bind_int(st, ":discount", pr->discount);
	db_bind_int(st, ":coupon_uses", pr->coupon_uses);
	db_bind_int(st, ":amount", c->out->amount);
	db_bind_text(st, ":currency", c->out->currency);
	db_bind_text(st, ":email", c->req->email);
	db_bind_text(st, ":pw", c->req->query_password ? c->pw_hash : NULL);
	db_bind_text(st, ":gateway", c->req->gateway);
	if (pr->coupon_id)
		db_bind_int(st, ":coupon", pr->coupon_id);
	else
		db_bind_null(st, ":coupon");
	db_bind_text(st, ":ip", c->req->ip ? c->req->ip : "");
	db_bind_text(st, ":net", c->net);
	db_bind_int(st, ":now", now);
	db_bind_int(st, ":exp", now + c->cfg->order_ttl);
	db_bind_text(st, ":delivery", manual ? "manual" : "auto");
	db_bind_text(st, ":lang",
	             c->req->lang && strcmp(c->req->lang, "zh-CN") == 0 ? "zh-CN" : "en");
	if (db_step(st) != SQLITE_DONE)
		return db_log_error("order insert failed");
	c->out->id = sqlite3_last_insert_rowid(db_conn());
	c->out->expires_at = now + c->cfg->order_ttl;
	return 0;
}

/* Reserves exactly quantity keys for the order, or fails as out of stock. */
int order_reserve_keys(int64_t order_id, int64_t product_id, int64_t qty)
{
	sqlite3_stmt *st = db_stmt(sql_reserve);
	if (!st)
		return -1;
	db_bind_int(st, ":oid", order_id);
	db_bind_int(st, ":pid", product_id);
	db_bind_int(st, ":qty", qty);
	if (db_step(st) != SQLITE_DONE)
		return db_log_error("reserve keys failed");
	return sqlite3_changes(db_conn()) == qty ? 0 : 1;
}

static int create_tx(sqlite3 *db, void *arg)
{
	(void)db;
	struct create_ctx *c = arg;
	struct product_row p = {0};
	if (load_product(c, &p) != 0 || check_pending(c) != 0)
		return -1;
	order_extra_cleanup(&c->x);
	if (order_extra_check(c->req->product_id, c->req->quantity, p.manual, c->req->fields, 1,
	                      &c->x, c->err) != 0)
		return -1;
	struct price pr;
	if (pricing_compute(c->req->product_id, p.price, c->req->quantity, c->req->coupon, 1, &pr,
	                    c->err) != 0)
		return -1;
	c->out->amount = pr.amount;
	if (insert_order(c, &pr, p.manual) != 0 || order_extra_store(c->out->id, &c->x) != 0)
		return shop_fail(c->err, SHOP_ERROR, "internal error");
	if (c->x.loop) { /* nothing reserved: the key stays for every buyer */
		int r = loop_key_free(c->req->product_id);
		if (r != 1)
			return r < 0 ? shop_fail(c->err, SHOP_ERROR, "internal error")
			             : shop_fail(c->err, SHOP_OUT_OF_STOCK, "no key in stock");
	} else if (!p.manual) {
		int r = order_reserve_keys(c->out->id, c->req->product_id, c->req->quantity);
		if (r != 0)
			return r < 0 ? shop_fail(c->err, SHOP_ERROR, "internal error")
			             : shop_fail(c->err, SHOP_OUT_OF_STOCK,
			                         "not enough keys in stock");
	}
	/* A 100% coupon: nothing to pay, so the order is settled now, like a paid one. */
	if (c->out->amount == 0) {
		if (payment_settle_free(c->out->id, c->req->quantity, p.manual) != 0)
			return shop_fail(c->err, SHOP_ERROR, "internal error");
		snprintf(c->out->status, sizeof c->out->status, "%s",
		         order_status_name(p.manual ? ORDER_PAID : ORDER_DELIVERED));
	}
	return 0;
}

int order_create(const struct config *cfg, const struct order_request *req,
                 struct order_created *out, struct shop_err *err)
{
	memset(out, 0, sizeof *out);
	struct create_ctx c = {.cfg = cfg, .req = req, .out = out, .err = err};
	if (req->query_password)
		query_pw_hash(req->email, req->query_password, c.pw_hash);
	client_net(req->ip, c.net);
	err->status = SHOP_OK;
	int rc = db_write(create_tx, &c);
	order_extra_cleanup(&c.x);
	if (rc != 0) {
		if (err->status == SHOP_OK)
			shop_fail(err, SHOP_ERROR, "internal error");
		return -1;
	}
	order_token(out->order_no, out->token);
	catalog_stock_changed(req->product_id);
	if (!out->status[0])
		snprintf(out->status, sizeof out->status, "%s", order_status_name(ORDER_PENDING));
	else
		outbox_wake(); /* settled at once: its mail is queued */
	metrics_inc(M_ORDERS_CREATED, 1);
	return 0;
}

/* ---- the quote ---- */

/* The quote takes the order body without email; a stand-in address lets it pass through the
 * very same order_parse, so it is refused exactly where the order would be. It is never
 * stored: a quote writes nothing. */
int order_parse_quote(json_t *in, struct order_request *req, struct shop_err *err)
{
	if (json_is_object(in) && !json_object_get(in, "email"))
		json_object_set_new(in, "email", json_string("quote@quote.invalid"));
	return order_parse(in, req, err);
}

static const char *sql_quote_stock = "SELECT available FROM product_stock WHERE product_id = :pid";

/* The order's last refusal, from the counter instead of a reservation: 0, or -1 with err. */
static int quote_stock(int64_t product_id, int64_t quantity, struct shop_err *err)
{
	sqlite3_stmt *st = db_stmt(sql_quote_stock);
	if (!st)
		return shop_fail(err, SHOP_ERROR, "internal error");
	db_bind_int(st, ":pid", product_id);
	int rc = db_step(st);
	int64_t available = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		db_log_error("quote stock read failed");
		return shop_fail(err, SHOP_ERROR, "internal error");
	}
	if (available < quantity)
		return shop_fail(err, SHOP_OUT_OF_STOCK, "not enough keys in stock");
	return 0;
}

int order_quote(const struct config *cfg, const struct order_request *req, struct order_price *out,
                struct shop_err *err)
{
	memset(out, 0, sizeof *out);
	struct order_created scratch = {0};
	struct create_ctx c = {.cfg = cfg, .req = req, .out = &scratch, .err = err};
	struct product_row p = {0};
	err->status = SHOP_OK;
	struct price pr;
	/* In the order's own sequence: product and quantity, price and coupon, then stock. */
	int rc = load_product(&c, &p);
	if (rc == 0)
		rc = order_extra_check(req->product_id, req->quantity, p.manual, req->fields,
		                       req->fields != NULL, &c.x, err);
	if (rc == 0)
		rc = pricing_compute(req->product_id, p.price, req->quantity, req->coupon, 0, &pr,
		                     err);
	if (rc == 0 && c.x.loop) { /* one key for every buyer: there or not */
		int r = loop_key_free(req->product_id);
		rc = r == 1 ? 0
		            : shop_fail(err, r < 0 ? SHOP_ERROR : SHOP_OUT_OF_STOCK,
		                        r < 0 ? "internal error" : "no key in stock");
	} else if (rc == 0 && !p.manual) {
		rc = quote_stock(req->product_id, req->quantity, err);
	}
	order_extra_cleanup(&c.x);
	if (rc != 0) {
		if (err->status == SHOP_OK)
			shop_fail(err, SHOP_ERROR, "internal error");
		return -1;
	}
	out->unit_price = pr.unit;
	out->quantity = req->quantity;
	out->subtotal = pr.subtotal;
	out->discount = pr.discount;
	out->amount = pr.amount;
	out->coupon_units = pr.coupon_uses;
	memcpy(out->currency, scratch.currency, sizeof out->currency);
	return 0;
}

/* ---- the order row ---- */

#define ROW_COLUMNS                                                                                \
	"SELECT o.id, o.order_no, o.status, o.amount, o.currency, o.product_id, o.quantity,"       \
	" o.delivery, o.gateway, o.email, p.name, o.lang, o.loop_key"                              \
	" FROM orders o JOIN products p ON p.id = o.product_id"
static const char *sql_row_by_no = ROW_COLUMNS " WHERE o.order_no = :no";
static const char *sql_row_by_id = ROW_COLUMNS " WHERE o.id = :id";

static int read_row(sqlite3_stmt *st, struct order_row *o)
{
	int rc = db_step(st);
	int found = rc == SQLITE_ROW;
	if (found) {
		memset(o, 0, sizeof *o);
		o->id = sqlite3_column_int64(st, 0);
		snprintf(o->order_no, sizeof o->order_no, "%s", db_col_text(st, 1));
		if (order_status_parse(db_col_text(st, 2), &o->status) != 0) {
			log_error("order has an unknown status",
			          json_pack("{sI}", "order_id", (json_int_t)o->id));
			found = -1;
		}
		o->amount = sqlite3_column_int64(st, 3);
		snprintf(o->currency, sizeof o->currency, "%s", db_col_text(st, 4));
		o->product_id = sqlite3_column_int64(st, 5);
		o->quantity = sqlite3_column_int64(st, 6);
		o->manual = strcmp(db_col_text(st, 7), "manual") == 0;
		snprintf(o->gateway, sizeof o->gateway, "%s", db_col_text(st, 8));
		snprintf(o->email, sizeof o->email, "%s", db_col_text(st, 9));
		snprintf(o->product_name, sizeof o->product_name, "%s", db_col_text(st, 10));
		snprintf(o->lang, sizeof o->lang, "%s", db_col_text(st, 11));
		o->loop = sqlite3_column_int(st, 12);
	} else if (rc != SQLITE_DONE) {
		found = db_log_error("order load failed");
	}
	sqlite3_reset(st);
	return found;
}

int order_load(const char *order_no, struct order_row *o)
{
	sqlite3_stmt *st = db_stmt(sql_row_by_no);
	if (!st)
		return -1;
	db_bind_text(st, ":no", order_no ? order_no : "");
	return read_row(st, o);
}

int order_load_id(int64_t id, struct order_row *o)
{
	sqlite3_stmt *st = db_stmt(sql_row_by_id);
	if (!st)
		return -1;
	db_bind_int(st, ":id", id);
	return read_row(st, o);
}

/* ---- views ---- */

#define ORDER_COLUMNS                                                                              \
	"SELECT o.id, o.order_no, o.status, o.amount, o.currency, o.quantity, o.product_id,"       \
	" o.created_at, o.paid_at, o.expires_at, o.delivered_at, p.name, o.email, o.gateway,"      \
	" o.discount, (SELECT trade_no FROM payments WHERE order_id = o.id), o.fields"             \
	" FROM orders o JOIN products p ON p.id = o.product_id"

static const char *sql_order_by_no = ORDER_COLUMNS " WHERE o.order_no = :no";
/* Its own sold keys, and the loop key it was given (linked, still available to others). */
static const char *sql_order_keys =
    "SELECT secret FROM card_keys WHERE (order_id = :oid AND status = 'sold')"
    " OR id IN (SELECT key_id FROM order_keys WHERE order_id = :oid) ORDER BY id";
static const char *sql_lookup =
    ORDER_COLUMNS " WHERE o.email = :email COLLATE NOCASE AND o.query_pw_hash = :h"
                  " ORDER BY o.id DESC LIMIT 50";

static json_t *nullable_int(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL
	           ? json_null()
	           : json_integer(sqlite3_column_int64(st, col));
}

static json_t *order_row_json(sqlite3_stmt *st)
{
	json_t *o = json_pack("{ss ss sI ss sI sI sI}", "order_no", db_col_text(st, 1), "status",
	                      db_col_text(st, 2), "amount", (json_int_t)sqlite3_column_int64(st, 3),
	                      "currency", db_col_text(st, 4), "quantity",
	                      (json_int_t)sqlite3_column_int64(st, 5), "product_id",
	                      (json_int_t)sqlite3_column_int64(st, 6), "created_at",
	                      (json_int_t)sqlite3_column_int64(st, 7));
	if (!o)
		return NULL;
	json_object_set_new(o, "paid_at", nullable_int(st, 8));
	json_object_set_new(o, "expires_at", nullable_int(st, 9));
	json_object_set_new(o, "delivered_at", nullable_int(st, 10));
	json_object_set_new(o, "product_name", json_string(db_col_text(st, 11)));
	json_object_set_new(o, "gateway", json_string(db_col_text(st, 13)));
	return o;
}

/* Decrypted keys of a delivered order; the caller's JSON is the only place they live. */
int order_keys_json(int64_t order_id, json_t **out)
{
	*out = NULL;
	sqlite3_stmt *st = db_stmt(sql_order_keys);
	if (!st)
		return -1;
	json_t *keys = json_array();
	db_bind_int(st, ":oid", order_id);
	int rc, bad = 0;
	while (!bad && (rc = db_step(st)) == SQLITE_ROW) {
		char *plain;
		size_t n;
		if (sec_decrypt(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
		                &plain, &n) != 0) {
			log_error("card key does not decrypt",
			          json_pack("{sI}", "order_id", (json_int_t)order_id));
			bad = 1;
			break;
		}
		json_array_append_new(keys, json_stringn(plain, n));
		sec_wipe(plain, n);
		free(plain);
	}
	if (!bad && rc != SQLITE_DONE)
		bad = db_log_error("reading the order's keys failed") != 0;
	sqlite3_reset(st);
	if (bad) {
		json_decref(keys);
		return -1;
	}
	*out = keys;
	return 0;
}

json_t *order_view(const char *order_no, int with_keys, struct shop_err *err)
{
	sqlite3_stmt *st = db_stmt(sql_order_by_no);
	if (!st) {
		shop_fail(err, SHOP_ERROR, "internal error");
		return NULL;
	}
	db_bind_text(st, ":no", order_no);
	int rc = db_step(st);
	if (rc != SQLITE_ROW) {
		if (rc != SQLITE_DONE)
			db_log_error("order view failed");
		sqlite3_reset(st);
		shop_fail(err, rc == SQLITE_DONE ? SHOP_NOT_FOUND : SHOP_ERROR,
		          rc == SQLITE_DONE ? "order not found" : "internal error");
		return NULL;
	}
	json_t *o = order_row_json(st);
	int64_t id = sqlite3_column_int64(st, 0);
	int delivered = strcmp(db_col_text(st, 2), order_status_name(ORDER_DELIVERED)) == 0;
	sqlite3_reset(st);
	json_t *keys = NULL;
	if (!o || (with_keys && delivered && order_keys_json(id, &keys) != 0)) {
		json_decref(o);
		shop_fail(err, SHOP_ERROR, "internal error");
		return NULL;
	}
	json_object_set_new(o, "keys", keys ? keys : json_array());
	return o;
}

static json_t *lookup_row(sqlite3_stmt *st)
{
	json_t *o = order_row_json(st);
	char token[33];
	order_token(db_col_text(st, 1), token);
	if (o)
		json_object_set_new(o, "token", json_string(token));
	return o;
}

json_t *order_lookup(const char *email, const char *query_password, struct shop_err *err)
{
	char h[65];
	query_pw_hash(email, query_password, h);
	sqlite3_stmt *st = db_stmt(sql_lookup);
	if (!st) {
		shop_fail(err, SHOP_ERROR, "internal error");
		return NULL;
	}
	db_bind_text(st, ":email", email);
	db_bind_text(st, ":h", h);
	return shop_rows_json(st, lookup_row, err);
}

/* ---- expiry ----
 * Which orders expire: pending ones past their time, either one named order (:no), or all of
 * them except those whose gateway must be asked first (:skip, ",epay,"), unless they are past
 * the grace an unreachable gateway gets. */
/* An order whose gateway cannot be asked keeps its keys this much past its time, then goes
 * back on sale: long enough to ride out a gateway's short outage, short enough that a dead
 * gateway cannot be used to hold a stock (docs/api.md). */
#define EXPIRE_GRACE "300"
#define DUE_ORDERS                                                                                 \
	"SELECT id FROM orders WHERE status = 'pending' AND expires_at <= :now AND"                \
	" ((:no = '' AND (instr(:skip, ',' || gateway || ',') = 0"                                 \
	"   OR expires_at <= :now - " EXPIRE_GRACE "))"                                            \
	"  OR (:no <> '' AND order_no = :no))"

static const char *sql_expire_keys =
    "UPDATE card_keys SET status = 'available', order_id = NULL WHERE status = 'reserved'"
    " AND order_id IN (" DUE_ORDERS ")";
static const char *sql_expire_coupons =
    "UPDATE coupons SET used = used - n.c,"
    " uses_left = CASE WHEN uses_left IS NULL THEN NULL ELSE uses_left + n.c END"
    " FROM (SELECT coupon_id, sum(coupon_uses) AS c FROM orders WHERE id IN (" DUE_ORDERS ")"
    "       AND coupon_id IS NOT NULL GROUP BY coupon_id) AS n"
    " WHERE coupons.id = n.coupon_id";
static const char *sql_expire_orders =
    "UPDATE orders SET status = 'expired' WHERE id IN (" DUE_ORDERS ")";
static const char *sql_any_due = "SELECT EXISTS (" DUE_ORDERS ")";
static const char *sql_due_list =
    "SELECT order_no, gateway, gateway_ref FROM orders WHERE status = 'pending'"
    " AND expires_at <= :now"
    " AND instr(:gateways, ',' || gateway || ',') > 0 ORDER BY expires_at LIMIT :max";

struct expire_ctx {
	int64_t now;
	const char *skip, *no;
	int expired;
};

static int run_expiry(const char *sql, const struct expire_ctx *c)
{
	sqlite3_stmt *st = db_stmt(sql);
	if (!st)
		return -1;
	db_bind_int(st, ":now", c->now);
	db_bind_text(st, ":skip", c->skip);
	db_bind_text(st, ":no", c->no);
	int rc = db_step(st);
	int any = rc == SQLITE_ROW && sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_log_error("expiry step failed");
	return any;
}

static int expire_tx(sqlite3 *db, void *arg)
{
	struct expire_ctx *c = arg;
	/* Keys and coupon uses first: they find their orders by the status changed last. */
	if (run_expiry(sql_expire_keys, c) < 0 || run_expiry(sql_expire_coupons, c) < 0 ||
	    run_expiry(sql_expire_orders, c) < 0)
		return -1;
	c->expired = sqlite3_changes(db);
	return 0;
}

static json_t *due_row(sqlite3_stmt *st)
{
	const char *ref = (const char *)sqlite3_column_text(st, 2);
	return json_pack("{ss ss ss*}", "order_no", db_col_text(st, 0), "gateway",
	                 db_col_text(st, 1), "gateway_ref", ref);
}

json_t *orders_due_json(int64_t now, const char *gateways, int max, struct shop_err *err)
{
	sqlite3_stmt *st = db_stmt(sql_due_list);
	if (!st) {
		shop_fail(err, SHOP_ERROR, "internal error");
		return NULL;
	}
	db_bind_int(st, ":now", now);
	db_bind_text(st, ":gateways", gateways);
	db_bind_int(st, ":max", max);
	return shop_rows_json(st, due_row, err);
}

static int expire(int64_t now, const char *skip, const char *order_no)
{
	struct expire_ctx c = {.now = now, .skip = skip, .no = order_no};
	/* A read first: most ticks have nothing to expire and need no write (or fsync). */
	int due = run_expiry(sql_any_due, &c);
	if (due <= 0)
		return due;
	if (db_write(expire_tx, &c) != 0)
		return -1;
	if (c.expired > 0) {
		catalog_stock_changed(0);
		metrics_inc(M_ORDERS_EXPIRED, (uint64_t)c.expired);
		log_info("orders expired", json_pack("{si}", "count", c.expired));
	}
	return c.expired;
}

int orders_expire(int64_t now, const char *skip_gateways)
{
	return expire(now, skip_gateways ? skip_gateways : "", "");
}

int order_expire(const char *order_no, int64_t now)
{
	return expire(now, "", order_no);
}
