/* The outbox: jobs put in the same transaction as the change that causes them, read and
 * settled by the jobs thread. The table's SQL lives here; the runner (jobs/) holds none. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cardshop/log.h"
#include "internal.h"

static const char *sql_put =
    "INSERT INTO jobs (kind, payload, status, attempts, max_attempts, run_at, created_at, "
    "updated_at)"
    " VALUES (:kind, :payload, 'queued', 0, :max, :run_at, :now, :now)";
/* Only the jobs thread consumes jobs, so due jobs are read without a claiming write; the
 * outcome of a whole batch is then recorded in one transaction. A crash between running a job
 * and recording it runs the job again at the next start: handlers are idempotent or harmless
 * to repeat (a second mail). */
static const char *sql_due = "SELECT id, kind, payload, attempts, max_attempts FROM jobs"
                             " WHERE status = 'queued' AND run_at <= :now"
                             " ORDER BY run_at, id LIMIT :max";
static const char *sql_done = "UPDATE jobs SET status = 'done', attempts = attempts + 1,"
                              " last_error = NULL, updated_at = :now WHERE id = :id";
static const char *sql_retry =
    "UPDATE jobs SET status = :status, attempts = attempts + 1, run_at = :run_at,"
    " last_error = :err, updated_at = :now WHERE id = :id";
static const char *sql_prune = "DELETE FROM jobs WHERE status = 'done' AND updated_at < :before";
static const char *sql_recover = "UPDATE jobs SET status = 'queued', updated_at = :now"
                                 " WHERE status = 'running'";
static const char *sql_admin_list =
    "SELECT id, kind, payload, status, attempts, max_attempts, run_at, last_error, created_at,"
    " updated_at FROM jobs WHERE (:kind = '' OR kind = :kind)"
    " AND (:status = '' OR status = :status)"
    " ORDER BY id DESC LIMIT 100 OFFSET :off";

static void (*wake_hook)(void);

void outbox_set_wake_hook(void (*wake)(void))
{
	wake_hook = wake;
}

void outbox_wake(void)
{
	if (wake_hook)
		wake_hook();
}

int outbox_put(enum job_kind kind, json_t *payload, int64_t run_at)
{
	if (!payload)
		payload = json_object();
	const char *req_id = log_req_id();
	if (req_id[0])
		json_object_set_new(payload, "req_id", json_string(req_id));
	char *text = json_dumps(payload, JSON_COMPACT);
	json_decref(payload);
	sqlite3_stmt *st = db_stmt(sql_put);
	if (!text || !st) {
		free(text);
		log_error("cannot put job", json_pack("{ss}", "kind", job_kind_name(kind)));
		return -1;
	}
	int64_t now = util_now();
	db_bind_text(st, ":kind", job_kind_name(kind));
	db_bind_text(st, ":payload", text);
	db_bind_int(st, ":max", job_kind_max_attempts(kind));
	db_bind_int(st, ":run_at", run_at > now ? run_at : now);
	db_bind_int(st, ":now", now);
	free(text);
	int rc = db_step(st) == SQLITE_DONE ? 0 : db_log_error("put job failed");
	sqlite3_reset(st);
	return rc;
}

int outbox_due(int64_t now, struct outbox_job *out, int max, int *n)
{
	*n = 0;
	sqlite3_stmt *st = db_stmt(sql_due);
	if (!st)
		return -1;
	db_bind_int(st, ":now", now);
	db_bind_int(st, ":max", max);
	int rc = SQLITE_DONE;
	while (*n < max && (rc = db_step(st)) == SQLITE_ROW) {
		struct outbox_job *j = &out[(*n)++];
		memset(j, 0, sizeof *j);
		j->id = sqlite3_column_int64(st, 0);
		snprintf(j->kind, sizeof j->kind, "%s", db_col_text(st, 1));
		j->payload = xstrdup(db_col_text(st, 2));
		j->attempts = sqlite3_column_int(st, 3) + 1; /* this run */
		j->max_attempts = sqlite3_column_int(st, 4);
	}
	sqlite3_reset(st);
	if (*n < max && rc != SQLITE_DONE) {
		outbox_jobs_free(out, *n);
		*n = 0;
		return db_log_error("reading due jobs failed");
	}
	return 0;
}

void outbox_jobs_free(struct outbox_job *jobs, int n)
{
	for (int i = 0; i < n; i++) {
		free(jobs[i].payload);
		jobs[i].payload = NULL;
	}
}

static int finish_one(const struct outbox_job *j, int64_t now)
{
	sqlite3_stmt *st = db_stmt(j->ok ? sql_done : sql_retry);
	if (!st)
		return -1;
	db_bind_int(st, ":id", j->id);
	db_bind_int(st, ":now", now);
	if (!j->ok) {
		int final = j->attempts >= j->max_attempts;
		db_bind_text(st, ":status", job_status_name(final ? JOB_FAILED : JOB_QUEUED));
		db_bind_int(st, ":run_at", j->retry_at);
		db_bind_text(st, ":err", j->err);
	}
	int rc = db_step(st) == SQLITE_DONE ? 0 : db_log_error("finish job failed");
	sqlite3_reset(st);
	return rc;
}

struct finish_ctx {
	const struct outbox_job *jobs;
	int n;
};

static int finish_tx(sqlite3 *db, void *arg)
{
	(void)db;
	const struct finish_ctx *c = arg;
	int64_t now = util_now();
	for (int i = 0; i < c->n; i++) {
		if (finish_one(&c->jobs[i], now) != 0)
			return -1;
	}
	return 0;
}

int outbox_finish(const struct outbox_job *jobs, int n)
{
	struct finish_ctx c = {jobs, n};
	return n == 0 || db_write(finish_tx, &c) == 0 ? 0 : -1;
}

static int exec_tx(sqlite3 *db, void *arg)
{
	(void)db;
	const int64_t *before = arg;
	sqlite3_stmt *st = db_stmt(before ? sql_prune : sql_recover);
	if (!st)
		return -1;
	if (before)
		db_bind_int(st, ":before", *before);
	else
		db_bind_int(st, ":now", util_now());
	return db_step(st) == SQLITE_DONE ? 0 : db_log_error("jobs maintenance failed");
}

int outbox_recover(void)
{
	return db_write(exec_tx, NULL) == 0 ? 0 : -1;
}

int outbox_prune(int64_t before)
{
	return db_write(exec_tx, &before) == 0 ? 0 : -1;
}

static json_t *job_row(sqlite3_stmt *st)
{
	json_t *j = json_pack(
	    "{sI ss so* ss si si sI sI sI}", "id", (json_int_t)sqlite3_column_int64(st, 0), "kind",
	    db_col_text(st, 1), "payload", json_loads(db_col_text(st, 2), 0, NULL), "status",
	    db_col_text(st, 3), "attempts", sqlite3_column_int(st, 4), "max_attempts",
	    sqlite3_column_int(st, 5), "run_at", (json_int_t)sqlite3_column_int64(st, 6),
	    "created_at", (json_int_t)sqlite3_column_int64(st, 8), "updated_at",
	    (json_int_t)sqlite3_column_int64(st, 9));
	if (j)
		json_object_set_new(j, "last_error",
		                    sqlite3_column_type(st, 7) == SQLITE_NULL
		                        ? json_null()
		                        : json_string(db_col_text(st, 7)));
	return j;
}

json_t *outbox_admin_json(const char *kind, const char *status, int64_t page, struct shop_err *err)
{
	sqlite3_stmt *st = db_stmt(sql_admin_list);
	if (!st) {
		shop_fail(err, SHOP_ERROR, "internal error");
		return NULL;
	}
	db_bind_text(st, ":kind", kind);
	db_bind_text(st, ":status", status);
	db_bind_int(st, ":off", shop_page_offset(page, 100));
	return shop_rows_json(st, job_row, err);
}
