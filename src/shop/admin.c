/* Admin accounts: creation with argon2id hashes. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cardshop/db.h"
#include "cardshop/log.h"
#include "cardshop/sec.h"
#include "cardshop/config.h"
#include "cardshop/shop.h"
#include "cardshop/util.h"
#include "internal.h"

static const char *sql_insert_admin =
    "INSERT INTO admins (username, password_hash, created_at) VALUES (:u, :h, :now)"
    " ON CONFLICT (username) DO NOTHING";

int admin_username_valid(const char *u)
{
	size_t n = strlen(u);
	if (n < 1 || n > ADMIN_USERNAME_MAX)
		return 0;
	for (const char *p = u; *p; p++) {
		char c = *p;
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '@' || c == '-';
		if (!ok)
			return 0;
	}
	return 1;
}

struct create_ctx {
	const char *username;
	const char *hash;
	int exists;
};

static int create_tx(sqlite3 *db, void *arg)
{
	struct create_ctx *c = arg;
	sqlite3_stmt *st = db_stmt(sql_insert_admin);
	if (!st)
		return -1;
	db_bind_text(st, ":u", c->username);
	db_bind_text(st, ":h", c->hash);
	db_bind_int(st, ":now", util_now());
	if (db_step(st) != SQLITE_DONE)
		return db_log_error("insert admin failed");
	c->exists = sqlite3_changes(db) == 0;
	return c->exists ? 1 : 0;
}

int admin_create(const char *username, const char *password, char *err, size_t errlen)
{
	if (!admin_username_valid(username)) {
		snprintf(err, errlen, "username must be 1-64 characters of A-Z a-z 0-9 _ . @ -");
		return -1;
	}
	size_t n = strlen(password);
	if (n < 12 || n > 1000) {
		snprintf(err, errlen, "password must be 12 to 1000 bytes long");
		return -1;
	}
	char *hash = sec_password_hash(password);
	struct create_ctx c = {.username = username, .hash = hash};
	int rc = db_write(create_tx, &c);
	free(hash);
	if (c.exists) {
		snprintf(err, errlen, "user '%s' already exists", username);
		return -1;
	}
	if (rc != 0) {
		snprintf(err, errlen, "database error");
		return -1;
	}
	log_info("admin created", json_pack("{ss}", "username", username));
	return 0;
}

/* ---- sessions and login ---- */

static const char *sql_find_admin =
    "SELECT id, password_hash FROM admins WHERE username = :u AND disabled = 0";
static const char *sql_insert_session =
    "INSERT INTO sessions (id_hash, admin_id, csrf_token, created_at, last_seen, expires_at, ip)"
    " VALUES (:h, :admin, :csrf, :now, :now, :exp, :ip)";
static const char *sql_delete_session = "DELETE FROM sessions WHERE id_hash = :h";
static const char *sql_purge_sessions = "DELETE FROM sessions WHERE expires_at <= :now"
                                        " OR last_seen <= :idle_cutoff";
static const char *sql_get_session =
    "SELECT s.admin_id, a.username, s.csrf_token, s.last_seen, a.role, a.totp_enabled"
    " FROM sessions s"
    " JOIN admins a ON a.id = s.admin_id"
    " WHERE s.id_hash = :h AND s.expires_at > :now AND s.last_seen > :idle_cutoff"
    " AND a.disabled = 0";
static const char *sql_touch_session = "UPDATE sessions SET last_seen = :now WHERE id_hash = :h";
static const char *sql_set_password = "UPDATE admins SET password_hash = :h WHERE username = :u";

/* A valid hash of a random password: verifying against it when the user does not exist costs
 * the same time as a real check, so timing does not reveal which usernames exist. */
static char *dummy_hash;
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static void make_dummy(void)
{
	char pw[33];
	sec_random_hex(pw, 16);
	dummy_hash = sec_password_hash(pw);
}

static int cookie_hash(const char *cookie, unsigned char out[32])
{
	if (!cookie || strlen(cookie) != 64)
		return -1;
	sec_sha256(cookie, 64, out);
	return 0;
}

struct login_ctx {
	const struct config *cfg;
	int64_t admin_id;
	const char *ip;
	unsigned char new_hash[32];
	unsigned char old_hash[32];
	int has_old;
	const char *csrf;
};

static int login_tx(sqlite3 *db, void *arg)
{
	(void)db;
	struct login_ctx *c = arg;
	int64_t now = util_now();
	sqlite3_stmt *st = db_stmt(sql_purge_sessions);
	if (!st)
		return -1;
	db_bind_int(st, ":now", now);
	db_bind_int(st, ":idle_cutoff", now - c->cfg->session_idle_ttl);
	if (db_step(st) != SQLITE_DONE)
		return db_log_error("purge sessions failed");
	if (c->has_old) { /* rotation: the id presented before login dies now */
		st = db_stmt(sql_delete_session);
		db_bind_blob(st, ":h", c->old_hash, 32);
		if (db_step(st) != SQLITE_DONE)
			return db_log_error("delete session failed");
	}
	st = db_stmt(sql_insert_session);
	if (!st)
		return -1;
	db_bind_blob(st, ":h", c->new_hash, 32);
	db_bind_int(st, ":admin", c->admin_id);
	db_bind_text(st, ":csrf", c->csrf);
	db_bind_int(st, ":now", now);
	db_bind_int(st, ":exp", now + c->cfg->session_max_ttl);
	db_bind_text(st, ":ip", c->ip);
	if (db_step(st) != SQLITE_DONE)
		return db_log_error("insert session failed");
	return 0;
}

/* Looks the user up; returns its id (0 if unknown) and a malloc'd hash to verify against. */
static int64_t find_admin(const char *username, char **hash)
{
	pthread_once(&dummy_once, make_dummy);
	sqlite3_stmt *st = db_stmt(sql_find_admin);
	int64_t id = 0;
	*hash = NULL;
	if (st) {
		db_bind_text(st, ":u", username);
		if (db_step(st) == SQLITE_ROW) {
			id = sqlite3_column_int64(st, 0);
			*hash = xstrdup(db_col_text(st, 1));
		}
		sqlite3_reset(st);
	}
	if (!*hash)
		*hash = xstrdup(dummy_hash);
	return id;
}

int admin_login(const struct config *cfg, const char *username, const char *password,
                const char *totp, const char *ip, const char *old_cookie, struct admin_session *out,
                struct shop_err *err)
{
	/* No admin has a longer name (admin_create): refused before it is stored or hashed. */
	if (strlen(username) > ADMIN_USERNAME_MAX)
		return shop_fail(err, SHOP_UNAUTHORIZED, "wrong username or password");
	/* The attempt budget and the challenge are the caller's (api/challenge.c). */
	char *hash;
	int64_t id = find_admin(username, &hash);
	int ok = sec_password_verify(hash, password) && id > 0;
	free(hash);
	if (!ok) {
		log_warn("admin login failed",
		         json_pack("{ss ss}", "username", username, "ip", ip));
		return shop_fail(err, SHOP_UNAUTHORIZED, "wrong username or password");
	}
	if (team_totp_login(id, totp, err) != 0) {
		if (err->status == SHOP_UNAUTHORIZED)
			log_warn("admin login failed: second factor",
			         json_pack("{ss ss}", "username", username, "ip", ip));
		return -1;
	}
	struct login_ctx c = {.cfg = cfg, .admin_id = id, .ip = ip};
	sec_random_hex(out->cookie, 32);
	sec_random_hex(out->csrf, 32);
	c.csrf = out->csrf;
	cookie_hash(out->cookie, c.new_hash);
	c.has_old = cookie_hash(old_cookie, c.old_hash) == 0;
	if (db_write(login_tx, &c) != 0)
		return shop_fail(err, SHOP_ERROR, "internal error");
	out->admin_id = id;
	snprintf(out->username, sizeof out->username, "%s", username);
	log_info("admin login", json_pack("{ss ss}", "username", username, "ip", ip));
	return 0;
}

struct touch_ctx {
	const unsigned char *hash;
};

static int touch_tx(sqlite3 *db, void *arg)
{
	(void)db;
	struct touch_ctx *c = arg;
	sqlite3_stmt *st = db_stmt(sql_touch_session);
	if (!st)
		return -1;
	db_bind_int(st, ":now", util_now());
	db_bind_blob(st, ":h", c->hash, 32);
	return db_step(st) == SQLITE_DONE ? 0 : db_log_error("touch session failed");
}

int admin_session_get(const struct config *cfg, const char *cookie, struct admin_session *out)
{
	unsigned char h[32];
	if (cookie_hash(cookie, h) != 0)
		return -1;
	sqlite3_stmt *st = db_stmt(sql_get_session);
	if (!st)
		return -1;
	int64_t now = util_now();
	db_bind_blob(st, ":h", h, 32);
	db_bind_int(st, ":now", now);
	db_bind_int(st, ":idle_cutoff", now - cfg->session_idle_ttl);
	if (db_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return -1;
	}
	out->admin_id = sqlite3_column_int64(st, 0);
	snprintf(out->username, sizeof out->username, "%s", db_col_text(st, 1));
	snprintf(out->csrf, sizeof out->csrf, "%s", db_col_text(st, 2));
	snprintf(out->cookie, sizeof out->cookie, "%s", cookie);
	int64_t last_seen = sqlite3_column_int64(st, 3);
	/* A role this build does not know gets the lesser rights. */
	if (admin_role_parse(db_col_text(st, 4), &out->role) != 0)
		out->role = ADMIN_STAFF;
	out->totp = sqlite3_column_int(st, 5) != 0;
	sqlite3_reset(st);
	/* Refresh the idle timer at most once a minute (a write per request would be waste), and
	 * sooner for short idle limits so activity always keeps a session alive. */
	int64_t every = cfg->session_idle_ttl / 4 < 60 ? cfg->session_idle_ttl / 4 : 60;
	if (now - last_seen >= every) {
		struct touch_ctx c = {.hash = h};
		db_write(touch_tx, &c);
	}
	return 0;
}

struct logout_ctx {
	unsigned char hash[32];
};

static int logout_tx(sqlite3 *db, void *arg)
{
	(void)db;
	struct logout_ctx *c = arg;
	sqlite3_stmt *st = db_stmt(sql_delete_session);
	if (!st)
		return -1;
	db_bind_blob(st, ":h", c->hash, 32);
	return db_step(st) == SQLITE_DONE ? 0 : db_log_error("delete session failed");
}

void admin_logout(const char *cookie)
{
	struct logout_ctx c;
	if (cookie_hash(cookie, c.hash) == 0)
		db_write(logout_tx, &c);
}

struct setpw_ctx {
	const char *username;
	char *hash;
};

static int setpw_tx(sqlite3 *db, void *arg)
{
	struct setpw_ctx *c = arg;
	sqlite3_stmt *st = db_stmt(sql_set_password);
	if (!st)
		return -1;
	db_bind_text(st, ":h", c->hash);
	db_bind_text(st, ":u", c->username);
	if (db_step(st) != SQLITE_DONE)
		return db_log_error("set password failed");
	return sqlite3_changes(db) == 1 ? 0 : -1;
}

int admin_set_password(const char *username, const char *password)
{
	struct setpw_ctx c = {.username = username, .hash = sec_password_hash(password)};
	int rc = db_write(setpw_tx, &c);
	free(c.hash);
	return rc == 0 ? 0 : -1;
}
