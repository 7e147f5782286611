/* The team: owner and staff admins, their passwords and their TOTP second factors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cardshop/log.h"
#include "cardshop/sec.h"
#include "internal.h"

#define TOTP_KEY_LEN 20 /* RFC 4226's recommended 160 bits, the SHA-1 block it keys */

static const char *sql_list = "SELECT id, username, role, disabled, totp_enabled, created_at"
                              " FROM admins ORDER BY id";
static const char *sql_insert =
    "INSERT INTO admins (username, password_hash, role, created_at) VALUES (:u, :h, :role, :now)"
    " ON CONFLICT (username) DO NOTHING";
static const char *sql_get = "SELECT username, role, disabled FROM admins WHERE id = :id";
static const char *sql_other_owners =
    "SELECT count(*) FROM admins WHERE role = 'owner' AND disabled = 0 AND id <> :id";
static const char *sql_update =
    "UPDATE admins SET role = :role, disabled = :disabled WHERE id = :id";
static const char *sql_end_sessions = "DELETE FROM sessions WHERE admin_id = :id";
static const char *sql_end_other_sessions =
    "DELETE FROM sessions WHERE admin_id = :id AND id_hash <> :keep";
static const char *sql_hash = "SELECT password_hash FROM admins WHERE id = :id AND disabled = 0";
static const char *sql_set_hash = "UPDATE admins SET password_hash = :h WHERE id = :id";
static const char *sql_totp_get =
    "SELECT totp_secret, totp_enabled, totp_last_step FROM admins WHERE id = :id";
static const char *sql_totp_new = "UPDATE admins SET totp_secret = :s WHERE id = :id";
/* After a code was spent: on keeps the secret, off forgets it; the step stays either way, so
 * no code seen before works again. */
static const char *sql_totp_spent =
    "UPDATE admins SET totp_enabled = :on, totp_last_step = :step,"
    " totp_secret = CASE WHEN :on = 1 THEN totp_secret END WHERE id = :id";

static json_t *admin_row(sqlite3_stmt *st)
{
	return json_pack("{sI ss ss sb sb sI}", "id", (json_int_t)sqlite3_column_int64(st, 0),
	                 "username", db_col_text(st, 1), "role", db_col_text(st, 2), "active",
	                 sqlite3_column_int(st, 3) == 0, "totp", sqlite3_column_int(st, 4) != 0,
	                 "created_at", (json_int_t)sqlite3_column_int64(st, 5));
}

json_t *admins_json(struct shop_err *err)
{
	sqlite3_stmt *st = db_stmt(sql_list);
	if (!st) {
		shop_fail(err, SHOP_ERROR, "internal error");
		return NULL;
	}
	return shop_rows_json(st, admin_row, err);
}

static int sessions_end(int64_t id, const unsigned char *keep_hash)
{
	sqlite3_stmt *st = db_stmt(keep_hash ? sql_end_other_sessions : sql_end_sessions);
	if (!st)
		return -1;
	db_bind_int(st, ":id", id);
	if (keep_hash)
		db_bind_blob(st, ":keep", keep_hash, 32);
	return db_step(st) == SQLITE_DONE ? 0 : db_log_error("end sessions failed");
}

/* ---- add ---- */

static const char *const role_choices[] = {"owner", "staff", NULL};

struct add_ctx {
	const struct actor *who;
	const char *username, *hash, *role;
	int64_t id;
	struct shop_err *err;
};

static int add_tx(sqlite3 *db, void *arg)
{
	struct add_ctx *c = arg;
	sqlite3_stmt *st = db_stmt(sql_insert);
	if (!st)
		return -1;
	db_bind_text(st, ":u", c->username);
	db_bind_text(st, ":h", c->hash);
	db_bind_text(st, ":role", c->role);
	db_bind_int(st, ":now", util_now());
	if (db_step(st) != SQLITE_DONE)
		return db_log_error("insert admin failed");
	if (sqlite3_changes(db) == 0) {
		shop_fail(c->err, SHOP_CONFLICT, "username: already taken");
		return 1;
	}
	c->id = sqlite3_last_insert_rowid(db);
	return audit_record(c->who, "admin.create", c->username,
	                    json_pack("{ss}", "role", c->role));
}

int admin_add(const struct actor *who, json_t *in, int64_t *id, struct shop_err *err)
{
	static const struct field fields[] = {
	    {"username", F_STR, 1, ADMIN_USERNAME_MAX, NULL, 1},
	    {"password", F_STR, ADMIN_PASSWORD_MIN, 1000, NULL, 1},
	    {"role", F_ENUM, 0, 0, role_choices, 0},
	};
	if (shop_validate(in, fields, 3, 1, err) != 0)
		return -1;
	struct add_ctx c = {.who = who,
	                    .username = shop_json_str(in, "username", ""),
	                    .role = shop_json_str(in, "role", "staff"),
	                    .err = err};
	if (!admin_username_valid(c.username))
		return shop_fail(err, SHOP_INVALID, "username: 1-64 of A-Z a-z 0-9 _ . @ -");
	char *hash = sec_password_hash(shop_json_str(in, "password", ""));
	c.hash = hash;
	int rc = db_write(add_tx, &c);
	free(hash);
	if (rc == 1)
		return -1;
	if (rc != 0)
		return shop_fail(err, SHOP_ERROR, "internal error");
	*id = c.id;
	return 0;
}

/* ---- active, role ---- */

struct update_ctx {
	const struct actor *who;
	int64_t id;
	json_t *in;
	struct shop_err *err;
};

/* 1 and the row when found, 0 when not, -1 on error. */
static int admin_get(int64_t id, char username[ADMIN_USERNAME_MAX + 1], enum admin_role *role,
                     int *disabled)
{
	sqlite3_stmt *st = db_stmt(sql_get);
	if (!st)
		return -1;
	db_bind_int(st, ":id", id);
	int rc = db_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(username, ADMIN_USERNAME_MAX + 1, "%s", db_col_text(st, 0));
		if (admin_role_parse(db_col_text(st, 1), role) != 0)
			*role = ADMIN_STAFF;
		*disabled = sqlite3_column_int(st, 2);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_log_error("read admin failed");
	return rc == SQLITE_ROW;
}

static int64_t other_owners(int64_t id)
{
	sqlite3_stmt *st = db_stmt(sql_other_owners);
	if (!st)
		return -1;
	db_bind_int(st, ":id", id);
	int64_t n = db_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_reset(st);
	return n;
}

static int update_tx(sqlite3 *db, void *arg)
{
	(void)db;
	struct update_ctx *c = arg;
	char username[ADMIN_USERNAME_MAX + 1];
	enum admin_role role = ADMIN_STAFF;
	int disabled = 0, found = admin_get(c->id, username, &role, &disabled);
	if (found < 0)
		return -1;
	if (found == 0) {
		shop_fail(c->err, SHOP_NOT_FOUND, "admin: not found");
		return 1;
	}
	enum admin_role new_role = role;
	const char *r = shop_json_str(c->in, "role", NULL);
	if (r)
		admin_role_parse(r, &new_role);
	int new_disabled = !shop_json_bool(c->in, "active", !disabled);
	/* Checked in the same transaction as the change: two owners demoting each other at
	 * once cannot both pass. */
	if (role == ADMIN_OWNER && !disabled && (new_role != ADMIN_OWNER || new_disabled)) {
		int64_t n = other_owners(c->id);
		if (n < 0)
			return -1;
		if (n == 0) {
			shop_fail(c->err, SHOP_CONFLICT,
			          "the last active owner cannot be disabled or made staff");
			return 1;
		}
	}
	sqlite3_stmt *st = db_stmt(sql_update);
	if (!st)
		return -1;
	db_bind_text(st, ":role", admin_role_name(new_role));
	db_bind_int(st, ":disabled", new_disabled);
	db_bind_int(st, ":id", c->id);
	if (db_step(st) != SQLITE_DONE)
		return db_log_error("update admin failed");
	if (new_disabled && sessions_end(c->id, NULL) != 0)
		return -1;
	return audit_record(
	    c->who, "admin.update", username,
	    json_pack("{ss sb}", "role", admin_role_name(new_role), "active", !new_disabled));
}

int admin_update(const struct actor *who, int64_t id, json_t *in, struct shop_err *err)
{
	static const struct field fields[] = {
	    {"active", F_BOOL, 0, 0, NULL, 0},
	    {"role", F_ENUM, 0, 0, role_choices, 0},
	};
	if (shop_validate(in, fields, 2, 0, err) != 0)
		return -1;
	struct update_ctx c = {.who = who, .id = id, .in = in, .err = err};
	int rc = db_write(update_tx, &c);
	if (rc == 1)
		return -1;
	return rc == 0 ? 0 : shop_fail(err, SHOP_ERROR, "internal error");
}

/* ---- own password ---- */

struct password_ctx {
	const struct actor *who;
	const char *hash;
	unsigned char keep[32];
};

static int password_tx(sqlite3 *db, void *arg)
{
	(void)db;
	struct password_ctx *c = arg;
	sqlite3_stmt *st = db_stmt(sql_set_hash);
	if (!st)
		return -1;
	db_bind_text(st, ":h", c->hash);
	db_bind_int(st, ":id", c->who->admin_id);
	if (db_step(st) != SQLITE_DONE)
		return db_log_error("set password failed");
	if (sessions_end(c->who->admin_id, c->keep) != 0)
		return -1;
	return audit_record(c->who, "admin.password", c->who->username, NULL);
}

static char *stored_hash(int64_t id)
{
	sqlite3_stmt *st = db_stmt(sql_hash);
	if (!st)
		return NULL;
	db_bind_int(st, ":id", id);
	char *h = db_step(st) == SQLITE_ROW ? xstrdup(db_col_text(st, 0)) : NULL;
	sqlite3_reset(st);
	return h;
}

int admin_password_change(const struct actor *who, const char *keep_cookie, json_t *in,
                          struct shop_err *err)
{
	static const struct field fields[] = {
	    {"current", F_STR, 0, 1000, NULL, 1},
	    {"new", F_STR, ADMIN_PASSWORD_MIN, 1000, NULL, 1},
	};
	if (shop_validate(in, fields, 2, 1, err) != 0)
		return -1;
	char *old = stored_hash(who->admin_id);
	if (!old)
		return shop_fail(err, SHOP_ERROR, "internal error");
	int ok = sec_password_verify(old, shop_json_str(in, "current", ""));
	free(old);
	if (!ok)
		return shop_fail(err, SHOP_INVALID, "current: wrong password");
	struct password_ctx c = {.who = who};
	if (keep_cookie)
		sec_sha256(keep_cookie, strlen(keep_cookie), c.keep);
	char *hash = sec_password_hash(shop_json_str(in, "new", ""));
	c.hash = hash;
	int rc = db_write(password_tx, &c);
	free(hash);
	return rc == 0 ? 0 : shop_fail(err, SHOP_ERROR, "internal error");
}

/* ---- TOTP ---- */

struct totp_row {
	unsigned char key[TOTP_KEY_LEN];
	int has_key, enabled;
	int64_t last_step;
};

/* 0 with r filled (has_key 0 when there is none or it cannot be decrypted: logged), -1. */
static int totp_load(int64_t id, struct totp_row *r)
{
	memset(r, 0, sizeof *r);
	sqlite3_stmt *st = db_stmt(sql_totp_get);
	if (!st)
		return -1;
	db_bind_int(st, ":id", id);
	if (db_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return db_log_error("read totp failed");
	}
	r->enabled = sqlite3_column_int(st, 1);
	r->last_step = sqlite3_column_int64(st, 2);
	const unsigned char *box = sqlite3_column_blob(st, 0);
	size_t n = (size_t)sqlite3_column_bytes(st, 0);
	char *plain = NULL;
	size_t plen = 0;
	if (box && sec_decrypt(box, n, &plain, &plen) == 0 && plen == TOTP_KEY_LEN) {
		memcpy(r->key, plain, TOTP_KEY_LEN);
		r->has_key = 1;
	} else if (box) {
		log_error("totp secret cannot be decrypted", json_pack("{sI}", "admin_id", id));
	}
	if (plain) {
		sec_wipe(plain, plen);
		free(plain);
	}
	sqlite3_reset(st);
	return 0;
}

static int totp_store(int64_t id, const unsigned char *box, size_t n)
{
	sqlite3_stmt *st = db_stmt(sql_totp_new);
	if (!st)
		return -1;
	db_bind_blob(st, ":s", box, n);
	db_bind_int(st, ":id", id);
	return db_step(st) == SQLITE_DONE ? 0 : db_log_error("store totp failed");
}

static int totp_spent(int64_t id, int on, int64_t step)
{
	sqlite3_stmt *st = db_stmt(sql_totp_spent);
	if (!st)
		return -1;
	db_bind_int(st, ":on", on);
	db_bind_int(st, ":step", step);
	db_bind_int(st, ":id", id);
	return db_step(st) == SQLITE_DONE ? 0 : db_log_error("spend totp failed");
}

/* RFC 3986 unreserved characters stay, everything else is %XX (otpauth URI labels). */
static void uri_escape(struct buf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p))
			buf_printf(b, "%c", *p);
		else
			buf_printf(b, "%%%02X", *p);
	}
}

struct totp_ctx {
	const struct actor *who;
	int64_t admin_id;
	const char *code;
	const unsigned char *box; /* setup */
	size_t boxlen;
	enum { TOTP_SETUP, TOTP_ENABLE, TOTP_DISABLE, TOTP_LOGIN } op;
	struct shop_err *err;
};

/* Spends code against r in this transaction: the step it matched, or -1 (err filled). */
static int64_t totp_spend(const struct totp_ctx *c, const struct totp_row *r)
{
	int64_t step = -1;
	if (r->has_key)
		step = sec_totp_match(r->key, TOTP_KEY_LEN, c->code, util_now(), r->last_step);
	if (step < 0 && c->op == TOTP_LOGIN)
		shop_fail(c->err, SHOP_UNAUTHORIZED, "wrong username, password or code");
	else if (step < 0)
		shop_fail(c->err, SHOP_INVALID, "code: wrong, expired or used already");
	return step;
}

static int totp_tx(sqlite3 *db, void *arg)
{
	(void)db;
	struct totp_ctx *c = arg;
	struct totp_row r;
	if (totp_load(c->admin_id, &r) != 0)
		return -1;
	int rc = 1;
	int64_t step;
	if (c->op == TOTP_LOGIN && !r.enabled) {
		rc = 0;
	} else if (c->op == TOTP_LOGIN && !c->code) {
		shop_fail(c->err, SHOP_TOTP_REQUIRED, "totp: the second factor's code is required");
	} else if ((c->op == TOTP_SETUP || c->op == TOTP_ENABLE) && r.enabled) {
		shop_fail(c->err, SHOP_CONFLICT,
		          "two-factor sign-in is on already: disable it first");
	} else if (c->op == TOTP_DISABLE && !r.enabled) {
		shop_fail(c->err, SHOP_CONFLICT, "two-factor sign-in is not on");
	} else if (c->op == TOTP_ENABLE && !r.has_key) {
		shop_fail(c->err, SHOP_CONFLICT, "no secret set up: run setup first");
	} else if (c->op == TOTP_SETUP) {
		rc = totp_store(c->admin_id, c->box, c->boxlen);
	} else if ((step = totp_spend(c, &r)) >= 0) {
		rc = totp_spent(c->admin_id, c->op != TOTP_DISABLE, step);
	}
	sec_wipe(&r, sizeof r);
	if (rc != 0 || c->op == TOTP_LOGIN)
		return rc;
	static const char *const actions[] = {"admin.totp_setup", "admin.totp_enable",
	                                      "admin.totp_disable"};
	return audit_record(c->who, actions[c->op], c->who->username, NULL);
}

/* Runs op in one transaction, so two uses of one code cannot both pass. 0 or -1 with err. */
static int totp_run(struct totp_ctx *c)
{
	int rc = db_write(totp_tx, c);
	if (rc == 0)
		return 0;
	if (rc != 1 || c->err->status == SHOP_OK)
		return shop_fail(c->err, SHOP_ERROR, "internal error");
	return -1;
}

int admin_totp_setup(const struct actor *who, const char *issuer,
                     char secret[ADMIN_TOTP_SECRET_LEN + 1], char **uri, struct shop_err *err)
{
	unsigned char key[TOTP_KEY_LEN];
	sec_random(key, sizeof key);
	size_t boxlen;
	unsigned char *box = sec_encrypt(key, sizeof key, &boxlen);
	sec_base32(key, sizeof key, secret);
	sec_wipe(key, sizeof key);
	struct totp_ctx c = {.who = who,
	                     .admin_id = who->admin_id,
	                     .box = box,
	                     .boxlen = boxlen,
	                     .op = TOTP_SETUP,
	                     .err = err};
	int rc = totp_run(&c);
	free(box);
	if (rc != 0) {
		sec_wipe(secret, ADMIN_TOTP_SECRET_LEN);
		return -1;
	}
	struct buf b;
	buf_init(&b);
	buf_puts(&b, "otpauth://totp/");
	uri_escape(&b, issuer);
	buf_puts(&b, ":");
	uri_escape(&b, who->username);
	buf_printf(&b, "?secret=%s&issuer=", secret);
	uri_escape(&b, issuer);
	buf_puts(&b, "&algorithm=SHA1&digits=6&period=30");
	*uri = buf_release(&b);
	return 0;
}

int admin_totp_enable(const struct actor *who, const char *code, struct shop_err *err)
{
	struct totp_ctx c = {
	    .who = who, .admin_id = who->admin_id, .code = code, .op = TOTP_ENABLE, .err = err};
	return totp_run(&c);
}

int admin_totp_disable(const struct actor *who, const char *code, struct shop_err *err)
{
	struct totp_ctx c = {
	    .who = who, .admin_id = who->admin_id, .code = code, .op = TOTP_DISABLE, .err = err};
	return totp_run(&c);
}

int team_totp_login(int64_t admin_id, const char *code, struct shop_err *err)
{
	struct totp_ctx c = {.admin_id = admin_id, .code = code, .op = TOTP_LOGIN, .err = err};
	return totp_run(&c);
}
