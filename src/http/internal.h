/* The request structure shared by the files of http/; nothing outside http/ sees it. */
#ifndef CARDSHOP_HTTP_INTERNAL_H
#define CARDSHOP_HTTP_INTERNAL_H

#include <microhttpd.h>

#include "cardshop/http.h"
#include "cardshop/util.h"

#define HTTP_MAX_PARAMS 4

struct arena_block {
	struct arena_block *next;
	max_align_t data[];
};

struct http_header_item {
	char *name;
	char *value;
	struct http_header_item *next;
};

struct http_req {
	struct MHD_Connection *conn;
	const struct config *cfg;
	const struct http_route *route;
	int started;
	char method[16];
	char *raw_uri;
	char *path;            /* decoded */
	const char *raw_query; /* after '?', undecoded, may be NULL */
	const char *param_names[HTTP_MAX_PARAMS];
	char *param_values[HTTP_MAX_PARAMS];
	int nparams;
	struct buf body;
	size_t body_limit;
	size_t reserved;  /* of the shared body budget, given back when the request completes */
	int body_refused; /* 413 or 503 once the body passed a cap: the rest is dropped */
	struct kvlist query;
	int query_state; /* 0 unparsed, 1 ok, -1 bad */
	struct kvlist form;
	int form_state;
	json_t *json;
	char req_id[24];
	char client_ip[64];
	unsigned char client_key[16];
	int client_key_ok;  /* client_key holds client_ip already */
	int client_counted; /* holds one in-flight slot of client_key */
	int64_t start_us;
	int counted; /* in the request metrics already */
	/* reply */
	int replied;
	unsigned status;
	char *content_type;
	char *resp_body; /* malloc'd, handed to MHD */
	size_t resp_len;
	int resp_fd; /* -1 when none */
	uint64_t resp_fd_size;
	struct http_header_item *headers;
	/* offload.c: run on the blocking pool while the connection is suspended */
	int offloaded;
	int offload_done; /* set (release) by the pool when the reply is ready */
	struct http_req *offload_next;
	/* scope */
	struct arena_block *arena;
	void *user;
	void (*user_free)(void *);
};

/* router.c */
const struct http_route *http_route_find(struct http_req *req, const struct http_route *routes,
                                         size_t n, int *method_mismatch, char *allow,
                                         size_t allowlen);
/* static.c: serves the file for req's path or replies 404. */
void http_static_serve(struct http_req *req);
/* Resolves the static folder once; -1 when it does not exist (every page is then 404). */
int http_static_init(const char *static_dir);
/* clients.c: per-address counts, bounded by capacity addresses (the connection limit). */
struct http_counter;
struct http_counter *http_counter_new(size_t capacity); /* freed with http_counter_free */
void http_counter_free(struct http_counter *c);
/* Counts one more for key unless it already has limit; 0 counted, -1 refused (or full). */
int http_counter_add(struct http_counter *c, const unsigned char key[16], uint32_t limit);
void http_counter_sub(struct http_counter *c, const unsigned char key[16]);
uint32_t http_counter_get(struct http_counter *c, const unsigned char key[16]);
/* offload.c: n blocking threads that run run(req) for submitted requests, then resume their
 * connection. stop drains the queue and joins them; call it before MHD_stop_daemon. */
int http_offload_start(unsigned n, void (*run)(struct http_req *req));
/* Suspends req's connection and queues it: 0, or -1 (nothing done) once the pool stops. */
int http_offload_submit(struct http_req *req);
void http_offload_stop(void);
/* request.c */
void http_req_free(struct http_req *req);
void http_reply_fd(struct http_req *req, unsigned status, const char *content_type, int fd,
                   uint64_t size);

#endif
