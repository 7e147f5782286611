/* Key-value lists from urlencoded text (query strings, forms, gateway notifies) and percent
 * decoding: plain data, shared by http/ and pay/. */
#include "cardshop/kv.h"

#include <stdlib.h>
#include <string.h>

#include "cardshop/util.h"

int kv_url_decode(const char *s, size_t len, int plus_is_space, char **out, size_t *outlen)
{
	char *d = xmalloc(len + 1);
	size_t j = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '%') {
			int hi = i + 2 < len ? util_hex_digit(s[i + 1]) : -1;
			int lo = i + 2 < len ? util_hex_digit(s[i + 2]) : -1;
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				free(d);
				return -1;
			}
			d[j++] = (char)(hi * 16 + lo);
			i += 2;
		} else if (c == '\0') {
			free(d);
			return -1;
		} else {
			d[j++] = (plus_is_space && c == '+') ? ' ' : c;
		}
	}
	d[j] = '\0';
	*out = d;
	if (outlen)
		*outlen = j;
	return 0;
}

void kv_free(struct kvlist *list)
{
	for (size_t i = 0; i < list->count; i++) {
		free(list->items[i].name);
		free(list->items[i].value);
	}
	free(list->items);
	list->items = NULL;
	list->count = 0;
}

int kv_parse(const char *s, size_t len, struct kvlist *out)
{
	out->items = NULL;
	out->count = 0;
	size_t cap = 0, i = 0;
	while (i < len) {
		const char *pair = s + i;
		const char *amp = memchr(pair, '&', len - i);
		size_t plen = amp ? (size_t)(amp - pair) : len - i;
		i += plen + 1;
		if (plen == 0)
			continue;
		const char *eq = memchr(pair, '=', plen);
		size_t nlen = eq ? (size_t)(eq - pair) : plen;
		struct kv kv;
		if (kv_url_decode(pair, nlen, 1, &kv.name, NULL) != 0)
			goto bad;
		const char *v = eq ? eq + 1 : "";
		size_t vlen = eq ? plen - nlen - 1 : 0;
		if (kv_url_decode(v, vlen, 1, &kv.value, NULL) != 0) {
			free(kv.name);
			goto bad;
		}
		if (out->count == cap) {
			cap = cap ? cap * 2 : 8;
			out->items = xrealloc(out->items, cap * sizeof *out->items);
		}
		out->items[out->count++] = kv;
	}
	return 0;
bad:
	kv_free(out);
	return -1;
}

const char *kv_get(const struct kvlist *list, const char *name)
{
	for (size_t i = 0; i < list->count; i++) {
		if (strcmp(list->items[i].name, name) == 0)
			return list->items[i].value;
	}
	return NULL;
}
