/* Shared by the shop/ files: error filling and the audit log. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cardshop/db.h"
#include "cardshop/shop.h"

int shop_fail(struct shop_err *err, enum shop_status status, const char *fmt, ...)
{
	err->status = status;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	return -1;
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
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_log_error("audit insert failed");
	sqlite3_reset(st);
	return rc;
}

static const char *sql_audit_page =
    "SELECT id, username, action, target, detail, ip, created_at FROM audit_log"
    " ORDER BY id DESC LIMIT 50 OFFSET :off";

json_t *audit_json(int64_t page)
{
	json_t *list = json_array();
	sqlite3_stmt *st = db_stmt(sql_audit_page);
	if (!st)
		return list;
	db_bind_int(st, ":off", (page > 0 ? page - 1 : 0) * 50);
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *detail = json_loads(db_col_text(st, 4), 0, NULL);
		json_array_append_new(
		    list, json_pack("{sI ss ss ss so* ss sI}", "id",
		                    (json_int_t)sqlite3_column_int64(st, 0), "username",
		                    db_col_text(st, 1), "action", db_col_text(st, 2), "target",
		                    db_col_text(st, 3), "detail", detail, "ip", db_col_text(st, 5),
		                    "created_at", (json_int_t)sqlite3_column_int64(st, 6)));
	}
	sqlite3_reset(st);
	return list;
}
