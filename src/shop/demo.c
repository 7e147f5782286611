/* Demo data for `cardshop demo`: catalog and keys seeded once per database (restarts keep
 * orders); the admin gets a fresh password at every start so it can always be printed. */
#include <stdio.h>
#include <string.h>

#include "cardshop/config.h"
#include "cardshop/log.h"
#include "cardshop/sec.h"
#include "internal.h"

static const char *sql_admin_count = "SELECT count(*) FROM admins WHERE username = 'admin'";
static const char *sql_product_count = "SELECT count(*) FROM products";
static char demo_password[33];

static int64_t count(const char *sql)
{
	sqlite3_stmt *st = db_stmt(sql);
	int64_t n = st && db_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	if (st)
		sqlite3_reset(st);
	return n;
}

static int seed_keys(const struct actor *who, int64_t pid, int n)
{
	struct buf text;
	buf_init(&text);
	for (int i = 0; i < n; i++) {
		char k[17];
		sec_random_hex(k, 8);
		for (char *p = k; *p; p++)
			*p = (char)(*p >= 'a' ? *p - 32 : *p);
		buf_printf(&text, "DEMO-%.4s-%.4s-%.4s-%.4s\n", k, k + 4, k + 8, k + 12);
	}
	struct import_result r;
	struct shop_err err;
	int rc = cardkey_import(who, pid, text.data, text.len, &r, &err);
	buf_cleanup(&text);
	return rc;
}

static int seed_catalog(const struct config *cfg)
{
	static const struct {
		int cat;
		const char *json;
		int keys;
	} products[] = {
	    {0,
	     "{\"name\":\"Steam Wallet 50 CNY\",\"price\":4800,\"max_qty\":5,"
	     "\"tiers\":[{\"min_qty\":3,\"unit_price\":4650},{\"min_qty\":5,\"unit_price\":4500}],"
	     "\"description\":\"A 50 CNY Steam Wallet code. Redeem at store.steampowered.com.\"}",
	     25},
	    {0,
	     "{\"name\":\"App Store 100 CNY\",\"price\":9700,\"max_qty\":3,"
	     "\"description\":\"Apple gift card code, mainland China region.\"}",
	     12},
	    {1,
	     "{\"name\":\"Office 365 — 1 year\",\"price\":19900,"
	     "\"description\":\"Activation code, one user, twelve months.\"}",
	     8},
	    {1,
	     "{\"name\":\"Custom licence (manual)\",\"price\":5000,\"delivery\":\"manual\","
	     "\"description\":\"Delivered by the merchant after payment.\"}",
	     0},
	    {0,
	     "{\"name\":\"Game top-up 60 (asks your ID)\",\"price\":600,\"delivery\":\"manual\","
	     "\"fields\":[{\"name\":\"game_id\",\"label\":\"Game ID\",\"required\":true,"
	     "\"max_len\":20},{\"name\":\"server\",\"label\":\"Server\",\"max_len\":40}],"
	     "\"description\":\"Topped up by the merchant to the game ID you give.\"}",
	     0},
	    {1,
	     "{\"name\":\"Shared demo account (loop key)\",\"price\":100,\"loop\":true,"
	     "\"description\":\"Every buyer gets the same login.\"}",
	     1},
	};
	struct actor who = {.username = "demo", .ip = ""};
	struct shop_err err;
	int64_t cats[2];
	const char *cat_json[2] = {"{\"name\":\"Gift cards\"}", "{\"name\":\"Software\"}"};
	for (int i = 0; i < 2; i++) {
		json_t *in = json_loads(cat_json[i], 0, NULL);
		int rc = category_create(&who, in, &cats[i], &err);
		json_decref(in);
		if (rc != 0)
			return -1;
	}
	for (size_t i = 0; i < sizeof products / sizeof products[0]; i++) {
		json_t *in = json_loads(products[i].json, 0, NULL);
		json_object_set_new(in, "category_id", json_integer(cats[products[i].cat]));
		int64_t pid;
		int rc = product_create(&who, cfg->currency, in, &pid, &err);
		json_decref(in);
		if (rc != 0 || (products[i].keys && seed_keys(&who, pid, products[i].keys) != 0))
			return -1;
	}
	/* A code to try on the product page: the quote shows its discount before the order. */
	json_t *coupon = json_pack("{ss ss si si si}", "code", "DEMO10", "kind", "percent", "value",
	                           10, "uses", 100, "max_discount", 1000);
	int64_t cid;
	int rc = coupon_create(&who, coupon, &cid, &err);
	json_decref(coupon);
	return rc;
}

int shop_demo_seed(const struct config *cfg)
{
	char err[200];
	sec_random_hex(demo_password, 8);
	if (count(sql_product_count) == 0 && (seed_catalog(cfg) != 0 || shop_demo_sales() != 0)) {
		log_error("demo catalog seeding failed", NULL);
		return -1;
	}
	if (count(sql_admin_count) > 0)
		return admin_set_password("admin", demo_password);
	if (admin_create("admin", demo_password, err, sizeof err) != 0) {
		log_error("demo admin", json_pack("{ss}", "error", err));
		return -1;
	}
	return 0;
}

void shop_demo_announce(const struct config *cfg)
{
	printf("\ncardshop demo is running: %s/\n", cfg->base_url);
	printf("  shop:   %s/shop/\n", cfg->base_url);
	printf("  admin:  %s/admin/   user: admin   password: %s\n", cfg->base_url, demo_password);
	printf("  The sandbox gateway is on: anyone can \"pay\". Stop with Ctrl-C.\n");
	printf(
	    "  Real gateways (EPay, Alipay, WeChat Pay, Stripe, USDT/epusdt): docs/operations.md;\n"
	    "  the Alipay and WeChat Pay QR pages against their fakes: "
	    "/usr/bin/python3 tests/fakes/demo_qr.py\n\n");
	fflush(stdout);
}
