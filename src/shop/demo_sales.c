/* Demo sales history for `cardshop demo`: a fortnight of paid and abandoned orders, so the
 * dashboard has days, best sellers and a product running low to show. Each sale takes a real
 * key (sold to its order), so stock, orders and the dashboard agree. */
#include <stdio.h>
#include <string.h>

#include "cardshop/sec.h"
#include "internal.h"

static const char *sql_products = "SELECT id, price, currency FROM products"
                                  " WHERE delivery = 'auto' ORDER BY id LIMIT 3";
static const char *sql_order =
    "INSERT INTO orders (order_no, product_id, quantity, unit_price, amount, currency, email,"
    " gateway, status, created_at, expires_at, paid_at, delivered_at)"
    " VALUES (:no, :pid, 1, :price, :price, :cur, 'buyer@example.com', 'sandbox', :status,"
    " :created, :created + 900, :paid, :paid)";
static const char *sql_key = "UPDATE card_keys SET status = 'sold', order_id = :oid, sold_at = :t"
                             " WHERE id = (SELECT id FROM card_keys WHERE product_id = :pid"
                             " AND status = 'available' ORDER BY id LIMIT 1)";
static const char *sql_payment = "INSERT INTO payments (order_id, gateway, trade_no, amount,"
                                 " created_at) VALUES (:oid, 'sandbox', :no, :price, :t)";

struct demo_product {
	int64_t id, price;
	char currency[4];
};

static int sale(const struct demo_product *p, int64_t created, int paid)
{
	char no[33];
	sec_random_hex(no + 4, 10);
	memcpy(no, "DEMO", 4);
	sqlite3_stmt *st = db_stmt(sql_order);
	if (!st)
		return -1;
	db_bind_text(st, ":no", no);
	db_bind_int(st, ":pid", p->id);
	db_bind_int(st, ":price", p->price);
	db_bind_text(st, ":cur", p->currency);
	db_bind_text(st, ":status", paid ? "delivered" : "expired");
	db_bind_int(st, ":created", created);
	if (paid)
		db_bind_int(st, ":paid", created + 90);
	else
		db_bind_null(st, ":paid");
	if (db_step(st) != SQLITE_DONE)
		return -1;
	int64_t oid = sqlite3_last_insert_rowid(db_conn());
	if (!paid)
		return 0;
	const char *more[2] = {sql_key, sql_payment};
	for (int i = 0; i < 2; i++) {
		if (!(st = db_stmt(more[i])))
			return -1;
		db_bind_int(st, ":oid", oid);
		db_bind_int(st, ":t", created + 90);
		db_bind_int(st, i == 0 ? ":pid" : ":price", i == 0 ? p->id : p->price);
		if (i == 1)
			db_bind_text(st, ":no", no);
		if (db_step(st) != SQLITE_DONE)
			return -1;
	}
	return 0;
}

static int seed(sqlite3 *db, void *ctx)
{
	(void)db;
	(void)ctx;
	struct demo_product p[3];
	int n = 0;
	sqlite3_stmt *st = db_stmt(sql_products);
	if (!st)
		return -1;
	while (n < 3 && db_step(st) == SQLITE_ROW) {
		p[n].id = sqlite3_column_int64(st, 0);
		p[n].price = sqlite3_column_int64(st, 1);
		snprintf(p[n].currency, sizeof p[n].currency, "%s", db_col_text(st, 2));
		n++;
	}
	sqlite3_reset(st);
	int64_t now = util_now();
	/* Day d (0 = today) has a few sales of the first products and one abandoned order; the
	 * third product sells every third day until it runs low. */
	for (int d = 13; d >= 0 && n > 0; d--) {
		int64_t day = now - (int64_t)d * 86400 - 3600;
		for (int k = 0; k < 1 + (d * 7) % 3; k++)
			if (sale(&p[k % (n < 2 ? n : 2)], day - k * 1800, 1) != 0)
				return -1;
		if (sale(&p[0], day - 5400, 0) != 0 ||
		    (n > 2 && d % 3 == 0 && sale(&p[2], day - 600, 1)))
			return -1;
	}
	return 0;
}

int shop_demo_sales(void)
{
	return db_write(seed, NULL);
}
