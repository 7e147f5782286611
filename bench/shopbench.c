/* Benchmarks that need more than wrk: the bare SQLite claim transaction (the ceiling for a
 * purchase) and full purchases over HTTP (create order, signed EPay notify, view order).
 *   shopbench claim DB SECONDS
 *   shopbench purchase BASE_URL PID KEY PRODUCT_ID THREADS SECONDS
 *   shopbench create BASE_URL PRODUCT_ID THREADS SECONDS (order creation alone) */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cardshop/db.h"
#include "cardshop/sec.h"
#include "cardshop/util.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- claim: what one paid order costs SQLite, with nothing else around it ---- */

static void must(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "shopbench: %s: %s\n", sql, msg ? msg : "?");
		exit(1);
	}
}

static void seed(sqlite3 *db, int keys)
{
	must(db, "BEGIN");
	must(db, "INSERT INTO products (id, name, price, currency, created_at, updated_at)"
	         " VALUES (1, 'bench', 100, 'CNY', 0, 0)");
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db,
	                   "INSERT INTO card_keys (product_id, secret, hash, created_at)"
	                   " VALUES (1, randomblob(60), randomblob(32), 0)",
	                   -1, &st, NULL);
	for (int i = 0; i < keys; i++) {
		sqlite3_step(st);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	must(db, "COMMIT");
}

static int claim_one(sqlite3 *db, sqlite3_stmt **s, int n)
{
	char no[40];
	snprintf(no, sizeof no, "bench%d", n);
	must(db, "BEGIN IMMEDIATE");
	sqlite3_bind_text(s[0], 1, no, -1, SQLITE_TRANSIENT);
	sqlite3_step(s[0]);
	sqlite3_int64 oid = sqlite3_last_insert_rowid(db);
	for (int i = 1; i < 5; i++) {
		sqlite3_bind_int64(s[i], 1, oid);
		if (sqlite3_step(s[i]) != SQLITE_DONE)
			return -1;
	}
	for (int i = 0; i < 5; i++)
		sqlite3_reset(s[i]);
	must(db, "COMMIT");
	return 0;
}

static int cmd_claim(const char *path, double seconds)
{
	char err[256];
	if (db_init(path, 5000, err, sizeof err) != 0 || db_migrate() < 0) {
		fprintf(stderr, "shopbench: %s\n", err);
		return 1;
	}
	sqlite3 *db = db_conn();
	seed(db, 200000);
	static const char *sql[5] = {
	    "INSERT INTO orders (order_no, product_id, quantity, unit_price, amount, currency, "
	    "email,"
	    " gateway, created_at, expires_at) VALUES (?1, 1, 1, 100, 100, 'CNY', 'a@b.c', 'epay', "
	    "0, 9e9)",
	    "UPDATE card_keys SET status = 'reserved', order_id = ?1 WHERE id IN (SELECT id FROM"
	    " card_keys WHERE product_id = 1 AND status = 'available' ORDER BY id LIMIT 1)",
	    "INSERT INTO payments (order_id, gateway, trade_no, amount, created_at)"
	    " VALUES (?1, 'epay', 'T' || ?1, 100, 0)",
	    "UPDATE card_keys SET status = 'sold', sold_at = 0 WHERE order_id = ?1 AND status = "
	    "'reserved'",
	    "UPDATE orders SET status = 'delivered', paid_at = 0, delivered_at = 0 WHERE id = ?1"
	    " AND status = 'pending'",
	};
	sqlite3_stmt *s[5];
	for (int i = 0; i < 5; i++)
		sqlite3_prepare_v2(db, sql[i], -1, &s[i], NULL);
	int n = 0;
	double start = now_s();
	while (now_s() - start < seconds) {
		if (claim_one(db, s, n) != 0) {
			fprintf(stderr, "shopbench: claim failed: %s\n", sqlite3_errmsg(db));
			return 1;
		}
		n++;
	}
	double el = now_s() - start;
	for (int i = 0; i < 5; i++)
		sqlite3_finalize(s[i]);
	db_shutdown();
	printf("%.2f\n", n / el);
	fprintf(stderr, "claim: %d transactions in %.2f s (synchronous=FULL, WAL)\n", n, el);
	return 0;
}

/* ---- purchase: create + notify + view over HTTP, several client threads ---- */

struct purchase_cfg {
	const char *base, *pid, *key;
	int port;
	long product;
	double seconds;
	int create_only; /* only POST /api/orders: one durable commit per order */
};

struct worker {
	const struct purchase_cfg *cfg;
	int done, failed;
	double *lat;
	int nlat, cap;
};

/* A minimal keep-alive HTTP/1.1 client over one blocking socket: the load generator shares the
 * two cores with the server, so it must cost as little as possible per request. */
struct conn {
	int fd;
	int port;
};

static int conn_open(struct conn *c)
{
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return connect(c->fd, (struct sockaddr *)&a, sizeof a);
}

/* Sends one request and reads the reply into out (body only); returns the status or -1. */
static long request_h(struct conn *c, const char *method, const char *path, const char *json,
                      const char *extra, struct buf *out)
{
	char head[1024];
	int n = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", method,
	                 path, extra);
	if (json)
		n = snprintf(
		    head, sizeof head,
		    "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sContent-Type: application/json\r\n"
		    "Content-Length: %zu\r\n\r\n%s",
		    method, path, extra, strlen(json), json);
	if (send(c->fd, head, (size_t)n, MSG_NOSIGNAL) != n)
		return -1;
	struct buf in;
	buf_init(&in);
	char chunk[4096];
	long status = -1;
	for (;;) {
		ssize_t r = recv(c->fd, chunk, sizeof chunk, 0);
		if (r <= 0)
			break;
		buf_append(&in, chunk, (size_t)r);
		const char *end = strstr(buf_cstr(&in), "\r\n\r\n");
		if (!end)
			continue;
		const char *cl = strcasestr(in.data, "Content-Length:");
		size_t body = cl ? (size_t)strtoul(cl + 15, NULL, 10) : 0;
		size_t hlen = (size_t)(end - in.data) + 4;
		if (in.len < hlen + body)
			continue;
		status = strtol(in.data + 9, NULL, 10);
		out->len = 0;
		buf_append(out, in.data + hlen, body);
		break;
	}
	buf_cleanup(&in);
	return status;
}

static long request(struct conn *c, const char *method, const char *path, const char *json,
                    struct buf *out)
{
	return request_h(c, method, path, json, "", out);
}

/* Extracts "name":"value" from a flat JSON answer (enough for our own replies). */
static int json_field(const char *json, const char *name, char *out, size_t n)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\":\"", name);
	const char *p = strstr(json, pat);
	if (!p)
		return -1;
	p += strlen(pat);
	const char *e = strchr(p, '"');
	if (!e || (size_t)(e - p) >= n)
		return -1;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
	return 0;
}

/* A signed EPay notify paying order no (trade number prefix+no); 1 when answered success. */
static int notify_paid(struct conn *c, const struct purchase_cfg *cfg, const char *no,
                       const char *trade_prefix, struct buf *b)
{
	char sign_in[512], sign[33], url[512];
	snprintf(sign_in, sizeof sign_in,
	         "money=1.00&name=bench&out_trade_no=%s&pid=%s&trade_no=%s%s"
	         "&trade_status=TRADE_SUCCESS&type=alipay%s",
	         no, cfg->pid, trade_prefix, no, cfg->key);
	sec_md5_hex(sign_in, strlen(sign_in), sign);
	snprintf(url, sizeof url,
	         "/pay/epay/notify?money=1.00&name=bench&out_trade_no=%s&pid=%s"
	         "&trade_no=%s%s&trade_status=TRADE_SUCCESS&type=alipay&sign=%s&sign_type=MD5",
	         no, cfg->pid, trade_prefix, no, sign);
	return request(c, "GET", url, NULL, b) == 200 && strcmp(buf_cstr(b), "success") == 0;
}

static int purchase(struct conn *c, const struct purchase_cfg *cfg, int n, struct buf *b)
{
	char url[512], no[64], token[64];
	snprintf(url, sizeof url, "/api/orders");
	char body[256];
	snprintf(body, sizeof body,
	         "{\"product_id\":%ld,\"quantity\":1,\"email\":\"b%d@bench.test\","
	         "\"gateway\":\"epay\"}",
	         cfg->product, n);
	/* Orders alone stay unpaid: each comes from its own forwarded address, as in a sale of many
	 * buyers, so the hoarding cap counts a few orders per address, not every one. */
	char xff[96] = "";
	if (cfg->create_only)
		snprintf(xff, sizeof xff, "X-Forwarded-For: 10.%d.%d.%d\r\n", (n >> 16) & 255,
		         (n >> 8) & 255, n & 255);
	if (request_h(c, "POST", url, body, xff, b) != 201 ||
	    json_field(b->data, "order_no", no, sizeof no) ||
	    json_field(b->data, "token", token, sizeof token))
		return -1;
	if (cfg->create_only)
		return 0;
	if (!notify_paid(c, cfg, no, "T", b))
		return -1;
	snprintf(url, sizeof url, "/api/orders/%s?token=%s", no, token);
	if (request(c, "GET", url, NULL, b) != 200 || !strstr(buf_cstr(b), "\"delivered\""))
		return -1;
	return 0;
}

static void *purchase_worker(void *arg)
{
	struct worker *w = arg;
	struct conn c = {.port = w->cfg->port};
	if (conn_open(&c) != 0)
		return NULL;
	struct buf b;
	buf_init(&b);
	double start = now_s();
	static int counter;
	while (now_s() - start < w->cfg->seconds) {
		double t0 = now_s();
		int n = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
		if (purchase(&c, w->cfg, n, &b) != 0) {
			w->failed++;
			continue;
		}
		if (w->nlat == w->cap) {
			w->cap = w->cap ? w->cap * 2 : 1024;
			w->lat = xrealloc(w->lat, (size_t)w->cap * sizeof *w->lat);
		}
		w->lat[w->nlat++] = now_s() - t0;
		w->done++;
	}
	buf_cleanup(&b);
	close(c.fd);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int cmd_purchase(struct purchase_cfg *cfg, int threads)
{
	const char *colon = strrchr(cfg->base, ':');
	cfg->port = colon ? atoi(colon + 1) : 80;
	pthread_t tid[64];
	struct worker w[64] = {0};
	if (threads < 1 || threads > 64)
		threads = 8;
	double start = now_s();
	for (int i = 0; i < threads; i++) {
		w[i].cfg = cfg;
		pthread_create(&tid[i], NULL, purchase_worker, &w[i]);
	}
	int done = 0, failed = 0, nlat = 0;
	double *all = NULL;
	for (int i = 0; i < threads; i++) {
		pthread_join(tid[i], NULL);
		done += w[i].done;
		failed += w[i].failed;
		all = xrealloc(all, (size_t)(nlat + w[i].nlat + 1) * sizeof *all);
		memcpy(all + nlat, w[i].lat, (size_t)w[i].nlat * sizeof *all);
		nlat += w[i].nlat;
		free(w[i].lat);
	}
	double el = now_s() - start;
	qsort(all, (size_t)nlat, sizeof *all, cmp_double);
	double p99 = nlat ? all[(size_t)(nlat * 0.99)] * 1000 : 0;
	free(all);
	printf("%.2f|%.2fms|%d %s, %d failed, %d clients\n", done / el, p99, done,
	       cfg->create_only ? "orders created" : "purchases (3 requests each)", failed,
	       threads);
	return failed > done / 100 ? 1 : 0;
}

/* Flash sale: `buyers` buyers, each from its own forwarded address, race for a product's few
 * keys (one order of one key each, `threads` at a time); then every accepted order is paid
 * by a signed EPay notify. Prints accepted|sold out|5xx|other|order p99|delivered. */
struct flash {
	const struct purchase_cfg *cfg;
	int buyers, threads, next;
	int ok, soldout, s5xx, other, delivered;
	double *lat;
	char (*orders)[64];
	pthread_mutex_t lock;
};

static void *flash_worker(void *arg)
{
	struct flash *f = arg;
	struct buf b;
	buf_init(&b);
	for (;;) {
		int i = __atomic_fetch_add(&f->next, 1, __ATOMIC_RELAXED);
		if (i >= f->buyers)
			break;
		struct conn c = {.port = f->cfg->port};
		if (conn_open(&c) != 0) {
			__atomic_fetch_add(&f->other, 1, __ATOMIC_RELAXED);
			continue;
		}
		char body[256], xff[96], no[64];
		snprintf(body, sizeof body,
		         "{\"product_id\":%ld,\"quantity\":1,\"email\":\"f%d@bench.test\","
		         "\"gateway\":\"epay\"}",
		         f->cfg->product, i);
		snprintf(xff, sizeof xff, "X-Forwarded-For: 10.%d.%d.%d\r\n", (i >> 16) & 255,
		         (i >> 8) & 255, i & 255);
		double t0 = now_s();
		long st = request_h(&c, "POST", "/api/orders", body, xff, &b);
		f->lat[i] = now_s() - t0;
		if (st == 201 && json_field(b.data, "order_no", no, sizeof no) == 0) {
			snprintf(f->orders[i], sizeof f->orders[i], "%s", no);
			__atomic_fetch_add(&f->ok, 1, __ATOMIC_RELAXED);
		} else if (st == 409) {
			__atomic_fetch_add(&f->soldout, 1, __ATOMIC_RELAXED);
		} else if (st >= 500) {
			__atomic_fetch_add(&f->s5xx, 1, __ATOMIC_RELAXED);
		} else {
			__atomic_fetch_add(&f->other, 1, __ATOMIC_RELAXED);
		}
		close(c.fd);
	}
	buf_cleanup(&b);
	return NULL;
}

static int cmd_flash(struct purchase_cfg *cfg, int buyers, int threads)
{
	const char *colon = strrchr(cfg->base, ':');
	cfg->port = colon ? atoi(colon + 1) : 80;
	struct flash f = {.cfg = cfg, .buyers = buyers, .threads = threads};
	f.lat = xcalloc((size_t)buyers, sizeof *f.lat);
	f.orders = xcalloc((size_t)buyers, sizeof *f.orders);
	pthread_t *tid = xcalloc((size_t)threads, sizeof *tid);
	for (int i = 0; i < threads; i++)
		pthread_create(&tid[i], NULL, flash_worker, &f);
	for (int i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	struct conn c = {.port = cfg->port};
	struct buf b;
	buf_init(&b);
	if (conn_open(&c) == 0) {
		for (int i = 0; i < buyers; i++)
			f.delivered += f.orders[i][0] && notify_paid(&c, cfg, f.orders[i], "F", &b);
		close(c.fd);
	}
	buf_cleanup(&b);
	qsort(f.lat, (size_t)buyers, sizeof *f.lat, cmp_double);
	printf("%d|%d|%d|%d|%.2fms|%d\n", f.ok, f.soldout, f.s5xx, f.other,
	       f.lat[(size_t)(buyers * 0.99)] * 1000, f.delivered);
	free(f.lat);
	free(f.orders);
	free(tid);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "claim") == 0)
		return cmd_claim(argv[2], atof(argv[3]));
	if (argc == 8 && strcmp(argv[1], "flash") == 0) {
		struct purchase_cfg cfg = {argv[2], argv[3], argv[4], 0, atol(argv[5]), 0, 0};
		return cmd_flash(&cfg, atoi(argv[6]), atoi(argv[7]));
	}
	if (argc == 8 && strcmp(argv[1], "purchase") == 0) {
		struct purchase_cfg cfg = {argv[2],       argv[3],       argv[4], 0,
		                           atol(argv[5]), atof(argv[7]), 0};
		return cmd_purchase(&cfg, atoi(argv[6]));
	}
	if (argc == 6 && strcmp(argv[1], "create") == 0) {
		struct purchase_cfg cfg = {argv[2], "", "", 0, atol(argv[3]), atof(argv[5]), 1};
		return cmd_purchase(&cfg, atoi(argv[4]));
	}
	fprintf(stderr, "usage: shopbench claim DB SECONDS\n"
	                "       shopbench purchase BASE_URL PID KEY PRODUCT_ID THREADS SECONDS\n"
	                "       shopbench create BASE_URL PRODUCT_ID THREADS SECONDS\n");
	return 2;
}
