/* The jobs thread: claims due jobs from the table, runs them outside any transaction, and
 * records the outcome; failures are retried with exponential backoff. Periodic sweeps (order
 * expiry, scheduled backups) run on the same thread. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cardshop/db.h"
#include "cardshop/jobs.h"
#include "cardshop/log.h"
#include "cardshop/shop.h"
#include "cardshop/util.h"
#include "internal.h"

static const char *sql_enqueue =
    "INSERT INTO jobs (kind, payload, status, attempts, max_attempts, run_at, created_at, "
    "updated_at)"
    " VALUES (:kind, :payload, 'queued', 0, :max, :run_at, :now, :now)";
/* Only this thread consumes jobs, so due jobs are read without a claiming write; the outcome
 * of a whole batch is then recorded in one transaction. A crash between running a job and
 * recording it runs the job again at the next start: handlers are idempotent or harmless to
 * repeat (a second mail). */
static const char *sql_due = "SELECT id, kind, payload, attempts, max_attempts FROM jobs"
                             " WHERE status = 'queued' AND run_at <= :now"
                             " ORDER BY run_at, id LIMIT 32";
static const char *sql_done = "UPDATE jobs SET status = 'done', attempts = attempts + 1,"
                              " last_error = NULL, updated_at = :now WHERE id = :id";
static const char *sql_retry =
    "UPDATE jobs SET status = :status, attempts = attempts + 1, run_at = :run_at,"
    " last_error = :err, updated_at = :now WHERE id = :id";
static const char *sql_prune = "DELETE FROM jobs WHERE status = 'done' AND updated_at < :before";
static const char *sql_recover = "UPDATE jobs SET status = 'queued', updated_at = :now"
                                 " WHERE status = 'running'";

static pthread_t thread;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int running, woken;
static const struct config *jobs_cfg;

static const struct job_kind *kind_find(const char *kind)
{
	for (size_t i = 0; i < jobs_kinds_count; i++) {
		if (strcmp(jobs_kinds[i].kind, kind) == 0)
			return &jobs_kinds[i];
	}
	return NULL;
}

int jobs_enqueue(const char *kind, json_t *payload, int64_t run_at)
{
	const struct job_kind *k = kind_find(kind);
	if (!payload)
		payload = json_object();
	char *text = json_dumps(payload, JSON_COMPACT);
	json_decref(payload);
	sqlite3_stmt *st = db_stmt(sql_enqueue);
	if (!k || !text || !st) {
		free(text);
		log_error("cannot enqueue job", json_pack("{ss}", "kind", kind));
		return -1;
	}
	int64_t now = util_now();
	db_bind_text(st, ":kind", kind);
	db_bind_text(st, ":payload", text);
	db_bind_int(st, ":max", k->max_attempts);
	db_bind_int(st, ":run_at", run_at > now ? run_at : now);
	db_bind_int(st, ":now", now);
	free(text);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_log_error("enqueue job failed");
	sqlite3_reset(st);
	return rc;
}

#define CLAIM_MAX 32 /* the LIMIT in sql_due */

struct claimed {
	int64_t id;
	char kind[64];
	char *payload;
	int attempts, max_attempts;
	int ok;
	char err[512];
};

struct claim_batch {
	struct claimed jobs[CLAIM_MAX];
	int count;
};

/* Reads up to CLAIM_MAX due jobs; -1 on a database error. */
static int read_due(struct claim_batch *b)
{
	sqlite3_stmt *st = db_stmt(sql_due);
	if (!st)
		return -1;
	db_bind_int(st, ":now", util_now());
	while (b->count < CLAIM_MAX && sqlite3_step(st) == SQLITE_ROW) {
		struct claimed *c = &b->jobs[b->count++];
		c->id = sqlite3_column_int64(st, 0);
		snprintf(c->kind, sizeof c->kind, "%s", db_col_text(st, 1));
		c->payload = xstrdup(db_col_text(st, 2));
		c->attempts = sqlite3_column_int(st, 3) + 1; /* this run */
		c->max_attempts = sqlite3_column_int(st, 4);
	}
	sqlite3_reset(st);
	return 0;
}

static int64_t backoff(int attempts)
{
	int64_t d = 2;
	for (int i = 1; i < attempts && d < 3600; i++)
		d *= 2;
	return d < 3600 ? d : 3600;
}

static int finish_one(const struct claimed *c, int64_t now)
{
	sqlite3_stmt *st = db_stmt(c->ok ? sql_done : sql_retry);
	if (!st)
		return -1;
	db_bind_int(st, ":id", c->id);
	db_bind_int(st, ":now", now);
	if (!c->ok) {
		int final = c->attempts >= c->max_attempts;
		db_bind_text(st, ":status", final ? "failed" : "queued");
		db_bind_int(st, ":run_at", now + backoff(c->attempts));
		db_bind_text(st, ":err", c->err);
	}
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_log_error("finish job failed");
	sqlite3_reset(st);
	return rc;
}

static int finish_tx(sqlite3 *db, void *arg)
{
	(void)db;
	struct claim_batch *b = arg;
	int64_t now = util_now();
	for (int i = 0; i < b->count; i++) {
		if (finish_one(&b->jobs[i], now) != 0)
			return -1;
	}
	return 0;
}

static void run_one(const struct config *cfg, struct claimed *c)
{
	const struct job_kind *k = kind_find(c->kind);
	json_t *payload = json_loads(c->payload, 0, NULL);
	c->ok = 0;
	c->err[0] = '\0';
	if (!k)
		snprintf(c->err, sizeof c->err, "unknown job kind");
	else if (!payload)
		snprintf(c->err, sizeof c->err, "payload is not JSON");
	else {
		int rc = k->fn(cfg, payload, c->err, sizeof c->err);
		c->ok = rc == 0;
		if (rc == JOB_GIVE_UP)
			c->attempts = c->max_attempts; /* retrying cannot help: fail it now */
	}
	json_decref(payload);
	db_release();
	if (!c->ok)
		log_warn("job failed",
		         json_pack("{sI ss si ss}", "job_id", (json_int_t)c->id, "kind", c->kind,
		                   "attempt", c->attempts, "error", c->err));
}

int jobs_run_due(const struct config *cfg)
{
	int n = 0;
	for (;;) {
		struct claim_batch b;
		b.count = 0;
		if (read_due(&b) != 0 || b.count == 0)
			break;
		int total = b.count, failed = 0;
		for (b.count = 0; b.count < total && !failed;) {
			struct claimed *c = &b.jobs[b.count++];
			run_one(cfg, c);
			/* One failure (say, SMTP down) likely means more: leave the rest queued
			 * instead of waiting out a timeout for each. */
			failed = !c->ok;
		}
		/* Between batches, so a long queue of mail never holds expiry back. */
		jobs_expire_due(cfg);
		int recorded = db_write(finish_tx, &b) == 0;
		for (int i = 0; i < total; i++)
			free(b.jobs[i].payload);
		if (!recorded)
			break; /* the batch stays due; the next tick retries */
		n += b.count;
		if (failed)
			break; /* the rest stays due; the next tick retries */
	}
	return n;
}

static int recover_tx(sqlite3 *db, void *arg)
{
	(void)db;
	(void)arg;
	sqlite3_stmt *st = db_stmt(sql_recover);
	if (!st)
		return -1;
	db_bind_int(st, ":now", util_now());
	return sqlite3_step(st) == SQLITE_DONE ? 0 : db_log_error("recover jobs failed");
}

static void *loop(void *arg)
{
	(void)arg;
	/* Jobs that were running when the process died run again: handlers are idempotent. */
	db_write(recover_tx, NULL);
	pthread_mutex_lock(&lock);
	while (running) {
		pthread_mutex_unlock(&lock);
		jobs_run_due(jobs_cfg);
		jobs_periodic(jobs_cfg);
		db_release();
		pthread_mutex_lock(&lock);
		if (!running)
			break;
		if (!woken) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&cond, &lock, &ts);
		}
		if (woken && running) {
			/* Let a burst of new jobs gather, so one commit records many. */
			pthread_mutex_unlock(&lock);
			usleep(50000);
			pthread_mutex_lock(&lock);
		}
		woken = 0;
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int jobs_start(const struct config *cfg)
{
	jobs_cfg = cfg;
	running = 1;
	if (pthread_create(&thread, NULL, loop, NULL) != 0) {
		running = 0;
		log_error("cannot start jobs thread", NULL);
		return -1;
	}
	return 0;
}

void jobs_stop(void)
{
	pthread_mutex_lock(&lock);
	int was = running;
	running = 0;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
	if (was)
		pthread_join(thread, NULL);
}

void jobs_wake(void)
{
	pthread_mutex_lock(&lock);
	woken = 1;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
}

static const char *sql_admin_list =
    "SELECT id, kind, payload, status, attempts, max_attempts, run_at, last_error, created_at,"
    " updated_at FROM jobs WHERE (:kind = '' OR kind = :kind) AND (:status = '' OR status = "
    ":status)"
    " ORDER BY id DESC LIMIT 100 OFFSET :off";

json_t *jobs_admin_json(const char *kind, const char *status, int64_t page)
{
	json_t *list = json_array();
	sqlite3_stmt *st = db_stmt(sql_admin_list);
	if (!st)
		return list;
	db_bind_text(st, ":kind", kind);
	db_bind_text(st, ":status", status);
	db_bind_int(st, ":off", (page > 0 ? page - 1 : 0) * 100);
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *j = json_pack(
		    "{sI ss so ss si si sI sI sI}", "id", (json_int_t)sqlite3_column_int64(st, 0),
		    "kind", db_col_text(st, 1), "payload", json_loads(db_col_text(st, 2), 0, NULL),
		    "status", db_col_text(st, 3), "attempts", sqlite3_column_int(st, 4),
		    "max_attempts", sqlite3_column_int(st, 5), "run_at",
		    (json_int_t)sqlite3_column_int64(st, 6), "created_at",
		    (json_int_t)sqlite3_column_int64(st, 8), "updated_at",
		    (json_int_t)sqlite3_column_int64(st, 9));
		if (!j)
			continue;
		json_object_set_new(j, "last_error",
		                    sqlite3_column_type(st, 7) == SQLITE_NULL
		                        ? json_null()
		                        : json_string(db_col_text(st, 7)));
		json_array_append_new(list, j);
	}
	sqlite3_reset(st);
	return list;
}

static int prune_tx(sqlite3 *db, void *arg)
{
	(void)db;
	sqlite3_stmt *st = db_stmt(sql_prune);
	if (!st)
		return -1;
	db_bind_int(st, ":before", *(const int64_t *)arg);
	return sqlite3_step(st) == SQLITE_DONE ? 0 : db_log_error("prune jobs failed");
}

void jobs_prune(int64_t now)
{
	/* Done jobs are kept a month for the admin's mail view, then dropped: the table would
	 * otherwise grow by a row per order forever. Failed ones stay until someone looks. */
	static int64_t last;
	if (now - last < 3600)
		return;
	last = now;
	int64_t before = now - 30 * 86400;
	db_write(prune_tx, &before);
	shop_retention_prune(now);
}
