/* Static files from static_dir: MIME types, ETag/304, Cache-Control, precompressed .gz, and no
 * way out of the folder (dot segments, symlinks leading outside, dotfiles all answer 404). */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static const struct {
	const char *ext;
	const char *type;
} mime_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".json", "application/json; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".gif", "image/gif"},
    {".webp", "image/webp"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
    {".woff2", "font/woff2"},
    {".woff", "font/woff"},
};

static const char *mime_for(const char *path)
{
	const char *dot = strrchr(path, '.');
	if (dot && !strchr(dot, '/')) {
		for (size_t i = 0; i < sizeof mime_types / sizeof mime_types[0]; i++) {
			if (strcasecmp(dot, mime_types[i].ext) == 0)
				return mime_types[i].type;
		}
	}
	return "application/octet-stream";
}

/* Rejects any segment that is empty-but-not-last, ".", ".." or starts with '.'. */
static int path_is_clean(const char *path)
{
	if (path[0] != '/' || strchr(path, '\\'))
		return 0;
	for (const char *seg = path + 1; *seg;) {
		const char *end = strchr(seg, '/');
		size_t n = end ? (size_t)(end - seg) : strlen(seg);
		if (n > 0 && seg[0] == '.')
			return 0;
		if (n == 0 && end)
			return 0; /* "//" */
		seg += n + (end ? 1 : 0);
	}
	return 1;
}

/* True when Accept-Encoding lists gzip (or *) without q=0. */
static int accepts_gzip(struct http_req *req)
{
	const char *ae = http_header(req, "Accept-Encoding");
	if (!ae)
		return 0;
	char *copy = xstrdup(ae), *save = NULL;
	int ok = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ' || *tok == '\t')
			tok++;
		size_t n = strcspn(tok, "; \t");
		if (!((n == 4 && strncasecmp(tok, "gzip", 4) == 0) || (n == 1 && tok[0] == '*')))
			continue;
		const char *q = strstr(tok + n, "q=");
		/* q=0, q=0.0, q=0.000 refuse; any other weight accepts. */
		ok = !(q && strspn(q + 2, "0.") == strlen(q + 2) && q[2] == '0');
		if (n == 4)
			break; /* an explicit gzip entry wins over '*' */
	}
	free(copy);
	return ok;
}

/* Opens root/rel (a regular file whose real path stays under root), filling st. */
static int open_inside(const char *root, const char *rel, struct stat *st)
{
	char *full = xasprintf("%s%s", root, rel);
	char real[PATH_MAX];
	int fd = -1;
	if (realpath(full, real) != NULL) {
		size_t rn = strlen(root);
		if (strncmp(real, root, rn) == 0 && real[rn] == '/') {
			fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
			if (fd >= 0 && (fstat(fd, st) != 0 || !S_ISREG(st->st_mode))) {
				close(fd);
				fd = -1;
			}
		}
	}
	free(full);
	return fd;
}

static void not_found(struct http_req *req)
{
	if (strncmp(req->path, "/api/", 5) == 0 || strcmp(req->path, "/api") == 0) {
		http_reply_error(req, 404, "not_found", "no such endpoint");
		return;
	}
	static const char page[] = "<!doctype html><meta charset=utf-8><title>Not found</title>"
	                           "<p>Page not found. <a href=\"/\">Home</a></p>\n";
	http_reply_text(req, 404, "text/html; charset=utf-8", page, sizeof page - 1);
}

/* Picks the file: "/" and ".../" mean index.html; "/shop/order" may mean "/shop/order.html". */
static int resolve(const char *root, const char *path, char **rel_out, struct stat *st)
{
	size_t n = strlen(path);
	char *rel = path[n - 1] == '/' ? xasprintf("%sindex.html", path) : xstrdup(path);
	int fd = open_inside(root, rel, st);
	if (fd < 0 && path[n - 1] != '/') {
		free(rel);
		rel = xasprintf("%s.html", path);
		fd = open_inside(root, rel, st);
		if (fd < 0) {
			free(rel);
			rel = xasprintf("%s/index.html", path);
			fd = open_inside(root, rel, st);
		}
	}
	if (fd < 0) {
		free(rel);
		return -1;
	}
	*rel_out = rel;
	return fd;
}

/* The folder's real path, resolved once at start: every file's real path must lie below it. */
static char static_root[PATH_MAX];

int http_static_init(const char *static_dir)
{
	if (!realpath(static_dir, static_root)) {
		static_root[0] = '\0';
		return -1;
	}
	return 0;
}

void http_static_serve(struct http_req *req)
{
	const char *root = static_root;
	if (!root[0] || !path_is_clean(req->path)) {
		not_found(req);
		return;
	}
	struct stat st;
	char *rel = NULL;
	int fd = resolve(root, req->path, &rel, &st);
	if (fd < 0) {
		not_found(req);
		return;
	}
	const char *type = mime_for(rel);
	int is_html = strncmp(type, "text/html", 9) == 0;
	if (accepts_gzip(req)) {
		char *gz = xasprintf("%s.gz", rel);
		struct stat gst;
		int gfd = open_inside(root, gz, &gst);
		free(gz);
		if (gfd >= 0) {
			close(fd);
			fd = gfd;
			st = gst;
			http_add_header(req, "Content-Encoding", "gzip");
		}
	}
	free(rel);
	http_add_header(req, "Vary", "Accept-Encoding");
	char etag[80];
	snprintf(etag, sizeof etag, "\"%llx-%llx-%llx\"", (unsigned long long)st.st_size,
	         (unsigned long long)st.st_mtime, (unsigned long long)st.st_ino);
	http_add_header(req, "ETag", etag);
	/* Pages revalidate each time so a deploy shows at once; assets may be cached a while. */
	http_add_header(req, "Cache-Control", is_html ? "no-cache" : "public, max-age=3600");
	const char *inm = http_header(req, "If-None-Match");
	if (inm && strstr(inm, etag)) {
		close(fd);
		http_reply_text(req, 304, type, "", 0);
		return;
	}
	http_reply_fd(req, 200, type, fd, (uint64_t)st.st_size);
}
