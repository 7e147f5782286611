/* SQLite connections (one per thread), the statement cache and the single write seam. */
#include "cardshop/db.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cardshop/log.h"
#include "cardshop/util.h"
#include "cardshop/metrics.h"

#define STMT_SLOTS 256 /* power of two; more than the statements the program has */

struct stmt_slot {
	const char *sql;
	sqlite3_stmt *st;
};

struct conn {
	sqlite3 *db;
	struct stmt_slot slots[STMT_SLOTS];
	struct conn *next;
};

static char *db_path;
static int db_busy_ms;
static pthread_mutex_t conns_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn *conns;
static _Thread_local struct conn *tl_conn;
static struct conn *writer; /* used by the group commit's leader only, one at a time */

static int mkdir_parent(const char *path)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	int rc = 0;
	if (slash && slash != dir) {
		*slash = '\0';
		for (char *p = dir + 1; *p; p++) {
			if (*p != '/')
				continue;
			*p = '\0';
			if (mkdir(dir, 0700) != 0 && errno != EEXIST)
				rc = -1;
			*p = '/';
		}
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			rc = -1;
	}
	free(dir);
	return rc;
}

/* Databases made before files were created 0600 (or copied in by hand) may be readable by
 * others: the keys are encrypted, but orders and emails are not. Their group and other bits
 * are dropped at start, for the file and its WAL and shared-memory files. */
static void tighten_mode(const char *path)
{
	static const char *const suffixes[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		char *f = xasprintf("%s%s", path, suffixes[i]);
		struct stat st;
		if (stat(f, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
		    (st.st_mode & 077) && chmod(f, st.st_mode & 0700) == 0)
			log_warn("database file was readable by others: now 0600",
			         json_pack("{ss}", "path", f));
		free(f);
	}
}

/* Process-wide SQLite settings; they only take before the library's first use, so a second
 * db_init (tests, the bench) leaves them as they are.
 * - No memory statistics: with them every sqlite3_malloc takes one global mutex, which 36
 *   threads then queue on.
 * - Statement journals (the group commit's savepoints) stay in memory up to 124 KiB and go to
 *   a temp file beyond. The default, 64 KiB, sent every notify's savepoint (two dozen pages)
 *   to a file, two pwrite calls per page: 1,800-2,000 purchases/s became 2,600-2,900. The
 *   chunk stays below 128 KiB because spilling writes it in one call, and this SQLite (3.40)
 *   writes at most 128 KiB - 1 bytes per call and reports the rest as SQLITE_FULL: 192 KiB
 *   to 1 MiB failed concurrent key imports (test_keys.py). The big imports that made the
 *   unbounded in-memory journal quadratic still spill to the file. */
#define STMT_JOURNAL_SPILL (124 * 1024)

static void sqlite_configure(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, STMT_JOURNAL_SPILL);
}

int db_init(const char *path, int busy_timeout_ms, char *err, size_t errlen)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, sqlite_configure);
	if (mkdir_parent(path) != 0) {
		snprintf(err, errlen, "cannot create the folder of %s: %s", path, strerror(errno));
		return -1;
	}
	free(db_path);
	db_path = xstrdup(path);
	db_busy_ms = busy_timeout_ms;
	if (!db_conn()) {
		snprintf(err, errlen, "cannot open database %s", path);
		return -1;
	}
	tighten_mode(path);
	return 0;
}

static int exec_pragmas(sqlite3 *db)
{
	/* synchronous=FULL: a paid order must survive a power cut, not just a crash. */
	static const char *pragmas = "PRAGMA journal_mode=WAL;"
	                             "PRAGMA synchronous=FULL;"
	                             "PRAGMA foreign_keys=ON;"
	                             /* Statement journals in files: the in-memory one walks
	                              * its chunk list on every seek, so one 30,000-key
	                              * import into 400,000 keys held the write lock for
	                              * 37-100 s (1.6 s in a file) and its chunks stayed
	                              * in the heap. */
	                             "PRAGMA temp_store=FILE;"
	                             /* No mmap: a 256 MiB map per connection put the file in
	                              * every thread's resident set (1.1 GiB with 200,000 keys
	                              * and 32 threads). Browsing reads memory now, so the few
	                              * page reads left go through the OS cache; a small page
	                              * cache per connection bounds the rest. */
	                             "PRAGMA mmap_size=0;";
	char *msg = NULL;
	if (sqlite3_exec(db, pragmas, NULL, NULL, &msg) != SQLITE_OK) {
		log_error("database pragmas failed", json_pack("{ss}", "error", msg ? msg : "?"));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* A new connection with the pragmas, on the list db_shutdown closes; NULL when it fails. */
static struct conn *conn_open(int cache_kib)
{
	if (!db_path)
		return NULL;
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(db_path, &db, flags, NULL) != SQLITE_OK) {
		log_error("database open failed", json_pack("{ss ss}", "path", db_path, "error",
		                                            db ? sqlite3_errmsg(db) : "?"));
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, db_busy_ms);
	sqlite3_extended_result_codes(db, 1);
	char cache[64];
	snprintf(cache, sizeof cache, "PRAGMA cache_size=-%d;", cache_kib);
	if (exec_pragmas(db) != 0 || sqlite3_exec(db, cache, NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	struct conn *c = xcalloc(1, sizeof *c);
	c->db = db;
	pthread_mutex_lock(&conns_lock);
	c->next = conns;
	conns = c;
	pthread_mutex_unlock(&conns_lock);
	return c;
}

/* Every thread reads on a connection of its own with a small page cache (the hot pages are
 * in the OS cache; with 36 threads, 1 MiB each was a third of the server's memory); writes
 * all run on the one writer connection (see the group commit below). */
#define READER_CACHE_KIB 256
#define WRITER_CACHE_KIB 4096

sqlite3 *db_conn(void)
{
	if (tl_conn)
		return tl_conn->db;
	tl_conn = conn_open(READER_CACHE_KIB);
	return tl_conn ? tl_conn->db : NULL;
}

static void conn_close(struct conn *c)
{
	for (int i = 0; i < STMT_SLOTS; i++)
		sqlite3_finalize(c->slots[i].st);
	if (sqlite3_close(c->db) != SQLITE_OK)
		log_error("database close failed",
		          json_pack("{ss}", "error", sqlite3_errmsg(c->db)));
	free(c);
}

void db_shutdown(void)
{
	pthread_mutex_lock(&conns_lock);
	struct conn *c = conns;
	conns = NULL;
	pthread_mutex_unlock(&conns_lock);
	/* The last connection to close checkpoints the WAL into the main file. */
	while (c) {
		struct conn *next = c->next;
		conn_close(c);
		c = next;
	}
	tl_conn = NULL;
	writer = NULL;
	free(db_path);
	db_path = NULL;
}

sqlite3_stmt *db_stmt(const char *sql)
{
	if (!db_conn())
		return NULL;
	uintptr_t h = (uintptr_t)sql;
	h ^= h >> 17;
	h *= 0x9E3779B97F4A7C15ull;
	size_t i = (size_t)(h >> 40) & (STMT_SLOTS - 1);
	for (size_t probe = 0; probe < STMT_SLOTS; probe++, i = (i + 1) & (STMT_SLOTS - 1)) {
		struct stmt_slot *s = &tl_conn->slots[i];
		if (s->sql == sql) {
			sqlite3_reset(s->st);
			sqlite3_clear_bindings(s->st);
			return s->st;
		}
		if (s->sql)
			continue;
		if (sqlite3_prepare_v3(tl_conn->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->st,
		                       NULL) != SQLITE_OK) {
			log_error(
			    "prepare failed",
			    json_pack("{ss ss}", "error", sqlite3_errmsg(tl_conn->db), "sql", sql));
			s->st = NULL;
			return NULL;
		}
		s->sql = sql;
		return s->st;
	}
	abort(); /* more distinct statements than slots: raise STMT_SLOTS */
}

void db_release(void)
{
	if (!tl_conn)
		return;
	for (int i = 0; i < STMT_SLOTS; i++) {
		if (tl_conn->slots[i].st)
			sqlite3_reset(tl_conn->slots[i].st);
	}
}

int db_file_stat(struct stat *st)
{
	return db_path ? stat(db_path, st) : -1;
}

/* Test hook: NULL in production, so the check costs one atomic load a step. */
static _Atomic(const char *) fault_needle;

void db_fault_inject(const char *sql_needle)
{
	atomic_store(&fault_needle, sql_needle);
}

int db_step(sqlite3_stmt *st)
{
	const char *needle = atomic_load(&fault_needle);
	if (needle) {
		const char *sql = sqlite3_sql(st);
		if (sql && strstr(sql, needle))
			return SQLITE_IOERR;
	}
	return sqlite3_step(st);
}

int db_log_error(const char *what)
{
	sqlite3 *db = db_conn();
	log_error(what, json_pack("{ss si}", "error", db ? sqlite3_errmsg(db) : "no connection",
	                          "code", db ? sqlite3_extended_errcode(db) : -1));
	return -1;
}

static int exec_simple(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* Transaction control on the hot path, through the statement cache instead of a parse each
 * time. Returns the step's result code. */
static const char *sql_begin = "BEGIN IMMEDIATE";
static const char *sql_commit = "COMMIT";
static const char *sql_savepoint = "SAVEPOINT w";
static const char *sql_release = "RELEASE w";
static const char *sql_rollback_to = "ROLLBACK TO w";

static int exec_cached(const char *sql)
{
	sqlite3_stmt *st = db_stmt(sql);
	if (!st)
		return SQLITE_ERROR;
	int rc = db_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Group commit. Writers queue their functions; one of them, the leader, runs every queued
 * function in a single BEGIN IMMEDIATE ... COMMIT on the writer connection, each inside a
 * SAVEPOINT so that one function's failure rolls back only its own changes. One fsync then
 * makes a whole batch durable, which is what bounds write throughput with synchronous=FULL.
 * No caller returns before the COMMIT that holds its change. */
struct write_req {
	db_write_fn fn;
	void *ctx;
	char req_id[24]; /* the caller's, for log lines written while the leader runs fn */
	int result;
	int done;
	pthread_cond_t wake; /* its own: a finished batch wakes only its writers and the next
	                      * leader, not every thread queued behind them */
	struct write_req *next;
};

#define BATCH_MAX 64

static pthread_mutex_t wq_lock = PTHREAD_MUTEX_INITIALIZER;
static struct write_req *wq_head, *wq_tail;
static int wq_leader;
static _Thread_local int tl_in_batch;

static int run_one(sqlite3 *db, struct write_req *r)
{
	if (exec_cached(sql_savepoint) != SQLITE_OK)
		return DB_FAILED;
	char own[24];
	snprintf(own, sizeof own, "%s", log_req_id());
	log_set_req_id(r->req_id);
	r->result = r->fn(db, r->ctx);
	log_set_req_id(own);
	db_release();
	if (r->result != 0)
		exec_cached(sql_rollback_to);
	exec_cached(sql_release);
	/* SQLite may have rolled the whole transaction back on its own (I/O error, disk full):
	 * then nothing of this batch may be reported as done. */
	return sqlite3_get_autocommit(db) ? DB_FAILED : 0;
}

static void fail_all(struct write_req *batch)
{
	for (struct write_req *r = batch; r; r = r->next)
		r->result = DB_FAILED;
}

static void run_batch(sqlite3 *db, struct write_req *batch)
{
	int rc;
	for (int attempt = 0; (rc = exec_cached(sql_begin)) == SQLITE_BUSY && attempt < 5;
	     attempt++)
		metrics_inc(M_DB_BUSY_RETRIES, 1);
	if (rc != SQLITE_OK) {
		metrics_inc(M_DB_COMMITS_FAILED, 1);
		db_log_error("begin failed");
		fail_all(batch);
		return;
	}
	tl_in_batch = 1;
	int lost = 0;
	for (struct write_req *r = batch; r && !lost; r = r->next)
		lost = run_one(db, r) != 0;
	tl_in_batch = 0;
	if (lost) {
		db_log_error("transaction lost mid-batch");
		if (!sqlite3_get_autocommit(db))
			exec_simple(db, "ROLLBACK");
		fail_all(batch);
		return;
	}
	int64_t t0 = util_now_usec();
	for (int attempt = 0; (rc = exec_cached(sql_commit)) == SQLITE_BUSY && attempt < 50;
	     attempt++) {
		metrics_inc(M_DB_BUSY_RETRIES, 1);
		usleep(1000);
	}
	if (rc != SQLITE_OK) {
		metrics_inc(M_DB_COMMITS_FAILED, 1);
		db_log_error("commit failed");
		exec_simple(db, "ROLLBACK");
		fail_all(batch);
		return;
	}
	unsigned n = 0;
	for (struct write_req *r = batch; r; r = r->next)
		n++;
	metrics_commit(util_now_usec() - t0, n);
}

/* Takes up to BATCH_MAX queued requests; called with wq_lock held. */
static struct write_req *take_batch(void)
{
	struct write_req *batch = wq_head, *last = wq_head;
	for (int n = 1; n < BATCH_MAX && last->next; n++)
		last = last->next;
	wq_head = last->next;
	if (!wq_head)
		wq_tail = NULL;
	last->next = NULL;
	return batch;
}

/* Runs a batch on the writer connection: the write statements are prepared, and the pages
 * the writes touch cached, once instead of in every thread that happened to lead a batch.
 * Only the leader gets here, so the writer is never used by two threads at once. */
static void lead_batch(struct write_req *batch)
{
	if (!writer)
		writer = conn_open(WRITER_CACHE_KIB);
	if (!writer) {
		fail_all(batch);
		return;
	}
	struct conn *own = tl_conn;
	tl_conn = writer; /* db_stmt() in the write functions prepares on the writer */
	run_batch(writer->db, batch);
	tl_conn = own;
}

/* Marks a led batch done and wakes its writers, then the first writer still queued, who leads
 * the next batch; called with wq_lock held. */
static void finish_batch(struct write_req *batch, const struct write_req *self)
{
	for (struct write_req *r = batch, *next; r; r = next) {
		next = r->next;
		r->done = 1;
		if (r != self)
			pthread_cond_signal(&r->wake);
	}
	wq_leader = 0;
	if (wq_head)
		pthread_cond_signal(&wq_head->wake);
}

int db_write(db_write_fn fn, void *ctx)
{
	if (tl_in_batch)
		abort(); /* a write function may not start another write: it would wait for itself
		          */
	sqlite3 *db = db_conn();
	if (!db)
		return DB_FAILED;
	struct write_req req = {.fn = fn, .ctx = ctx};
	pthread_cond_init(&req.wake, NULL);
	snprintf(req.req_id, sizeof req.req_id, "%s", log_req_id());
	pthread_mutex_lock(&wq_lock);
	if (wq_tail)
		wq_tail->next = &req;
	else
		wq_head = &req;
	wq_tail = &req;
	while (!req.done) {
		if (wq_leader) {
			pthread_cond_wait(&req.wake, &wq_lock);
			continue;
		}
		/* Lead one batch (it holds our request or earlier ones), then hand over. */
		wq_leader = 1;
		struct write_req *batch = take_batch();
		pthread_mutex_unlock(&wq_lock);
		lead_batch(batch);
		pthread_mutex_lock(&wq_lock);
		finish_batch(batch, &req);
	}
	pthread_mutex_unlock(&wq_lock);
	pthread_cond_destroy(&req.wake);
	return req.result;
}

void db_bind_text(sqlite3_stmt *st, const char *name, const char *value)
{
	if (!value) {
		db_bind_null(st, name);
		return;
	}
	db_bind_textn(st, name, value, strlen(value));
}

static int param_index(sqlite3_stmt *st, const char *name)
{
	int idx = sqlite3_bind_parameter_index(st, name);
	if (idx == 0) {
		log_error("unknown SQL parameter",
		          json_pack("{ss ss}", "param", name, "sql", sqlite3_sql(st)));
		abort();
	}
	return idx;
}

void db_bind_textn(sqlite3_stmt *st, const char *name, const char *value, size_t n)
{
	sqlite3_bind_text64(st, param_index(st, name), value, n, SQLITE_TRANSIENT, SQLITE_UTF8);
}

void db_bind_int(sqlite3_stmt *st, const char *name, int64_t value)
{
	sqlite3_bind_int64(st, param_index(st, name), value);
}

void db_bind_blob(sqlite3_stmt *st, const char *name, const void *data, size_t n)
{
	sqlite3_bind_blob64(st, param_index(st, name), data, n, SQLITE_TRANSIENT);
}

void db_bind_null(sqlite3_stmt *st, const char *name)
{
	sqlite3_bind_null(st, param_index(st, name));
}

const char *db_col_text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	return t ? (const char *)t : "";
}
