/* TOTP second factors (RFC 6238 over RFC 4226 HOTP: HMAC-SHA1, 6 digits, 30-second steps) and
 * the base32 text (RFC 4648, no padding) authenticator apps take the secret in. */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cardshop/sec.h"

uint32_t sec_totp_code(const unsigned char *key, size_t keylen, int64_t step)
{
	unsigned char msg[8], mac[EVP_MAX_MD_SIZE];
	unsigned maclen = 0;
	uint64_t s = (uint64_t)step;
	for (int i = 7; i >= 0; i--, s >>= 8)
		msg[i] = (unsigned char)(s & 0xff);
	if (!HMAC(EVP_sha1(), key, (int)keylen, msg, sizeof msg, mac, &maclen) || maclen != 20)
		return UINT32_MAX; /* never a 6-digit code: nothing matches */
	/* RFC 4226 5.3 dynamic truncation */
	unsigned off = mac[19] & 0x0f;
	uint32_t bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
	               ((uint32_t)mac[off + 2] << 8) | (uint32_t)mac[off + 3];
	return bin % 1000000u;
}

int64_t sec_totp_match(const unsigned char *key, size_t keylen, const char *code, int64_t now,
                       int64_t after_step)
{
	if (!code || strlen(code) != 6 || strspn(code, "0123456789") != 6)
		return -1;
	int64_t step = now / SEC_TOTP_PERIOD, found = -1;
	/* Every candidate is computed and compared, so the time taken says nothing of which. */
	for (int64_t s = step - 1; s <= step + 1; s++) {
		char want[8];
		snprintf(want, sizeof want, "%06u", (unsigned)sec_totp_code(key, keylen, s));
		if (sec_streq(want, code) && s > after_step && found < 0)
			found = s;
	}
	return found;
}

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

void sec_base32(const unsigned char *data, size_t n, char *out)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | data[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = b32[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = b32[(acc << (5 - bits)) & 31];
	out[o] = '\0';
}
