/* Background work: the thread that runs the shop's outbox (mail, the sandbox's notify) and the
 * periodic sweeps (order expiry with reconciliation, scheduled backups). Holds no SQL. */
#ifndef CARDSHOP_JOBS_H
#define CARDSHOP_JOBS_H

#include <jansson.h>
#include <stddef.h>

#include "cardshop/config.h"
#include "cardshop/shop.h"

/* A job handler: 0 = done, -1 = failed (retried with backoff until max attempts),
 * JOB_GIVE_UP = failed for good (retrying cannot help, e.g. mail switched off). */
#define JOB_GIVE_UP (-2)
typedef int (*job_fn)(const struct config *cfg, json_t *payload, char *err, size_t errlen);

struct job_handler {
	enum job_kind kind;
	job_fn fn;
};

int jobs_start(const struct config *cfg);
void jobs_stop(void);
/* Lets the jobs thread look for work now instead of at its next tick. */
void jobs_wake(void);
/* Runs fn on the jobs thread after each job and each tick, to let go of what it held (e.g.
 * database read snapshots). Set before jobs_start. */
void jobs_set_end_hook(void (*fn)(void));
/* Runs every due job once on the calling thread (tests, and the thread's loop). Returns the
 * number of jobs run. */
int jobs_run_due(const struct config *cfg);

#endif
