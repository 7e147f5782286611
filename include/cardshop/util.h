/* Small shared helpers: aborting allocators, a growable byte buffer, time. */
#ifndef CARDSHOP_UTIL_H
#define CARDSHOP_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Allocation failure is not recoverable for a server: these abort instead of returning NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a heap string (caller frees) formatted like printf. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct buf {
	char *data; /* always NUL-terminated when len > 0 or after buf_cstr */
	size_t len;
	size_t cap;
};

void buf_init(struct buf *b);
void buf_cleanup(struct buf *b);
void buf_append(struct buf *b, const void *data, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns the contents as a C string; the buffer keeps ownership. */
const char *buf_cstr(struct buf *b);
/* Hands the contents to the caller (who frees them) and empties the buffer. */
char *buf_release(struct buf *b);

int64_t util_now(void);      /* UTC seconds */
int64_t util_now_usec(void); /* monotonic microseconds, for durations */

/* The allocator's policy for a long-running server with many threads: few arenas, and big
 * blocks (argon2's 19 MiB, upload buffers) always mapped so that free returns them. Call once,
 * before threads start; cores: the thread pools' parallelism. */
void util_memory_tune(long cores);
/* Gives memory freed by earlier bursts back to the system (at most every period_s seconds;
 * 0 = now). Cheap when nothing is free. */
void util_memory_trim(int64_t period_s);

/* 1 when s is a link the shop may show buyers (https://, http://, mailto:, tg:// and no
 * quote, space or angle bracket), else 0. */
int util_contact_url_ok(const char *s);

/* Strict decimal parse of the whole string into [min, max]; 0 on success, -1 otherwise. */
int util_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/* The value of one hex digit (either case), or -1 when c is not one. */
int util_hex_digit(int c);
/* 1 when s is n bytes of valid UTF-8 without NUL or C0 controls other than \t\r\n. */
int util_utf8_valid(const char *s, size_t n);
/* A copy of s (caller frees) with every byte that is not part of valid UTF-8 replaced by
 * U+FFFD, so text a client sent can always be shown. */
char *util_utf8_scrub(const char *s);
/* Length of the longest prefix of s of at most max bytes that does not end inside a UTF-8
 * character. */
size_t util_utf8_prefix(const char *s, size_t max);
/* Number of code points in valid UTF-8. */
size_t util_utf8_len(const char *s, size_t n);

/* Splits an RFC 5322 mailbox ("addr@example.com" or "Display Name <addr@example.com>", the
 * name optionally quoted) into its name ("" when none) and address, both malloc'd for the
 * caller; -1 (nothing allocated) when it is not one. */
int util_mail_from_parse(const char *from, char **name, char **addr);

/* 1 when the URL's host is this machine (127.0.0.0/8, localhost, ::1): traffic there cannot
 * be read or changed on a network. */
int util_url_host_is_loopback(const char *url);

#endif
