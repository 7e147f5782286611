/* Schema migrations (compiled in from migrations/), the online backup and the offline
 * restore. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cardshop/db.h"
#include "cardshop/log.h"
#include "cardshop/util.h"

static const char *sql_create_table = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                      " version INTEGER PRIMARY KEY,"
                                      " name TEXT NOT NULL,"
                                      " applied_at INTEGER NOT NULL)";
static const char *sql_is_applied = "SELECT 1 FROM schema_migrations WHERE version = :v";
static const char *sql_record = "INSERT INTO schema_migrations (version, name, applied_at)"
                                " VALUES (:v, :name, :now)";

struct apply_ctx {
	const struct migration *m;
	int applied;
};

static int apply_one(sqlite3 *db, void *arg)
{
	struct apply_ctx *ctx = arg;
	if (sqlite3_exec(db, sql_create_table, NULL, NULL, NULL) != SQLITE_OK)
		return db_log_error("create schema_migrations failed");
	sqlite3_stmt *st = db_stmt(sql_is_applied);
	if (!st)
		return -1;
	db_bind_int(st, ":v", ctx->m->version);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0; /* already applied: commit the no-op */
	if (rc != SQLITE_DONE)
		return db_log_error("read schema_migrations failed");
	char *msg = NULL;
	if (sqlite3_exec(db, ctx->m->sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_error("migration failed",
		          json_pack("{si ss ss}", "version", ctx->m->version, "name", ctx->m->name,
		                    "error", msg ? msg : "?"));
		sqlite3_free(msg);
		return -1;
	}
	st = db_stmt(sql_record);
	if (!st)
		return -1;
	db_bind_int(st, ":v", ctx->m->version);
	db_bind_text(st, ":name", ctx->m->name);
	db_bind_int(st, ":now", util_now());
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_log_error("record migration failed");
	ctx->applied = 1;
	log_info("migration applied",
	         json_pack("{si ss}", "version", ctx->m->version, "name", ctx->m->name));
	return 0;
}

int db_migrate_list(const struct migration *list, size_t count)
{
	int applied = 0;
	for (size_t i = 0; i < count; i++) {
		struct apply_ctx ctx = {.m = &list[i]};
		if (db_write(apply_one, &ctx) != 0)
			return -1;
		applied += ctx.applied;
	}
	return applied;
}

int db_migrate(void)
{
	return db_migrate_list(db_migrations, db_migrations_count);
}

static const char *sql_count_applied = "SELECT count(*) FROM schema_migrations";

int db_is_migrated(void)
{
	sqlite3 *db = db_conn();
	if (!db)
		return -1;
	/* The table may not exist yet: check through the schema before preparing a cached query. */
	sqlite3_stmt *probe;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE name='schema_migrations'", -1,
	                       &probe, NULL) != SQLITE_OK)
		return -1;
	int exists = sqlite3_step(probe) == SQLITE_ROW;
	sqlite3_finalize(probe);
	if (!exists)
		return 0;
	sqlite3_stmt *st = db_stmt(sql_count_applied);
	if (!st || sqlite3_step(st) != SQLITE_ROW)
		return -1;
	int64_t n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n >= (int64_t)db_migrations_count ? 1 : 0;
}

static int integrity_ok(const char *path, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	int ok = 0;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK) {
			if (sqlite3_step(st) == SQLITE_ROW)
				ok = strcmp(db_col_text(st, 0), "ok") == 0;
			sqlite3_finalize(st);
		}
	}
	if (!ok)
		snprintf(err, errlen, "integrity check of %s failed: %s", path,
		         db ? sqlite3_errmsg(db) : "?");
	sqlite3_close(db);
	return ok ? 0 : -1;
}

static int copy_to(sqlite3 *src, const char *tmp, char *err, size_t errlen)
{
	sqlite3 *dst = NULL;
	int rc = -1;
	if (sqlite3_open(tmp, &dst) != SQLITE_OK) {
		snprintf(err, errlen, "cannot create %s: %s", tmp, sqlite3_errmsg(dst));
		goto out;
	}
	sqlite3_backup *bk = sqlite3_backup_init(dst, "main", src, "main");
	if (!bk) {
		snprintf(err, errlen, "backup init failed: %s", sqlite3_errmsg(dst));
		goto out;
	}
	/* Copy in steps so writers are not held off for the whole copy. */
	int step;
	while ((step = sqlite3_backup_step(bk, 256)) == SQLITE_OK || step == SQLITE_BUSY ||
	       step == SQLITE_LOCKED)
		usleep(step == SQLITE_OK ? 0 : 10000);
	sqlite3_backup_finish(bk);
	if (step != SQLITE_DONE) {
		snprintf(err, errlen, "backup failed: %s", sqlite3_errstr(step));
		goto out;
	}
	/* The copy is a standalone file: no WAL beside it. */
	sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL);
	rc = 0;
out:
	sqlite3_close(dst);
	return rc;
}

static struct db_backup_hooks hooks;

void db_backup_hooks_set(const struct db_backup_hooks *h)
{
	hooks = *h;
}

/* Runs a hook on the file at path, opened read-write: strict -1 unpacks, 0 or 1 packs (strict
 * or not). 0 when no hook is set. */
static int run_hook(const char *path, int strict, char *err, size_t errlen)
{
	if (strict >= 0 ? !hooks.pack : !hooks.unpack)
		return 0;
	sqlite3 *db = NULL;
	int rc = -1;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		snprintf(err, errlen, "cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "?");
	else
		rc = strict >= 0 ? hooks.pack(db, hooks.ctx, strict, err, errlen)
		                 : hooks.unpack(db, hooks.ctx, err, errlen);
	if (sqlite3_close(db) != SQLITE_OK && rc == 0) {
		snprintf(err, errlen, "cannot close %s", path);
		rc = -1;
	}
	return rc;
}

/* The copy and what goes with it. A file the snapshot names but that is gone was replaced
 * after it: a new snapshot no longer names it. Two tries, then the backup keeps what exists
 * (a file lost from the disk must not stop every backup; the hook logs it). */
static int copy_packed(sqlite3 *src, const char *tmp, char *err, size_t errlen)
{
	for (int attempt = 1;; attempt++) {
		unlink(tmp);
		int rc = copy_to(src, tmp, err, errlen);
		if (rc == 0)
			rc = run_hook(tmp, attempt < 3, err, errlen);
		if (rc != 1)
			return rc;
	}
}

int db_backup(const char *dest, char *err, size_t errlen)
{
	sqlite3 *src = db_conn();
	if (!src) {
		snprintf(err, errlen, "cannot open the database");
		return -1;
	}
	struct stat live, target;
	if (stat(dest, &target) == 0 && db_file_stat(&live) == 0 && live.st_dev == target.st_dev &&
	    live.st_ino == target.st_ino) {
		snprintf(err, errlen, "%s is the live database itself", dest);
		return -1;
	}
	char *tmp = xasprintf("%s.tmp", dest);
	int rc = copy_packed(src, tmp, err, errlen);
	if (rc == 0)
		rc = integrity_ok(tmp, err, errlen);
	if (rc == 0 && rename(tmp, dest) != 0) {
		snprintf(err, errlen, "cannot rename %s to %s", tmp, dest);
		rc = -1;
	}
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* A lock file beside the database: every server holds a shared lock on it for its whole life,
 * a restore takes it exclusively, so a restore cannot swap the file under a running server. */
static int lock_file(const char *db_path, short type, char *err, size_t errlen)
{
	char *path = xasprintf("%s.lock", db_path);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET};
	if (fcntl(fd, F_SETLK, &fl) != 0) {
		snprintf(err, errlen, "a server holds the database (%s is locked): stop it first",
		         path);
		close(fd);
		fd = -1;
	}
	free(path);
	return fd;
}

int db_hold(const char *db_path, char *err, size_t errlen)
{
	return lock_file(db_path, F_RDLCK, err, errlen) < 0 ? -1 : 0; /* kept open until exit */
}

/* The newest migration recorded in the file at path; -1 when it has none (not ours). */
static int schema_version(const char *path)
{
	sqlite3 *db = NULL;
	int v = -1;
	sqlite3_stmt *st;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT max(version) FROM schema_migrations", -1, &st, NULL) ==
	        SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
			v = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return v;
}

static int check_source(const char *src, char *err, size_t errlen)
{
	if (access(src, R_OK) != 0) {
		snprintf(err, errlen, "%s: cannot read it", src);
		return -1;
	}
	if (integrity_ok(src, err, errlen) != 0)
		return -1;
	int v = schema_version(src), mine = db_migrations[db_migrations_count - 1].version;
	if (v < 0) {
		snprintf(err, errlen, "%s: not a cardshop database (no schema_migrations)", src);
		return -1;
	}
	if (v > mine) {
		snprintf(err, errlen,
		         "%s comes from a newer schema (migration %d; this build knows %d)", src, v,
		         mine);
		return -1;
	}
	return 0;
}

/* The live file (and its WAL) move aside to path.before-restore-TIME; -1 when that fails. */
static int keep_old(const char *db_path, char **kept)
{
	*kept = NULL;
	if (access(db_path, F_OK) != 0)
		return 0;
	/* Fold the WAL into the file first: then no moment of the swap leaves the live name
	 * without commits that were in its WAL. */
	sqlite3 *old = NULL;
	if (sqlite3_open_v2(db_path, &old, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK)
		sqlite3_exec(old, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	sqlite3_close(old);
	*kept = xasprintf("%s.before-restore-%lld", db_path, (long long)util_now());
	char *wal = xasprintf("%s-wal", db_path), *kept_wal = xasprintf("%s-wal", *kept);
	char *shm = xasprintf("%s-shm", db_path);
	int rc = link(db_path, *kept);
	if (rc == 0 && access(wal, F_OK) == 0)
		rc = rename(wal,
		            kept_wal); /* the WAL is half of the old database: it goes with it */
	unlink(shm);
	free(wal);
	free(kept_wal);
	free(shm);
	return rc;
}

int db_restore(const char *db_path, const char *src, char *err, size_t errlen, char **kept)
{
	*kept = NULL;
	int lock = lock_file(db_path, F_WRLCK, err, errlen);
	if (lock < 0)
		return -1;
	char *tmp = xasprintf("%s.restore.tmp", db_path);
	sqlite3 *from = NULL;
	int rc = check_source(src, err, errlen);
	if (rc == 0 && sqlite3_open_v2(src, &from, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open it", src);
		rc = -1;
	}
	unlink(tmp);
	if (rc == 0)
		rc = copy_to(from, tmp, err, errlen);
	sqlite3_close(from);
	if (rc == 0)
		rc = integrity_ok(tmp, err, errlen);
	/* The backup's uploads go back before its database does: a crash between leaves files
	 * nobody names (the sweep removes them), never a name without its file. */
	if (rc == 0)
		rc = run_hook(tmp, -1, err, errlen);
	/* The database about to be kept carries its own uploads, so restoring it later brings
	 * them back after the sweep removed the ones the restored database does not name. When
	 * they cannot be packed the restore stops here, with nothing moved: going on would leave
	 * those images nowhere once the sweep ran. */
	int packed = 0;
	if (rc == 0 && access(db_path, F_OK) == 0) {
		char perr[256];
		rc = run_hook(db_path, 0, perr, sizeof perr);
		if (rc != 0)
			snprintf(err, errlen, "cannot keep the old database's uploads with it: %s",
			         perr);
		packed = rc == 0;
	}
	if (rc == 0 && keep_old(db_path, kept) != 0) {
		snprintf(err, errlen, "cannot keep the old database beside it: %s",
		         strerror(errno));
		rc = -1;
	}
	if (rc == 0 && rename(tmp, db_path) != 0) { /* the one atomic step */
		snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, db_path, strerror(errno));
		rc = -1;
	}
	/* Still the live database (the kept name is a link to it): it drops the packed table
	 * again, its files being where they were. */
	char uerr[256];
	if (rc != 0 && packed && run_hook(db_path, -1, uerr, sizeof uerr) != 0)
		log_warn("the old database keeps its packed uploads",
		         json_pack("{ss}", "error", uerr));
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	close(lock);
	return rc;
}
