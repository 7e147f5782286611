/* Command line: serve | demo | migrate | admin add | backup | restore | --version | --help. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cardshop/api.h"
#include "cardshop/app.h"
#include "cardshop/config.h"
#include "cardshop/db.h"
#include "cardshop/log.h"
#include "cardshop/metrics.h"
#include "cardshop/util.h"

#ifndef CARDSHOP_VERSION
#define CARDSHOP_VERSION "dev"
#endif

static const char usage_text[] =
    "usage: cardshop [--config FILE] serve            run the shop\n"
    "       cardshop [--config FILE] migrate          apply database migrations and exit\n"
    "       cardshop [--config FILE] admin add USER   add an admin (password on stdin)\n"
    "       cardshop [--config FILE] backup DEST.db   consistent online copy of the database\n"
    "       cardshop [--config FILE] restore SRC.db   replace the database (server stopped)\n"
    "       cardshop demo [--port N]                  demo shop on data/demo.db\n"
    "       cardshop --version | --help\n";

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "cardshop: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s", usage_text);
	return 2;
}

/* An explicit --config must exist; otherwise ./cardshop.ini is used when present. */
static int load_config(struct config *cfg, const char *path)
{
	char err[600];
	config_defaults(cfg);
	if (!path && access("cardshop.ini", F_OK) == 0)
		path = "cardshop.ini";
	int rc = path ? config_load_file(cfg, path, err, sizeof err)
	              : config_apply_env(cfg, err, sizeof err);
	if (rc != 0) {
		fprintf(stderr, "cardshop: config: %s\n", err);
		config_cleanup(cfg);
		return -1;
	}
	log_set_level((enum log_level)log_level_parse(cfg->log_level));
	return 0;
}

static int open_db(const struct config *cfg)
{
	char err[512];
	if (db_init(cfg->db_path, (int)cfg->busy_timeout_ms, err, sizeof err) != 0) {
		fprintf(stderr, "cardshop: %s\n", err);
		return -1;
	}
	return 0;
}

static int cmd_migrate(struct config *cfg)
{
	if (open_db(cfg) != 0)
		return 1;
	int n = db_migrate();
	db_shutdown();
	if (n < 0) {
		fprintf(stderr, "cardshop: migration failed (database unchanged by it)\n");
		return 1;
	}
	printf("%d migration(s) applied\n", n);
	return 0;
}

static int cmd_backup(struct config *cfg, const char *dest)
{
	if (open_db(cfg) != 0)
		return 1;
	char err[512];
	int rc = db_backup(dest, err, sizeof err);
	db_shutdown();
	if (rc != 0) {
		fprintf(stderr, "cardshop: backup: %s\n", err);
		return 1;
	}
	printf("backup written to %s\n", dest);
	return 0;
}

static int cmd_restore(struct config *cfg, const char *src)
{
	char err[600], *kept = NULL;
	if (db_restore(cfg->db_path, src, err, sizeof err, &kept) != 0) {
		fprintf(stderr, "cardshop: restore: %s\n", err);
		return 1;
	}
	printf("restored %s from %s\n", cfg->db_path, src);
	if (kept)
		printf("the previous database is kept as %s\n", kept);
	free(kept);
	return 0;
}

static int cmd_admin(struct config *cfg, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[0], "add") != 0)
		return usage_error("admin: expected 'admin add USER'%s", "");
	if (argc > 2)
		return usage_error("admin add: unexpected argument '%s'", argv[2]);
	if (app_open(cfg) != 0)
		return 1;
	int rc = app_admin_add(argv[1], stdin);
	app_close();
	return rc == 0 ? 0 : 1;
}

/* Blocks the stop signals in every thread; main waits for them with sigwait. */
static void block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int run_server(struct config *cfg)
{
	sigset_t set;
	block_signals(&set);
	if (app_open(cfg) != 0 || app_start(cfg) != 0) {
		app_close();
		return 1;
	}
	int sig = 0;
	while (sigwait(&set, &sig) != 0)
		;
	log_info("stopping", json_pack("{si}", "signal", sig));
	app_stop();
	app_close();
	log_info("stopped", NULL);
	return 0;
}

static int cmd_demo(int argc, char **argv)
{
	struct config cfg;
	int64_t port = 8080;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
			if (util_parse_i64(argv[++i], 1, 65535, &port) != 0)
				return usage_error("demo: bad port '%s'", argv[i]);
		} else {
			return usage_error("demo: unknown argument '%s'", argv[i]);
		}
	}
	if (load_config(&cfg, NULL) != 0)
		return 1;
	app_demo_config(&cfg, port);
	app_backup_wire(&cfg);
	int rc = run_server(&cfg);
	config_cleanup(&cfg);
	return rc;
}

int main(int argc, char **argv)
{
	/* The database, its WAL and backups hold the shop's books and keys: 0600 whatever the
	 * caller's umask. */
	umask(0077);
	const char *config_path = NULL;
	int i = 1;
	metrics_set_version(CARDSHOP_VERSION);
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--version") == 0) {
			printf("cardshop %s\n", CARDSHOP_VERSION);
			return 0;
		}
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage_text, stdout);
			return 0;
		}
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			config_path = argv[++i];
			continue;
		}
		return usage_error("unknown option '%s'", argv[i]);
	}
	if (i >= argc)
		return usage_error("missing command%s", "");
	const char *cmd = argv[i++];
	if (strcmp(cmd, "demo") == 0)
		return cmd_demo(argc - i, argv + i);
	struct config cfg;
	int known = strcmp(cmd, "serve") == 0 || strcmp(cmd, "migrate") == 0 ||
	            strcmp(cmd, "backup") == 0 || strcmp(cmd, "restore") == 0 ||
	            strcmp(cmd, "admin") == 0;
	if (!known)
		return usage_error("unknown command '%s'", cmd);
	if ((strcmp(cmd, "serve") == 0 || strcmp(cmd, "migrate") == 0) && i < argc)
		return usage_error("unexpected argument '%s'", argv[i]);
	if (strcmp(cmd, "backup") == 0 && argc - i != 1)
		return usage_error("backup: expected one destination file%s", "");
	if (strcmp(cmd, "restore") == 0 && argc - i != 1)
		return usage_error("restore: expected one source file%s", "");
	if (load_config(&cfg, config_path) != 0)
		return 1;
	app_backup_wire(&cfg);
	int rc;
	if (strcmp(cmd, "serve") == 0)
		rc = run_server(&cfg);
	else if (strcmp(cmd, "migrate") == 0)
		rc = cmd_migrate(&cfg);
	else if (strcmp(cmd, "backup") == 0)
		rc = cmd_backup(&cfg, argv[i]);
	else if (strcmp(cmd, "restore") == 0)
		rc = cmd_restore(&cfg, argv[i]);
	else
		rc = cmd_admin(&cfg, argc - i, argv + i);
	config_cleanup(&cfg);
	return rc;
}
