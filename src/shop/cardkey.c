/* Card-key inventory: bulk import (encrypted, de-duplicated by keyed hash, one transaction),
 * masked listing, deletion of unsold keys and export. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cardshop/log.h"
#include "cardshop/metrics.h"
#include "cardshop/sec.h"
#include "internal.h"

#define KEY_MAX_BYTES 4096

static const char *sql_key_insert =
    "INSERT INTO card_keys (product_id, secret, hash, status, created_at)"
    " VALUES (:pid, :secret, :hash, 'available', :now) ON CONFLICT (product_id, hash) DO NOTHING";
static const char *sql_product_exists = "SELECT 1 FROM products WHERE id = :id";
static const char *sql_key_page =
    "SELECT id, secret, status, order_id, created_at, sold_at FROM card_keys"
    " WHERE product_id = :pid AND (:status = '' OR status = :status)"
    " ORDER BY id DESC LIMIT 100 OFFSET :off";
static const char *sql_key_count = "SELECT count(*) FROM card_keys WHERE product_id = :pid"
                                   " AND (:status = '' OR status = :status)";
/* A loop key already given to buyers stays: their delivery pages show it. */
static const char *sql_key_delete = "DELETE FROM card_keys WHERE id = :id AND product_id = :pid"
                                    " AND " KEY_FREE("card_keys");
static const char *sql_key_exists = "SELECT 1 FROM card_keys WHERE id = :id AND product_id = :pid";
static const char *sql_key_available = "SELECT secret FROM card_keys WHERE product_id = :pid"
                                       " AND status = 'available' ORDER BY id";

struct import_ctx {
	const struct actor *who;
	int64_t product_id;
	struct sealed_key *keys;
	size_t nkeys;
	struct import_result *res;
};

static int product_exists(int64_t id)
{
	sqlite3_stmt *st = db_stmt(sql_product_exists);
	if (!st)
		return -1;
	db_bind_int(st, ":id", id);
	int rc = db_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_log_error("product lookup failed");
	return rc == SQLITE_ROW;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Seals one line (trimmed) into out; returns 1 when added, 0 when blank, -1 when rejected. */
static int seal_line(const char *line, size_t n, struct sealed_key *out)
{
	while (n && is_blank(line[n - 1]))
		n--;
	while (n && is_blank(*line)) {
		line++;
		n--;
	}
	if (n == 0)
		return 0;
	if (n > KEY_MAX_BYTES || !util_utf8_valid(line, n) || memchr(line, '\t', n))
		return -1;
	sec_lookup_hash(line, n, out->hash);
	out->box = sec_encrypt(line, n, &out->boxlen);
	return 1;
}

/* The crypto runs before the transaction so the write lock is held only for the inserts. */
struct sealed_key *cardkey_seal_text(const char *text, size_t len, size_t *count, int64_t *rejected)
{
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
		text += 3;
		len -= 3;
	}
	size_t cap = 1024, n = 0;
	struct sealed_key *keys = xmalloc(cap * sizeof *keys);
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t linelen = nl ? (size_t)(nl - (text + i)) : len - i;
		if (n == cap) {
			cap *= 2;
			keys = xrealloc(keys, cap * sizeof *keys);
		}
		int r = seal_line(text + i, linelen, &keys[n]);
		if (r > 0)
			n++;
		else if (r < 0)
			(*rejected)++;
		i += linelen + 1;
	}
	*count = n;
	return keys;
}

static int import_tx(sqlite3 *db, void *arg)
{
	struct import_ctx *c = arg;
	int exists = product_exists(c->product_id);
	if (exists <= 0)
		return exists < 0 ? -1 : SHOP_NOT_FOUND;
	sqlite3_stmt *st = db_stmt(sql_key_insert);
	if (!st)
		return -1;
	int64_t now = util_now();
	c->res->added = c->res->duplicates = 0;
	for (size_t i = 0; i < c->nkeys; i++) {
		sqlite3_reset(st);
		db_bind_int(st, ":pid", c->product_id);
		db_bind_blob(st, ":secret", c->keys[i].box, c->keys[i].boxlen);
		db_bind_blob(st, ":hash", c->keys[i].hash, 32);
		db_bind_int(st, ":now", now);
		if (db_step(st) != SQLITE_DONE)
			return db_log_error("key insert failed");
		if (sqlite3_changes(db) == 1)
			c->res->added++;
		else
			c->res->duplicates++;
	}
	sqlite3_reset(st);
	char target[32];
	snprintf(target, sizeof target, "product:%lld", (long long)c->product_id);
	return audit_record(c->who, "keys.import", target,
	                    json_pack("{sI sI sI}", "added", (json_int_t)c->res->added,
	                              "duplicates", (json_int_t)c->res->duplicates, "rejected",
	                              (json_int_t)c->res->rejected));
}

int cardkey_import(const struct actor *who, int64_t product_id, const char *text, size_t len,
                   struct import_result *res, struct shop_err *err)
{
	memset(res, 0, sizeof *res);
	struct import_ctx c = {.who = who, .product_id = product_id, .res = res};
	c.keys = cardkey_seal_text(text, len, &c.nkeys, &res->rejected);
	int rc = db_write(import_tx, &c);
	cardkey_sealed_free(c.keys, c.nkeys);
	if (rc == SHOP_NOT_FOUND)
		return shop_fail(err, SHOP_NOT_FOUND, "product not found");
	if (rc != 0)
		return shop_fail(err, SHOP_ERROR, "internal error");
	catalog_stock_changed(product_id);
	metrics_inc(M_KEYS_IMPORTED, (uint64_t)res->added);
	return 0;
}

/* "ABCD****WXYZ": enough to recognise a key, not enough to use it. */
json_t *cardkey_mask(const char *plain, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)plain[i] >= 0x80)
			return json_string("****");
	}
	size_t show = n >= 12 ? 4 : n / 4;
	char out[32];
	snprintf(out, sizeof out, "%.*s****%.*s", (int)show, plain, (int)show, plain + n - show);
	return json_string(out);
}

static int valid_status_filter(const char *s)
{
	enum key_status k;
	return !*s || key_status_parse(s, &k) == 0;
}

/* The number of the product's keys in status ("" = any), or -1 on a database error. */
static int64_t count_keys(int64_t pid, const char *status)
{
	sqlite3_stmt *st = db_stmt(sql_key_count);
	if (!st)
		return -1;
	db_bind_int(st, ":pid", pid);
	db_bind_text(st, ":status", status);
	int rc = db_step(st);
	int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_reset(st);
	return n >= 0 ? n : db_log_error("counting keys failed");
}

static json_t *key_row(sqlite3_stmt *st)
{
	char *plain = NULL;
	size_t n = 0;
	json_t *mask = sec_decrypt(sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1),
	                           &plain, &n) == 0
	                   ? cardkey_mask(plain, n)
	                   : json_string("(unreadable)");
	if (plain)
		sec_wipe(plain, n);
	free(plain);
	json_t *k = json_pack("{sI so ss sI}", "id", (json_int_t)sqlite3_column_int64(st, 0),
	                      "masked", mask, "status", db_col_text(st, 2), "created_at",
	                      (json_int_t)sqlite3_column_int64(st, 4));
	if (sqlite3_column_type(st, 3) != SQLITE_NULL)
		json_object_set_new(k, "order_id", json_integer(sqlite3_column_int64(st, 3)));
	if (sqlite3_column_type(st, 5) != SQLITE_NULL)
		json_object_set_new(k, "sold_at", json_integer(sqlite3_column_int64(st, 5)));
	return k;
}

json_t *cardkeys_json(int64_t product_id, const char *status, int64_t page, struct shop_err *err)
{
	if (!valid_status_filter(status)) {
		shop_fail(err, SHOP_INVALID, "status: must be available, reserved or sold");
		return NULL;
	}
	int exists = product_exists(product_id);
	if (exists != 1) {
		shop_fail(err, exists == 0 ? SHOP_NOT_FOUND : SHOP_ERROR,
		          exists == 0 ? "product not found" : "internal error");
		return NULL;
	}
	sqlite3_stmt *st = db_stmt(sql_key_page);
	if (!st) {
		shop_fail(err, SHOP_ERROR, "internal error");
		return NULL;
	}
	db_bind_int(st, ":pid", product_id);
	db_bind_text(st, ":status", status);
	db_bind_int(st, ":off", shop_page_offset(page, 100));
	json_t *list = shop_rows_json(st, key_row, err);
	int64_t total = list ? count_keys(product_id, status) : -1;
	if (total < 0) {
		json_decref(list);
		shop_fail(err, SHOP_ERROR, "internal error");
		return NULL;
	}
	return json_pack("{so sI sI}", "keys", list, "total", (json_int_t)total, "page",
	                 (json_int_t)(page > 0 ? page : 1));
}

struct keydel_ctx {
	const struct actor *who;
	int64_t pid, id;
};

static int keydel_tx(sqlite3 *db, void *arg)
{
	struct keydel_ctx *c = arg;
	sqlite3_stmt *st = db_stmt(sql_key_delete);
	if (!st)
		return -1;
	db_bind_int(st, ":id", c->id);
	db_bind_int(st, ":pid", c->pid);
	if (db_step(st) != SQLITE_DONE)
		return db_log_error("key delete failed");
	if (sqlite3_changes(db) == 0) {
		st = db_stmt(sql_key_exists);
		db_bind_int(st, ":id", c->id);
		db_bind_int(st, ":pid", c->pid);
		int exists = db_step(st) == SQLITE_ROW;
		sqlite3_reset(st);
		return exists ? SHOP_CONFLICT : SHOP_NOT_FOUND;
	}
	char target[48];
	snprintf(target, sizeof target, "product:%lld/key:%lld", (long long)c->pid,
	         (long long)c->id);
	return audit_record(c->who, "keys.delete", target, NULL);
}

int cardkey_delete(const struct actor *who, int64_t product_id, int64_t key_id,
                   struct shop_err *err)
{
	struct keydel_ctx c = {.who = who, .pid = product_id, .id = key_id};
	int rc = db_write(keydel_tx, &c);
	if (rc == SHOP_CONFLICT)
		return shop_fail(err, SHOP_CONFLICT, "only available keys can be deleted");
	if (rc == SHOP_NOT_FOUND)
		return shop_fail(err, SHOP_NOT_FOUND, "key not found");
	if (rc != 0)
		return shop_fail(err, SHOP_ERROR, "internal error");
	catalog_stock_changed(product_id);
	return 0;
}

struct export_ctx {
	const struct actor *who;
	int64_t pid;
	struct buf out;
	int64_t count;
};

/* Runs as a write so the export and its audit line are one atomic event. */
static int export_tx(sqlite3 *db, void *arg)
{
	(void)db;
	struct export_ctx *c = arg;
	int exists = product_exists(c->pid);
	if (exists != 1)
		return exists == 0 ? SHOP_NOT_FOUND : -1;
	sqlite3_stmt *st = db_stmt(sql_key_available);
	if (!st)
		return -1;
	db_bind_int(st, ":pid", c->pid);
	int rc;
	while ((rc = db_step(st)) == SQLITE_ROW) {
		char *plain;
		size_t n;
		/* An export missing a key would look complete: refuse it instead. */
		if (sec_decrypt(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
		                &plain, &n) != 0) {
			sqlite3_reset(st);
			log_error("card key does not decrypt",
			          json_pack("{sI}", "product_id", (json_int_t)c->pid));
			return -1;
		}
		buf_append(&c->out, plain, n);
		buf_append(&c->out, "\n", 1);
		sec_wipe(plain, n);
		free(plain);
		c->count++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_log_error("reading keys for export failed");
	char target[32];
	snprintf(target, sizeof target, "product:%lld", (long long)c->pid);
	return audit_record(c->who, "keys.export", target,
	                    json_pack("{sI}", "count", (json_int_t)c->count));
}

char *cardkeys_export(const struct actor *who, int64_t product_id, size_t *len,
                      struct shop_err *err)
{
	struct export_ctx c = {.who = who, .pid = product_id};
	buf_init(&c.out);
	int rc = db_write(export_tx, &c);
	if (rc != 0) {
		if (c.out.data)
			sec_wipe(c.out.data, c.out.len);
		buf_cleanup(&c.out);
		shop_fail(err, rc == SHOP_NOT_FOUND ? SHOP_NOT_FOUND : SHOP_ERROR,
		          rc == SHOP_NOT_FOUND ? "product not found" : "internal error");
		return NULL;
	}
	*len = c.out.len;
	return buf_release(&c.out);
}

void cardkey_sealed_free(struct sealed_key *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(keys[i].box);
	free(keys);
}
