/* Uploaded images (product pictures, the shop logo) on disk next to the database, and the
 * shop's logo kept in memory for GET /api/config (the notice and contact link are settings). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cardshop/config.h"
#include "cardshop/log.h"
#include "cardshop/sec.h"
#include "internal.h"

#define NAME_HEX 32 /* 128 random bits: names cannot be guessed or collide */

static const struct media_kind {
	const char *ext, *type, *magic;
	size_t off, len;
} kinds[] = {
    {"png", "image/png", "\x89PNG\r\n\x1a\n", 0, 8},
    {"jpg", "image/jpeg", "\xff\xd8\xff", 0, 3},
    {"webp", "image/webp", "WEBP", 8, 4}, /* RIFF <size> WEBP */
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

static const struct media_kind *kind_of(const unsigned char *d, size_t n)
{
	for (size_t i = 0; i < NKINDS; i++) {
		const struct media_kind *k = &kinds[i];
		if (n >= k->off + k->len + 4 && memcmp(d + k->off, k->magic, k->len) == 0 &&
		    (k->off == 0 || memcmp(d, "RIFF", 4) == 0))
			return k;
	}
	return NULL;
}

const char *media_type_of(const void *data, size_t len)
{
	const struct media_kind *k = data ? kind_of(data, len) : NULL;
	return k ? k->type : NULL;
}

/* <database folder>/uploads: the data folder the operator already backs up and protects. */
char *media_dir(const struct config *cfg)
{
	const char *p = cfg->db_path, *slash = strrchr(p, '/');
	return slash ? xasprintf("%.*s/uploads", (int)(slash - p), p) : xstrdup("uploads");
}

static int write_all(int fd, const unsigned char *d, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, d, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		d += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Writes the file under a temporary name and renames it: a reader never sees half of it. */
int media_file_write(const struct config *cfg, const char *name, const void *data, size_t len)
{
	char *dir = media_dir(cfg);
	char *tmp = xasprintf("%s/.%s.tmp", dir, name), *path = xasprintf("%s/%s", dir, name);
	int rc = -1;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		goto out;
	unlink(tmp); /* one left by a crash (a restore writes known names) */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	rc = write_all(fd, data, len) == 0 && fsync(fd) == 0 ? 0 : -1;
	if (close(fd) != 0 || rc != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		rc = -1;
	}
	/* The rename durable before the commit that names the file (or the restored database). */
	int dfd = rc == 0 ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (rc == 0 && (dfd < 0 || fsync(dfd) != 0))
		rc = -1;
	if (dfd >= 0)
		close(dfd);
out:
	if (rc != 0)
		log_error("storing an upload failed",
		          json_pack("{ss ss}", "dir", dir, "error", strerror(errno)));
	free(dir);
	free(tmp);
	free(path);
	return rc;
}

static int media_store(const struct config *cfg, const struct media_kind *k, const void *data,
                       size_t len, char name[48])
{
	char rnd[NAME_HEX + 1];
	sec_random_hex(rnd, NAME_HEX / 2);
	snprintf(name, 48, "%s.%s", rnd, k->ext);
	return media_file_write(cfg, name, data, len);
}

static const struct media_kind *name_kind(const char *name)
{
	if (!name || strspn(name, "0123456789abcdef") != NAME_HEX || name[NAME_HEX] != '.')
		return NULL;
	for (size_t i = 0; i < NKINDS; i++) {
		if (strcmp(name + NAME_HEX + 1, kinds[i].ext) == 0)
			return &kinds[i];
	}
	return NULL;
}

int media_name_ok(const char *name)
{
	return name_kind(name) != NULL;
}

static void media_remove(const struct config *cfg, const char *name)
{
	if (!name_kind(name))
		return;
	char *dir = media_dir(cfg), *path = xasprintf("%s/%s", dir, name);
	if (unlink(path) != 0 && errno != ENOENT)
		log_warn("removing an old upload failed", json_pack("{ss}", "name", name));
	free(dir);
	free(path);
}

int media_open(const struct config *cfg, const char *name, const char **type, uint64_t *size)
{
	const struct media_kind *k = name_kind(name);
	if (!k)
		return -1;
	char *dir = media_dir(cfg), *path = xasprintf("%s/%s", dir, name);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	free(dir);
	free(path);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
	}
	if (fd >= 0) {
		*type = k->type;
		*size = (uint64_t)st.st_size;
	}
	return fd;
}

/* ---- which image is whose ---- */

static const char *sql_img_old = "SELECT image FROM products WHERE id = :id";
static const char *sql_img_set = "UPDATE products SET image = :name, updated_at = :now"
                                 " WHERE id = :id";
static const char *sql_setting_get = "SELECT value FROM settings WHERE key = :k";
static const char *sql_setting_put = "INSERT INTO settings (key, value) VALUES (:k, :v)"
                                     " ON CONFLICT (key) DO UPDATE SET value = excluded.value";
static const char *sql_setting_del = "DELETE FROM settings WHERE key = :k";

#define LOGO_KEY "shop.logo"

struct image_ctx {
	const struct actor *who;
	int64_t pid;      /* 0: the shop logo */
	const char *name; /* NULL: remove */
	char old[64];
};

/* The current name into c->old: 1 when there is a row (product or setting), 0 not, -1 error. */
static int image_old(struct image_ctx *c)
{
	sqlite3_stmt *st = db_stmt(c->pid ? sql_img_old : sql_setting_get);
	if (!st)
		return -1;
	if (c->pid)
		db_bind_int(st, ":id", c->pid);
	else
		db_bind_text(st, ":k", LOGO_KEY);
	int rc = db_step(st);
	if (rc == SQLITE_ROW)
		snprintf(c->old, sizeof c->old, "%s", db_col_text(st, 0));
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : db_log_error("image read failed");
}

static int image_tx(sqlite3 *db, void *arg)
{
	(void)db;
	struct image_ctx *c = arg;
	int found = image_old(c);
	if (found < 0)
		return -1;
	if (c->pid && !found)
		return SHOP_NOT_FOUND;
	sqlite3_stmt *st = db_stmt(c->pid    ? sql_img_set
	                           : c->name ? sql_setting_put
	                                     : sql_setting_del);
	if (!st)
		return -1;
	if (c->pid) {
		db_bind_int(st, ":id", c->pid);
		db_bind_int(st, ":now", util_now());
		if (c->name)
			db_bind_text(st, ":name", c->name);
		else
			db_bind_null(st, ":name");
	} else {
		db_bind_text(st, ":k", LOGO_KEY);
		if (c->name)
			db_bind_text(st, ":v", c->name);
	}
	if (db_step(st) != SQLITE_DONE)
		return db_log_error("image write failed");
	char target[32];
	snprintf(target, sizeof target, c->pid ? "product:%lld" : "shop", (long long)c->pid);
	return audit_record(c->who, c->pid ? "product.image" : "shop.logo", target,
	                    json_pack("{s:s?}", "image", c->name));
}

static int image_change(const struct actor *who, const struct config *cfg, int64_t pid,
                        const void *data, size_t len, struct shop_err *err)
{
	const struct media_kind *k = data ? kind_of(data, len) : NULL;
	if (data && (!k || len > MEDIA_MAX))
		return shop_fail(err, SHOP_INVALID,
		                 "body: must be a PNG, JPEG or WebP image of at"
		                 " most 2 MiB");
	char name[48];
	if (k && media_store(cfg, k, data, len, name) != 0)
		return shop_fail(err, SHOP_ERROR, "internal error");
	struct image_ctx c = {.who = who, .pid = pid, .name = k ? name : NULL};
	int rc = db_write(image_tx, &c);
	if (rc != 0) {
		if (k)
			media_remove(cfg, name);
		return rc == SHOP_NOT_FOUND ? shop_fail(err, SHOP_NOT_FOUND, "product not found")
		                            : shop_fail(err, SHOP_ERROR, "internal error");
	}
	media_release(cfg, c.old); /* after the commit: a crash before leaves an orphan */
	if (pid)
		catalog_snapshot_rebuild();
	else
		shop_info_reload();
	return 0;
}

int product_image_set(const struct actor *who, const struct config *cfg, int64_t product_id,
                      const void *data, size_t len, struct shop_err *err)
{
	return image_change(who, cfg, product_id, data ? data : "", len, err);
}

int product_image_clear(const struct actor *who, const struct config *cfg, int64_t product_id,
                        struct shop_err *err)
{
	return image_change(who, cfg, product_id, NULL, 0, err);
}

int shop_logo_set(const struct actor *who, const struct config *cfg, const void *data, size_t len,
                  struct shop_err *err)
{
	return image_change(who, cfg, 0, data ? data : "", len, err);
}

int shop_logo_clear(const struct actor *who, const struct config *cfg, struct shop_err *err)
{
	return image_change(who, cfg, 0, NULL, 0, err);
}

/* ---- notice and contact link ---- */

static const struct field info_fields[] = {
    {"notice", F_STR, 0, 2000, NULL, 0},
    {"contact_url", F_NAME, 0, 500, NULL, 0},
};

int shop_info_update(const struct actor *who, json_t *in, struct shop_err *err)
{
	if (shop_validate(in, info_fields, sizeof info_fields / sizeof info_fields[0], 0, err) != 0)
		return -1;
	const char *contact = shop_json_str(in, "contact_url", "");
	if (*contact && !util_contact_url_ok(contact))
		return shop_fail(err, SHOP_INVALID,
		                 "contact_url: must be an http(s)://, mailto: or tg:// link");
	/* Both are settings like the shop's name: one all-or-nothing change through the settings
	 * (a value fixed in the config file is refused with 409), published at once. */
	json_t *change = json_object();
	json_t *v;
	if ((v = json_object_get(in, "notice")))
		json_object_set(change, "shop.notice", v);
	if ((v = json_object_get(in, "contact_url")))
		json_object_set(change, "shop.contact_url", v);
	int rc = json_object_size(change) ? settings_update(who, change, err) : 0;
	json_decref(change);
	return rc;
}

static const char *sql_info = "SELECT value FROM settings WHERE key = '" LOGO_KEY "'";

static pthread_mutex_t info_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *info; /* under info_lock */

/* The logo's URL, or JSON null when there is none. */
static json_t *info_read(void)
{
	sqlite3_stmt *st = db_stmt(sql_info);
	if (!st)
		return NULL;
	int rc = db_step(st);
	json_t *j =
	    rc == SQLITE_ROW ? json_sprintf("/uploads/%s", db_col_text(st, 0)) : json_null();
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		db_log_error("shop logo read failed");
		json_decref(j);
		return NULL;
	}
	return j;
}

void shop_info_reload(void)
{
	json_t *fresh = info_read();
	if (!fresh)
		return; /* the last good copy stays */
	pthread_mutex_lock(&info_lock);
	json_t *old = info;
	info = fresh;
	pthread_mutex_unlock(&info_lock);
	json_decref(old);
}

json_t *shop_info_json(const struct config *cfg)
{
	pthread_mutex_lock(&info_lock);
	int loaded = info != NULL;
	pthread_mutex_unlock(&info_lock);
	if (!loaded)
		shop_info_reload();
	pthread_mutex_lock(&info_lock);
	json_t *logo = info ? json_incref(info) : json_null();
	pthread_mutex_unlock(&info_lock);
	const char *contact = cfg->shop_contact_url;
	return json_pack("{so ss so}", "logo_url", logo, "notice", cfg->shop_notice, "contact_url",
	                 contact[0] ? json_string(contact) : json_null());
}
