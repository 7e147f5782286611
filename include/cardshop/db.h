/* SQLite access: one connection per thread, cached statements, the single write seam,
 * migrations and online backup. Only db/ and shop/ use SQL. */
#ifndef CARDSHOP_DB_H
#define CARDSHOP_DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct migration {
	int version;
	const char *name;
	const char *sql;
};

/* Migrations compiled into the binary from migrations/NNNN_*.sql. */
extern const struct migration db_migrations[];
extern const size_t db_migrations_count;

/* Remembers where the database lives; connections open lazily per thread. Creates the parent
 * folder if missing. 0 on success, -1 with a message in err. */
int db_init(const char *path, int busy_timeout_ms, char *err, size_t errlen);
/* Closes every connection; call once no thread uses the database any more. */
void db_shutdown(void);

/* This thread's connection, opened on first use; NULL (logged) when it cannot be opened. */
sqlite3 *db_conn(void);
/* A prepared statement for sql from this thread's cache, reset with no bindings. sql must be a
 * string with static storage: its address is the cache key. NULL (logged) on error. */
sqlite3_stmt *db_stmt(const char *sql);
/* sqlite3_step, through the fault hook below. Every step of the domain goes through here. */
int db_step(sqlite3_stmt *st);
/* Tests only: from now on, every step of a statement whose SQL contains sql_needle fails with
 * SQLITE_IOERR ("COMMIT" makes commits fail); NULL turns it off. The needle is borrowed. */
void db_fault_inject(const char *sql_needle);
/* Resets every cached statement of this thread, ending any read snapshot they hold. Called
 * after each request and job. */
void db_release(void);

/* Runs fn inside BEGIN IMMEDIATE. fn returns 0 to commit, anything else to roll back; db_write
 * returns fn's value, or DB_FAILED when the transaction itself could not begin or commit. */
#define DB_FAILED (-1000)
typedef int (*db_write_fn)(sqlite3 *db, void *ctx);
int db_write(db_write_fn fn, void *ctx);

/* Applies the embedded migrations not yet recorded, each in its own transaction. Returns the
 * number applied, or -1 (logged, database unchanged by the failing one). */
int db_migrate(void);
int db_migrate_list(const struct migration *list, size_t count);
/* 1 when every embedded migration is recorded, 0 otherwise, -1 on error. */
int db_is_migrated(void);

/* stat() of the database file, to recognise it under another name. */
struct stat;
int db_file_stat(struct stat *st);
/* Consistent online copy to dest: written to dest.tmp, integrity-checked, then renamed. */
int db_backup(const char *dest, char *err, size_t errlen);

/* What lives beside the database and goes into its backups (the uploads), set once at start
 * (ctx borrowed for the life of the process). pack adds it to a backup's copy before the copy
 * is checked: 0, -1 with err, or (strict only) 1 when the copy names a file that is gone (it
 * was replaced after the snapshot: the backup takes a new one). unpack writes it back out of
 * a restore's copy and drops it from the copy, before the copy replaces the database. */
struct db_backup_hooks {
	int (*pack)(sqlite3 *copy, const void *ctx, int strict, char *err, size_t errlen);
	int (*unpack)(sqlite3 *copy, const void *ctx, char *err, size_t errlen);
	const void *ctx;
};
void db_backup_hooks_set(const struct db_backup_hooks *hooks); /* copied */

/* Takes a shared lock on db_path.lock for the rest of the process (every server does), so a
 * restore refuses while one runs. -1 with a message when a restore holds it. */
int db_hold(const char *db_path, char *err, size_t errlen);
/* Offline restore (no server may hold db_path): src must pass its integrity check and come
 * from this build's schema or an older one; its copy then replaces db_path in one rename. The
 * old file (and its WAL) is kept as *kept (malloc'd; NULL when there was none). */
int db_restore(const char *db_path, const char *src, char *err, size_t errlen, char **kept);

/* Binding helpers by parameter name (":name"); a missing name is a programming error. */
void db_bind_text(sqlite3_stmt *st, const char *name, const char *value);
void db_bind_textn(sqlite3_stmt *st, const char *name, const char *value, size_t n);
void db_bind_int(sqlite3_stmt *st, const char *name, int64_t value);
void db_bind_blob(sqlite3_stmt *st, const char *name, const void *data, size_t n);
void db_bind_null(sqlite3_stmt *st, const char *name);
/* Column text that is never NULL ("" instead). */
const char *db_col_text(sqlite3_stmt *st, int col);
/* Logs the connection's last error with a context message; returns -1 for convenience. */
int db_log_error(const char *what);

#endif
