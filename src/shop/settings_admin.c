/* The merchant's settings: config keys changed in the admin, stored in the settings table and
 * applied by publishing a new configuration built from the file's one and the stored values. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cardshop/config.h"
#include "cardshop/log.h"
#include "cardshop/sec.h"
#include "internal.h"

#define SECRET_PREFIX "aead:" /* then the hex of an AES-256-GCM box */
#define MASK "********"
#define VALUE_MAX 65536 /* bytes: a mail template fits, a megabyte of notice does not */

static const char *sql_all = "SELECT key, value FROM settings";
static const char *sql_put = "INSERT INTO settings (key, value) VALUES (:k, :v)"
                             " ON CONFLICT (key) DO UPDATE SET value = excluded.value";
static const char *sql_del = "DELETE FROM settings WHERE key = :k";

static const struct config *base_cfg;
/* One change at a time: each builds on the configuration the one before published. */
static pthread_mutex_t update_lock = PTHREAD_MUTEX_INITIALIZER;

static void dotted_name(size_t i, char *out, size_t n)
{
	struct config_key_info k = config_key_at(i);
	snprintf(out, n, "%s.%s", k.section, k.name);
}

static int changeable(size_t i)
{
	return (config_key_at(i).flags & CONFIG_LIVE) && base_cfg->origin[i] < CONFIG_FILE;
}

/* The stored text of a value: secrets sealed. malloc'd. */
static char *seal(size_t i, const char *text)
{
	if (!(config_key_at(i).flags & CONFIG_SECRET))
		return xstrdup(text);
	size_t n;
	unsigned char *box = sec_encrypt(text, strlen(text), &n);
	char *out = xmalloc(strlen(SECRET_PREFIX) + 2 * n + 1);
	strcpy(out, SECRET_PREFIX);
	sec_hex(box, n, out + strlen(SECRET_PREFIX));
	free(box);
	return out;
}

/* The value of a stored text (malloc'd), NULL when a sealed one does not open. */
static char *unseal(const char *stored)
{
	size_t plen = strlen(SECRET_PREFIX);
	if (strncmp(stored, SECRET_PREFIX, plen) != 0)
		return xstrdup(stored);
	const char *hex = stored + plen;
	size_t n = strlen(hex) / 2;
	unsigned char *box = xmalloc(n + 1);
	for (size_t j = 0; j < n; j++) {
		int hi = util_hex_digit(hex[2 * j]), lo = util_hex_digit(hex[2 * j + 1]);
		if (hi < 0 || lo < 0) {
			free(box);
			return NULL;
		}
		box[j] = (unsigned char)(hi << 4 | lo);
	}
	char *plain = NULL;
	size_t len;
	int rc = sec_decrypt(box, n, &plain, &len);
	free(box);
	if (rc != 0)
		return NULL;
	char *out = xstrndup(plain, len);
	sec_wipe(plain, len);
	free(plain);
	return out;
}

int settings_load(const struct config *base)
{
	base_cfg = base;
	struct config *cfg = xmalloc(sizeof *cfg);
	config_copy(cfg, base);
	sqlite3_stmt *st = db_stmt(sql_all);
	int rc = st ? SQLITE_ERROR : SQLITE_DONE;
	while (st && (rc = db_step(st)) == SQLITE_ROW) {
		const char *key = db_col_text(st, 0);
		int i = config_key_find(key);
		if (i < 0 || !changeable((size_t)i))
			continue; /* the probe row, or a key the file has fixed since */
		char *value = unseal(db_col_text(st, 1)), err[300];
		if (!value || config_set_at(cfg, (size_t)i, value, err, sizeof err) != 0)
			log_error("stored setting ignored",
			          json_pack("{ss ss}", "key", key, "why", value ? err : "sealed"));
		else
			cfg->origin[i] = CONFIG_STORED;
		if (value)
			sec_wipe(value, strlen(value));
		free(value);
	}
	if (st)
		sqlite3_reset(st);
	char err[400];
	if (rc != SQLITE_DONE || config_check(cfg, err, sizeof err) != 0) {
		if (rc == SQLITE_DONE)
			log_error("stored settings ignored", json_pack("{ss}", "why", err));
		config_cleanup(cfg);
		config_copy(cfg, base);
	}
	config_publish(cfg);
	return rc == SQLITE_DONE ? 0 : -1;
}

static const char *source_name(enum config_origin o)
{
	static const char *const names[] = {[CONFIG_DEFAULT] = "default",
	                                    [CONFIG_STORED] = "settings",
	                                    [CONFIG_FILE] = "file",
	                                    [CONFIG_ENV] = "environment"};
	return names[o <= CONFIG_ENV ? o : CONFIG_DEFAULT];
}

static json_t *value_json(const struct config *cfg, size_t i)
{
	struct config_key_info k = config_key_at(i);
	if (k.flags & CONFIG_SECRET)
		return json_string(config_str_at(cfg, i)[0] ? MASK : "");
	if (k.kind == CONFIG_STR)
		return json_string(config_str_at(cfg, i));
	if (k.kind == CONFIG_BOOL)
		return json_boolean(config_int_at(cfg, i));
	return json_integer((json_int_t)config_int_at(cfg, i));
}

/* The buyer's mail templates are settings too, though no config file names them: one key
 * `mail.template.<name>.<lang>` per template and language, read by mail_template_get. */

/* 1 when key is one of the template keys, else 0. */
static int template_key(const char *key)
{
	for (size_t i = 0; mail_template_name(i); i++)
		for (size_t l = 0; mail_template_lang(l); l++) {
			char name[128];
			snprintf(name, sizeof name, "mail.template.%s.%s", mail_template_name(i),
			         mail_template_lang(l));
			if (strcmp(name, key) == 0)
				return 1;
		}
	return 0;
}

/* Every template key into out, with its text (the merchant's or the built-in one). 0 or -1. */
static int templates_json(json_t *out)
{
	for (size_t l = 0; mail_template_lang(l); l++) /* a language's texts side by side */
		for (size_t i = 0; mail_template_name(i); i++) {
			const char *tname = mail_template_name(i), *lang = mail_template_lang(l);
			char name[128], *text = NULL;
			int stored = 0;
			if (mail_template_read(tname, lang, &text, &stored) != 0)
				return -1;
			snprintf(name, sizeof name, "mail.template.%s.%s", tname, lang);
			json_object_set_new(
			    out, name,
			    json_pack("{ss# sb sb ss sb sb}", "value", text, strlen(text), "fixed",
			              0, "secret", 0, "source", stored ? "settings" : "default",
			              "restart", 0, "multiline", strstr(tname, "_body") != NULL));
			free(text);
		}
	return 0;
}

json_t *settings_json(struct shop_err *err)
{
	const struct config *cfg = config_current();
	if (!cfg || !base_cfg) {
		shop_fail(err, SHOP_UNAVAILABLE, "settings not loaded");
		return NULL;
	}
	json_t *out = json_object();
	for (size_t i = 0; i < config_key_count(); i++) {
		struct config_key_info k = config_key_at(i);
		char name[128];
		dotted_name(i, name, sizeof name);
		json_t *e = json_pack("{so sb sb ss}", "value", value_json(cfg, i), "fixed",
		                      !changeable(i), "secret", (k.flags & CONFIG_SECRET) != 0,
		                      "source", source_name((enum config_origin)cfg->origin[i]));
		json_object_set_new(e, "restart", json_boolean(!(k.flags & CONFIG_LIVE)));
		json_object_set_new(e, "multiline", json_boolean(k.flags & CONFIG_MULTILINE));
		json_object_set_new(out, name, e);
	}
	if (templates_json(out) != 0) {
		json_decref(out);
		shop_fail(err, SHOP_ERROR, "internal error");
		return NULL;
	}
	return out;
}

/* One requested change: the key and its new text (NULL: back to the file's value). */
struct change {
	size_t key;
	char *text;
	char *tkey; /* a mail template's key (malloc'd), or NULL for the config key `key` */
};

/* Refuses control characters (line breaks and tabs only in a multi-line text), more than
 * VALUE_MAX bytes and bad UTF-8; frees *text then. 0, or -1 with err naming the key. */
static int text_check(const char *name, char **text, int multiline, struct shop_err *err)
{
	size_t n = strlen(*text);
	for (const unsigned char *p = (const unsigned char *)*text; *p; p++) {
		/* Values go into mail headers and pages: no control characters, and line breaks
		 * only where the key is a text. */
		if ((*p < 0x20 && !(multiline && (*p == '\n' || *p == '\t'))) || *p == 0x7f) {
			free(*text);
			*text = NULL;
			return shop_fail(err, SHOP_INVALID, "%s: control characters not allowed",
			                 name);
		}
	}
	if (n > VALUE_MAX || !util_utf8_valid(*text, n)) {
		free(*text);
		*text = NULL;
		return shop_fail(err, SHOP_INVALID, "%s: at most %d bytes of UTF-8", name,
		                 VALUE_MAX);
	}
	return 0;
}

/* The text of v for key i into *text (malloc'd; NULL for null). 0, or -1 with err. */
static int change_text(size_t i, const char *name, json_t *v, char **text, struct shop_err *err)
{
	struct config_key_info k = config_key_at(i);
	*text = NULL;
	if (json_is_null(v))
		return 0;
	if (k.kind == CONFIG_BOOL && json_is_boolean(v))
		*text = xstrdup(json_is_true(v) ? "true" : "false");
	else if (k.kind == CONFIG_INT && json_is_integer(v))
		*text = xasprintf("%lld", (long long)json_integer_value(v));
	else if (json_is_string(v))
		*text = xstrdup(json_string_value(v));
	else
		return shop_fail(err, SHOP_INVALID, "%s: must be a %s or null", name,
		                 k.kind == CONFIG_STR    ? "string"
		                 : k.kind == CONFIG_BOOL ? "boolean"
		                                         : "integer");
	return text_check(name, text, (k.flags & CONFIG_MULTILINE) != 0, err);
}

/* A mail template's change: a string that validates as that template, or null (back to the
 * built-in text). 0, or -1 with err naming the key. */
static int template_change(const char *name, json_t *v, struct change *ch, struct shop_err *err)
{
	ch->tkey = xstrdup(name);
	if (json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return shop_fail(err, SHOP_INVALID, "%s: must be a string or null", name);
	ch->text = xstrdup(json_string_value(v));
	if (text_check(name, &ch->text, 1, err) != 0)
		return -1;
	return mail_template_setting_check(name, ch->text, err);
}

/* Checks one key of the request and applies it to cfg. 0, or -1 with err. */
static int change_apply(struct config *cfg, const char *name, json_t *v, struct change *ch,
                        struct shop_err *err)
{
	if (template_key(name))
		return template_change(name, v, ch, err);
	int i = config_key_find(name);
	if (i < 0)
		return shop_fail(err, SHOP_INVALID, "%s: unknown setting", name);
	ch->key = (size_t)i;
	if (!(config_key_at(ch->key).flags & CONFIG_LIVE))
		return shop_fail(err, SHOP_CONFLICT,
		                 "%s: needs a restart: set it in the config file", name);
	if (!changeable(ch->key))
		return shop_fail(err, SHOP_CONFLICT, "%s: fixed by the %s", name,
		                 base_cfg->origin[i] == CONFIG_ENV ? "environment" : "config file");
	if (change_text(ch->key, name, v, &ch->text, err) != 0)
		return -1;
	char msg[300];
	char *fallback = NULL;
	const char *text = ch->text;
	if (!text) { /* back to the base value, in its text form */
		struct config_key_info k = config_key_at(ch->key);
		int64_t num = config_int_at(base_cfg, ch->key);
		fallback = k.kind == CONFIG_STR    ? xstrdup(config_str_at(base_cfg, ch->key))
		           : k.kind == CONFIG_BOOL ? xstrdup(num ? "true" : "false")
		                                   : xasprintf("%lld", (long long)num);
		text = fallback;
	}
	int rc = config_set_at(cfg, ch->key, text, msg, sizeof msg);
	free(fallback);
	if (rc != 0)
		return shop_fail(err, SHOP_INVALID, "%s: %s", name, msg);
	cfg->origin[i] = ch->text ? CONFIG_STORED : base_cfg->origin[i];
	return 0;
}

struct update_ctx {
	const struct actor *who;
	struct change *changes;
	size_t n;
};

static int update_tx(sqlite3 *db, void *arg)
{
	(void)db;
	struct update_ctx *c = arg;
	json_t *keys = json_array();
	for (size_t j = 0; j < c->n; j++) {
		const struct change *ch = &c->changes[j];
		char name[128];
		if (ch->tkey)
			snprintf(name, sizeof name, "%s", ch->tkey);
		else
			dotted_name(ch->key, name, sizeof name);
		char *text = !ch->text  ? NULL
		             : ch->tkey ? xstrdup(ch->text)
		                        : seal(ch->key, ch->text);
		sqlite3_stmt *st = db_stmt(text ? sql_put : sql_del);
		if (st) {
			db_bind_text(st, ":k", name);
			if (text)
				db_bind_text(st, ":v", text);
		}
		int ok = st && db_step(st) == SQLITE_DONE;
		free(text);
		if (!ok) {
			json_decref(keys);
			return db_log_error("store setting failed");
		}
		json_array_append_new(keys, json_string(name));
	}
	/* The names only: a value may be a secret. */
	return audit_record(c->who, "settings.update", "", json_pack("{so}", "keys", keys));
}

static void changes_free(struct change *ch, size_t n)
{
	for (size_t j = 0; j < n; j++) {
		if (ch[j].text)
			sec_wipe(ch[j].text, strlen(ch[j].text));
		free(ch[j].text);
		free(ch[j].tkey);
	}
	free(ch);
}

int settings_update(const struct actor *who, json_t *in, struct shop_err *err)
{
	if (!json_is_object(in))
		return shop_fail(err, SHOP_INVALID, "body: must be a JSON object");
	if (!config_current() || !base_cfg)
		return shop_fail(err, SHOP_UNAVAILABLE, "settings not loaded");
	pthread_mutex_lock(&update_lock);
	struct config *cfg = xmalloc(sizeof *cfg);
	config_copy(cfg, config_current());
	size_t n = 0;
	struct change *ch = xcalloc(json_object_size(in) + 1, sizeof *ch);
	int rc = 0;
	const char *name;
	json_t *v;
	json_object_foreach(in, name, v)
	{
		if ((rc = change_apply(cfg, name, v, &ch[n], err)) != 0)
			break;
		n++;
	}
	char msg[400];
	if (rc == 0 && config_check(cfg, msg, sizeof msg) != 0)
		rc = shop_fail(err, SHOP_INVALID, "%s", msg);
	struct update_ctx c = {.who = who, .changes = ch, .n = n};
	if (rc == 0 && db_write(update_tx, &c) != 0)
		rc = shop_fail(err, SHOP_ERROR, "internal error");
	if (rc == 0) {
		config_publish(cfg);
		log_info("settings changed", json_pack("{sI}", "keys", (json_int_t)n));
	} else {
		config_cleanup(cfg);
		free(cfg);
	}
	changes_free(ch, json_object_size(in)); /* the one that failed may hold a text too */
	pthread_mutex_unlock(&update_lock);
	return rc;
}
