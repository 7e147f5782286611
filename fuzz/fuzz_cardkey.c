/* Fuzz target: the card-key upload parser. It goes through cardkey_seal_text (shop/internal.h),
 * the part of cardkey_import that reads the upload; the rest is a plain insert loop, and skipping
 * the database keeps this fast enough for libFuzzer. Each sealed key must decrypt to a trimmed,
 * valid line whose lookup hash matches, and the counts must match a reference reading. */
#include <string.h>

#include "../src/shop/internal.h"
#include "cardshop/sec.h"
#include "fuzz.h"

static int blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Reference: the number of lines that are keys and that are rejected. */
static void reference(const char *s, size_t n, size_t *keys, int64_t *rejected)
{
	*keys = 0;
	*rejected = 0;
	if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
		s += 3;
		n -= 3;
	}
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '\n')
			continue;
		if (i == n && start == n)
			break; /* no line after a final newline */
		size_t a = start, b = i;
		while (b > a && blank(s[b - 1]))
			b--;
		while (a < b && blank(s[a]))
			a++;
		if (b > a) {
			if (b - a <= 4096 && util_utf8_valid(s + a, b - a) &&
			    !memchr(s + a, '\t', b - a))
				(*keys)++;
			else
				(*rejected)++;
		}
		start = i + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		static const unsigned char secret[32] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
		                                         7, 7, 7, 7, 7, 9, 9, 9, 9, 9, 9,
		                                         9, 9, 9, 9, 9, 9, 9, 9, 9, 9};
		sec_init_with(secret);
		ready = 1;
	}
	const char *text = (const char *)data;
	size_t count = 0;
	int64_t rejected = 0;
	struct sealed_key *keys = cardkey_seal_text(text, size, &count, &rejected);
	size_t want_keys;
	int64_t want_rejected;
	reference(text, size, &want_keys, &want_rejected);
	FUZZ_CHECK(count == want_keys);
	FUZZ_CHECK(rejected == want_rejected);
	for (size_t i = 0; i < count; i++) {
		char *plain = NULL;
		size_t n = 0;
		FUZZ_CHECK(sec_decrypt(keys[i].box, keys[i].boxlen, &plain, &n) == 0);
		FUZZ_CHECK(n >= 1 && n <= 4096);
		FUZZ_CHECK(util_utf8_valid(plain, n));
		FUZZ_CHECK(!blank(plain[0]) && !blank(plain[n - 1]));
		FUZZ_CHECK(memchr(plain, '\t', n) == NULL && memchr(plain, '\n', n) == NULL);
		unsigned char hash[32];
		sec_lookup_hash(plain, n, hash);
		FUZZ_CHECK(memcmp(hash, keys[i].hash, 32) == 0);
		sec_wipe(plain, n);
		free(plain);
	}
	cardkey_sealed_free(keys, count);
	return 0;
}
