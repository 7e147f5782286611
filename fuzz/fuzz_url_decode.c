/* Fuzz target: percent-decoding of paths and form fields (kv_url_decode), in both '+' modes,
 * against a small reference decoder written separately here. */
#include <ctype.h>
#include <string.h>

#include "cardshop/kv.h"
#include "fuzz.h"

static int hexdigit(unsigned char c)
{
	if (!isxdigit(c))
		return -1;
	return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

/* -1 when the input must be refused; otherwise the decoded length, bytes in out. */
static long reference(const uint8_t *s, size_t n, int plus, uint8_t *out)
{
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == 0)
			return -1;
		if (s[i] != '%') {
			out[j++] = plus && s[i] == '+' ? ' ' : s[i];
			continue;
		}
		if (n - i < 3)
			return -1;
		int hi = hexdigit(s[i + 1]), lo = hexdigit(s[i + 2]);
		if (hi < 0 || lo < 0 || (hi | lo) == 0)
			return -1;
		out[j++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return (long)j;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *want = malloc(size + 1);
	FUZZ_CHECK(want != NULL);
	for (int plus = 0; plus <= 1; plus++) {
		long wlen = reference(data, size, plus, want);
		char *out = NULL;
		size_t outlen = (size_t)-1;
		int rc = kv_url_decode((const char *)data, size, plus, &out, &outlen);
		FUZZ_CHECK((rc == 0) == (wlen >= 0));
		if (rc != 0)
			continue;
		FUZZ_CHECK(out != NULL);
		FUZZ_CHECK(outlen == (size_t)wlen && outlen <= size);
		FUZZ_CHECK(memcmp(out, want, outlen) == 0);
		FUZZ_CHECK(out[outlen] == '\0');
		FUZZ_CHECK(memchr(out, 0, outlen) == NULL);
		free(out);
	}
	free(want);
	return 0;
}
