/* The stock counters against the key rows they summarise: checked at start (and by the tests),
 * rebuilt from the rows when they differ, since the rows are the truth. */
#include "cardshop/log.h"
#include "internal.h"

/* available: the free keys (KEY_FREE). */
#define FREE_KEYS                                                                                  \
	"(SELECT count(*) FROM card_keys k WHERE k.product_id = p.id AND " KEY_FREE("k") ")"
static const char *sql_mismatch =
    "SELECT count(*) FROM products p LEFT JOIN product_stock s ON s.product_id = p.id"
    " WHERE s.product_id IS NULL"
    " OR s.available <> " FREE_KEYS
    " OR s.reserved <> (SELECT count(*) FROM card_keys k WHERE k.product_id = p.id"
    "                   AND k.status = 'reserved')"
    " OR s.sold <> (SELECT count(*) FROM card_keys k WHERE k.product_id = p.id"
    "               AND k.status = 'sold')";
static const char *sql_rebuild =
    "INSERT OR REPLACE INTO product_stock (product_id, available, reserved, sold)"
    " SELECT p.id, " FREE_KEYS ","
    " (SELECT count(*) FROM card_keys k WHERE k.product_id = p.id AND k.status = 'reserved'),"
    " (SELECT count(*) FROM card_keys k WHERE k.product_id = p.id AND k.status = 'sold')"
    " FROM products p";

static int64_t mismatches(void)
{
	sqlite3_stmt *st = db_stmt(sql_mismatch);
	if (!st)
		return -1;
	int rc = db_step(st);
	int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_reset(st);
	return n >= 0 ? n : db_log_error("stock check failed");
}

static int rebuild_tx(sqlite3 *db, void *arg)
{
	(void)db;
	(void)arg;
	sqlite3_stmt *st = db_stmt(sql_rebuild);
	if (!st)
		return -1;
	return db_step(st) == SQLITE_DONE ? 0 : db_log_error("stock rebuild failed");
}

int shop_stock_check(int repair)
{
	int64_t bad = mismatches();
	if (bad <= 0)
		return (int)bad;
	log_error("stock counters differ from the key rows",
	          json_pack("{sI sb}", "products", (json_int_t)bad, "repaired", repair));
	if (repair && db_write(rebuild_tx, NULL) != 0)
		return -1;
	return (int)bad;
}
