/* Fuzz target: query strings, urlencoded forms and gateway notifies (kv_parse). Checks the
 * pair count, that failure leaves nothing behind, and that re-encoding the parsed pairs parses
 * back to the same list. */
#include <string.h>

#include "cardshop/kv.h"
#include "cardshop/util.h"
#include "fuzz.h"

static size_t count_segments(const char *s, size_t n)
{
	size_t count = 0, len = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '&') {
			count += len > 0;
			len = 0;
		} else {
			len++;
		}
	}
	return count;
}

static void encode(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			buf_append(b, p, 1);
		} else {
			char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			buf_append(b, esc, 3);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct kvlist l;
	if (kv_parse(s, size, &l) != 0) {
		FUZZ_CHECK(l.items == NULL && l.count == 0);
		return 0;
	}
	FUZZ_CHECK(l.count == count_segments(s, size));
	struct buf again;
	buf_init(&again);
	for (size_t i = 0; i < l.count; i++) {
		FUZZ_CHECK(l.items[i].name && l.items[i].value);
		FUZZ_CHECK(strlen(l.items[i].name) + strlen(l.items[i].value) <= size);
		/* Lookup finds something for every name present (the first copy). */
		FUZZ_CHECK(kv_get(&l, l.items[i].name) != NULL);
		if (i)
			buf_puts(&again, "&");
		encode(&again, l.items[i].name);
		buf_puts(&again, "=");
		encode(&again, l.items[i].value);
	}
	struct kvlist back;
	FUZZ_CHECK(kv_parse(buf_cstr(&again), again.len, &back) == 0);
	FUZZ_CHECK(back.count == l.count);
	for (size_t i = 0; i < l.count; i++) {
		FUZZ_CHECK(strcmp(back.items[i].name, l.items[i].name) == 0);
		FUZZ_CHECK(strcmp(back.items[i].value, l.items[i].value) == 0);
	}
	kv_free(&back);
	buf_cleanup(&again);
	kv_free(&l);
	return 0;
}
