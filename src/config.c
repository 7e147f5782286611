/* Configuration: one table of every known key drives defaults, INI parsing, environment
 * overrides and validation, so a key cannot be known in one place and missing in another. */
#include "cardshop/config.h"

#include <ctype.h>
#include <ini.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cardshop/log.h"
#include "cardshop/util.h"

enum kind { K_STR, K_INT, K_BOOL };

struct key {
	const char *section;
	const char *name;
	enum kind kind;
	size_t offset;
	const char *def;
	int64_t min, max; /* for K_INT */
	unsigned flags;   /* CONFIG_LIVE, CONFIG_SECRET */
};

#define S(sec, name, field, def)                                                                   \
	{                                                                                          \
		sec, name, K_STR, offsetof(struct config, field), def, 0, 0, 0                     \
	}
#define I(sec, name, field, def, lo, hi)                                                           \
	{                                                                                          \
		sec, name, K_INT, offsetof(struct config, field), def, lo, hi, 0                   \
	}
#define B(sec, name, field, def)                                                                   \
	{                                                                                          \
		sec, name, K_BOOL, offsetof(struct config, field), def, 0, 1, 0                    \
	}

/* The same with flags: L* keys the merchant may change in the admin's settings, applied at once
 * (the code reads them from config_current() at each use); X: a live secret, never shown. */
#define SL(sec, name, field, def)                                                                  \
	{                                                                                          \
		sec, name, K_STR, offsetof(struct config, field), def, 0, 0, CONFIG_LIVE           \
	}
#define IL(sec, name, field, def, lo, hi)                                                          \
	{                                                                                          \
		sec, name, K_INT, offsetof(struct config, field), def, lo, hi, CONFIG_LIVE         \
	}
#define BL(sec, name, field, def)                                                                  \
	{                                                                                          \
		sec, name, K_BOOL, offsetof(struct config, field), def, 0, 1, CONFIG_LIVE          \
	}
#define X(sec, name, field, def)                                                                   \
	{                                                                                          \
		sec, name, K_STR, offsetof(struct config, field), def, 0, 0,                       \
		    CONFIG_LIVE | CONFIG_SECRET                                                    \
	}
/* A live text of several lines (a notice, a mail template). */
#define T(sec, name, field, def)                                                                   \
	{                                                                                          \
		sec, name, K_STR, offsetof(struct config, field), def, 0, 0,                       \
		    CONFIG_LIVE | CONFIG_MULTILINE                                                 \
	}
/* A secret that needs a restart (shown masked, changed in the file only). */
#define XR(sec, name, field, def)                                                                  \
	{                                                                                          \
		sec, name, K_STR, offsetof(struct config, field), def, 0, 0, CONFIG_SECRET         \
	}

static const struct key keys[] = {
    S("server", "listen", listen, "127.0.0.1"),
    I("server", "port", port, "8080", 1, 65535),
    I("server", "threads", threads, "0", 0, 256),
    S("server", "trusted_proxies", trusted_proxies, "127.0.0.1"),
    S("server", "base_url", base_url, "http://127.0.0.1:8080"),
    S("server", "static_dir", static_dir, "static"),
    S("server", "log_level", log_level, "info"),
    I("server", "max_body", max_body, "1048576", 1024, 1073741824),
    I("server", "max_upload", max_upload, "67108864", 1024, 1073741824),
    I("server", "max_buffered", max_buffered, "268435456", 4096, 17179869184),
    I("server", "max_connections", max_connections, "1024", 1, 100000),
    I("server", "per_ip_connections", per_ip_connections, "64", 0, 100000),
    I("server", "connection_timeout", connection_timeout, "30", 1, 3600),
    I("server", "rate_limit", rate_limit, "60", 1, 1000000),
    S("server", "metrics_allow", metrics_allow, "127.0.0.1,::1"),
    I("server", "max_inflight", max_inflight, "512", 1, 1000000),
    S("database", "path", db_path, "data/cardshop.db"),
    I("database", "busy_timeout_ms", busy_timeout_ms, "5000", 0, 600000),
    S("security", "secret_file", secret_file, "data/secret.key"),
    I("security", "session_idle_ttl", session_idle_ttl, "1800", 60, 31536000),
    I("security", "session_max_ttl", session_max_ttl, "43200", 60, 31536000),
    I("security", "login_max_failures", login_max_failures, "5", 1, 1000000),
    I("security", "login_window", login_window, "900", 1, 86400),
    S("security", "challenge", challenge, "auto"),
    I("security", "challenge_difficulty", challenge_difficulty, "16", 1, 22),
    I("security", "challenge_orders_per_minute", challenge_orders_per_minute, "600", 0, 100000000),
    I("security", "challenge_lookups_per_minute", challenge_lookups_per_minute, "60", 0, 100000000),
    SL("shop", "name", shop_name, "cardshop"),
    T("shop", "notice", shop_notice, ""),
    SL("shop", "contact_url", shop_contact_url, ""),
    S("shop", "currency", currency, "CNY"),
    IL("shop", "order_ttl", order_ttl, "900", 1, 604800),
    IL("shop", "pending_per_client", pending_per_client, "2", 1, 1000000),
    IL("shop", "default_max_qty", default_max_qty, "10", 1, 100000),
    SL("shop", "alert_email", alert_email, ""),
    SL("shop", "merchant_lang", merchant_lang, "en"),
    S("shop", "timezone", timezone, "UTC"),
    SL("smtp", "url", smtp_url, "smtp://127.0.0.1:25"),
    SL("smtp", "from", smtp_from, ""),
    SL("smtp", "username", smtp_username, ""),
    X("smtp", "password", smtp_password, ""),
    IL("smtp", "timeout", smtp_timeout, "30", 1, 600),
    SL("smtp", "tls", smtp_tls, "starttls"),
    BL("smtp", "tls_verify", smtp_tls_verify, "true"),
    SL("smtp", "ca_file", smtp_ca_file, ""),
    BL("payment.epay", "enabled", epay_enabled, "false"),
    SL("payment.epay", "api_url", epay_api_url, ""),
    SL("payment.epay", "pid", epay_pid, ""),
    X("payment.epay", "key", epay_key, ""),
    SL("payment.epay", "types", epay_types, ""),
    /* Every gateway's switch and credentials are the merchant's to change in the settings
     * (each request and job reads the configuration published now; key files are re-read
     * when their path or file changes). */
    BL("payment.alipay", "enabled", alipay_enabled, "false"),
    SL("payment.alipay", "gateway_url", alipay_gateway_url,
       "https://openapi.alipay.com/gateway.do"),
    SL("payment.alipay", "app_id", alipay_app_id, ""),
    SL("payment.alipay", "private_key_file", alipay_private_key_file, ""),
    SL("payment.alipay", "alipay_public_key_file", alipay_public_key_file, ""),
    BL("payment.wechat", "enabled", wechat_enabled, "false"),
    SL("payment.wechat", "api_url", wechat_api_url, "https://api.mch.weixin.qq.com"),
    SL("payment.wechat", "mchid", wechat_mchid, ""),
    SL("payment.wechat", "appid", wechat_appid, ""),
    SL("payment.wechat", "serial_no", wechat_serial_no, ""),
    SL("payment.wechat", "private_key_file", wechat_private_key_file, ""),
    X("payment.wechat", "apiv3_key", wechat_apiv3_key, ""),
    SL("payment.wechat", "platform_public_key_file", wechat_platform_public_key_file, ""),
    SL("payment.wechat", "platform_serial", wechat_platform_serial, ""),
    BL("payment.stripe", "enabled", stripe_enabled, "false"),
    SL("payment.stripe", "api_url", stripe_api_url, "https://api.stripe.com"),
    X("payment.stripe", "secret_key", stripe_secret_key, ""),
    X("payment.stripe", "webhook_secret", stripe_webhook_secret, ""),
    BL("payment.epusdt", "enabled", epusdt_enabled, "false"),
    SL("payment.epusdt", "api_url", epusdt_api_url, ""),
    X("payment.epusdt", "token", epusdt_token, ""),
    I("payment", "breaker_failures", breaker_failures, "5", 1, 1000000),
    I("payment", "breaker_window", breaker_window, "60", 1, 86400),
    I("payment", "breaker_cooldown", breaker_cooldown, "60", 1, 86400),
    BL("payment.sandbox", "enabled", sandbox_enabled, "false"),
    SL("notify", "webhook_url", webhook_url, ""),
    X("notify", "webhook_secret", webhook_secret, ""),
    X("notify", "telegram_bot_token", telegram_bot_token, ""),
    SL("notify", "telegram_chat_id", telegram_chat_id, ""),
    SL("notify", "telegram_api_url", telegram_api_url, "https://api.telegram.org"),
    BL("notify", "mail_on_sale", notify_mail_on_sale, "false"),
    IL("notify", "low_stock", notify_low_stock, "0", 0, 1000000),
    S("backup", "dir", backup_dir, ""),
    I("backup", "interval", backup_interval, "0", 0, 31536000),
    I("backup", "keep", backup_keep, "7", 1, 10000),
};

#define NKEYS (sizeof keys / sizeof keys[0])
_Static_assert(NKEYS <= CONFIG_MAX_KEYS, "raise CONFIG_MAX_KEYS");

static const struct key *key_find(const char *section, const char *name)
{
	for (size_t i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
			return &keys[i];
	}
	return NULL;
}

static int parse_bool(const char *v, int *out)
{
	static const char *yes[] = {"true", "yes", "on", "1"};
	static const char *no[] = {"false", "no", "off", "0"};
	for (int i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static int key_set(struct config *cfg, const struct key *k, const char *value, char *err,
                   size_t errlen)
{
	char *base = (char *)cfg;
	if (k->kind == K_STR) {
		char **slot = (char **)(base + k->offset);
		free(*slot);
		*slot = xstrdup(value);
		return 0;
	}
	if (k->kind == K_BOOL) {
		if (parse_bool(value, (int *)(base + k->offset)) == 0)
			return 0;
		snprintf(err, errlen, "[%s] %s: '%s' is not a boolean (true/false)", k->section,
		         k->name, value);
		return -1;
	}
	if (util_parse_i64(value, k->min, k->max, (int64_t *)(base + k->offset)) == 0)
		return 0;
	snprintf(err, errlen, "[%s] %s: '%s' is not an integer in %lld..%lld", k->section, k->name,
	         value, (long long)k->min, (long long)k->max);
	return -1;
}

int config_set(struct config *cfg, const char *section, const char *key, const char *value,
               char *err, size_t errlen)
{
	const struct key *k = key_find(section, key);
	if (!k) {
		snprintf(err, errlen, "[%s] %s: unknown key", section, key);
		return -1;
	}
	return key_set(cfg, k, value, err, errlen);
}

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	char err[256];
	for (size_t i = 0; i < NKEYS; i++) {
		if (key_set(cfg, &keys[i], keys[i].def, err, sizeof err) != 0)
			abort(); /* a bad built-in default is a programming error */
	}
}

struct ini_ctx {
	struct config *cfg;
	FILE *file;
	int line;     /* lines read so far: the line the handler is called for */
	int err_line; /* where our own (semantic) error is */
	char err[512];
	int failed;
};

/* libinih's reader: counts lines so our own errors name the right one. */
static char *read_line(char *str, int num, void *stream)
{
	struct ini_ctx *ctx = stream;
	char *r = fgets(str, num, ctx->file);
	if (!r || ctx->failed)
		return NULL;
	if (strchr(r, '\n')) {
		ctx->line++;
	} else if (!feof(ctx->file)) {
		/* libinih would take the rest of the line for a new one (and maybe a comment):
		 * a silently cut value is worse than a refusal. */
		ctx->failed = 1;
		ctx->err_line = ctx->line + 1;
		snprintf(ctx->err, sizeof ctx->err, "line too long (max %d bytes)", num - 2);
		return NULL;
	}
	return r;
}

static int on_ini_pair(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *ctx = user;
	if (ctx->failed)
		return 0;
	if (!name) /* a section header alone: known sections are checked through their keys */
		return 1;
	const struct key *k = key_find(section, name);
	if (k)
		ctx->cfg->origin[k - keys] = CONFIG_FILE;
	if (config_set(ctx->cfg, section, name, value, ctx->err, sizeof ctx->err) != 0) {
		ctx->failed = 1;
		ctx->err_line = ctx->line + 1 - (ctx->line > 0 && !feof(ctx->file) ? 1 : 0);
		return 0;
	}
	return 1;
}

static int check_smtp(const struct config *cfg, char *err, size_t errlen)
{
	const char *tls = cfg->smtp_tls;
	if (strcmp(tls, "starttls") != 0 && strcmp(tls, "tls") != 0 && strcmp(tls, "none") != 0) {
		snprintf(err, errlen, "[smtp] tls: '%s' is not starttls, tls or none", tls);
		return -1;
	}
	/* The mail holds card keys: plain text only to this machine. */
	if (strcmp(tls, "none") == 0 && !util_url_host_is_loopback(cfg->smtp_url)) {
		snprintf(err, errlen,
		         "[smtp] tls: none is only allowed for a server on this machine");
		return -1;
	}
	char *name = NULL, *addr = NULL;
	if (cfg->smtp_from[0] && util_mail_from_parse(cfg->smtp_from, &name, &addr) != 0) {
		snprintf(err, errlen,
		         "[smtp] from: '%s' is not an address (shop@example.com or "
		         "Name <shop@example.com>)",
		         cfg->smtp_from);
		return -1;
	}
	free(name);
	free(addr);
	return 0;
}

static int is_http_url(const char *u)
{
	return strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0;
}

static int check_notify(struct config *cfg, char *err, size_t errlen)
{
	if (cfg->webhook_url[0] && !is_http_url(cfg->webhook_url)) {
		snprintf(err, errlen, "[notify] webhook_url: must start with http:// or https://");
		return -1;
	}
	/* An unsigned event cannot be told from a forged one: no URL without its secret. */
	if (cfg->webhook_url[0] && !cfg->webhook_secret[0]) {
		snprintf(err, errlen, "[notify] webhook_secret: required with webhook_url");
		return -1;
	}
	if (!is_http_url(cfg->telegram_api_url)) {
		snprintf(err, errlen,
		         "[notify] telegram_api_url: must start with http:// or https://");
		return -1;
	}
	size_t n = strlen(cfg->telegram_api_url);
	while (n > 0 && cfg->telegram_api_url[n - 1] == '/')
		cfg->telegram_api_url[--n] = '\0';
	if (!cfg->telegram_bot_token[0] != !cfg->telegram_chat_id[0])
		log_warn("[notify] telegram needs both telegram_bot_token and telegram_chat_id: "
		         "no message is sent",
		         NULL);
	return 0;
}

/* glibc reads an unknown TZ as UTC without a word: a typo would shift every dashboard day, so
 * the name must be a file of the system's zone database. */
static int check_timezone(const struct config *cfg, char *err, size_t errlen)
{
	const char *tz = cfg->timezone, *dir = getenv("TZDIR");
	char path[512];
	struct stat st;
	int ok = tz[0] && tz[0] != '/' && strstr(tz, "..") == NULL &&
	         strspn(tz, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-") ==
	             strlen(tz);
	if (ok && strcmp(tz, "UTC") != 0) {
		const char *base = dir && dir[0] ? dir : "/usr/share/zoneinfo";
		snprintf(path, sizeof path, "%s/%s", base, tz);
		ok = stat(path, &st) == 0 && S_ISREG(st.st_mode);
	}
	if (!ok)
		snprintf(err, errlen,
		         "[shop] timezone: '%s' is not an IANA time zone of this system (e.g. "
		         "Asia/Shanghai, UTC)",
		         tz);
	return ok ? 0 : -1;
}

static int check_semantics(struct config *cfg, char *err, size_t errlen)
{
	if (log_level_parse(cfg->log_level) < 0) {
		snprintf(err, errlen, "[server] log_level: '%s' is not debug, info, warn or error",
		         cfg->log_level);
		return -1;
	}
	const char *cur = cfg->currency;
	if (strlen(cur) != 3 || !isupper((unsigned char)cur[0]) ||
	    !isupper((unsigned char)cur[1]) || !isupper((unsigned char)cur[2])) {
		snprintf(err, errlen,
		         "[shop] currency: '%s' is not a 3-letter ISO 4217 code (e.g. CNY)",
		         cfg->currency);
		return -1;
	}
	/* Every URL is built as base_url + "/path": a trailing slash would make them "//path". */
	size_t blen = strlen(cfg->base_url);
	while (blen > 0 && cfg->base_url[blen - 1] == '/')
		cfg->base_url[--blen] = '\0';
	/* Here, not in the page that sets it: the settings can set it too. */
	if (cfg->shop_contact_url[0] && !util_contact_url_ok(cfg->shop_contact_url)) {
		snprintf(err, errlen,
		         "[shop] contact_url: must be an http(s)://, mailto: or tg:// link");
		return -1;
	}
	/* The merchant's mails are written in a language we have texts for (merchant_mail.c). */
	if (strcmp(cfg->merchant_lang, "en") != 0 && strcmp(cfg->merchant_lang, "zh-CN") != 0) {
		snprintf(err, errlen, "[shop] merchant_lang: '%s' is not en or zh-CN",
		         cfg->merchant_lang);
		return -1;
	}
	if (check_smtp(cfg, err, errlen) != 0 || check_notify(cfg, err, errlen) != 0 ||
	    check_timezone(cfg, err, errlen) != 0)
		return -1;
	if (strcmp(cfg->challenge, "auto") != 0 && strcmp(cfg->challenge, "off") != 0) {
		snprintf(err, errlen, "[security] challenge: '%s' is not auto or off",
		         cfg->challenge);
		return -1;
	}
	if (cfg->session_idle_ttl > cfg->session_max_ttl) {
		snprintf(err, errlen, "[security] session_idle_ttl: longer than session_max_ttl");
		return -1;
	}
	/* A gateway switched on without what it needs takes no orders: say so at start. */
	if (cfg->alipay_enabled && (!cfg->alipay_app_id[0] || !cfg->alipay_private_key_file[0] ||
	                            !cfg->alipay_public_key_file[0]))
		log_warn("Alipay is enabled without app_id or key files: it takes no orders", NULL);
	if (cfg->wechat_enabled &&
	    (!cfg->wechat_mchid[0] || !cfg->wechat_appid[0] || !cfg->wechat_serial_no[0] ||
	     !cfg->wechat_private_key_file[0] || strlen(cfg->wechat_apiv3_key) != 32 ||
	     !cfg->wechat_platform_public_key_file[0] || !cfg->wechat_platform_serial[0]))
		log_warn(
		    "WeChat Pay is enabled without mchid, appid, serial_no, key files, a 32-byte "
		    "apiv3_key or platform_serial: it takes no orders",
		    NULL);
	if (cfg->stripe_enabled && (!cfg->stripe_secret_key[0] || !cfg->stripe_webhook_secret[0] ||
	                            (strncmp(cfg->stripe_api_url, "https://", 8) != 0 &&
	                             !util_url_host_is_loopback(cfg->stripe_api_url))))
		log_warn(
		    "Stripe is enabled without secret_key or webhook_secret, or with an api_url "
		    "that is not https: it takes no orders",
		    NULL);
	if (cfg->epusdt_enabled && (!cfg->epusdt_token[0] || !cfg->epusdt_api_url[0]))
		log_warn("epusdt is enabled without token or api_url: it takes no orders", NULL);
	if (cfg->epay_enabled && (!cfg->epay_key[0] || !cfg->epay_pid[0] || !cfg->epay_api_url[0]))
		log_warn(
		    "EPay is enabled without key, pid or api_url: it takes no orders and every "
		    "notify fails",
		    NULL);
	return 0;
}

int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
	struct ini_ctx ctx = {.cfg = cfg};
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || !(ctx.file = fopen(path, "r"))) {
		snprintf(err, errlen, "%s: cannot open (not a readable file)", path);
		return -1;
	}
	int rc = ini_parse_stream(read_line, &ctx, on_ini_pair, &ctx);
	fclose(ctx.file);
	if (rc == 0 && ctx.failed) /* the reader stopped the parse */
		rc = ctx.err_line;
	if (rc == -2) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if (rc > 0) {
		/* The first problem wins, whether a syntax error or one of ours. */
		if (ctx.failed && ctx.err_line <= rc)
			snprintf(err, errlen, "%s:%d: %s", path, ctx.err_line, ctx.err);
		else
			snprintf(err, errlen, "%s:%d: syntax error", path, rc);
		return -1;
	}
	char inner[400];
	if (config_apply_env(cfg, inner, sizeof inner) != 0) { /* also checks the whole */
		snprintf(err, errlen, "%s: %s", path, inner);
		return -1;
	}
	return 0;
}

/* CARDSHOP_PAYMENT_EPAY_API_URL for [payment.epay] api_url. */
static void env_name(const struct key *k, char *out, size_t n)
{
	snprintf(out, n, "CARDSHOP_%s_%s", k->section, k->name);
	for (char *p = out; *p; p++)
		*p = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
}

int config_apply_env(struct config *cfg, char *err, size_t errlen)
{
	for (size_t i = 0; i < NKEYS; i++) {
		char name[128];
		env_name(&keys[i], name, sizeof name);
		const char *v = getenv(name);
		if (!v)
			continue;
		char inner[300];
		if (key_set(cfg, &keys[i], v, inner, sizeof inner) != 0) {
			snprintf(err, errlen, "environment %s: %s", name, inner);
			return -1;
		}
		cfg->origin[i] = CONFIG_ENV;
	}
	return check_semantics(cfg, err, errlen);
}

void config_cleanup(struct config *cfg)
{
	char *base = (char *)cfg;
	for (size_t i = 0; i < NKEYS; i++) {
		if (keys[i].kind == K_STR) {
			char **slot = (char **)(base + keys[i].offset);
			free(*slot);
			*slot = NULL;
		}
	}
}

int config_check(struct config *cfg, char *err, size_t errlen)
{
	return check_semantics(cfg, err, errlen);
}

void config_copy(struct config *dst, const struct config *src)
{
	memcpy(dst, src, sizeof *dst);
	for (size_t i = 0; i < NKEYS; i++) {
		if (keys[i].kind == K_STR) {
			char **slot = (char **)((char *)dst + keys[i].offset);
			*slot = xstrdup(*slot);
		}
	}
}

size_t config_key_count(void)
{
	return NKEYS;
}

struct config_key_info config_key_at(size_t i)
{
	static const enum config_kind kinds[] = {
	    [K_STR] = CONFIG_STR, [K_INT] = CONFIG_INT, [K_BOOL] = CONFIG_BOOL};
	struct config_key_info k = {keys[i].section, keys[i].name, kinds[keys[i].kind],
	                            keys[i].flags};
	return k;
}

int config_key_find(const char *dotted)
{
	const char *dot = strrchr(dotted, '.');
	if (!dot || dot == dotted || (size_t)(dot - dotted) >= 64)
		return -1;
	char section[64];
	memcpy(section, dotted, (size_t)(dot - dotted));
	section[dot - dotted] = '\0';
	const struct key *k = key_find(section, dot + 1);
	return k ? (int)(k - keys) : -1;
}

const char *config_str_at(const struct config *cfg, size_t i)
{
	if (keys[i].kind != K_STR)
		return NULL;
	return *(char *const *)((const char *)cfg + keys[i].offset);
}

int64_t config_int_at(const struct config *cfg, size_t i)
{
	const char *slot = (const char *)cfg + keys[i].offset;
	if (keys[i].kind == K_BOOL)
		return *(const int *)slot;
	return keys[i].kind == K_INT ? *(const int64_t *)slot : 0;
}

int config_set_at(struct config *cfg, size_t i, const char *value, char *err, size_t errlen)
{
	return key_set(cfg, &keys[i], value, err, errlen);
}

/* Every configuration ever published, newest first: readers may still hold any of them. */
struct published {
	struct config *cfg;
	struct published *next;
};
static _Atomic(struct config *) current;
static struct published *published;
static pthread_mutex_t publish_lock = PTHREAD_MUTEX_INITIALIZER;

const struct config *config_current(void)
{
	return atomic_load_explicit(&current, memory_order_acquire);
}

void config_publish(struct config *cfg)
{
	struct published *p = xmalloc(sizeof *p);
	pthread_mutex_lock(&publish_lock);
	p->cfg = cfg;
	p->next = published;
	published = p;
	atomic_store_explicit(&current, cfg, memory_order_release);
	pthread_mutex_unlock(&publish_lock);
}

void config_published_free(void)
{
	pthread_mutex_lock(&publish_lock);
	atomic_store(&current, NULL);
	while (published) {
		struct published *p = published;
		published = p->next;
		config_cleanup(p->cfg);
		free(p->cfg);
		free(p);
	}
	pthread_mutex_unlock(&publish_lock);
}
