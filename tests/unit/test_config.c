/* Unit tests of configuration loading: built-in defaults, INI files written to a temporary
 * folder (good, unknown keys and sections, bad values, cross-key checks) and CARDSHOP_*
 * environment overrides. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cardshop/config.h"

extern char **environ;

static char tmpdir[256];
static char inipath[300];
static struct config cfg;
static char err[512];

/* Every variable a test may set; cleared after each test so CK_FORK=no runs stay independent. */
static const char *const test_env[] = {
    "CARDSHOP_SERVER_PORT",
    "CARDSHOP_PAYMENT_EPAY_KEY",
    "CARDSHOP_PAYMENT_SANDBOX_ENABLED",
    "CARDSHOP_SHOP_CURRENCY",
    "CARDSHOP_SERVER_LOG_LEVEL",
    "CARDSHOP_SECURITY_SESSION_IDLE_TTL",
    "CARDSHOP_SERVER_TRUSTED_PROXIES",
};

static void clear_test_env(void)
{
	for (size_t i = 0; i < sizeof test_env / sizeof test_env[0]; i++)
		unsetenv(test_env[i]);
}

/* The tests must not depend on the environment they run in. */
static void clear_all_cardshop_env(void)
{
	for (;;) {
		char name[256] = "";
		for (char **e = environ; e && *e; e++) {
			if (strncmp(*e, "CARDSHOP_", 9) == 0) {
				const char *eq = strchr(*e, '=');
				size_t n = eq ? (size_t)(eq - *e) : strlen(*e);
				if (n < sizeof name) {
					memcpy(name, *e, n);
					name[n] = '\0';
				}
				break;
			}
		}
		if (!name[0])
			return;
		unsetenv(name);
	}
}

static void setup(void)
{
	snprintf(tmpdir, sizeof tmpdir, "%s/cardshop-test-config-XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(inipath, sizeof inipath, "%s/cardshop.ini", tmpdir);
	clear_test_env();
	config_defaults(&cfg);
	err[0] = '\0';
}

static void teardown(void)
{
	config_cleanup(&cfg);
	clear_test_env();
	unlink(inipath);
	rmdir(tmpdir);
}

static void write_ini(const char *text)
{
	FILE *f = fopen(inipath, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static int load(const char *text)
{
	write_ini(text);
	err[0] = '\0';
	return config_load_file(&cfg, inipath, err, sizeof err);
}

static void assert_err_has(const char *part)
{
	ck_assert_msg(strstr(err, part) != NULL, "error '%s' does not mention '%s'", err, part);
}

/* "<path>:<line>:" at the start of the message. */
static void assert_err_at_line(int line)
{
	char prefix[400];
	snprintf(prefix, sizeof prefix, "%s:%d:", inipath, line);
	ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0, "error '%s' does not start '%s'",
	              err, prefix);
}

/* ---- defaults ---- */

START_TEST(test_defaults)
{
	ck_assert_str_eq(cfg.listen, "127.0.0.1");
	ck_assert_int_eq(cfg.port, 8080);
	ck_assert_int_eq(cfg.threads, 0);
	ck_assert_str_eq(cfg.trusted_proxies, "127.0.0.1");
	ck_assert_str_eq(cfg.base_url, "http://127.0.0.1:8080");
	ck_assert_str_eq(cfg.log_level, "info");
	ck_assert_int_eq(cfg.max_body, 1048576);
	ck_assert_int_eq(cfg.max_upload, 67108864);
	ck_assert_str_eq(cfg.metrics_allow, "127.0.0.1,::1");
	ck_assert_str_eq(cfg.db_path, "data/cardshop.db");
	ck_assert_int_eq(cfg.busy_timeout_ms, 5000);
	ck_assert_int_eq(cfg.session_idle_ttl, 1800);
	ck_assert_int_eq(cfg.session_max_ttl, 43200);
	ck_assert_int_le(cfg.session_idle_ttl, cfg.session_max_ttl);
	ck_assert_str_eq(cfg.currency, "CNY");
	ck_assert_int_eq(cfg.order_ttl, 900);
	ck_assert_str_eq(cfg.alert_email, "");
	ck_assert_int_eq(cfg.epay_enabled, 0);
	ck_assert_int_eq(cfg.alipay_enabled, 0);
	ck_assert_int_eq(cfg.stripe_enabled, 0);
	ck_assert_int_eq(cfg.sandbox_enabled, 0);
	ck_assert_str_eq(cfg.epay_key, ""); /* never NULL: callers test key[0] */
	ck_assert_str_eq(cfg.smtp_password, "");
	ck_assert_str_eq(cfg.smtp_tls, "starttls");
	ck_assert_int_eq(cfg.smtp_tls_verify, 1);
	ck_assert_str_eq(cfg.smtp_ca_file, "");
	ck_assert_int_eq(cfg.backup_interval, 0);
	ck_assert_int_eq(cfg.backup_keep, 7);
	ck_assert_int_eq(cfg.demo, 0);
	/* The defaults pass the cross-key checks. */
	ck_assert_int_eq(config_apply_env(&cfg, err, sizeof err), 0);
}
END_TEST

/* ---- files ---- */

START_TEST(test_load_valid)
{
	ck_assert_msg(load("; a comment\n"
	                   "# another\n"
	                   "[server]\n"
	                   "listen = 0.0.0.0\n"
	                   "port=9090\n"
	                   "log_level = debug   ; inline comment\n"
	                   "\n"
	                   "[shop]\n"
	                   "name = My  Card Shop\n"
	                   "currency = USD\n"
	                   "order_ttl = 604800\n"
	                   "[payment.epay]\n"
	                   "enabled = Yes\n"
	                   "key = s3cr3t=with=equals\n"
	                   "[payment.sandbox]\n"
	                   "enabled = ON\n") == 0,
	              "load: %s", err);
	ck_assert_str_eq(cfg.listen, "0.0.0.0");
	ck_assert_int_eq(cfg.port, 9090);
	ck_assert_str_eq(cfg.log_level, "debug");
	ck_assert_str_eq(cfg.shop_name, "My  Card Shop");
	ck_assert_str_eq(cfg.currency, "USD");
	ck_assert_int_eq(cfg.order_ttl, 604800);
	ck_assert_int_eq(cfg.epay_enabled, 1);
	ck_assert_str_eq(cfg.epay_key, "s3cr3t=with=equals");
	ck_assert_int_eq(cfg.sandbox_enabled, 1);
	/* Untouched keys keep their defaults. */
	ck_assert_int_eq(cfg.threads, 0);
	ck_assert_str_eq(cfg.db_path, "data/cardshop.db");
	ck_assert_int_eq(cfg.stripe_enabled, 0);
}
END_TEST

START_TEST(test_load_empty_and_missing)
{
	ck_assert_int_eq(load(""), 0);
	ck_assert_int_eq(cfg.port, 8080);
	/* A section header alone is accepted: sections are checked through their keys. */
	ck_assert_int_eq(load("[server]\n[nosuch]\n"), 0);

	char missing[400];
	snprintf(missing, sizeof missing, "%s/nope.ini", tmpdir);
	ck_assert_int_eq(config_load_file(&cfg, missing, err, sizeof err), -1);
	assert_err_has(missing);
}
END_TEST

START_TEST(test_unknown_key)
{
	ck_assert_int_eq(load("[server]\nport = 8081\ncolour = blue\nlisten = ::1\n"), -1);
	assert_err_at_line(3);
	assert_err_has("colour");
	assert_err_has("server");
	/* The first error wins: nothing after it is reported instead. */
	ck_assert_int_eq(load("[server]\nbogus1 = 1\nbogus2 = 2\n"), -1);
	assert_err_at_line(2);
	assert_err_has("bogus1");
	ck_assert_ptr_null(strstr(err, "bogus2"));
	/* A key before any section. */
	ck_assert_int_eq(load("port = 1\n"), -1);
	assert_err_at_line(1);
	assert_err_has("port");
}
END_TEST

START_TEST(test_unknown_section)
{
	ck_assert_int_eq(load("[server]\nport = 8081\n[sever]\nport = 8082\n"), -1);
	assert_err_at_line(4);
	assert_err_has("sever");
	/* A known key name in the wrong section is still unknown. */
	ck_assert_int_eq(load("[shop]\nport = 8082\n"), -1);
	assert_err_has("port");
	/* Sections are case-sensitive, like keys. */
	ck_assert_int_eq(load("[Server]\nport = 8082\n"), -1);
}
END_TEST

START_TEST(test_bad_port)
{
	static const char *bad[] = {"0",   "99999", "65536", "abc", "-1",
	                            "80x", "0x50",  "1e3",   "8 0"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[128];
		snprintf(text, sizeof text, "[server]\nport = %s\n", bad[i]);
		ck_assert_msg(load(text) == -1, "port '%s' accepted", bad[i]);
		assert_err_at_line(2);
		assert_err_has("port");
		assert_err_has("1..65535");
	}
	ck_assert_int_eq(load("[server]\nport =\n"), -1);
	ck_assert_int_eq(load("[server]\nport = 65535\n"), 0);
	ck_assert_int_eq(cfg.port, 65535);
	ck_assert_int_eq(load("[server]\nport = 1\n"), 0);
	ck_assert_int_eq(cfg.port, 1);
}
END_TEST

START_TEST(test_bad_boolean)
{
	ck_assert_int_eq(load("[payment.sandbox]\nenabled = maybe\n"), -1);
	assert_err_at_line(2);
	assert_err_has("enabled");
	assert_err_has("maybe");
	ck_assert_int_eq(load("[payment.epay]\nenabled = 2\n"), -1);
	ck_assert_int_eq(load("[payment.epay]\nenabled = truee\n"), -1);
	ck_assert_int_eq(load("[payment.epay]\nenabled =\n"), -1);
	static const char *yes[] = {"true", "TRUE", "yes", "on", "1"};
	static const char *no[] = {"false", "False", "no", "OFF", "0"};
	for (size_t i = 0; i < 5; i++) {
		char text[128];
		snprintf(text, sizeof text, "[payment.epay]\nenabled = %s\n", yes[i]);
		ck_assert_int_eq(load(text), 0);
		ck_assert_int_eq(cfg.epay_enabled, 1);
		snprintf(text, sizeof text, "[payment.epay]\nenabled = %s\n", no[i]);
		ck_assert_int_eq(load(text), 0);
		ck_assert_int_eq(cfg.epay_enabled, 0);
	}
}
END_TEST

START_TEST(test_bad_integers)
{
	ck_assert_int_eq(load("[shop]\norder_ttl = -5\n"), -1);
	assert_err_has("order_ttl");
	ck_assert_int_eq(load("[shop]\norder_ttl = 0\n"), -1);
	ck_assert_int_eq(load("[shop]\norder_ttl = 604801\n"), -1);
	ck_assert_int_eq(load("[server]\nmax_body = 1023\n"), -1);
	assert_err_has("max_body");
	ck_assert_int_eq(load("[server]\nthreads = 9223372036854775808\n"), -1);
	ck_assert_int_eq(load("[database]\nbusy_timeout_ms = 1.5\n"), -1);
	assert_err_has("busy_timeout_ms");
}
END_TEST

START_TEST(test_semantic_checks)
{
	ck_assert_int_eq(load("[server]\nlog_level = bogus\n"), -1);
	assert_err_has("log_level");
	assert_err_has("bogus");
	ck_assert_int_eq(load("[server]\nlog_level =\n"), -1);
	static const char *levels[] = {"debug", "info", "warn", "error"};
	for (size_t i = 0; i < 4; i++) {
		char text[64];
		snprintf(text, sizeof text, "[server]\nlog_level = %s\n", levels[i]);
		ck_assert_int_eq(load(text), 0);
	}

	ck_assert_int_eq(load("[shop]\ncurrency = US\n"), -1);
	assert_err_has("currency");
	ck_assert_int_eq(load("[shop]\ncurrency = USDT\n"), -1);
	ck_assert_int_eq(load("[shop]\ncurrency =\n"), -1);
	ck_assert_int_eq(load("[shop]\ncurrency = EUR\n"), 0);

	ck_assert_int_eq(load("[security]\nsession_idle_ttl = 7200\nsession_max_ttl = 3600\n"), -1);
	assert_err_has("session_idle_ttl");
	ck_assert_msg(strncmp(err, inipath, strlen(inipath)) == 0, "no file in '%s'", err);
	ck_assert_int_eq(load("[security]\nsession_idle_ttl = 3600\nsession_max_ttl = 3600\n"), 0);
	/* The check is on the final values, whatever order the keys come in. */
	ck_assert_int_eq(load("[security]\nsession_max_ttl = 100000\nsession_idle_ttl = 90000\n"),
	                 0);

	/* URLs are base_url + "/path": trailing slashes go at load. */
	ck_assert_int_eq(load("[server]\nbase_url = https://shop.example.com//\n"), 0);
	ck_assert_str_eq(cfg.base_url, "https://shop.example.com");
	ck_assert_int_eq(load("[smtp]\ntls = sometimes\n"), -1);
	assert_err_has("[smtp] tls");
	ck_assert_int_eq(load("[smtp]\nurl = smtp://mail.example.com\ntls = none\n"), -1);
	assert_err_has("this machine");
	ck_assert_int_eq(load("[smtp]\nurl = smtp://127.0.0.1:25\ntls = none\n"), 0);
	ck_assert_int_eq(load("[smtp]\nfrom = Shop shop@example.com\n"), -1);
	assert_err_has("[smtp] from");
	ck_assert_int_eq(load("[smtp]\nfrom = Shop <shop@example.com>\n"), 0);
}
END_TEST

/* config.c check_semantics only checks strlen(currency) == 3, so digits, punctuation and a
 * 3-byte UTF-8 sign ("€") pass as "a 3-letter code". */
START_TEST(test_currency_letters)
{
	ck_assert_int_eq(load("[shop]\ncurrency = 123\n"), -1);
	ck_assert_int_eq(load("[shop]\ncurrency = U$D\n"), -1);
	ck_assert_int_eq(load("[shop]\ncurrency = \xe2\x82\xac\n"), -1); /* € */
	ck_assert_int_eq(load("[shop]\ncurrency = A B\n"), -1);
}
END_TEST

START_TEST(test_syntax_error_line)
{
	ck_assert_int_eq(load("[server]\nport = 8081\n[broken\n"), -1);
	assert_err_at_line(3);
	ck_assert_int_eq(load("[server]\njust words\n"), -1);
	assert_err_at_line(2);
}
END_TEST

/* libinih reads at most INI_MAX_LINE (200) bytes per line and parses the rest of a longer line
 * as the next line. config.c:203 calls ini_parse as is, so a long value is either refused with
 * a wrong line number or, when the rest happens to start with '#' or ';' or is blank,
 * silently truncated. A long line must load in full (or be refused as too long). */
START_TEST(test_long_value_not_truncated)
{
	char key[400];
	memset(key, 'k', 193);
	strcpy(key + 193, "#secret-part");
	char text[1024];
	snprintf(text, sizeof text, "[payment.epay]\nkey = %s\n", key);
	int rc = load(text);
	ck_assert_msg(rc == -1 || strcmp(cfg.epay_key, key) == 0,
	              "loaded a truncated key of %zu bytes (want %zu)", strlen(cfg.epay_key),
	              strlen(key));

	/* A realistic long proxy list: libinih (Debian's build) cannot hold it on one line, so it
	 * is refused with the line named; the environment takes values of any length. */
	char list[600] = "";
	for (int i = 0; i < 30; i++) {
		char one[24];
		snprintf(one, sizeof one, "%s172.%d.0.0/16", i ? ", " : "", i);
		strcat(list, one);
	}
	snprintf(text, sizeof text, "[server]\ntrusted_proxies = %s\n", list);
	rc = load(text);
	ck_assert_int_eq(rc, -1);
	ck_assert_msg(strstr(err, ":2: line too long") != NULL, "%s", err);
}
END_TEST

/* ---- environment ---- */

START_TEST(test_env_overrides_file)
{
	setenv("CARDSHOP_SERVER_PORT", "9999", 1);
	setenv("CARDSHOP_PAYMENT_EPAY_KEY", "from-env", 1);
	setenv("CARDSHOP_PAYMENT_SANDBOX_ENABLED", "true", 1);
	ck_assert_msg(load("[server]\nport = 9090\n[payment.epay]\nkey = from-file\n") == 0, "%s",
	              err);
	ck_assert_int_eq(cfg.port, 9999);
	ck_assert_str_eq(cfg.epay_key, "from-env");
	ck_assert_int_eq(cfg.sandbox_enabled, 1);
	/* An empty variable is a value, not an absence. */
	setenv("CARDSHOP_PAYMENT_EPAY_KEY", "", 1);
	ck_assert_int_eq(load("[payment.epay]\nkey = from-file\n"), 0);
	ck_assert_str_eq(cfg.epay_key, "");
}
END_TEST

/* Where each key came from decides whether the admin's settings may change it. */
START_TEST(test_origins_and_key_table)
{
	setenv("CARDSHOP_PAYMENT_EPAY_KEY", "from-env", 1);
	ck_assert_msg(load("[shop]\nname = From file\n") == 0, "%s", err);
	int name = config_key_find("shop.name"), key = config_key_find("payment.epay.key");
	int ttl = config_key_find("shop.order_ttl"), port = config_key_find("server.port");
	ck_assert_int_ge(name, 0);
	ck_assert_int_ge(key, 0);
	ck_assert_int_ge(ttl, 0);
	ck_assert_int_ge(port, 0);
	ck_assert_int_eq(cfg.origin[name], CONFIG_FILE);
	ck_assert_int_eq(cfg.origin[key], CONFIG_ENV);
	ck_assert_int_eq(cfg.origin[ttl], CONFIG_DEFAULT);
	ck_assert_int_eq(config_key_find("payment.epay"), -1);
	ck_assert_int_eq(config_key_find("shop.nope"), -1);
	ck_assert_int_eq(config_key_find("noname"), -1);
	struct config_key_info k = config_key_at((size_t)key);
	ck_assert_str_eq(k.section, "payment.epay");
	ck_assert_uint_eq(k.flags, CONFIG_LIVE | CONFIG_SECRET);
	ck_assert_uint_eq(config_key_at((size_t)port).flags & CONFIG_LIVE, 0);
	ck_assert_int_eq(config_key_at((size_t)ttl).kind, CONFIG_INT);
	ck_assert_int_eq(config_int_at(&cfg, (size_t)ttl), 900);
	ck_assert_str_eq(config_str_at(&cfg, (size_t)name), "From file");
}
END_TEST

/* A published configuration is a deep copy: changing the next one leaves it as it was. */
START_TEST(test_copy_and_publish)
{
	struct config *a = malloc(sizeof *a), *b = malloc(sizeof *b);
	config_copy(a, &cfg);
	config_publish(a);
	ck_assert_ptr_eq(config_current(), a);
	config_copy(b, a);
	ck_assert_int_eq(
	    config_set_at(b, (size_t)config_key_find("shop.name"), "Next", err, sizeof err), 0);
	ck_assert_int_ne(
	    config_set_at(b, (size_t)config_key_find("shop.order_ttl"), "0", err, sizeof err), 0);
	config_publish(b);
	ck_assert_ptr_eq(config_current(), b);
	ck_assert_str_eq(a->shop_name, "cardshop");
	ck_assert_str_eq(b->shop_name, "Next");
	ck_assert_int_eq(config_check(b, err, sizeof err), 0);
	config_published_free();
	ck_assert_ptr_null(config_current());
}
END_TEST

START_TEST(test_env_apply_direct)
{
	setenv("CARDSHOP_SERVER_PORT", "1234", 1);
	ck_assert_int_eq(config_apply_env(&cfg, err, sizeof err), 0);
	ck_assert_int_eq(cfg.port, 1234);
	unsetenv("CARDSHOP_SERVER_PORT");
	/* Variables that do not name a key are not config and are ignored. */
	setenv("CARDSHOP_SERVER_COLOUR", "blue", 1);
	ck_assert_int_eq(config_apply_env(&cfg, err, sizeof err), 0);
	unsetenv("CARDSHOP_SERVER_COLOUR");
}
END_TEST

START_TEST(test_env_bad_value)
{
	setenv("CARDSHOP_SERVER_PORT", "abc", 1);
	ck_assert_int_eq(config_apply_env(&cfg, err, sizeof err), -1);
	assert_err_has("CARDSHOP_SERVER_PORT");
	assert_err_has("abc");
	ck_assert_int_eq(cfg.port, 8080); /* unchanged */

	ck_assert_int_eq(load("[server]\nport = 9090\n"), -1);
	assert_err_has(inipath);
	assert_err_has("CARDSHOP_SERVER_PORT");

	setenv("CARDSHOP_SERVER_PORT", "70000", 1);
	ck_assert_int_eq(config_apply_env(&cfg, err, sizeof err), -1);
	assert_err_has("CARDSHOP_SERVER_PORT");
	unsetenv("CARDSHOP_SERVER_PORT");

	setenv("CARDSHOP_PAYMENT_SANDBOX_ENABLED", "perhaps", 1);
	ck_assert_int_eq(config_apply_env(&cfg, err, sizeof err), -1);
	assert_err_has("CARDSHOP_PAYMENT_SANDBOX_ENABLED");
	unsetenv("CARDSHOP_PAYMENT_SANDBOX_ENABLED");

	/* Cross-key checks run on the environment's values too. */
	setenv("CARDSHOP_SHOP_CURRENCY", "EURO", 1);
	ck_assert_int_eq(config_apply_env(&cfg, err, sizeof err), -1);
	assert_err_has("currency");
	unsetenv("CARDSHOP_SHOP_CURRENCY");
	/* A failed apply may leave the values it set (start-up stops anyway): start again. */
	config_cleanup(&cfg);
	config_defaults(&cfg);
	setenv("CARDSHOP_SECURITY_SESSION_IDLE_TTL", "86400", 1);
	ck_assert_int_eq(config_apply_env(&cfg, err, sizeof err), -1);
	assert_err_has("session_idle_ttl");
}
END_TEST

/* ---- config_set and cleanup ---- */

START_TEST(test_config_set)
{
	ck_assert_int_eq(config_set(&cfg, "server", "colour", "blue", err, sizeof err), -1);
	assert_err_has("colour");
	assert_err_has("unknown");
	ck_assert_int_eq(config_set(&cfg, "nosuch", "port", "1", err, sizeof err), -1);
	assert_err_has("nosuch");
	ck_assert_int_eq(config_set(&cfg, "", "", "", err, sizeof err), -1);

	/* A refused value leaves the old one in place. */
	ck_assert_int_eq(config_set(&cfg, "server", "port", "8443", err, sizeof err), 0);
	ck_assert_int_eq(cfg.port, 8443);
	ck_assert_int_eq(config_set(&cfg, "server", "port", "70000", err, sizeof err), -1);
	ck_assert_int_eq(cfg.port, 8443);
	ck_assert_int_eq(config_set(&cfg, "payment.epay", "enabled", "yes", err, sizeof err), 0);
	ck_assert_int_eq(config_set(&cfg, "payment.epay", "enabled", "nah", err, sizeof err), -1);
	ck_assert_int_eq(cfg.epay_enabled, 1);

	/* Strings are copied; replacing one frees the old copy (ASan: no leak). */
	char value[] = "first";
	ck_assert_int_eq(config_set(&cfg, "shop", "name", value, err, sizeof err), 0);
	value[0] = 'X';
	ck_assert_str_eq(cfg.shop_name, "first");
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(config_set(&cfg, "shop", "name", "again", err, sizeof err), 0);
	ck_assert_str_eq(cfg.shop_name, "again");
}
END_TEST

START_TEST(test_small_error_buffer)
{
	char small[16];
	memset(small, 'Z', sizeof small);
	ck_assert_int_eq(
	    config_set(&cfg, "server", "a-very-long-unknown-key-name", "1", small, sizeof small),
	    -1);
	ck_assert_ptr_nonnull(memchr(small, '\0', sizeof small));
	write_ini("[server]\nport = 0\n");
	memset(small, 'Z', sizeof small);
	ck_assert_int_eq(config_load_file(&cfg, inipath, small, sizeof small), -1);
	ck_assert_ptr_nonnull(memchr(small, '\0', sizeof small));
}
END_TEST

START_TEST(test_cleanup)
{
	ck_assert_int_eq(load("[server]\nlisten = ::\n[smtp]\npassword = hunter2\n"), 0);
	config_cleanup(&cfg);
	ck_assert_ptr_null(cfg.listen);
	ck_assert_ptr_null(cfg.smtp_password);
	ck_assert_ptr_null(cfg.epay_key);
	ck_assert_ptr_null(cfg.currency);
	/* A second cleanup (the teardown's) is harmless; so is defaults after cleanup. */
	config_cleanup(&cfg);
	config_defaults(&cfg);
	ck_assert_str_eq(cfg.listen, "127.0.0.1");
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_load_valid);
	tcase_add_test(tc, test_load_empty_and_missing);
	tcase_add_test(tc, test_unknown_key);
	tcase_add_test(tc, test_unknown_section);
	tcase_add_test(tc, test_bad_port);
	tcase_add_test(tc, test_bad_boolean);
	tcase_add_test(tc, test_bad_integers);
	tcase_add_test(tc, test_semantic_checks);
	tcase_add_test(tc, test_currency_letters);
	tcase_add_test(tc, test_syntax_error_line);
	tcase_add_test(tc, test_long_value_not_truncated);
	tcase_add_test(tc, test_env_overrides_file);
	tcase_add_test(tc, test_origins_and_key_table);
	tcase_add_test(tc, test_copy_and_publish);
	tcase_add_test(tc, test_env_apply_direct);
	tcase_add_test(tc, test_env_bad_value);
	tcase_add_test(tc, test_config_set);
	tcase_add_test(tc, test_small_error_buffer);
	tcase_add_test(tc, test_cleanup);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	clear_all_cardshop_env();
	SRunner *sr = srunner_create(config_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
