/* Fuzz target: money amounts from gateway notifies (pay_parse_money), against the grammar
 * digits [ "." 1*2digits ] with the documented bound, plus a format/parse round trip. */
#include <string.h>

#include "cardshop/pay.h"
#include "fuzz.h"

#define MAJOR_MAX (INT64_MAX / 100 - 1)

/* Reference: 0 and the value when s is an amount, -1 otherwise. */
static int reference(const char *s, int64_t *out)
{
	const char *p = s;
	__int128 major = 0;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		major = major * 10 + (*p - '0');
		if (major > MAJOR_MAX)
			major = (__int128)MAJOR_MAX + 1; /* saturate: only "too big" matters */
	}
	int64_t cents = 0;
	if (*p == '.') {
		p++;
		size_t d = strspn(p, "0123456789");
		if (d < 1 || d > 2)
			return -1;
		cents = (p[0] - '0') * 10 + (d == 2 ? p[1] - '0' : 0);
		p += d;
	}
	if (*p != '\0' || major > MAJOR_MAX)
		return -1;
	*out = (int64_t)major * 100 + cents;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	int64_t got = -42, want = -43;
	int rc = pay_parse_money(s, &got);
	int wrc = reference(s, &want);
	FUZZ_CHECK(rc == wrc);
	if (rc == 0) {
		FUZZ_CHECK(got == want && got >= 0);
		char text[32];
		int64_t back = -1;
		pay_format_money(got, text);
		FUZZ_CHECK(pay_parse_money(text, &back) == 0 && back == got);
	} else {
		FUZZ_CHECK(got == -42);
	}
	free(s);
	return 0;
}
