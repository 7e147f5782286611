/* Fuzz target: the X-Challenge header ("token:nonce", sec_challenge_verify). Properties: bytes
 * we did not issue are never accepted, on any route; a token we issued and that was solved is
 * accepted once, on its own route only, and never again whatever nonce follows it. */
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "cardshop/sec.h"
#include "fuzz.h"

#define NOW 1800000000LL

static const unsigned char secret[32] = {7, 1, 7, 2,  7, 3,  7, 4,  7, 5,  7, 6,  7, 7,  7, 8,
                                         7, 9, 7, 10, 7, 11, 7, 12, 7, 13, 7, 14, 7, 15, 7, 16};

/* A nonce that solves token at difficulty 1..2 (a few tries). */
static void solve(const char *token, char *answer, size_t n)
{
	for (unsigned long nonce = 0;; nonce++) {
		snprintf(answer, n, "%s:%lu", token, nonce);
		unsigned char h[32];
		SHA256((const unsigned char *)answer, strlen(answer), h);
		if (sec_challenge_zero_bits(h) >= 2)
			return;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready, issued;
	if (!ready) {
		sec_init_with(secret);
		ready = 1;
	}
	char *s = fuzz_cstr(data, size);
	static const char *routes[] = {"orders", "lookup", "login"};
	for (int r = 0; r < 3; r++)
		FUZZ_CHECK(sec_challenge_verify_at(routes[r], s, 0, NOW) != 0);
	/* The record of spent tokens is bounded: a long libFuzzer run checks the rest. */
	if (issued++ < 1000) {
		char token[SEC_CHALLENGE_TOKEN_MAX], answer[SEC_CHALLENGE_TOKEN_MAX + 32];
		sec_challenge_issue_at("orders", 2, NOW, token);
		solve(token, answer, sizeof answer);
		FUZZ_CHECK(sec_challenge_verify_at("lookup", answer, 0, NOW) != 0);
		FUZZ_CHECK(sec_challenge_verify_at("orders", answer, 0, NOW) == 0);
		FUZZ_CHECK(sec_challenge_verify_at("orders", answer, 0, NOW) != 0);
		char again[SEC_CHALLENGE_TOKEN_MAX + 64];
		snprintf(again, sizeof again, "%s:%.24s", token, s);
		FUZZ_CHECK(sec_challenge_verify_at("orders", again, 0, NOW) != 0);
	}
	free(s);
	return 0;
}
