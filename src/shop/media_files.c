/* Which uploaded files are still wanted: a file goes once no row names it (after the commit
 * that dropped the name, or by the sweep of orphans a crash left), and the files a database
 * names travel inside its backups. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cardshop/log.h"
#include "internal.h"

#define NAMES_SQL                                                                                  \
	"SELECT image FROM products WHERE image IS NOT NULL"                                       \
	" UNION SELECT value FROM settings WHERE key = 'shop.logo'"

static const char *sql_used = "SELECT EXISTS (SELECT 1 FROM products WHERE image = :n)"
                              " OR EXISTS (SELECT 1 FROM settings"
                              " WHERE key = 'shop.logo' AND value = :n)";

/* 1 when a product or the logo names the file, 0 not, -1 on error. */
static int media_used(const char *name)
{
	sqlite3_stmt *st = db_stmt(sql_used);
	if (!st)
		return -1;
	db_bind_text(st, ":n", name);
	int rc = db_step(st);
	int used = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	if (used < 0)
		db_log_error("upload reference read failed");
	sqlite3_reset(st);
	return used;
}

void media_release(const struct config *cfg, const char *name)
{
	if (!cfg || !name || !media_name_ok(name) || media_used(name) != 0)
		return;
	char *dir = media_dir(cfg), *path = xasprintf("%s/%s", dir, name);
	if (unlink(path) != 0 && errno != ENOENT)
		log_warn("removing an old upload failed", json_pack("{ss}", "name", name));
	free(dir);
	free(path);
}

/* ---- the sweep ---- */

/* 1 for one of our files, 2 for the temp file of one (".NAME.tmp"), 0 for anything else. */
static int sweep_kind(const char *entry)
{
	if (media_name_ok(entry))
		return 1;
	size_t n = strlen(entry);
	char name[64];
	if (entry[0] != '.' || n < 6 || n - 5 >= sizeof name || strcmp(entry + n - 4, ".tmp") != 0)
		return 0;
	memcpy(name, entry + 1, n - 5);
	name[n - 5] = '\0';
	return media_name_ok(name) ? 2 : 0;
}

/* Every name a row holds, sorted: read once per sweep, so the sweep costs one query and a
 * binary search per file, whatever the number of products. A name committed after the read
 * belongs to a file younger than MEDIA_ORPHAN_AGE (names are new at each upload), which the
 * sweep does not touch anyway. */
struct names {
	char **v;
	size_t n, cap;
};

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int names_load(struct names *ns)
{
	sqlite3_stmt *st = db_stmt(NAMES_SQL);
	if (!st)
		return -1;
	int rc;
	while ((rc = db_step(st)) == SQLITE_ROW) {
		if (ns->n == ns->cap) {
			ns->cap = ns->cap ? ns->cap * 2 : 64;
			ns->v = xrealloc(ns->v, ns->cap * sizeof *ns->v);
		}
		ns->v[ns->n++] = xstrdup(db_col_text(st, 0));
	}
	if (rc != SQLITE_DONE)
		db_log_error("upload names read failed"); /* before the reset clears the error */
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return -1;
	if (ns->n > 1)
		qsort(ns->v, ns->n, sizeof *ns->v, name_cmp);
	return 0;
}

static void names_free(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
}

/* 1 when entry (in the folder dfd) was removed, 0 kept. */
static int sweep_one(int dfd, const char *entry, const struct names *ns, int64_t now)
{
	int kind = sweep_kind(entry);
	struct stat st;
	/* lstat-like: a symlink is not ours to follow or remove. */
	if (!kind || fstatat(dfd, entry, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
	    now - (int64_t)st.st_mtime < MEDIA_ORPHAN_AGE)
		return 0;
	if (kind == 1 && ns->n && bsearch(&entry, ns->v, ns->n, sizeof *ns->v, name_cmp))
		return 0;
	if (unlinkat(dfd, entry, 0) != 0)
		return 0;
	log_info("orphan upload removed", json_pack("{ss}", "name", entry));
	return 1;
}

int media_sweep(const struct config *cfg, int64_t now)
{
	struct names ns = {0};
	/* A failed read is never "nobody names it". */
	if (names_load(&ns) != 0) {
		names_free(&ns);
		return -1;
	}
	char *dir = media_dir(cfg);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	int removed = d || errno == ENOENT ? 0 : -1;
	/* Said once per sweep (hourly): a folder made a symlink by hand is never swept, and
	 * orphans would otherwise pile up without a sign. */
	if (removed < 0) {
		const char *why = strerror(errno);
		struct stat st;
		if (lstat(dir, &st) == 0 && S_ISLNK(st.st_mode))
			why = "it is a symlink";
		log_warn("uploads folder not swept",
		         json_pack("{ss ss}", "path", dir, "error", why));
	}
	free(dir);
	if (!d && dfd >= 0)
		close(dfd);
	struct dirent *e;
	while (d && (e = readdir(d)))
		removed += sweep_one(dfd, e->d_name, &ns, now);
	if (d)
		closedir(d);
	names_free(&ns);
	return removed;
}

/* ---- in backups ---- */

static int read_full(int fd, unsigned char *d, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, d, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		d += r;
		n -= (size_t)r;
	}
	return 0;
}

/* 0 packed (or left out with a warning), 1 gone and strict, -1 failed. */
static int pack_one(sqlite3_stmt *ins, const struct config *cfg, const char *name, int strict,
                    char *err, size_t errlen)
{
	const char *type;
	uint64_t size = 0;
	if (!name)
		return 0;
	int fd = media_name_ok(name) ? media_open(cfg, name, &type, &size) : -1;
	if (fd < 0 && strict && media_name_ok(name))
		return 1;
	if (fd < 0 || size > 8 * (uint64_t)MEDIA_MAX) {
		log_warn("a backup leaves out an upload it cannot read",
		         json_pack("{ss}", "name", name));
		if (fd >= 0)
			close(fd);
		return 0;
	}
	unsigned char *data = xmalloc(size ? size : 1);
	errno = 0;
	int rc = read_full(fd, data, size);
	if (rc != 0) /* the database is fine: name the file, not SQLite's last message */
		snprintf(err, errlen, "cannot read the upload %s: %s", name,
		         errno ? strerror(errno) : "shorter than it was");
	close(fd);
	if (rc == 0) {
		sqlite3_bind_text(ins, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_blob64(ins, 2, data, size, SQLITE_STATIC);
		rc = sqlite3_step(ins) == SQLITE_DONE ? 0 : -1;
		sqlite3_reset(ins);
	}
	free(data);
	return rc;
}

int media_backup_pack(sqlite3 *copy, const void *ctx, int strict, char *err, size_t errlen)
{
	sqlite3_stmt *names = NULL, *ins = NULL;
	int rc = -1;
	err[0] = '\0';
	if (sqlite3_exec(copy,
	                 "BEGIN; DROP TABLE IF EXISTS backup_uploads;"
	                 " CREATE TABLE backup_uploads (name TEXT PRIMARY KEY, data BLOB NOT NULL)",
	                 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(copy, NAMES_SQL, -1, &names, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(copy, "INSERT INTO backup_uploads (name, data) VALUES (?, ?)", -1,
	                       &ins, NULL) != SQLITE_OK)
		goto out;
	int step;
	rc = 0;
	while (rc == 0 && (step = sqlite3_step(names)) == SQLITE_ROW)
		rc = pack_one(ins, ctx, (const char *)sqlite3_column_text(names, 0), strict, err,
		              errlen);
	if (rc == 0 && step != SQLITE_DONE)
		rc = -1;
out:
	if (rc == -1 && !err[0])
		snprintf(err, errlen, "cannot add the uploads to the backup: %s",
		         sqlite3_errmsg(copy));
	sqlite3_finalize(names);
	sqlite3_finalize(ins);
	if (rc != 0 || sqlite3_exec(copy, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_exec(copy, "ROLLBACK", NULL, NULL, NULL);
		if (rc == 0) {
			snprintf(err, errlen, "cannot add the uploads to the backup: %s",
			         sqlite3_errmsg(copy));
			rc = -1;
		}
	}
	return rc;
}

/* 1 when the copy has the table of uploads, 0 not (a backup from before they travelled with
 * it), -1 on error. */
static int has_uploads(sqlite3 *copy)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;
	if (sqlite3_prepare_v2(copy,
	                       "SELECT count(*) FROM sqlite_master"
	                       " WHERE type = 'table' AND name = 'backup_uploads'",
	                       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		rc = sqlite3_column_int(st, 0) > 0;
	sqlite3_finalize(st);
	return rc;
}

int media_backup_unpack(sqlite3 *copy, const void *ctx, char *err, size_t errlen)
{
	const struct config *cfg = ctx;
	int has = has_uploads(copy);
	if (has <= 0) {
		if (has < 0)
			snprintf(err, errlen, "cannot read the backup's uploads: %s",
			         sqlite3_errmsg(copy));
		return has;
	}
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(copy, "SELECT name, data FROM backup_uploads", -1, &st, NULL) ==
	                 SQLITE_OK
	             ? 0
	             : -1;
	int step = SQLITE_DONE, n = 0;
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		if (!media_name_ok(name))
			continue; /* never a path of the file's choosing */
		if (media_file_write(cfg, name, sqlite3_column_blob(st, 1),
		                     (size_t)sqlite3_column_bytes(st, 1)) != 0) {
			snprintf(err, errlen, "cannot write the upload %s back: %s", name,
			         strerror(errno));
			rc = -2;
		}
		n++;
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = -1;
	sqlite3_finalize(st);
	if (rc == 0 &&
	    sqlite3_exec(copy, "DROP TABLE backup_uploads", NULL, NULL, NULL) != SQLITE_OK)
		rc = -1;
	if (rc == -1)
		snprintf(err, errlen, "cannot read the backup's uploads: %s", sqlite3_errmsg(copy));
	if (rc == 0 && n > 0)
		log_info("uploads restored", json_pack("{si}", "files", n));
	return rc == 0 ? 0 : -1;
}
