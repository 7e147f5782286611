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
static atomic_int inflight;
static void (*request_end_hook)(void);

void http_set_request_end_hook(void (*fn)(void))
{
	request_end_hook = fn;
}

static const char *csp =
    "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

static void make_req_id(char *out, size_t n)
{
	unsigned char raw[8];
	if (RAND_bytes(raw, sizeof raw) != 1)
		abort();
	for (size_t i = 0; i < sizeof raw && 2 * i + 2 < n; i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

/* Called by MHD with the raw, undecoded request target: we keep it so the path and query are
 * decoded once, by us, and a %00 can be refused instead of silently truncating the path. */
static void *uri_logger(void *cls, const char *uri, struct MHD_Connection *conn)
{
	(void)cls;
	struct http_req *req = xcalloc(1, sizeof *req);
	req->conn = conn;
	req->cfg = server_cfg;
	req->raw_uri = xstrdup(uri ? uri : "");
	req->resp_fd = -1;
	req->start_us = util_now_usec();
	buf_init(&req->body);
	make_req_id(req->req_id, sizeof req->req_id);
	atomic_fetch_add(&inflight, 1);
	return req;
}

static void peer_ip(struct http_req *req, char *out, size_t n)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(out, n, "unknown");
	if (!ci || !ci->client_addr)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
		          (socklen_t)n);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		          out, (socklen_t)n);
}

/* The client is the peer, unless the peer is a trusted proxy: then the right-most
 * X-Forwarded-For entry that is not itself a trusted proxy. */
static void resolve_client_ip(struct http_req *req)
{
	char peer[64];
	peer_ip(req, peer, sizeof peer);
	snprintf(req->client_ip, sizeof req->client_ip, "%s", peer);
	const char *xff = http_header(req, "X-Forwarded-For");
	if (!xff || !http_addr_in_list(peer, req->cfg->trusted_proxies))
		return;
	/* Walk from the right: the entries nearest to us are the ones proxies added; a client can
	 * prepend any number of its own. */
	char *copy = xstrdup(xff);
	for (char *end = copy + strlen(copy);;) {
		while (end > copy && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == ','))
			*--end = '\0';
		if (end == copy)
			break;
		char *start = end;
		while (start > copy && start[-1] != ',' && start[-1] != ' ' && start[-1] != '\t')
			start--;
		unsigned char tmp[16];
		if (inet_pton(AF_INET, start, tmp) != 1 && inet_pton(AF_INET6, start, tmp) != 1)
			break; /* garbage: stop at the last address we could trust */
		snprintf(req->client_ip, sizeof req->client_ip, "%s", start);
		if (!http_addr_in_list(start, req->cfg->trusted_proxies))
			break;
		end = start;
	}
	free(copy);
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
	if (strncmp(req->path ? req->path : "", "/api/", 5) == 0 ||
	    strncmp(req->path ? req->path : "", "/pay/", 5) == 0)
		MHD_add_response_header(resp, "Cache-Control", "no-store");
	for (struct http_header_item *h = req->headers; h; h = h->next)
		MHD_add_response_header(resp, h->name, h->value);
}

static enum MHD_Result send_reply(struct http_req *req)
{
	if (!req->replied)
		http_reply_error(req, 500, "internal", "internal error");
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

/* First call for a request: decode, route, size checks. Returns 1 when a reply is ready now. */
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
	req->body_limit =
	    (size_t)(req->route && req->route->limit == HTTP_BODY_UPLOAD ? req->cfg->max_upload
	                                                                 : req->cfg->max_body);
	const char *cl = http_header(req, "Content-Length");
	int64_t n;
	if (cl && util_parse_i64(cl, 0, INT64_MAX, &n) == 0 && (uint64_t)n > req->body_limit) {
		http_reply_error(req, 413, "payload_too_large", "body: too large");
		return 1;
	}
	return 0;
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
		if (!req->too_large && req->body.len + *upload_data_size <= req->body_limit)
			buf_append(&req->body, upload_data, *upload_data_size);
		else
			req->too_large = 1; /* keep draining; answer 413 once the body ends */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (req->replied) /* already answered at the first call */
		return MHD_YES;
	if (req->too_large)
		http_reply_error(req, 413, "payload_too_large", "body: too large");
	else
		dispatch(req);
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
	metrics_request(req->replied ? req->status : 0, us);
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
	http_req_free(req);
	atomic_fetch_sub(&inflight, 1);
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
	/* threads = 0 is automatic: 16 per core. A worker spends most of a paying request waiting
	 * for its commit to reach the disk, not on the CPU, and the group commit batches whatever
	 * the workers hand it at once; with one worker per core the disk, not the CPU, would set
	 * the pace (measured: 1,300 purchases/s with 2 workers, 2,600 with 32, on 2 cores). */
	unsigned threads =
	    cfg->threads > 0 ? (unsigned)cfg->threads : 16 * (unsigned)(cores > 0 ? cores : 1);
	if (threads > 256)
		threads = 256;
	/* poll(), not epoll, in each worker: libmicrohttpd 0.9.75 races its epoll workers against
	 * MHD_quiesce_daemon over the listen socket and aborts ("Failed to remove listen FD from
	 * epoll set", seen on SIGTERM under load). A worker holds a few dozen connections at most,
	 * where poll costs the same. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC |
	                 MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
	daemon_ = MHD_start_daemon(
	    flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, threads,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->per_ip_connections,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->connection_timeout,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_LISTEN_BACKLOG_SIZE,
	    1024u, MHD_OPTION_URI_LOG_CALLBACK, uri_logger, NULL, MHD_OPTION_NOTIFY_COMPLETED,
	    on_completed, NULL, MHD_OPTION_END);
	if (!daemon_) {
		log_error("cannot start HTTP server", json_pack("{ss sI}", "listen", cfg->listen,
		                                                "port", (json_int_t)cfg->port));
		return -1;
	}
	log_info("listening",
	         json_pack("{ss sI si ss}", "listen", cfg->listen, "port", (json_int_t)cfg->port,
	                   "threads", (int)threads, "url", cfg->base_url));
	return 0;
}

void http_server_stop(int grace_ms)
{
	if (!daemon_)
		return;
	MHD_socket fd = MHD_quiesce_daemon(daemon_);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	for (int waited = 0; atomic_load(&inflight) > 0 && waited < grace_ms; waited += 10)
		usleep(10000);
	MHD_stop_daemon(daemon_);
	daemon_ = NULL;
	log_info("http server stopped", NULL);
}
