/* Fuzz target: UTF-8 validation of untrusted text (util_utf8_valid, util_utf8_len) against a
 * reference built from the well-formed byte sequence table of the Unicode standard (3-7). */
#include "cardshop/util.h"
#include "fuzz.h"

/* Length of the well-formed sequence at s, or 0. */
static size_t wellformed(const uint8_t *s, size_t n)
{
	static const struct {
		uint8_t lo0, hi0, lo1, hi1;
		size_t len;
	} rows[] = {
	    {0x00, 0x7f, 0, 0, 1},       {0xc2, 0xdf, 0x80, 0xbf, 2}, {0xe0, 0xe0, 0xa0, 0xbf, 3},
	    {0xe1, 0xec, 0x80, 0xbf, 3}, {0xed, 0xed, 0x80, 0x9f, 3}, {0xee, 0xef, 0x80, 0xbf, 3},
	    {0xf0, 0xf0, 0x90, 0xbf, 4}, {0xf1, 0xf3, 0x80, 0xbf, 4}, {0xf4, 0xf4, 0x80, 0x8f, 4},
	};
	for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
		if (s[0] < rows[r].lo0 || s[0] > rows[r].hi0)
			continue;
		size_t len = rows[r].len;
		if (len > n)
			return 0;
		if (len > 1 && (s[1] < rows[r].lo1 || s[1] > rows[r].hi1))
			return 0;
		for (size_t k = 2; k < len; k++) {
			if (s[k] < 0x80 || s[k] > 0xbf)
				return 0;
		}
		return len;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int want = 1;
	size_t points = 0;
	for (size_t i = 0; i < size;) {
		size_t len = wellformed(data + i, size - i);
		uint8_t c = data[i];
		if (len == 0 || (len == 1 && ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') ||
		                              c == 0x7f))) {
			want = 0;
			break;
		}
		points++;
		i += len;
	}
	const char *s = (const char *)data;
	FUZZ_CHECK(util_utf8_valid(s, size) == want);
	if (want)
		FUZZ_CHECK(util_utf8_len(s, size) == points);
	FUZZ_CHECK(util_utf8_len(s, size) <= size);
	return 0;
}
