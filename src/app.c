/* Process lifecycle: what serve, demo and the admin commands share. */
#include "cardshop/app.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cardshop/api.h"
#include "cardshop/db.h"
#include "cardshop/http.h"
#include "cardshop/jobs.h"
#include "cardshop/log.h"
#include "cardshop/sec.h"
#include "cardshop/shop.h"
#include "cardshop/util.h"

static int opened;

int app_open(const struct config *cfg)
{
	char err[512];
	/* Before any thread exists: libcurl's global state is not thread-safe to set up, and the
	 * allocator's arena policy applies to threads created later. */
	util_memory_tune(sysconf(_SC_NPROCESSORS_ONLN));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (db_init(cfg->db_path, (int)cfg->busy_timeout_ms, err, sizeof err) != 0) {
		fprintf(stderr, "cardshop: %s\n", err);
		return -1;
	}
	opened = 1;
	if (db_migrate() < 0) {
		fprintf(stderr, "cardshop: database migration failed\n");
		return -1;
	}
	if (sec_init(cfg->secret_file, err, sizeof err) != 0) {
		fprintf(stderr, "cardshop: %s\n", err);
		return -1;
	}
	return 0;
}

void app_backup_wire(const struct config *cfg)
{
	db_backup_hooks_set(
	    &(struct db_backup_hooks){media_backup_pack, media_backup_unpack, (const void *)cfg});
}

int app_start(const struct config *cfg)
{
	if (cfg->demo && shop_demo_seed(cfg) != 0) {
		fprintf(stderr, "cardshop: demo seeding failed\n");
		return -1;
	}
	char err[512];
	if (db_hold(cfg->db_path, err, sizeof err) != 0) {
		fprintf(stderr, "cardshop: %s\n", err);
		return -1;
	}
	/* The counters are a summary of the key rows: a difference (a bug, a hand edit) is
	 * logged and the counters rebuilt from the rows before anyone is served. */
	if (shop_stock_check(1) < 0 || catalog_snapshot_rebuild() != 0) {
		fprintf(stderr, "cardshop: cannot read the catalog\n");
		return -1;
	}
	/* Before jobs_start: the first thread after this one must find TZ as it was. */
	if (stats_timezone_load(cfg->timezone) != 0) {
		fprintf(stderr, "cardshop: [shop] timezone: cannot use '%s'\n", cfg->timezone);
		return -1;
	}
	/* From here on every thread reads config_current(): the file's configuration with the
	 * merchant's stored settings over it, replaced whole when they change. */
	if (settings_load(cfg) != 0) {
		fprintf(stderr, "cardshop: cannot read the stored settings\n");
		return -1;
	}
	/* The layers meet here only: the domain wakes the jobs thread after a commit that put
	 * jobs, and the web and jobs layers let go of database snapshots after each unit of work,
	 * without either knowing the other (or the storage). */
	outbox_set_wake_hook(jobs_wake);
	notify_configure(cfg);
	http_set_request_end_hook(db_release);
	jobs_set_end_hook(db_release);
	if (jobs_start(cfg) != 0)
		return -1;
	size_t n;
	const struct http_route *routes = api_routes(&n);
	http_server_set_guard(api_admin_guard);
	if (http_server_start(cfg, routes, n) != 0) {
		fprintf(stderr, "cardshop: cannot listen on %s port %lld\n", cfg->listen,
		        (long long)cfg->port);
		jobs_stop();
		return -1;
	}
	if (cfg->demo)
		shop_demo_announce(cfg);
	return 0;
}

void app_stop(void)
{
	http_server_stop(10000);
	jobs_stop();
	catalog_snapshot_free();
	config_published_free();
}

void app_close(void)
{
	if (opened)
		db_shutdown();
	opened = 0;
}

static int read_password(FILE *in, char *out, size_t n)
{
	if (!fgets(out, (int)n, in))
		return -1;
	size_t len = strlen(out);
	if (len == n - 1 && out[len - 1] != '\n')
		return -1; /* longer than we accept */
	while (len && (out[len - 1] == '\n' || out[len - 1] == '\r'))
		out[--len] = '\0';
	return 0;
}

int app_admin_add(const char *username, FILE *in)
{
	char pw[1024];
	if (read_password(in, pw, sizeof pw) != 0) {
		fprintf(stderr,
		        "cardshop: admin add: no password on standard input (max 1000 bytes)\n");
		return -1;
	}
	char err[200];
	int rc = admin_create(username, pw, err, sizeof err);
	memset(pw, 0, sizeof pw);
	if (rc != 0) {
		fprintf(stderr, "cardshop: admin add: %s\n", err);
		return -1;
	}
	printf("admin '%s' added\n", username);
	return 0;
}

void app_demo_config(struct config *cfg, int64_t port)
{
	char err[200];
	char portbuf[16], url[64];
	snprintf(portbuf, sizeof portbuf, "%lld", (long long)port);
	snprintf(url, sizeof url, "http://127.0.0.1:%lld", (long long)port);
	config_set(cfg, "server", "port", portbuf, err, sizeof err);
	config_set(cfg, "server", "base_url", url, err, sizeof err);
	config_set(cfg, "database", "path", "data/demo.db", err, sizeof err);
	config_set(cfg, "security", "secret_file", "data/demo-secret.key", err, sizeof err);
	config_set(cfg, "payment.sandbox", "enabled", "true", err, sizeof err);
	/* A terminal demo: requests are not logged line by line unless asked for. */
	if (!getenv("CARDSHOP_SERVER_LOG_LEVEL")) {
		config_set(cfg, "server", "log_level", "warn", err, sizeof err);
		log_set_level(LOG_WARN);
	}
	cfg->demo = 1;
}
