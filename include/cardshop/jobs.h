/* Durable background work: a thread over the jobs table (mail, order expiry, backups). A job
 * is enqueued inside the caller's transaction, so it exists exactly when the change does. */
#ifndef CARDSHOP_JOBS_H
#define CARDSHOP_JOBS_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "cardshop/config.h"

/* A job handler: 0 = done, -1 = failed (retried with backoff until max attempts),
 * JOB_GIVE_UP = failed for good (retrying cannot help, e.g. mail switched off). */
#define JOB_GIVE_UP (-2)
typedef int (*job_fn)(const struct config *cfg, json_t *payload, char *err, size_t errlen);

struct job_kind {
	const char *kind;
	job_fn fn;
	int max_attempts;
};

int jobs_start(const struct config *cfg);
void jobs_stop(void);
/* Lets the jobs thread look for work now instead of at its next tick. */
void jobs_wake(void);
/* Inside a db_write transaction: queue a job due at run_at. Steals payload. 0 or -1. */
int jobs_enqueue(const char *kind, json_t *payload, int64_t run_at);
/* Runs every due job once on the calling thread (tests, and the thread's loop). Returns the
 * number of jobs run. */
int jobs_run_due(const struct config *cfg);

/* Jobs for the admin (newest first, 100 a page), filtered by kind and status ("" = any). */
json_t *jobs_admin_json(const char *kind, const char *status, int64_t page);

/* Sandbox gateway: queues a signed notify for order_no that the jobs thread POSTs to our own
 * notify URL, as a real gateway would. */
int sandbox_request_notify(const char *order_no, int64_t amount);

#endif
