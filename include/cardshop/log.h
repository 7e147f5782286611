/* Structured logging: one JSON object per line on stderr. */
#ifndef CARDSHOP_LOG_H
#define CARDSHOP_LOG_H

#include <jansson.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Returns -1 for an unknown level name. */
int log_level_parse(const char *name);
void log_set_level(enum log_level level);
int log_enabled(enum log_level level);

/* Writes {"ts","level","msg","req_id"?, ...fields}; req_id NULL: this thread's current one. Steals
 * the reference to fields (may be NULL). Never pass secrets, passwords or card keys in fields. */
void log_write(enum log_level level, const char *req_id, const char *msg, json_t *fields);

/* The request (or job) this thread works for: lines written without an explicit req_id carry
 * it. Set by http/ for a request and by the jobs thread for a job; NULL or "" clears it. The
 * value is copied (at most 23 bytes). */
void log_set_req_id(const char *req_id);
/* This thread's current request id, "" when none; valid until the next log_set_req_id. */
const char *log_req_id(void);

#define log_debug(msg, fields) log_write(LOG_DEBUG, NULL, (msg), (fields))
#define log_info(msg, fields) log_write(LOG_INFO, NULL, (msg), (fields))
#define log_warn(msg, fields) log_write(LOG_WARN, NULL, (msg), (fields))
#define log_error(msg, fields) log_write(LOG_ERROR, NULL, (msg), (fields))

#endif
