/* Route matching by method and path pattern; {name} captures one path segment. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* Matches path against pattern, filling req's params on success. */
static int pattern_match(struct http_req *req, const char *pattern, const char *path)
{
	int np = 0;
	const char *p = pattern, *s = path;
	while (*p && *s) {
		if (*p == '{') {
			const char *close = strchr(p, '}');
			const char *seg_end = strchr(s, '/');
			size_t seglen = seg_end ? (size_t)(seg_end - s) : strlen(s);
			if (!close || seglen == 0 || np >= HTTP_MAX_PARAMS)
				return 0;
			req->param_names[np] = NULL; /* filled below, after the whole match */
			np++;
			p = close + 1;
			s += seglen;
			continue;
		}
		if (*p != *s)
			return 0;
		p++;
		s++;
	}
	if (*p || *s)
		return 0;
	/* Second pass: capture, now that the match is certain. */
	for (int i = 0; i < req->nparams; i++)
		free(req->param_values[i]);
	req->nparams = 0;
	p = pattern;
	s = path;
	while (*p) {
		if (*p == '{') {
			const char *close = strchr(p, '}');
			const char *seg_end = strchr(s, '/');
			size_t seglen = seg_end ? (size_t)(seg_end - s) : strlen(s);
			size_t nlen = (size_t)(close - p - 1);
			char *name = http_alloc(req, nlen + 1);
			memcpy(name, p + 1, nlen);
			name[nlen] = '\0';
			req->param_names[req->nparams] = name;
			req->param_values[req->nparams] = xstrndup(s, seglen);
			req->nparams++;
			p = close + 1;
			s += seglen;
			continue;
		}
		p++;
		s++;
	}
	return 1;
}

static int method_allows(const char *route_method, const char *method)
{
	if (strcmp(route_method, method) == 0)
		return 1;
	return strcmp(route_method, "GET") == 0 && strcmp(method, "HEAD") == 0;
}

const struct http_route *http_route_find(struct http_req *req, const struct http_route *routes,
                                         size_t n, int *method_mismatch, char *allow,
                                         size_t allowlen)
{
	*method_mismatch = 0;
	allow[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (!pattern_match(req, routes[i].pattern, req->path))
			continue;
		if (method_allows(routes[i].method, req->method))
			return &routes[i];
		*method_mismatch = 1;
		size_t used = strlen(allow);
		snprintf(allow + used, allowlen - used, "%s%s", used ? ", " : "", routes[i].method);
	}
	return NULL;
}
