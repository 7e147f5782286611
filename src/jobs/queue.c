/* The jobs thread: takes due jobs from the shop's outbox, runs them outside any transaction,
 * and hands the outcomes back; failures are retried with exponential backoff. Periodic sweeps
 * (order expiry, scheduled backups) run on the same thread. No SQL here: the outbox owns it. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cardshop/jobs.h"
#include "cardshop/log.h"
#include "cardshop/shop.h"
#include "cardshop/util.h"
#include "cardshop/metrics.h"
#include "internal.h"

static pthread_t thread;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int running, woken;
static const struct config *jobs_cfg;
static void (*job_end_hook)(void);

void jobs_set_end_hook(void (*fn)(void))
{
	job_end_hook = fn;
}

static void end_of_job(void)
{
	if (job_end_hook)
		job_end_hook();
}

static const struct job_handler *handler_find(const char *kind)
{
	enum job_kind k;
	if (job_kind_parse(kind, &k) != 0)
		return NULL;
	for (size_t i = 0; i < jobs_handlers_count; i++) {
		if (jobs_handlers[i].kind == k)
			return &jobs_handlers[i];
	}
	return NULL;
}

#define BATCH_MAX 32

static int64_t backoff(int attempts)
{
	int64_t d = 2;
	for (int i = 1; i < attempts && d < 3600; i++)
		d *= 2;
	return d < 3600 ? d : 3600;
}

static void run_one(const struct config *cfg, struct outbox_job *j)
{
	const struct job_handler *h = handler_find(j->kind);
	json_t *payload = json_loads(j->payload, 0, NULL);
	const char *req_id = json_string_value(json_object_get(payload, "req_id"));
	log_set_req_id(req_id); /* the request that caused the job, so one id follows it */
	j->ok = 0;
	j->err[0] = '\0';
	if (!h)
		snprintf(j->err, sizeof j->err, "unknown job kind");
	else if (!payload)
		snprintf(j->err, sizeof j->err, "payload is not JSON");
	else {
		int rc = h->fn(cfg, payload, j->err, sizeof j->err);
		j->ok = rc == 0;
		if (rc == JOB_GIVE_UP)
			j->attempts = j->max_attempts; /* retrying cannot help: fail it now */
	}
	j->retry_at = util_now() + backoff(j->attempts);
	end_of_job();
	if (!j->ok)
		metrics_inc(M_JOB_ATTEMPTS_FAILED, 1);
	if (!j->ok)
		log_warn("job failed",
		         json_pack("{sI ss si ss}", "job_id", (json_int_t)j->id, "kind", j->kind,
		                   "attempt", j->attempts, "error", j->err));
	json_decref(payload);
	log_set_req_id(NULL);
}

int jobs_run_due(const struct config *cfg)
{
	int n = 0;
	for (;;) {
		struct outbox_job batch[BATCH_MAX];
		int total;
		if (outbox_due(util_now(), batch, BATCH_MAX, &total) != 0 || total == 0)
			break;
		int ran = 0, failed = 0;
		while (ran < total && !failed) {
			run_one(cfg, &batch[ran]);
			/* One failure (say, SMTP down) likely means more: leave the rest queued
			 * instead of waiting out a timeout for each. */
			failed = !batch[ran++].ok;
		}
		/* Between batches, so a long queue of mail never holds expiry back. */
		jobs_expire_due(cfg);
		int recorded = outbox_finish(batch, ran) == 0;
		outbox_jobs_free(batch, total);
		if (!recorded)
			break; /* the batch stays due; the next tick retries */
		n += ran;
		if (failed)
			break; /* the rest stays due; the next tick retries */
	}
	return n;
}

void jobs_prune(const struct config *cfg, int64_t now)
{
	/* Done jobs are kept a month for the admin's mail view, then dropped: the table would
	 * otherwise grow by a row per order forever. Failed ones stay until someone looks. */
	static int64_t last;
	if (now - last < 3600)
		return;
	last = now;
	outbox_prune(now - 30 * 86400);
	shop_retention_prune(now);
	/* Files a crash left between an upload and its commit, or between a commit that dropped
	 * a name and the file's removal; the first tick after the start runs it too. */
	media_sweep(cfg, now);
}

static void *loop(void *arg)
{
	(void)arg;
	/* Jobs that were running when the process died run again: handlers are idempotent. */
	outbox_recover();
	pthread_mutex_lock(&lock);
	while (running) {
		pthread_mutex_unlock(&lock);
		/* The settings may have changed since the last tick: each tick reads the latest. */
		const struct config *cfg = config_current() ? config_current() : jobs_cfg;
		jobs_run_due(cfg);
		jobs_periodic(cfg);
		end_of_job();
		pthread_mutex_lock(&lock);
		if (!running)
			break;
		if (!woken) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&cond, &lock, &ts);
		}
		if (woken && running) {
			/* Let a burst of new jobs gather, so one commit records many. */
			pthread_mutex_unlock(&lock);
			usleep(50000);
			pthread_mutex_lock(&lock);
		}
		woken = 0;
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int jobs_start(const struct config *cfg)
{
	jobs_cfg = cfg;
	running = 1;
	if (pthread_create(&thread, NULL, loop, NULL) != 0) {
		running = 0;
		log_error("cannot start jobs thread", NULL);
		return -1;
	}
	return 0;
}

void jobs_stop(void)
{
	pthread_mutex_lock(&lock);
	int was = running;
	running = 0;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
	if (was)
		pthread_join(thread, NULL);
}

void jobs_wake(void)
{
	pthread_mutex_lock(&lock);
	woken = 1;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
}
