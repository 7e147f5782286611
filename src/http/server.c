/* libmicrohttpd glue: daemon lifecycle, body accumulation with limits, dispatch, security
 * headers, access log and graceful stop. */
#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/rand.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cardshop/log.h"
#include "cardshop/metrics.h"
#include "internal.h"

static struct MHD_Daemon *daemon_;
static const struct config *server_cfg;
static const struct http_route *server_routes;
static size_t server_nroutes;
static http_handler server_guard;
static atomic_int inflight;
static void (*request_end_hook)(void);
/* Open connections per untrusted TCP peer, and requests in flight per resolved client. */
static struct http_counter *peer_conns, *client_inflight;

void http_set_request_end_hook(void (*fn)(void))
{
	request_end_hook = fn;
}
/* Body bytes held (or promised by a Content-Length) by all requests in flight together. */
static atomic_size_t buffered;

static const char *csp =
    "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

/* Request ids need to be unique, not secret: a per-thread xorshift seeded once from the CSPRNG
 * costs a few instructions, where RAND_bytes plus eight snprintf calls were a tenth of the
 * catalog's whole request (callgrind). */
static void make_req_id(char *out, size_t n)
{
	static _Thread_local uint64_t state;
	static const char hex[] = "0123456789abcdef";
	while (!state) {
		if (RAND_bytes((unsigned char *)&state, sizeof state) != 1)
			abort();
	}
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	uint64_t v = state;
	size_t i = 0;
	for (; i < 16 && i + 1 < n; i++, v >>= 4)
		out[i] = hex[v & 15];
	out[i] = '\0';
}

/* Called by MHD with the raw, undecoded request target: we keep it so the path and query are
 * decoded once, by us, and a %00 can be refused instead of silently truncating the path. */
static void *uri_logger(void *cls, const char *uri, struct MHD_Connection *conn)
{
	(void)cls;
	struct http_req *req = xcalloc(1, sizeof *req);
	req->conn = conn;
	/* One configuration for the whole request, however the settings change meanwhile. */
	req->cfg = config_current() ? config_current() : server_cfg;
	req->raw_uri = xstrdup(uri ? uri : "");
	req->resp_fd = -1;
	req->start_us = util_now_usec();
	buf_init(&req->body);
	make_req_id(req->req_id, sizeof req->req_id);
	atomic_fetch_add(&inflight, 1);
	return req;
}

static void sockaddr_ip(const struct sockaddr *sa, char *out, size_t n)
{
	const char *ok = NULL;
	if (sa && sa->sa_family == AF_INET)
		ok = inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		               out, (socklen_t)n);
	else if (sa && sa->sa_family == AF_INET6)
		ok =
		    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		              out, (socklen_t)n);
	if (!ok && n > 7)
		memcpy(out, "unknown", 8);
}

/* What a connection's peer is, worked out once when it connects rather than on every request
 * of a keep-alive connection: its address as text and bytes, and whether it is a trusted
 * proxy. */
struct peer {
	char ip[64];
	unsigned char key[16];
	int parsed;  /* key holds ip */
	int trusted; /* in [server] trusted_proxies: its X-Forwarded-For is read */
	int counted; /* holds one slot of peer_conns */
};

static void peer_init(struct peer *p, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	sockaddr_ip(ci ? ci->client_addr : NULL, p->ip, sizeof p->ip);
	p->parsed = http_addr_parse(p->ip, p->key) == 0;
	p->trusted = http_addr_in_list(p->ip, server_cfg->trusted_proxies);
	p->counted = 0;
}

static const struct peer *conn_peer(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

/* MHD hands repeated header lines one by one: a proxy that appends its own line must not let
 * the client's first line decide, so every X-Forwarded-For line is joined, in order. */
static enum MHD_Result xff_collect(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
	(void)kind;
	struct buf *b = cls;
	if (key && value && strcasecmp(key, "X-Forwarded-For") == 0)
		buf_printf(b, "%s%s", b->len ? "," : "", value);
	return MHD_YES;
}

/* The client is the peer, unless the peer is a trusted proxy (http_client_choose). */
static void resolve_client_ip(struct http_req *req)
{
	const struct peer *p = conn_peer(req->conn);
	struct peer local;
	if (!p) {
		peer_init(&local, req->conn);
		p = &local;
	}
	if (!p->trusted) { /* the common case: the peer is the client */
		memcpy(req->client_ip, p->ip, sizeof req->client_ip);
		if (p->parsed) {
			memcpy(req->client_key, p->key, sizeof req->client_key);
			req->client_key_ok = 1;
		}
		return;
	}
	struct buf xff;
	buf_init(&xff);
	MHD_get_connection_values(req->conn, MHD_HEADER_KIND, xff_collect, &xff);
	http_client_choose(p->ip, xff.len ? buf_cstr(&xff) : NULL, req->cfg->trusted_proxies,
	                   req->client_ip, sizeof req->client_ip);
	buf_cleanup(&xff);
}

/* Behind a proxy every TCP peer is the proxy, so the per-client limit counts the requests in
 * flight of the resolved client instead (150 clients behind nginx got 502s when MHD counted
 * nginx's connections). -1 after replying 429. */
static int client_admit(struct http_req *req)
{
	uint32_t limit = (uint32_t)req->cfg->per_ip_connections;
	if (limit == 0 || !client_inflight)
		return 0;
	if (!req->client_key_ok && http_addr_parse(req->client_ip, req->client_key) != 0)
		return 0;
	if (http_counter_add(client_inflight, req->client_key, limit) == 0) {
		req->client_counted = 1;
		return 0;
	}
	metrics_inc(M_RATE_LIMITED, 1);
	http_add_header(req, "Retry-After", "1");
	http_reply_error(req, 429, "too_many_connections",
	                 "too many requests in flight from this address");
	return -1;
}

/* Splits the raw target into a decoded path and the raw query. -1 when unusable. */
static int split_target(struct http_req *req)
{
	const char *uri = req->raw_uri;
	/* Absolute form (RFC 9112 3.2.2): "http://host/path?q" means "/path?q". */
	if (strncasecmp(uri, "http://", 7) == 0 || strncasecmp(uri, "https://", 8) == 0) {
		const char *slash = strchr(strstr(uri, "://") + 3, '/');
		uri = slash ? slash : "/";
	}
	if (uri[0] != '/')
		return -1;
	const char *q = strchr(uri, '?');
	size_t plen = q ? (size_t)(q - uri) : strlen(uri);
	const char *hash = memchr(uri, '#', plen);
	if (hash)
		plen = (size_t)(hash - uri);
	if (kv_url_decode(uri, plen, 0, &req->path, NULL) != 0)
		return -1;
	req->raw_query = q ? q + 1 : NULL;
	return 0;
}

static void add_common_headers(struct http_req *req, struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "X-Request-Id", req->req_id);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	/* Delivery links carry an access token: never leak them to another site. */
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Content-Security-Policy", csp);
	if (req->content_type)
		MHD_add_response_header(resp, "Content-Type", req->content_type);
	int cache_set = 0;
	for (struct http_header_item *h = req->headers; h; h = h->next) {
		MHD_add_response_header(resp, h->name, h->value);
		cache_set |= strcasecmp(h->name, "Cache-Control") == 0;
	}
	/* API answers are not cached unless the handler says how (the catalog revalidates). */
	if (!cache_set && (strncmp(req->path ? req->path : "", "/api/", 5) == 0 ||
	                   strncmp(req->path ? req->path : "", "/pay/", 5) == 0))
		MHD_add_response_header(resp, "Cache-Control", "no-store");
}

/* The latency class of a request, from its path. */
static enum metric_route route_class(const struct http_req *req)
{
	const char *p = req->path ? req->path : "";
	if (strncmp(p, "/api/admin/", 11) == 0)
		return MR_ADMIN;
	if (strncmp(p, "/api/orders", 11) == 0)
		return MR_ORDER;
	if (strncmp(p, "/pay/", 5) == 0)
		return MR_PAY;
	if (strncmp(p, "/api/", 5) == 0)
		return MR_SHOP;
	if (strcmp(p, "/healthz") == 0 || strcmp(p, "/readyz") == 0 || strcmp(p, "/metrics") == 0)
		return MR_SYSTEM;
	return MR_STATIC;
}

/* Counted before the reply is queued: a client that reads the reply and then scrapes
 * /metrics must find its request there. */
static void count_request(struct http_req *req, unsigned status)
{
	if (req->counted)
		return;
	req->counted = 1;
	metrics_request_route(route_class(req), status, util_now_usec() - req->start_us);
}

static enum MHD_Result send_reply(struct http_req *req)
{
	if (!req->replied)
		http_reply_error(req, 500, "internal", "internal error");
	count_request(req, req->status);
	struct MHD_Response *resp;
	if (req->resp_fd >= 0) {
		resp = MHD_create_response_from_fd64(req->resp_fd_size, req->resp_fd);
		req->resp_fd = -1; /* MHD closes it */
	} else {
		resp = MHD_create_response_from_buffer(req->resp_len, req->resp_body,
		                                       MHD_RESPMEM_MUST_FREE);
		req->resp_body = NULL;
	}
	if (!resp)
		return MHD_NO;
	add_common_headers(req, resp);
	enum MHD_Result r = MHD_queue_response(req->conn, req->status, resp);
	MHD_destroy_response(resp);
	return r;
}

static void dispatch(struct http_req *req)
{
	if (req->route) {
		req->route->fn(req);
		return;
	}
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		if (strncmp(req->path, "/api/", 5) == 0) {
			http_reply_error(req, 404, "not_found", "no such endpoint");
		} else {
			http_add_header(req, "Allow", "GET, HEAD");
			http_reply_error(req, 405, "method_not_allowed", "method not allowed");
		}
		return;
	}
	http_static_serve(req);
}

/* Requests that can wait on the disk, a gateway or argon2: every write, and the gateways'
 * callbacks (EPay sends its notify as a GET). Reads of memory, files and single rows stay on
 * the libmicrohttpd workers. */
static int may_block(const struct http_req *req)
{
	if (!req->route)
		return 0;
	return (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) ||
	       strncmp(req->path, "/pay/", 5) == 0;
}

static void run_offloaded(struct http_req *req)
{
	dispatch(req);
	if (request_end_hook)
		request_end_hook(); /* what the pool thread's handler held */
}

/* The body bytes this request may send: what its route declares; none for GET and HEAD. */
static size_t body_limit_of(const struct http_req *req)
{
	if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0)
		return 0;
	unsigned body = req->route ? req->route->limit & ~(unsigned)(HTTP_GUARDED | HTTP_OWNER)
	                           : HTTP_BODY_DEFAULT;
	if (body == HTTP_BODY_NONE)
		return 0;
	if (body == HTTP_BODY_UPLOAD)
		return (size_t)req->cfg->max_upload;
	if (body == HTTP_BODY_IMAGE)
		return HTTP_IMAGE_MAX;
	return (size_t)req->cfg->max_body;
}

/* Takes n bytes from the budget all requests share; -1 (nothing taken) when it would overflow. */
static int body_reserve(struct http_req *req, size_t n)
{
	size_t cap = (size_t)req->cfg->max_buffered, cur = atomic_load(&buffered);
	do {
		if (n > cap || cur > cap - n)
			return -1;
	} while (!atomic_compare_exchange_weak(&buffered, &cur, cur + n));
	req->reserved += n;
	return 0;
}

static void reply_too_large(struct http_req *req)
{
	http_reply_error(req, 413, "payload_too_large", "body: too large");
}

static void reply_busy(struct http_req *req)
{
	metrics_inc(M_SHED, 1);
	http_add_header(req, "Retry-After", "5");
	http_reply_error(req, 503, "unavailable", "server busy; try again shortly");
}

/* Refusals the head alone decides, before any body is read: a body the route does not take
 * (by Content-Length, or chunked where the route takes none), the route's guard (a session,
 * CSRF), then the shared budget for the declared length. Returns 1 when a reply is ready. */
static int check_head(struct http_req *req)
{
	req->body_limit = body_limit_of(req);
	const char *cl = http_header(req, "Content-Length");
	const char *te = http_header(req, "Transfer-Encoding");
	int64_t n = 0;
	if (cl && util_parse_i64(cl, 0, INT64_MAX, &n) == 0 && (uint64_t)n > req->body_limit) {
		reply_too_large(req);
		return 1;
	}
	if (te && req->body_limit == 0) {
		reply_too_large(req);
		return 1;
	}
	if (req->route && (req->route->limit & HTTP_GUARDED) && server_guard) {
		server_guard(req);
		if (req->replied)
			return 1;
	}
	if (n > 0 && body_reserve(req, (size_t)n) != 0) {
		reply_busy(req);
		return 1;
	}
	return 0;
}

/* First call for a request: decode, route, head checks. Returns 1 when a reply is ready now. */
static int begin_request(struct http_req *req, const char *method)
{
	req->started = 1;
	snprintf(req->method, sizeof req->method, "%s", method);
	resolve_client_ip(req);
	if (split_target(req) != 0) {
		req->path = req->path ? req->path : xstrdup("");
		http_reply_error(req, 400, "invalid_request", "path: malformed request target");
		return 1;
	}
	if (client_admit(req) != 0)
		return 1;
	int mismatch;
	char allow[128];
	req->route =
	    http_route_find(req, server_routes, server_nroutes, &mismatch, allow, sizeof allow);
	if (!req->route && mismatch) {
		http_add_header(req, "Allow", allow);
		http_reply_error(req, 405, "method_not_allowed",
		                 "method not allowed for this path");
		return 1;
	}
	if (req->route && req->route->priority == HTTP_SHEDDABLE &&
	    atomic_load(&inflight) > req->cfg->max_inflight) {
		metrics_inc(M_SHED, 1);
		http_add_header(req, "Retry-After", "1");
		http_reply_error(req, 503, "unavailable", "busy; try again in a moment");
		return 1;
	}
	return check_head(req);
}

/* Keeps one piece of body, unless it passes the route's cap (413) or the shared budget (503).
 * Bytes a Content-Length announced were reserved with the head; chunked ones as they come.
 * libmicrohttpd 0.9.75 cannot queue a reply in the middle of a body, so a refused body is
 * dropped unkept as it arrives and the refusal is the answer once it ends. */
static void body_append(struct http_req *req, const char *data, size_t n)
{
	size_t len;
	if (req->body_refused)
		return;
	if (__builtin_add_overflow(req->body.len, n, &len) || len > req->body_limit)
		req->body_refused = 413;
	else if (len > req->reserved && body_reserve(req, len - req->reserved) != 0)
		req->body_refused = 503;
	else
		buf_append(&req->body, data, n);
	if (req->body_refused) { /* nothing more is kept: give the budget back now */
		buf_cleanup(&req->body);
		atomic_fetch_sub(&buffered, req->reserved);
		req->reserved = 0;
	}
}

static enum MHD_Result handle_request(struct http_req *req, struct MHD_Connection *conn,
                                      const char *method, const char *upload_data,
                                      size_t *upload_data_size)
{
	req->conn = conn;
	if (!req->started) {
		if (begin_request(req, method))
			return send_reply(req);
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		body_append(req, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (req->offloaded) /* called again after the pool resumed the connection */
		return __atomic_load_n(&req->offload_done, __ATOMIC_ACQUIRE) ? send_reply(req)
		                                                             : MHD_YES;
	if (req->replied) /* already answered at the first call */
		return MHD_YES;
	if (req->body_refused == 413) {
		reply_too_large(req);
	} else if (req->body_refused) {
		reply_busy(req);
	} else if (may_block(req) && (req->offloaded = 1, http_offload_submit(req) == 0)) {
		return MHD_YES; /* the pool answers; the next callback sends it */
	} else {
		req->offloaded = 0;
		dispatch(req);
	}
	return send_reply(req);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	(void)cls;
	(void)url;
	(void)version;
	struct http_req *req = *con_cls;
	if (!req) /* no URI callback happened: should not occur, refuse safely */
		return MHD_NO;
	/* A worker thread serves many connections in turn: the id is this request's only for the
	 * length of this call, so domain log lines written meanwhile carry it. */
	log_set_req_id(req->req_id);
	enum MHD_Result r = handle_request(req, conn, method, upload_data, upload_data_size);
	log_set_req_id(NULL);
	return r;
}

/* The decoded path when it is valid UTF-8, else the raw target with odd bytes as '?': a log
 * line must never be lost to a path that JSON cannot hold. */
static char *loggable_path(const struct http_req *req)
{
	if (req->path && util_utf8_valid(req->path, strlen(req->path)))
		return xstrdup(req->path);
	char *p = xstrdup(req->raw_uri);
	for (char *c = p; *c; c++) {
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
	}
	return p;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	struct http_req *req = *con_cls;
	if (!req)
		return;
	*con_cls = NULL;
	int64_t us = util_now_usec() - req->start_us;
	uint64_t bytes = req->replied ? (req->resp_fd_size ? req->resp_fd_size : req->resp_len) : 0;
	count_request(req, 0); /* only when no reply was ever queued */
	if (log_enabled(LOG_INFO)) {
		char *path = loggable_path(req);
		json_t *f =
		    json_pack("{ss ss si sI sI ss}", "method", req->method, "path", path, "status",
		              req->replied ? (int)req->status : 0, "bytes", (json_int_t)bytes, "us",
		              (json_int_t)us, "ip", req->client_ip);
		if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
			json_object_set_new(f, "aborted", json_integer(toe));
		log_write(LOG_INFO, req->req_id, "request", f);
		free(path);
	}
	if (request_end_hook)
		request_end_hook(); /* e.g. db/ ends the read snapshot the request held */
	if (req->client_counted)
		http_counter_sub(client_inflight, req->client_key);
	atomic_fetch_sub(&buffered, req->reserved);
	http_req_free(req);
	atomic_fetch_sub(&inflight, 1);
}

/* A direct (untrusted) peer may hold per_ip_connections connections; a trusted proxy carries
 * many clients on its connections and is limited per client, by client_admit. The count is
 * read here and moved in on_connection, so a burst of accepts can pass it by a few. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	(void)cls;
	(void)addrlen;
	char ip[64];
	unsigned char key[16];
	uint32_t limit = (uint32_t)server_cfg->per_ip_connections;
	sockaddr_ip(addr, ip, sizeof ip);
	if (limit == 0 || http_addr_parse(ip, key) != 0 ||
	    http_addr_in_list(ip, server_cfg->trusted_proxies))
		return MHD_YES;
	return http_counter_get(peer_conns, key) < limit ? MHD_YES : MHD_NO;
}

/* MHD reports CLOSED exactly for the connections it reported STARTED. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
	(void)cls;
	struct peer *p = *socket_context;
	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (p && p->counted)
			http_counter_sub(peer_conns, p->key);
		free(p);
		*socket_context = NULL;
		return;
	}
	p = xmalloc(sizeof *p);
	peer_init(p, conn);
	p->counted =
	    p->parsed && !p->trusted && http_counter_add(peer_conns, p->key, UINT32_MAX) == 0;
	*socket_context = p;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_warn("libmicrohttpd", json_pack("{ss}", "detail", msg));
}

static int resolve_listen(const struct config *cfg, struct sockaddr_storage *ss, int *v6)
{
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_PASSIVE,
	                         .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	char port[16];
	snprintf(port, sizeof port, "%lld", (long long)cfg->port);
	if (getaddrinfo(cfg->listen, port, &hints, &res) != 0 || !res)
		return -1;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*v6 = res->ai_family == AF_INET6;
	freeaddrinfo(res);
	return 0;
}

int http_server_start(const struct config *cfg, const struct http_route *routes, size_t nroutes)
{
	server_cfg = cfg;
	server_routes = routes;
	server_nroutes = nroutes;
	if (http_static_init(cfg->static_dir) != 0)
		log_warn("static folder not found: pages will be 404",
		         json_pack("{ss}", "static_dir", cfg->static_dir));
	struct sockaddr_storage ss;
	int v6 = 0;
	if (resolve_listen(cfg, &ss, &v6) != 0) {
		log_error("bad listen address", json_pack("{ss}", "listen", cfg->listen));
		return -1;
	}
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	/* threads (0: 16 per core) sizes the blocking pool: a paying request spends most of its
	 * time waiting for its commit to reach the disk, not on the CPU, and the group commit
	 * batches whatever the pool hands it at once; with one thread per core the disk, not the
	 * CPU, would set the pace (1,300 purchases/s with 2 threads, 2,600 with 32, on 2 cores).
	 * libmicrohttpd itself gets one worker per core: the rest never waits, and 32 workers
	 * switching on 2 cores cost the catalog a third of its throughput. */
	unsigned ncores = (unsigned)(cores > 0 ? cores : 1);
	unsigned threads = cfg->threads > 0 ? (unsigned)cfg->threads : 16 * ncores;
	if (threads > 256)
		threads = 256;
	unsigned workers = ncores < threads ? ncores : threads;
	if (http_offload_start(threads, run_offloaded) != 0)
		return -1;
	/* MHD's own per-IP limit would count a proxy as one client: on_accept and client_admit
	 * apply per_ip_connections instead. */
	peer_conns = http_counter_new((size_t)cfg->max_connections);
	client_inflight = http_counter_new((size_t)cfg->max_connections);
	/* poll(), not epoll, in each worker: libmicrohttpd 0.9.75 races its epoll workers against
	 * MHD_quiesce_daemon over the listen socket and aborts ("Failed to remove listen FD from
	 * epoll set", seen on SIGTERM under load). A worker holds a few dozen connections at most,
	 * where poll costs the same. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC |
	                 MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME | (v6 ? MHD_USE_IPv6 : 0);
	daemon_ = MHD_start_daemon(
	    flags, 0, on_accept, NULL, on_request, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, workers,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)cfg->connection_timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)(32 * 1024), MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_URI_LOG_CALLBACK,
	    uri_logger, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
	if (!daemon_) {
		http_offload_stop();
		http_counter_free(peer_conns);
		http_counter_free(client_inflight);
		peer_conns = client_inflight = NULL;
		log_error("cannot start HTTP server", json_pack("{ss sI}", "listen", cfg->listen,
		                                                "port", (json_int_t)cfg->port));
		return -1;
	}
	log_info("listening",
	         json_pack("{ss sI si si ss}", "listen", cfg->listen, "port", (json_int_t)cfg->port,
	                   "workers", (int)workers, "threads", (int)threads, "url", cfg->base_url));
	return 0;
}

void http_server_set_guard(http_handler guard)
{
	server_guard = guard;
}

/* Waits up to ms for every request in flight to end. */
static void wait_idle(int ms)
{
	for (int waited = 0; atomic_load(&inflight) > 0 && waited < ms; waited += 10)
		usleep(10000);
}

void http_server_stop(int grace_ms)
{
	if (!daemon_)
		return;
	MHD_socket fd = MHD_quiesce_daemon(daemon_);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	wait_idle(grace_ms);
	/* The pool first: it finishes what it holds and resumes every suspended connection, which
	 * libmicrohttpd requires before it stops; requests arriving later run on its workers. */
	http_offload_stop();
	/* A reply the pool finished past the grace was resumed just now: a moment for
	 * libmicrohttpd to send it, or stopping would drop it (a 404 computed after 12 s of
	 * waiting on the database was lost this way). Bounded: a stalled client gets no more. */
	wait_idle(1000);
	MHD_stop_daemon(daemon_);
	daemon_ = NULL;
	http_counter_free(peer_conns);
	http_counter_free(client_inflight);
	peer_conns = client_inflight = NULL;
	log_info("http server stopped", NULL);
}
