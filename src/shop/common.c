/* Shared by the shop/ files: error filling and the audit log. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

int shop_fail(struct shop_err *err, enum shop_status status, const char *fmt, ...)
{
	err->status = status;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	return -1;
}

int64_t shop_page_offset(int64_t page, int64_t per_page)
{
	return (page > 0 ? page - 1 : 0) * per_page;
}

json_t *shop_rows_json(sqlite3_stmt *st, json_t *(*row)(sqlite3_stmt *st), struct shop_err *err)
{
	json_t *list = json_array();
	int rc;
	while ((rc = db_step(st)) == SQLITE_ROW) {
		json_t *j = row(st);
		if (j)
			json_array_append_new(list, j);
	}
	if (rc != SQLITE_DONE) {
		db_log_error("reading rows failed");
		sqlite3_reset(st);
		json_decref(list);
		shop_fail(err, SHOP_ERROR, "internal error");
		return NULL;
	}
	sqlite3_reset(st);
	return list;
}

static const char *sql_audit =
    "INSERT INTO audit_log (admin_id, username, action, target, detail, ip, created_at)"
    " VALUES (:admin, :user, :action, :target, :detail, :ip, :now)";

int audit_record(const struct actor *who, const char *action, const char *target, json_t *detail)
{
	if (!detail)
		detail = json_object();
	char *text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(detail);
	sqlite3_stmt *st = db_stmt(sql_audit);
	if (!st || !text) {
		free(text);
		return -1;
	}
	if (who && who->admin_id)
		db_bind_int(st, ":admin", who->admin_id);
	db_bind_text(st, ":user", who && who->username ? who->username : "");
	db_bind_text(st, ":action", action);
	db_bind_text(st, ":target", target ? target : "");
	db_bind_text(st, ":detail", text);
	db_bind_text(st, ":ip", who && who->ip ? who->ip : "");
	db_bind_int(st, ":now", util_now());
	free(text);
	int rc = db_step(st) == SQLITE_DONE ? 0 : db_log_error("audit insert failed");
	sqlite3_reset(st);
	return rc;
}

static const char *sql_audit_page =
    "SELECT id, username, action, target, detail, ip, created_at FROM audit_log"
    " ORDER BY id DESC LIMIT 50 OFFSET :off";

static json_t *audit_row(sqlite3_stmt *st)
{
	json_t *detail = json_loads(db_col_text(st, 4), 0, NULL);
	return json_pack("{sI ss ss ss so* ss sI}", "id", (json_int_t)sqlite3_column_int64(st, 0),
	                 "username", db_col_text(st, 1), "action", db_col_text(st, 2), "target",
	                 db_col_text(st, 3), "detail", detail, "ip", db_col_text(st, 5),
	                 "created_at", (json_int_t)sqlite3_column_int64(st, 6));
}

json_t *audit_json(int64_t page, struct shop_err *err)
{
	sqlite3_stmt *st = db_stmt(sql_audit_page);
	if (!st) {
		shop_fail(err, SHOP_ERROR, "internal error");
		return NULL;
	}
	db_bind_int(st, ":off", shop_page_offset(page, 50));
	return shop_rows_json(st, audit_row, err);
}
