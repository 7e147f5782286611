/* Shared between the jobs/ files. */
#ifndef CARDSHOP_JOBS_INTERNAL_H
#define CARDSHOP_JOBS_INTERNAL_H

#include "cardshop/jobs.h"

/* The handler of each job kind (kinds.c). */
extern const struct job_handler jobs_handlers[];
extern const size_t jobs_handlers_count;
/* Sweeps that run on every tick of the jobs thread (order expiry, scheduled backups). */
void jobs_periodic(const struct config *cfg);

/* Expires the orders past their time, asking their gateway first where it can be asked, so
 * a lost callback is found (reconcile.c). */
void jobs_expire_due(const struct config *cfg);

/* Drops done jobs older than a month, old abandoned rows and orphan uploads (at most hourly). */
void jobs_prune(const struct config *cfg, int64_t now);

/* Job handlers. */
int job_order_mail(const struct config *cfg, json_t *payload, char *err, size_t errlen);
int job_alert_mail(const struct config *cfg, json_t *payload, char *err, size_t errlen);
int job_sandbox_notify(const struct config *cfg, json_t *payload, char *err, size_t errlen);
int job_webhook(const struct config *cfg, json_t *payload, char *err, size_t errlen);
int job_telegram(const struct config *cfg, json_t *payload, char *err, size_t errlen);
int job_lookup_mail(const struct config *cfg, json_t *payload, char *err, size_t errlen);

struct mail;
int mail_send(const struct config *cfg, const struct mail *m, char *err, size_t errlen);

#endif
