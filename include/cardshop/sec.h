/* Security primitives on OpenSSL and libargon2: randomness, tokens, constant-time compare,
 * the instance secret and keys derived from it, AES-256-GCM, HMAC, password hashing, rate
 * limits. No function here logs a secret. */
#ifndef CARDSHOP_SEC_H
#define CARDSHOP_SEC_H

#include <stddef.h>
#include <stdint.h>

/* Loads the 32-byte instance secret from path (hex, one line), creating it with mode 0600
 * (and its folder) when missing. Derives the sub-keys with HKDF-SHA256. -1 with message. */
int sec_init(const char *secret_file, char *err, size_t errlen);
/* For tests: derive from a given 32-byte secret instead of a file. */
void sec_init_with(const unsigned char secret[32]);

/* Cryptographically random bytes; aborts if the CSPRNG fails. */
void sec_random(void *out, size_t n);
/* nbytes random bytes as lower-case hex into out (needs 2*nbytes+1). */
void sec_random_hex(char *out, size_t nbytes);
/* Lower-case hex of data into out (needs 2*n+1). */
void sec_hex(const unsigned char *data, size_t n, char *out);

/* Constant-time equality of two byte strings (lengths are compared too, without early exit
 * on content). */
int sec_equal(const void *a, size_t alen, const void *b, size_t blen);
int sec_streq(const char *a, const char *b);

/* Overwrites secret bytes in memory before they are freed. */
void sec_wipe(void *p, size_t n);

void sec_sha256(const void *data, size_t n, unsigned char out[32]);
/* HMAC-SHA256 with an explicit key. */
void sec_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
                     unsigned char out[32]);
/* HMAC-SHA256 with the instance's derived lookup key (duplicate detection of card keys). */
void sec_lookup_hash(const void *data, size_t n, unsigned char out[32]);
/* A derived, unforgeable token for a name (e.g. an order number): 32 hex chars + NUL. */
void sec_derive_token(const char *purpose, const char *name, char out[33]);
/* MD5 as lower-case hex (EPay's signature scheme). */
void sec_md5_hex(const void *data, size_t n, char out[33]);

/* AES-256-GCM with the instance's data key. Output: 12-byte nonce | ciphertext | 16-byte tag,
 * malloc'd, length in *outlen. Decrypt returns -1 when the tag does not verify. */
#define SEC_AEAD_OVERHEAD 28
unsigned char *sec_encrypt(const void *plain, size_t n, size_t *outlen);
int sec_decrypt(const unsigned char *box, size_t n, char **plain, size_t *plainlen);

/* argon2id password hashing (OWASP: m=19 MiB, t=2, p=1), PHC string format. */
char *sec_password_hash(const char *password);                   /* malloc'd */
int sec_password_verify(const char *hash, const char *password); /* 1 ok, 0 no */

/* Fixed-window rate limiter keyed by (bucket, key): allows `limit` hits per `window` seconds.
 * Returns 0 when allowed, otherwise the seconds until the window ends. Thread-safe. Memory is
 * fixed (keys are kept as a keyed hash); a refused hit stores nothing; a full table evicts the
 * entries with the fewest hits, so it keeps limiting. */
int64_t sec_rate_hit(const char *bucket, const char *key, int64_t limit, int64_t window);
/* Counts without consuming: the seconds to wait if over the limit, else 0. */
int64_t sec_rate_check(const char *bucket, const char *key, int64_t limit, int64_t window);
/* Gives back one hit taken by sec_rate_hit (an attempt that turned out fine). */
void sec_rate_undo(const char *bucket, const char *key);
/* Forgets the key (e.g. after a successful login). */
void sec_rate_reset(const char *bucket, const char *key);
/* Entries evicted so far from a full set of the table (for /metrics). */
uint64_t sec_rate_evictions(void);

/* The hits counted for (bucket, key) in its current window (0 when none). */
int64_t sec_rate_count(const char *bucket, const char *key);

/* ---- proof-of-work challenges (challenge.c) ----
 * A client solves a challenge by finding a decimal nonce such that SHA-256 of
 * "token:nonce" starts with at least the token's difficulty zero bits. */
#define SEC_CHALLENGE_MAX_BITS 22
#define SEC_CHALLENGE_TOKEN_MAX 96
/* A new token for route (e.g. "orders"), valid 5 minutes; difficulty clamped to 1..22. */
void sec_challenge_issue(const char *route, int difficulty, char out[SEC_CHALLENGE_TOKEN_MAX]);
void sec_challenge_issue_at(const char *route, int difficulty, int64_t now,
                            char out[SEC_CHALLENGE_TOKEN_MAX]);
/* Checks "token:nonce" for route: authentic, unexpired, at least min_difficulty, solved, and
 * not spent before (it is spent now). 0 accepted, -1 refused (also when the bounded record of
 * spent tokens has no room: it never fails open). Thread-safe. */
int sec_challenge_verify(const char *route, const char *answer, int min_difficulty);
int sec_challenge_verify_at(const char *route, const char *answer, int min_difficulty, int64_t now);
/* Leading zero bits of a hash. */
int sec_challenge_zero_bits(const unsigned char hash[32]);

enum sec_pressure { SEC_PRESSURE_ORDERS, SEC_PRESSURE_LOOKUPS, SEC_PRESSURE_KINDS };
/* Counts one event of kind; returns the rate per minute over the last minute. Thread-safe. */
int64_t sec_pressure_note(enum sec_pressure kind);
/* The rate per minute of kind over the last minute, counting nothing. Thread-safe. */
int64_t sec_pressure_rate(enum sec_pressure kind);
struct buf;
/* cardshop_challenge_pressure (the rate, a gauge) and cardshop_challenge_pressure_events_total
 * per route, with HELP and TYPE, appended to out. */
void sec_pressure_metrics_render(struct buf *out);
/* The difficulty to ask for (0: no challenge): base past threshold, one bit more per doubling
 * of the rate; capped at 22. */
int sec_challenge_level_rate(int64_t rate, int64_t threshold, int base);
/* The same for failed sign-ins: base once failures reach threshold, one bit more per
 * threshold failures beyond; capped at 22. */
int sec_challenge_level_failures(int64_t failures, int64_t threshold, int base);

/* ---- TOTP second factors (totp.c): RFC 6238, HMAC-SHA1, 6 digits, 30 s ---- */
#define SEC_TOTP_PERIOD 30
/* The code of one 30-second step (0..999999). */
uint32_t sec_totp_code(const unsigned char *key, size_t keylen, int64_t step);
/* The step code (6 digits) belongs to among now's step and one either side, and later than
 * after_step (a code works once); -1 when none. */
int64_t sec_totp_match(const unsigned char *key, size_t keylen, const char *code, int64_t now,
                       int64_t after_step);
/* RFC 4648 base32 without padding into out (needs (8*n+4)/5+1 bytes). */
void sec_base32(const unsigned char *data, size_t n, char *out);

#endif
