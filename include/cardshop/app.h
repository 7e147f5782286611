/* Process lifecycle shared by the CLI commands: open the database and secrets, start and stop
 * the server and background jobs, demo set-up. */
#ifndef CARDSHOP_APP_H
#define CARDSHOP_APP_H

#include <stdio.h>

#include "cardshop/config.h"

/* Database (migrated) and instance secret. 0, or -1 after printing a one-line message. */
int app_open(const struct config *cfg);
/* Backups (on demand and scheduled) carry the uploads the database names, and a restore puts
 * them back: cfg borrowed for the life of the process. */
void app_backup_wire(const struct config *cfg);
/* Jobs thread and HTTP server. */
int app_start(const struct config *cfg);
/* Graceful: stop accepting, finish in-flight requests, stop jobs. */
void app_stop(void);
void app_close(void);

/* `admin add USER`: password from in (one line), hashed, stored. Prints the outcome. */
int app_admin_add(const char *username, FILE *in);
/* Turns cfg into the demo's: data/demo.db, sandbox on, the given port. */
void app_demo_config(struct config *cfg, int64_t port);

#endif
