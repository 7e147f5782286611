/* Structured logging: one JSON object per line on stderr, written with a single fwrite so
 * lines from different threads never interleave. */
#include "cardshop/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static atomic_int current_level = LOG_INFO;
static const char *level_names[] = {"debug", "info", "warn", "error"};

int log_level_parse(const char *name)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(name, level_names[i]) == 0)
			return i;
	}
	return -1;
}

void log_set_level(enum log_level level)
{
	atomic_store(&current_level, (int)level);
}

int log_enabled(enum log_level level)
{
	return (int)level >= atomic_load(&current_level);
}

static _Thread_local char tl_req_id[24];

void log_set_req_id(const char *req_id)
{
	/* Twice per request on the hot path: a bounded copy, not snprintf. */
	size_t n = req_id ? strnlen(req_id, sizeof tl_req_id - 1) : 0;
	memcpy(tl_req_id, req_id ? req_id : "", n);
	tl_req_id[n] = '\0';
}

const char *log_req_id(void)
{
	return tl_req_id;
}

static void format_ts(char *out, size_t n)
{
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	size_t k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + k, n - k, ".%03ldZ", (long)(tv.tv_usec / 1000));
}

void log_write(enum log_level level, const char *req_id, const char *msg, json_t *fields)
{
	if (!log_enabled(level)) {
		json_decref(fields);
		return;
	}
	char ts[40];
	format_ts(ts, sizeof ts);
	json_t *line = json_object();
	json_object_set_new(line, "ts", json_string(ts));
	json_object_set_new(line, "level", json_string(level_names[level]));
	json_object_set_new(line, "msg", json_string(msg));
	if (!req_id && tl_req_id[0])
		req_id = tl_req_id;
	if (req_id)
		json_object_set_new(line, "req_id", json_string(req_id));
	if (fields && json_is_object(fields))
		json_object_update_missing(line, fields);
	json_decref(fields);
	char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(line);
	if (!text)
		return;
	size_t n = strlen(text);
	text[n] = '\n';
	fwrite(text, 1, n + 1, stderr);
	free(text);
}
