/* Outgoing HTTP(S) calls through libcurl (gateway queries, the sandbox's notify): one place for
 * timeouts, protocol limits, reply size caps and error text that never holds the URL. */
#ifndef CARDSHOP_FETCH_H
#define CARDSHOP_FETCH_H

#include <stddef.h>

#include "cardshop/util.h"

struct fetch_req {
	const char *url;  /* http:// or https:// only; may hold a secret (never logged) */
	const char *body; /* NULL: GET; otherwise POSTed (body_len bytes) */
	size_t body_len;
	const char *content_type;   /* of a POST body; NULL: application/x-www-form-urlencoded */
	const char *const *headers; /* more header lines ("Name: value"), NULL-terminated, or NULL;
	                             * may hold a secret (never logged) */
	long connect_timeout_s;     /* 0: 5 s */
	long timeout_s;             /* whole call, 0: 10 s */
	size_t max_reply; /* bytes kept of the reply body, 0: 64 KiB; more fails the call */
};

struct fetch_reply {
	long status;     /* HTTP status of the reply */
	struct buf body; /* the reply body, NUL-terminated when not empty; fetch_reply_cleanup */
	struct buf head; /* the reply's header lines as received (of the last response) */
};

/* Performs the call. 0 when a reply arrived, whatever its status; -1 when none did (err says
 * why, e.g. "connect timed out", without the URL). out is initialised either way. */
int fetch_http(const struct fetch_req *r, struct fetch_reply *out, char *err, size_t errlen);
void fetch_reply_cleanup(struct fetch_reply *r);
/* The value of reply header name (case-insensitive, surrounding blanks trimmed) copied into
 * out; 0, or -1 when absent or longer than n - 1. */
int fetch_reply_header(const struct fetch_reply *r, const char *name, char *out, size_t n);

#endif
