/* Key-value lists from urlencoded text and percent decoding: plain data, no request. */
#ifndef CARDSHOP_KV_H
#define CARDSHOP_KV_H

#include <stddef.h>

/* A decoded name=value list (query string, urlencoded form, gateway notify). */
struct kv {
	char *name;
	char *value;
};
struct kvlist {
	struct kv *items;
	size_t count;
};

/* Parses "a=1&b=2" ('+' is a space, %XX decoded) into out (kv_free it). -1 when malformed (a
 * bad escape or a %00): out is then empty. */
int kv_parse(const char *s, size_t len, struct kvlist *out);
/* The first value named name, borrowed from list; NULL when absent. */
const char *kv_get(const struct kvlist *list, const char *name);
void kv_free(struct kvlist *list);
/* Percent-decoding; -1 on NUL or a bad escape. *out is malloc'd; outlen may be NULL. */
int kv_url_decode(const char *s, size_t len, int plus_is_space, char **out, size_t *outlen);

#endif
