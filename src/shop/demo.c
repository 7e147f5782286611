/* Demo data for `cardshop demo`: seeded once per database, so restarts keep orders. */
#include <stdio.h>
#include <string.h>

#include "cardshop/config.h"
#include "cardshop/db.h"
#include "cardshop/log.h"
#include "cardshop/sec.h"
#include "cardshop/shop.h"

static const char *sql_admin_count = "SELECT count(*) FROM admins WHERE username = 'admin'";
static char demo_password[33];

static int admin_exists(void)
{
	sqlite3_stmt *st = db_stmt(sql_admin_count);
	int n = st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	if (st)
		sqlite3_reset(st);
	return n > 0;
}

int shop_demo_seed(const struct config *cfg)
{
	(void)cfg;
	if (admin_exists())
		return 0;
	char err[200];
	sec_random_hex(demo_password, 8);
	if (admin_create("admin", demo_password, err, sizeof err) != 0) {
		log_error("demo admin", json_pack("{ss}", "error", err));
		return -1;
	}
	return 0;
}

void shop_demo_announce(const struct config *cfg)
{
	printf("\ncardshop demo is running: %s/\n", cfg->base_url);
	printf("  admin:  %s/admin/  user 'admin'  password %s\n", cfg->base_url,
	       demo_password[0] ? demo_password : "(unchanged: see the first run, or delete data/demo.db)");
	printf("  sandbox gateway on: anyone can 'pay'. Stop with Ctrl-C.\n\n");
	fflush(stdout);
}
