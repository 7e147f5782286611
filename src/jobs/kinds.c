/* The table of job kinds and the periodic sweeps. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cardshop/db.h"
#include "cardshop/log.h"
#include "cardshop/shop.h"
#include "cardshop/util.h"
#include "cardshop/metrics.h"
#include "internal.h"

/* Scheduled backup into [backup] dir, keeping the newest `keep` files. */
static int is_backup_name(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return strncmp(d->d_name, "cardshop-", 9) == 0 && n > 12 &&
	       strcmp(d->d_name + n - 3, ".db") == 0;
}

/* Keeps the newest `keep` scheduled backups (their names sort by time: the epoch seconds have
 * the same number of digits until the year 2286). */
static void prune_backups(const struct config *cfg)
{
	struct dirent **names;
	int n = scandir(cfg->backup_dir, &names, is_backup_name, alphasort);
	if (n < 0)
		return;
	for (int i = 0; i < n; i++) {
		if (i < n - cfg->backup_keep) {
			char path[1024];
			snprintf(path, sizeof path, "%s/%s", cfg->backup_dir, names[i]->d_name);
			if (unlink(path) == 0)
				log_info("old backup removed", json_pack("{ss}", "path", path));
		}
		free(names[i]);
	}
	free(names);
}

static void backup_tick(const struct config *cfg)
{
	static int64_t last;
	int64_t now = util_now();
	if (cfg->backup_interval <= 0 || !cfg->backup_dir[0] || now - last < cfg->backup_interval)
		return;
	last = now;
	mkdir(cfg->backup_dir, 0700);
	char path[1024], err[512];
	snprintf(path, sizeof path, "%s/cardshop-%lld.db", cfg->backup_dir, (long long)now);
	if (db_backup(path, err, sizeof err) != 0)
		log_error("scheduled backup failed", json_pack("{ss}", "error", err));
	else {
		metrics_set(G_BACKUP_LAST_SUCCESS, now);
		log_info("scheduled backup written", json_pack("{ss}", "path", path));
	}
	prune_backups(cfg);
}

void jobs_periodic(const struct config *cfg)
{
	jobs_expire_due(cfg);
	catalog_snapshot_refresh();
	jobs_prune(cfg, util_now());
	backup_tick(cfg);
	util_memory_trim(5);
}

/* Does nothing: lets tests and operators check the queue end to end. */
static int job_noop(const struct config *cfg, json_t *payload, char *err, size_t errlen)
{
	(void)cfg;
	(void)payload;
	(void)err;
	(void)errlen;
	return 0;
}

const struct job_handler jobs_handlers[] = {
    {JOB_NOOP, job_noop},
    {JOB_ORDER_MAIL, job_order_mail},
    {JOB_ALERT_MAIL, job_alert_mail},
    {JOB_SANDBOX_NOTIFY, job_sandbox_notify},
    {JOB_WEBHOOK, job_webhook},
    {JOB_TELEGRAM, job_telegram},
    {JOB_LOOKUP_MAIL, job_lookup_mail},
};
const size_t jobs_handlers_count = sizeof jobs_handlers / sizeof jobs_handlers[0];
