/* Small shared helpers: aborting allocators, a growable byte buffer, time. */
#include "cardshop/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static void oom(void)
{
	fputs("{\"level\":\"fatal\",\"msg\":\"out of memory\"}\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t count, size_t n)
{
	void *p = calloc(count ? count : 1, n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom();
	return q;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	struct buf b;
	va_list ap;
	buf_init(&b);
	char probe[1];
	va_start(ap, fmt);
	int n = vsnprintf(probe, sizeof probe, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom();
	b.data = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(b.data, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return b.data;
}

void buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void buf_cleanup(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

static void buf_reserve(struct buf *b, size_t extra)
{
	size_t need;
	if (__builtin_add_overflow(b->len, extra, &need) || __builtin_add_overflow(need, 1, &need))
		oom();
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need) {
		if (__builtin_mul_overflow(cap, 2, &cap))
			oom();
	}
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void buf_append(struct buf *b, const void *data, size_t n)
{
	buf_reserve(b, n);
	if (n)
		memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char probe[1];
	va_start(ap, fmt);
	int n = vsnprintf(probe, sizeof probe, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

const char *buf_cstr(struct buf *b)
{
	buf_reserve(b, 0);
	b->data[b->len] = '\0';
	return b->data;
}

char *buf_release(struct buf *b)
{
	buf_cstr(b);
	char *p = b->data;
	buf_init(b);
	return p;
}

int64_t util_now(void)
{
	return (int64_t)time(NULL);
}

int64_t util_now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int util_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int util_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	if (!s || !*s)
		return -1;
	const char *p = s;
	if (*p == '-' || *p == '+')
		p++;
	if (*p < '0' || *p > '9')
		return -1;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int util_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		unsigned char c = p[i];
		if (c < 0x80) {
			if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)
				return 0;
			i++;
			continue;
		}
		size_t len;
		uint32_t cp;
		if ((c & 0xe0) == 0xc0) {
			len = 2;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (i + len > n)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		/* Reject overlong forms, surrogates and values past U+10FFFF. */
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && cp < 0x10000) || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return 0;
		i += len;
	}
	return 1;
}

/* Bytes in the valid multi-byte character at p (lead byte >= 0x80), or 0. */
static size_t utf8_char_len(const unsigned char *p, size_t left)
{
	size_t len = (p[0] & 0xe0) == 0xc0   ? 2
	             : (p[0] & 0xf0) == 0xe0 ? 3
	             : (p[0] & 0xf8) == 0xf0 ? 4
	                                     : 0;
	if (len == 0 || len > left)
		return 0;
	return util_utf8_valid((const char *)p, len) ? len : 0;
}

char *util_utf8_scrub(const char *s)
{
	struct buf b;
	buf_init(&b);
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0;
	while (i < n) {
		size_t len = p[i] < 0x80 ? 1 : utf8_char_len(p + i, n - i);
		if (len == 0) {
			buf_puts(&b, "\xef\xbf\xbd"); /* U+FFFD for each stray byte */
			i++;
			continue;
		}
		buf_append(&b, s + i, len);
		i += len;
	}
	return buf_release(&b);
}

size_t util_utf8_prefix(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);
	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--; /* s[n] continues a character: the cut goes before that character */
	return n;
}

size_t util_utf8_len(const char *s, size_t n)
{
	size_t count = 0;
	for (size_t i = 0; i < n; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			count++;
	}
	return count;
}

int util_url_host_is_loopback(const char *url)
{
	const char *p = strstr(url, "://");
	if (!p)
		return 0;
	p += 3;
	/* The authority ends at the first / ? or #; user:password@ is what comes before its
	 * last @ (so "http://evil#@127.0.0.1/" names the host evil, not 127.0.0.1). */
	size_t auth = strcspn(p, "/?#");
	for (size_t i = auth; i > 0; i--) {
		if (p[i - 1] == '@') {
			p += i;
			break;
		}
	}
	char host[64];
	size_t n;
	if (*p == '[') {
		n = strcspn(p + 1, "]");
		p++;
	} else {
		n = strcspn(p, ":/?#");
	}
	if (n == 0 || n >= sizeof host)
		return 0;
	memcpy(host, p, n);
	host[n] = '\0';
	unsigned char a[16];
	if (inet_pton(AF_INET, host, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, host, a) == 1) {
		static const unsigned char one[16] = {[15] = 1};
		return memcmp(a, one, 16) == 0;
	}
	return strcmp(host, "localhost") == 0;
}

/* Trims spaces and tabs at both ends of [*s, *e). */
static void trim_span(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

/* addr-spec as we accept it: one @, something each side, no spaces, controls, <>()",;\. */
static int addr_ok(const char *a, size_t n)
{
	const char *at = memchr(a, '@', n);
	if (!at || at == a || at == a + n - 1 || memchr(at + 1, '@', (size_t)(a + n - at - 1)))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)a[i];
		if (c <= ' ' || c == 0x7f || strchr("<>()\",;\\[]", c))
			return 0;
	}
	return 1;
}

int util_mail_from_parse(const char *from, char **name, char **addr)
{
	*name = *addr = NULL;
	const char *s = from, *e = from + strlen(from);
	trim_span(&s, &e);
	const char *lt = memchr(s, '<', (size_t)(e - s));
	const char *ns = s, *ne = s, *as = s, *ae = e;
	if (lt) {
		if (e[-1] != '>')
			return -1;
		ne = lt;
		as = lt + 1;
		ae = e - 1;
		trim_span(&ns, &ne);
		if (ne - ns >= 2 && *ns == '"' && ne[-1] == '"') { /* a quoted display name */
			ns++;
			ne--;
		}
	}
	if (!addr_ok(as, (size_t)(ae - as)) || memchr(ns, '"', (size_t)(ne - ns)) ||
	    !util_utf8_valid(ns, (size_t)(ne - ns)) || memchr(ns, '\r', (size_t)(ne - ns)) ||
	    memchr(ns, '\n', (size_t)(ne - ns)))
		return -1;
	*name = xstrndup(ns, (size_t)(ne - ns));
	*addr = xstrndup(as, (size_t)(ae - as));
	return 0;
}

void util_memory_tune(long cores)
{
	/* Every glibc arena keeps what its threads freed: with an arena per thread (up to 8 a
	 * core), a burst on 36 threads stayed resident as 4 arenas of 6-43 MiB. */
	mallopt(M_ARENA_MAX, (int)(cores > 2 ? cores : 2));
	/* A fixed threshold: glibc's sliding one rises after a big block is freed, so the next
	 * argon2 block came from an arena and stayed there. */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
}

void util_memory_trim(int64_t period_s)
{
	static _Atomic int64_t last;
	int64_t now = util_now_usec() / 1000000;
	int64_t was = atomic_load(&last);
	if (period_s > 0 && now - was < period_s)
		return;
	if (!atomic_compare_exchange_strong(&last, &was, now))
		return; /* another thread is trimming */
	malloc_trim(0);
}

/* A link the shop's footer may show: one of the schemes buyers' browsers open safely. */
int util_contact_url_ok(const char *s)
{
	static const char *const schemes[] = {"https://", "http://", "mailto:", "tg://"};
	size_t i, n = sizeof schemes / sizeof schemes[0];
	for (i = 0; i < n; i++) {
		size_t l = strlen(schemes[i]);
		if (strncasecmp(s, schemes[i], l) == 0 && s[l] != '\0')
			break;
	}
	if (i == n)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p <= ' ' || *p == 0x7f || strchr("\"'<>\\`", *p))
			return 0;
	}
	return 1;
}
