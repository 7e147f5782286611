/* Unit tests of the jobs queue and of the write seam it relies on, on a temporary database:
 * enqueue inside a transaction, run, retry and fail; db_write group commit under concurrent
 * writers, with failing writers rolled back alone inside a shared batch. */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "cardshop/config.h"
#include "cardshop/db.h"
#include "cardshop/jobs.h"
#include "cardshop/shop.h"
#include "cardshop/sec.h"
#include "cardshop/util.h"

static const unsigned char secret[32] = {
    0x5e, 0x11, 0x02, 0x93, 0x44, 0xd5, 0x66, 0x17, 0x28, 0xb9, 0x4a, 0x0b, 0x7c, 0x3d, 0xee, 0x0f,
    0x90, 0x81, 0x72, 0x63, 0x54, 0x45, 0x36, 0x27, 0x18, 0x09, 0xfa, 0xeb, 0xdc, 0xcd, 0xbe, 0xaf,
};

static char tmpdir[256];
static char dbpath[300];
static struct config cfg;

static void exec_ok(const char *sql)
{
	char *msg = NULL;
	ck_assert_msg(sqlite3_exec(db_conn(), sql, NULL, NULL, &msg) == SQLITE_OK, "%s: %s", sql,
	              msg ? msg : "?");
}

static void setup_db(void)
{
	snprintf(tmpdir, sizeof tmpdir, "%s/cardshop-test-jobs-XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof dbpath, "%s/jobs.db", tmpdir);
	sec_init_with(secret);
	char err[256] = "";
	ck_assert_msg(db_init(dbpath, 5000, err, sizeof err) == 0, "db_init: %s", err);
	ck_assert_int_ge(db_migrate(), 1);
	exec_ok("CREATE TABLE scratch (id INTEGER PRIMARY KEY, thread INTEGER NOT NULL,"
	        " seq INTEGER NOT NULL, UNIQUE (thread, seq))");
	config_defaults(&cfg);
}

static void teardown_db(void)
{
	config_cleanup(&cfg);
	db_shutdown();
	const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		char p[320];
		snprintf(p, sizeof p, "%s%s", dbpath, suffixes[i]);
		unlink(p);
	}
	rmdir(tmpdir);
}

static int64_t sql_int(const char *sql)
{
	sqlite3_stmt *st;
	ck_assert_msg(sqlite3_prepare_v2(db_conn(), sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
	              sqlite3_errmsg(db_conn()));
	int64_t v = -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Copies the first column of the first row into out ("" when NULL or no row). */
static void sql_text(const char *sql, char *out, size_t n)
{
	sqlite3_stmt *st;
	ck_assert_msg(sqlite3_prepare_v2(db_conn(), sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
	              sqlite3_errmsg(db_conn()));
	out[0] = '\0';
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

/* ---- jobs ---- */

struct enqueue_ctx {
	const char *kind;
	json_t *payload;
	int64_t run_at;
	int fail_after; /* return this after a successful enqueue (0: commit) */
};

static int enqueue_tx(sqlite3 *db, void *arg)
{
	(void)db;
	struct enqueue_ctx *c = arg;
	enum job_kind k;
	if (job_kind_parse(c->kind, &k) != 0) { /* an unknown name has no enum: refused here */
		json_decref(c->payload);
		return -1;
	}
	if (outbox_put(k, c->payload, c->run_at) != 0)
		return -1;
	return c->fail_after;
}

START_TEST(test_noop_job_runs)
{
	struct enqueue_ctx c = {"noop", json_pack("{si ss}", "a", 1, "b", "x"), 0, 0};
	ck_assert_int_eq(db_write(enqueue_tx, &c), 0);
	ck_assert_int_eq(
	    sql_int("SELECT count(*) FROM jobs WHERE kind = 'noop' AND status = 'queued'"), 1);
	char payload[128];
	sql_text("SELECT payload FROM jobs", payload, sizeof payload);
	json_t *back = json_loads(payload, 0, NULL);
	ck_assert_ptr_nonnull(back);
	ck_assert_int_eq(json_integer_value(json_object_get(back, "a")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(back, "b")), "x");
	json_decref(back);

	ck_assert_int_eq(jobs_run_due(&cfg), 1);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM jobs WHERE status = 'done' AND attempts = 1"
	                         " AND last_error IS NULL"),
	                 1);
	/* Done is done: nothing runs twice. */
	ck_assert_int_eq(jobs_run_due(&cfg), 0);
	ck_assert_int_eq(sql_int("SELECT attempts FROM jobs"), 1);
}
END_TEST

START_TEST(test_many_jobs_run_once_each)
{
	for (int i = 0; i < 50; i++) {
		struct enqueue_ctx c = {"noop", json_pack("{si}", "i", i), 0, 0};
		ck_assert_int_eq(db_write(enqueue_tx, &c), 0);
	}
	ck_assert_int_eq(jobs_run_due(&cfg), 50);
	ck_assert_int_eq(
	    sql_int("SELECT count(*) FROM jobs WHERE status = 'done' AND attempts = 1"), 50);
	ck_assert_int_eq(jobs_run_due(&cfg), 0);
}
END_TEST

START_TEST(test_future_job_waits)
{
	struct enqueue_ctx c = {"noop", json_object(), util_now() + 3600, 0};
	ck_assert_int_eq(db_write(enqueue_tx, &c), 0);
	ck_assert_int_eq(jobs_run_due(&cfg), 0);
	ck_assert_int_eq(
	    sql_int("SELECT count(*) FROM jobs WHERE status = 'queued' AND attempts = 0"), 1);
	/* A run_at in the past is clamped to now, and runs. */
	struct enqueue_ctx past = {"noop", json_object(), 1, 0};
	ck_assert_int_eq(db_write(enqueue_tx, &past), 0);
	ck_assert_int_ge(sql_int("SELECT min(run_at) FROM jobs"), util_now() - 5);
	ck_assert_int_eq(jobs_run_due(&cfg), 1);
}
END_TEST

START_TEST(test_unknown_kind_refused)
{
	struct enqueue_ctx c = {"no_such_kind", json_object(), 0, 0};
	ck_assert_int_eq(db_write(enqueue_tx, &c), -1);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM jobs"), 0);
	struct enqueue_ctx empty = {"", json_object(), 0, 0};
	ck_assert_int_eq(db_write(enqueue_tx, &empty), -1);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM jobs"), 0);
	ck_assert_int_eq(jobs_run_due(&cfg), 0);
}
END_TEST

START_TEST(test_job_exists_only_with_its_transaction)
{
	/* A job queued by a write that then rolls back never existed. */
	struct enqueue_ctx c = {"noop", json_object(), 0, 3};
	ck_assert_int_eq(db_write(enqueue_tx, &c), 3);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM jobs"), 0);
	ck_assert_int_eq(jobs_run_due(&cfg), 0);
}
END_TEST

/* No payload means an empty object (and, under ASan, no leaked placeholder object). */
START_TEST(test_null_payload)
{
	struct enqueue_ctx c = {"noop", NULL, 0, 0};
	ck_assert_int_eq(db_write(enqueue_tx, &c), 0);
	char payload[32];
	sql_text("SELECT payload FROM jobs", payload, sizeof payload);
	ck_assert_str_eq(payload, "{}");
	ck_assert_int_eq(jobs_run_due(&cfg), 1);
}
END_TEST

/* Rows the code would never write, as an older or newer build might leave them. */
static void insert_bad_jobs(int64_t now)
{
	char sql[512];
	snprintf(
	    sql, sizeof sql,
	    "INSERT INTO jobs (id, kind, payload, max_attempts, run_at, created_at, updated_at)"
	    " VALUES (1, 'retired_kind', '{}', 1, %lld, %lld, %lld),"
	    " (2, 'retired_kind', '{}', 3, %lld, %lld, %lld),"
	    " (3, 'noop', 'not json', 2, %lld, %lld, %lld)",
	    (long long)now, (long long)now, (long long)now, (long long)now, (long long)now,
	    (long long)now, (long long)now, (long long)now, (long long)now);
	exec_ok(sql);
}

/* Calls jobs_run_due a few times: the queue may leave the rest of a batch for the next call
 * after a failure, so outcomes are checked on the rows, not on one call's count. */
static void run_due_a_few_times(void)
{
	for (int i = 0; i < 5; i++)
		jobs_run_due(&cfg);
}

START_TEST(test_failing_job_retries_then_fails)
{
	int64_t now = util_now();
	insert_bad_jobs(now);
	run_due_a_few_times();

	char status[32], error[128];
	sql_text("SELECT status FROM jobs WHERE id = 1", status, sizeof status);
	ck_assert_str_eq(status, "failed");
	sql_text("SELECT last_error FROM jobs WHERE id = 1", error, sizeof error);
	ck_assert_str_eq(error, "unknown job kind");
	ck_assert_int_eq(sql_int("SELECT attempts FROM jobs WHERE id = 1"), 1);

	/* Not the last attempt: queued again, later, with the error kept; and tried only once,
	 * however often the queue is run, because of the backoff. */
	sql_text("SELECT status FROM jobs WHERE id = 2", status, sizeof status);
	ck_assert_str_eq(status, "queued");
	ck_assert_int_eq(sql_int("SELECT attempts FROM jobs WHERE id = 2"), 1);
	ck_assert_int_ge(sql_int("SELECT run_at FROM jobs WHERE id = 2"), now + 2);
	sql_text("SELECT last_error FROM jobs WHERE id = 3", error, sizeof error);
	ck_assert_str_eq(error, "payload is not JSON");
	sql_text("SELECT status FROM jobs WHERE id = 3", status, sizeof status);
	ck_assert_str_eq(status, "queued");
	ck_assert_int_eq(sql_int("SELECT attempts FROM jobs WHERE id = 3"), 1);

	/* Once due again, the final attempt marks them failed. */
	exec_ok("UPDATE jobs SET run_at = 0 WHERE status = 'queued'");
	run_due_a_few_times();
	sql_text("SELECT status FROM jobs WHERE id = 3", status, sizeof status);
	ck_assert_str_eq(status, "failed");
	ck_assert_int_eq(sql_int("SELECT attempts FROM jobs WHERE id = 3"), 2);
	sql_text("SELECT status FROM jobs WHERE id = 2", status, sizeof status);
	ck_assert_str_eq(status, "queued");
	ck_assert_int_eq(sql_int("SELECT attempts FROM jobs WHERE id = 2"), 2);
	/* A failed job is never picked up again. */
	exec_ok("UPDATE jobs SET run_at = 0");
	run_due_a_few_times();
	ck_assert_int_eq(sql_int("SELECT attempts FROM jobs WHERE id = 1"), 1);
	ck_assert_int_eq(sql_int("SELECT attempts FROM jobs WHERE id = 3"), 2);
}
END_TEST

/* jobs.h: jobs_run_due "Returns the number of jobs run". With the working-tree change to
 * src/jobs/queue.c (stop the batch at the first failing job), `n += b.count` is skipped when a
 * job failed, so a call that ran (and recorded) a failing job returns 0. */
START_TEST(test_run_due_counts_failed_jobs)
{
	int64_t now = util_now();
	insert_bad_jobs(now);
	int ran = 0;
	for (int i = 0; i < 5; i++)
		ran += jobs_run_due(&cfg);
	ck_assert_int_eq(sql_int("SELECT sum(attempts) FROM jobs"), 3);
	ck_assert_int_eq(ran, 3);
}
END_TEST

/* ---- db_write ---- */

static const char *sql_scratch_insert = "INSERT INTO scratch (thread, seq) VALUES (:thread, :seq)";

struct insert_ctx {
	int thread, seq;
	int result; /* what the write function returns after inserting */
};

static int insert_tx(sqlite3 *db, void *arg)
{
	(void)db;
	struct insert_ctx *c = arg;
	sqlite3_stmt *st = db_stmt(sql_scratch_insert);
	if (!st)
		return -1;
	db_bind_int(st, ":thread", c->thread);
	db_bind_int(st, ":seq", c->seq);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return -2;
	return c->result;
}

static int returns_42(sqlite3 *db, void *arg)
{
	(void)arg;
	sqlite3_exec(db, "INSERT INTO scratch (thread, seq) VALUES (-1, -1)", NULL, NULL, NULL);
	return 42;
}

START_TEST(test_write_result_and_rollback)
{
	ck_assert_int_eq(db_write(returns_42, NULL), 42);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM scratch"), 0);
	struct insert_ctx c = {1, 1, 0};
	ck_assert_int_eq(db_write(insert_tx, &c), 0);
	/* A constraint error inside a write is that write's failure only. */
	ck_assert_int_eq(db_write(insert_tx, &c), -2);
	c.seq = 2;
	ck_assert_int_eq(db_write(insert_tx, &c), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM scratch"), 2);
}
END_TEST

static int nested_tx(sqlite3 *db, void *arg)
{
	(void)db;
	(void)arg;
	return db_write(returns_42, NULL);
}

START_TEST(test_nested_write_aborts)
{
	db_write(nested_tx, NULL);
}
END_TEST

/* Each thread writes `per_thread` rows; every `fail_every`-th write fails after inserting.
 * A sample of the successful ones is checked from a separate connection right after db_write
 * returns, so "returned 0" means "committed", not just "visible to the writer". */
struct writer {
	pthread_t tid;
	int id, per_thread, fail_every;
	int ok, failed, wrong, not_durable;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	sqlite3 *check = NULL;
	if (sqlite3_open_v2(dbpath, &check, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		w->not_durable = -1000000;
	sqlite3_busy_timeout(check, 5000);
	for (int i = 0; i < w->per_thread; i++) {
		int fail = w->fail_every && i % w->fail_every == 0;
		struct insert_ctx c = {w->id, i, fail ? 7 : 0};
		int rc = db_write(insert_tx, &c);
		if (rc == 0 && !fail)
			w->ok++;
		else if (rc == 7 && fail)
			w->failed++;
		else
			w->wrong++;
		if (rc == 0 && i % 25 == 1) {
			char sql[128];
			snprintf(sql, sizeof sql,
			         "SELECT count(*) FROM scratch WHERE thread = %d AND seq = %d",
			         w->id, i);
			sqlite3_stmt *st = NULL;
			int found = 0;
			if (sqlite3_prepare_v2(check, sql, -1, &st, NULL) == SQLITE_OK &&
			    sqlite3_step(st) == SQLITE_ROW)
				found = sqlite3_column_int(st, 0);
			sqlite3_finalize(st);
			if (found != 1)
				w->not_durable++;
		}
	}
	sqlite3_close(check);
	db_release();
	return NULL;
}

static void run_writers(int nthreads, int per_thread, int fail_every, int *ok, int *failed)
{
	struct writer w[16];
	ck_assert_int_le(nthreads, 16);
	for (int i = 0; i < nthreads; i++) {
		w[i] = (struct writer){.id = i, .per_thread = per_thread, .fail_every = fail_every};
		ck_assert_int_eq(pthread_create(&w[i].tid, NULL, writer_main, &w[i]), 0);
	}
	*ok = *failed = 0;
	for (int i = 0; i < nthreads; i++) {
		pthread_join(w[i].tid, NULL);
		ck_assert_msg(w[i].wrong == 0, "thread %d: %d writes returned the wrong result", i,
		              w[i].wrong);
		ck_assert_msg(w[i].not_durable == 0,
		              "thread %d: %d writes returned before their commit", i,
		              w[i].not_durable);
		*ok += w[i].ok;
		*failed += w[i].failed;
	}
}

START_TEST(test_group_commit_all_succeed)
{
	int ok, failed;
	run_writers(8, 200, 0, &ok, &failed);
	ck_assert_int_eq(ok, 1600);
	ck_assert_int_eq(failed, 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM scratch"), 1600);
	ck_assert_int_eq(sql_int("SELECT count(DISTINCT thread * 1000 + seq) FROM scratch"), 1600);
	for (int t = 0; t < 8; t++) {
		char sql[128];
		snprintf(sql, sizeof sql,
		         "SELECT count(*) = 200 AND min(seq) = 0 AND max(seq) = 199 FROM scratch"
		         " WHERE thread = %d",
		         t);
		ck_assert_msg(sql_int(sql) == 1, "thread %d rows incomplete", t);
	}
}
END_TEST

START_TEST(test_group_commit_with_failures)
{
	int ok, failed;
	run_writers(8, 200, 3, &ok, &failed);
	/* seq 0, 3, ..., 198 fail: 67 per thread; 133 commit. */
	ck_assert_int_eq(failed, 8 * 67);
	ck_assert_int_eq(ok, 8 * 133);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM scratch"), 8 * 133);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM scratch WHERE seq % 3 = 0"), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM scratch WHERE seq % 3 = 1"), 8 * 67);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM scratch WHERE seq % 3 = 2"), 8 * 66);
}
END_TEST

/* ---- one batch, observed: a slow leader holds the write lock while the others queue ---- */

#define FOLLOWERS 7

static atomic_int commits;       /* COMMITs seen on any connection */
static atomic_int announced;     /* followers about to call db_write */
static atomic_int leader_inside; /* the slow write has started */

static int on_commit(void *arg)
{
	(void)arg;
	atomic_fetch_add(&commits, 1);
	return 0;
}

struct batch_ctx {
	int thread;
	int mode;         /* 0 ok, 1 return 5 after inserting, 2 constraint error, 3 slow leader */
	int commits_seen; /* COMMITs before this write ran: same value = same transaction */
	pthread_t tid;
	int rc;
};

static int batch_tx(sqlite3 *db, void *arg)
{
	struct batch_ctx *c = arg;
	sqlite3_commit_hook(db, on_commit, NULL);
	c->commits_seen = atomic_load(&commits);
	struct insert_ctx ins = {c->thread, 0, 0};
	if (c->mode == 2)
		ins.thread = 100; /* the leader's row: UNIQUE (thread, seq) */
	int rc = insert_tx(db, &ins);
	if (c->mode == 3) {
		atomic_store(&leader_inside, 1);
		while (atomic_load(&announced) < FOLLOWERS)
			usleep(1000);
		usleep(200000); /* let every follower reach the queue */
	}
	if (rc != 0)
		return rc;
	return c->mode == 1 ? 5 : 0;
}

static void *batch_thread(void *arg)
{
	struct batch_ctx *c = arg;
	if (c->mode != 3) {
		while (!atomic_load(&leader_inside))
			usleep(1000);
		atomic_fetch_add(&announced, 1);
	}
	c->rc = db_write(batch_tx, c);
	db_release();
	return NULL;
}

START_TEST(test_failure_inside_shared_batch)
{
	atomic_store(&commits, 0);
	atomic_store(&announced, 0);
	atomic_store(&leader_inside, 0);
	struct batch_ctx leader = {.thread = 100, .mode = 3};
	struct batch_ctx f[FOLLOWERS];
	for (int i = 0; i < FOLLOWERS; i++)
		f[i] = (struct batch_ctx){.thread = i, .mode = i == 2 ? 1 : i == 4 ? 2 : 0};
	ck_assert_int_eq(pthread_create(&leader.tid, NULL, batch_thread, &leader), 0);
	for (int i = 0; i < FOLLOWERS; i++)
		ck_assert_int_eq(pthread_create(&f[i].tid, NULL, batch_thread, &f[i]), 0);
	pthread_join(leader.tid, NULL);
	for (int i = 0; i < FOLLOWERS; i++)
		pthread_join(f[i].tid, NULL);

	ck_assert_int_eq(leader.rc, 0);
	for (int i = 0; i < FOLLOWERS; i++) {
		int want = i == 2 ? 5 : i == 4 ? -2 : 0;
		ck_assert_msg(f[i].rc == want, "follower %d returned %d, want %d", i, f[i].rc,
		              want);
		/* All followers shared one transaction, after the leader's. */
		ck_assert_int_eq(f[i].commits_seen, f[0].commits_seen);
		ck_assert_int_gt(f[i].commits_seen, leader.commits_seen);
	}
	/* Leader + 5 good followers; the two failures left nothing. */
	ck_assert_int_eq(sql_int("SELECT count(*) FROM scratch"), 6);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM scratch WHERE thread IN (2, 4)"), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM scratch WHERE thread = 100"), 1);
	/* Exactly two commits: one per batch. */
	ck_assert_int_eq(atomic_load(&commits), 2);
}
END_TEST

/* When SQLite rolls back the whole transaction by itself in the middle of a batch (here a
 * RAISE(ROLLBACK) trigger; in production SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM or
 * SQLITE_BUSY can do the same), db.c's run_one keeps going: "ROLLBACK TO w" and "RELEASE w"
 * fail silently, the following writes of the batch run and commit one by one in autocommit
 * mode, then COMMIT fails and every caller gets DB_FAILED. Callers are told "failed" for
 * writes that are in the database. Whatever db_write returns must match what is stored. */
START_TEST(test_batch_survives_auto_rollback)
{
	exec_ok("CREATE TRIGGER scratch_boom BEFORE INSERT ON scratch WHEN NEW.thread = 4"
	        " BEGIN SELECT RAISE(ROLLBACK, 'boom'); END");
	atomic_store(&commits, 0);
	atomic_store(&announced, 0);
	atomic_store(&leader_inside, 0);
	struct batch_ctx leader = {.thread = 100, .mode = 3};
	struct batch_ctx f[FOLLOWERS];
	for (int i = 0; i < FOLLOWERS; i++)
		f[i] = (struct batch_ctx){.thread = i, .mode = 0};
	ck_assert_int_eq(pthread_create(&leader.tid, NULL, batch_thread, &leader), 0);
	for (int i = 0; i < FOLLOWERS; i++)
		ck_assert_int_eq(pthread_create(&f[i].tid, NULL, batch_thread, &f[i]), 0);
	pthread_join(leader.tid, NULL);
	for (int i = 0; i < FOLLOWERS; i++)
		pthread_join(f[i].tid, NULL);
	ck_assert_int_eq(leader.rc, 0);
	for (int i = 0; i < FOLLOWERS; i++) {
		char sql[96];
		snprintf(sql, sizeof sql, "SELECT count(*) FROM scratch WHERE thread = %d", i);
		int64_t stored = sql_int(sql);
		ck_assert_msg((f[i].rc == 0) == (stored == 1),
		              "follower %d: db_write returned %d but %lld row(s) stored", i,
		              f[i].rc, (long long)stored);
	}
	ck_assert_int_ne(f[4].rc, 0);
}
END_TEST

/* A delivery mail whose order cannot be read is failed and retried, never marked done. */
START_TEST(test_mail_job_retried_on_database_error)
{
	struct enqueue_ctx c = {"order_mail", json_pack("{si}", "order_id", 7), 0, 0};
	ck_assert_int_eq(db_write(enqueue_tx, &c), 0);
	db_fault_inject("o.delivery, o.gateway, o.email"); /* the order row's loader */
	jobs_run_due(&cfg);
	db_fault_inject(NULL);
	char status[32], error[128];
	sql_text("SELECT status FROM jobs", status, sizeof status);
	ck_assert_str_eq(status, "queued");
	ck_assert_int_eq(sql_int("SELECT attempts FROM jobs"), 1);
	ck_assert_int_gt(sql_int("SELECT run_at - updated_at FROM jobs"), 0);
	sql_text("SELECT last_error FROM jobs", error, sizeof error);
	ck_assert_ptr_nonnull(strstr(error, "could not be read"));
}
END_TEST

/* The outcome of a batch is recorded in one commit: when that commit fails, the jobs stay due
 * and run again, rather than being lost. */
START_TEST(test_failed_commit_leaves_jobs_due)
{
	struct enqueue_ctx c = {"noop", json_object(), 0, 0};
	ck_assert_int_eq(db_write(enqueue_tx, &c), 0);
	db_fault_inject("UPDATE jobs SET status = 'done'");
	ck_assert_int_eq(jobs_run_due(&cfg), 0);
	db_fault_inject(NULL);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM jobs WHERE status = 'queued'"), 1);
	ck_assert_int_eq(jobs_run_due(&cfg), 1);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM jobs WHERE status = 'done'"), 1);
}
END_TEST

static Suite *jobs_suite(void)
{
	Suite *s = suite_create("jobs");
	TCase *jobs = tcase_create("jobs");
	tcase_add_checked_fixture(jobs, setup_db, teardown_db);
	tcase_add_test(jobs, test_noop_job_runs);
	tcase_add_test(jobs, test_many_jobs_run_once_each);
	tcase_add_test(jobs, test_future_job_waits);
	tcase_add_test(jobs, test_unknown_kind_refused);
	tcase_add_test(jobs, test_job_exists_only_with_its_transaction);
	tcase_add_test(jobs, test_null_payload);
	tcase_add_test(jobs, test_failing_job_retries_then_fails);
	tcase_add_test(jobs, test_run_due_counts_failed_jobs);
	tcase_add_test(jobs, test_mail_job_retried_on_database_error);
	tcase_add_test(jobs, test_failed_commit_leaves_jobs_due);
	suite_add_tcase(s, jobs);

	TCase *w = tcase_create("db_write");
	tcase_set_timeout(w, 120);
	tcase_add_checked_fixture(w, setup_db, teardown_db);
	tcase_add_test(w, test_write_result_and_rollback);
	/* An abort can only be observed from a forked child. */
	const char *fork_env = getenv("CK_FORK");
	if (!fork_env || strcmp(fork_env, "no") != 0)
		tcase_add_test_raise_signal(w, test_nested_write_aborts, SIGABRT);
	tcase_add_test(w, test_group_commit_all_succeed);
	tcase_add_test(w, test_group_commit_with_failures);
	tcase_add_test(w, test_failure_inside_shared_batch);
	tcase_add_test(w, test_batch_survives_auto_rollback);
	suite_add_tcase(s, w);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(jobs_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
