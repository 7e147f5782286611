/* Request access (params, query, form, JSON, cookies), request-scoped memory and replies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "internal.h"

void *http_alloc(struct http_req *req, size_t n)
{
	size_t total;
	if (__builtin_add_overflow(sizeof(struct arena_block), n, &total))
		abort();
	struct arena_block *b = xmalloc(total);
	b->next = req->arena;
	req->arena = b;
	return b->data;
}

char *http_strdup(struct http_req *req, const char *s)
{
	size_t n = strlen(s);
	char *p = http_alloc(req, n + 1);
	memcpy(p, s, n + 1);
	return p;
}

void http_set_user(struct http_req *req, void *data, void (*free_fn)(void *))
{
	if (req->user && req->user_free)
		req->user_free(req->user);
	req->user = data;
	req->user_free = free_fn;
}

void *http_user(const struct http_req *req)
{
	return req->user;
}

void http_req_free(struct http_req *req)
{
	if (req->user && req->user_free)
		req->user_free(req->user);
	for (int i = 0; i < req->nparams; i++)
		free(req->param_values[i]);
	free(req->raw_uri);
	free(req->path);
	buf_cleanup(&req->body);
	kv_free(&req->query);
	kv_free(&req->form);
	json_decref(req->json);
	free(req->content_type);
	free(req->resp_body);
	if (req->resp_fd >= 0)
		close(req->resp_fd);
	while (req->headers) {
		struct http_header_item *h = req->headers;
		req->headers = h->next;
		free(h->name);
		free(h->value);
		free(h);
	}
	while (req->arena) {
		struct arena_block *b = req->arena;
		req->arena = b->next;
		free(b);
	}
	free(req);
}

const char *http_method(const struct http_req *req)
{
	return req->method;
}
const char *http_path(const struct http_req *req)
{
	return req->path;
}
const char *http_req_id(const struct http_req *req)
{
	return req->req_id;
}
const char *http_client_ip(const struct http_req *req)
{
	return req->client_ip;
}
const struct config *http_config(const struct http_req *req)
{
	return req->cfg;
}

unsigned http_route_flags(const struct http_req *req)
{
	return req->route ? req->route->limit & (unsigned)(HTTP_GUARDED | HTTP_OWNER) : 0;
}

int http_is_https(const struct http_req *req)
{
	return strncmp(req->cfg->base_url, "https://", 8) == 0;
}

const char *http_param(const struct http_req *req, const char *name)
{
	for (int i = 0; i < req->nparams; i++) {
		if (strcmp(req->param_names[i], name) == 0)
			return req->param_values[i];
	}
	return NULL;
}

const char *http_header(const struct http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

struct cookie_search {
	const char *name;
	const char *val;
	size_t len;
};

static enum MHD_Result cookie_line(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
	(void)kind;
	struct cookie_search *cs = cls;
	if (!key || strcasecmp(key, "Cookie") != 0)
		return MHD_YES;
	return http_cookie_parse(value, cs->name, &cs->val, &cs->len) == 0 ? MHD_NO : MHD_YES;
}

/* Our own parser over every Cookie line: MHD's reads only the first line, and ours is the one
 * the fuzz target checks. */
const char *http_cookie(struct http_req *req, const char *name)
{
	struct cookie_search cs = {.name = name};
	MHD_get_connection_values(req->conn, MHD_HEADER_KIND, cookie_line, &cs);
	if (!cs.val)
		return NULL;
	char *out = http_alloc(req, cs.len + 1);
	memcpy(out, cs.val, cs.len);
	out[cs.len] = '\0';
	return out;
}

const char *http_body(const struct http_req *req, size_t *len)
{
	*len = req->body.len;
	return req->body.len ? req->body.data : "";
}

const struct kvlist *http_query(struct http_req *req)
{
	if (req->query_state == 0) {
		const char *q = req->raw_query ? req->raw_query : "";
		req->query_state = kv_parse(q, strlen(q), &req->query) == 0 ? 1 : -1;
	}
	if (req->query_state < 0) {
		http_reply_error(req, 400, "invalid_request", "query: malformed query string");
		return NULL;
	}
	return &req->query;
}

const char *http_raw_query(const struct http_req *req)
{
	return req->raw_query ? req->raw_query : "";
}

const char *http_query_get(struct http_req *req, const char *name)
{
	const struct kvlist *q = http_query(req);
	return q ? kv_get(q, name) : NULL;
}

int http_content_type_is(const struct http_req *req, const char *want)
{
	const char *ct = http_header(req, "Content-Type");
	size_t n = strlen(want);
	return ct && strncasecmp(ct, want, n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

const struct kvlist *http_form(struct http_req *req)
{
	if (req->form_state == 0) {
		if (!http_content_type_is(req, "application/x-www-form-urlencoded")) {
			http_reply_error(req, 415, "unsupported_media_type",
			                 "body: expected application/x-www-form-urlencoded");
			req->form_state = -1;
			return NULL;
		}
		req->form_state =
		    kv_parse(req->body.data ? req->body.data : "", req->body.len, &req->form) == 0
		        ? 1
		        : -1;
	}
	if (req->form_state < 0) {
		http_reply_error(req, 400, "invalid_request", "body: malformed form data");
		return NULL;
	}
	return &req->form;
}

json_t *http_json(struct http_req *req)
{
	if (req->json)
		return req->json;
	if (!http_content_type_is(req, "application/json")) {
		http_reply_error(req, 415, "unsupported_media_type",
		                 "body: expected application/json");
		return NULL;
	}
	json_error_t jerr;
	json_t *j = json_loadb(req->body.data ? req->body.data : "", req->body.len,
	                       JSON_REJECT_DUPLICATES, &jerr);
	if (!j || !json_is_object(j)) {
		json_decref(j);
		http_reply_error(req, 400, "invalid_request", "body: not a JSON object");
		return NULL;
	}
	req->json = j;
	return j;
}

int http_replied(const struct http_req *req)
{
	return req->replied;
}

void http_add_header(struct http_req *req, const char *name, const char *value)
{
	struct http_header_item *h = xmalloc(sizeof *h);
	h->name = xstrdup(name);
	h->value = xstrdup(value);
	h->next = req->headers;
	req->headers = h;
}

static int claim_reply(struct http_req *req, unsigned status, const char *content_type)
{
	if (req->replied)
		return 0;
	req->replied = 1;
	req->status = status;
	req->content_type = xstrdup(content_type);
	return 1;
}

void http_reply_text(struct http_req *req, unsigned status, const char *content_type,
                     const char *text, size_t len)
{
	if (!claim_reply(req, status, content_type))
		return;
	req->resp_body = xmalloc(len + 1);
	memcpy(req->resp_body, text, len);
	req->resp_len = len;
}

void http_reply_fd(struct http_req *req, unsigned status, const char *content_type, int fd,
                   uint64_t size)
{
	if (!claim_reply(req, status, content_type)) {
		close(fd);
		return;
	}
	req->resp_fd = fd;
	req->resp_fd_size = size;
}

void http_reply_json(struct http_req *req, unsigned status, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(body);
	if (!text) {
		http_reply_error(req, 500, "internal", "internal error");
		return;
	}
	if (claim_reply(req, status, "application/json; charset=utf-8")) {
		req->resp_body = text;
		req->resp_len = strlen(text);
	} else {
		free(text);
	}
}

void http_reply_error(struct http_req *req, unsigned status, const char *code, const char *message)
{
	if (req->replied)
		return;
	if (status == 429 || status == 503) {
		int has_retry = 0;
		for (struct http_header_item *h = req->headers; h; h = h->next)
			has_retry |= strcasecmp(h->name, "Retry-After") == 0;
		if (!has_retry)
			http_add_header(req, "Retry-After", "60");
	}
	http_reply_json(req, status,
	                json_pack("{s{ssss}}", "error", "code", code, "message", message));
}

void http_reply_redirect(struct http_req *req, unsigned status, const char *location)
{
	if (req->replied)
		return;
	http_add_header(req, "Location", location);
	http_reply_text(req, status, "text/plain; charset=utf-8", "", 0);
}
