/* Fuzz target: strict integers from untrusted parameters (util_parse_i64: ids, pages, sandbox
 * amounts, CIDR lengths) against a reference, over a few bounds taken from the input. */
#include <string.h>

#include "cardshop/util.h"
#include "fuzz.h"

static int reference(const char *s, int64_t min, int64_t max, int64_t *out)
{
	const char *p = s;
	int neg = 0;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (*p < '0' || *p > '9')
		return -1;
	__int128 v = 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (*p - '0');
		if (v > (__int128)INT64_MAX + 1)
			v = (__int128)INT64_MAX + 2; /* saturate: out of every range */
	}
	if (*p != '\0')
		return -1;
	if (neg)
		v = -v;
	if (v < min || v > max)
		return -1;
	*out = (int64_t)v;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	static const int64_t bounds[][2] = {
	    {INT64_MIN, INT64_MAX}, {0, INT64_MAX}, {1, 65535}, {0, 128}, {-10, 10},
	};
	for (size_t b = 0; b < sizeof bounds / sizeof bounds[0]; b++) {
		int64_t got = 7, want = 8;
		int rc = util_parse_i64(s, bounds[b][0], bounds[b][1], &got);
		int wrc = reference(s, bounds[b][0], bounds[b][1], &want);
		FUZZ_CHECK(rc == wrc);
		FUZZ_CHECK(rc == 0 ? got == want : got == 7);
	}
	free(s);
	return 0;
}
