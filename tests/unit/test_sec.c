/* Unit tests of the security module: encodings, compare, hashes and MACs against published
 * vectors, key derivation, AEAD, passwords, the secret file, the rate limiter and the
 * proof-of-work challenge. */
#include <check.h>
#include <ctype.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cardshop/sec.h"

static const unsigned char secret_a[32] = {
    1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
};
static const unsigned char secret_b[32] = {
    32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17,
    16, 15, 14, 13, 12, 11, 10, 9,  8,  7,  6,  5,  4,  3,  2,  1,
};

static void setup_keys(void)
{
	sec_init_with(secret_a);
}

static int is_lower_hex(const char *s)
{
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s) && (*s < 'a' || *s > 'f'))
			return 0;
	}
	return 1;
}

START_TEST(test_hex_and_random)
{
	const unsigned char bytes[] = {0x00, 0xab, 0xff, 0x10};
	char hex[9];
	sec_hex(bytes, sizeof bytes, hex);
	ck_assert_str_eq(hex, "00abff10");

	char a[33], b[33], big[201], none[1];
	sec_random_hex(a, 16);
	sec_random_hex(b, 16);
	ck_assert_uint_eq(strlen(a), 32);
	ck_assert(is_lower_hex(a));
	ck_assert_str_ne(a, b);
	sec_random_hex(big, 100);
	ck_assert_uint_eq(strlen(big), 200);
	ck_assert(is_lower_hex(big));
	sec_random_hex(none, 0);
	ck_assert_str_eq(none, "");

	unsigned char r1[32] = {0}, r2[32] = {0};
	sec_random(r1, sizeof r1);
	sec_random(r2, sizeof r2);
	ck_assert(memcmp(r1, r2, sizeof r1) != 0);
}
END_TEST

START_TEST(test_equal)
{
	ck_assert_int_eq(sec_equal("abc", 3, "abc", 3), 1);
	ck_assert_int_eq(sec_equal("abc", 3, "abd", 3), 0);
	ck_assert_int_eq(sec_equal("abc", 3, "abcd", 4), 0);
	ck_assert_int_eq(sec_equal("abcd", 4, "abc", 3), 0);
	ck_assert_int_eq(sec_equal("", 0, "", 0), 1);
	ck_assert_int_eq(sec_equal("", 0, "a", 1), 0);
	ck_assert_int_eq(sec_streq("token", "token"), 1);
	ck_assert_int_eq(sec_streq("token", "tokeN"), 0);
	ck_assert_int_eq(sec_streq("token", "token2"), 0);
	ck_assert_int_eq(sec_streq(NULL, "x"), 0);
	ck_assert_int_eq(sec_streq("x", NULL), 0);
}
END_TEST

START_TEST(test_hashes_known_vectors)
{
	char md5[33];
	sec_md5_hex("", 0, md5);
	ck_assert_str_eq(md5, "d41d8cd98f00b204e9800998ecf8427e");
	sec_md5_hex("abc", 3, md5);
	ck_assert_str_eq(md5, "900150983cd24fb0d6963f7d28e17f72");

	unsigned char mac[32];
	char hex[65];
	const char *data = "what do ya want for nothing?";
	sec_hmac_sha256("Jefe", 4, data, strlen(data), mac);
	sec_hex(mac, sizeof mac, hex);
	ck_assert_str_eq(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

	unsigned char sha[32];
	sec_sha256("abc", 3, sha);
	sec_hex(sha, sizeof sha, hex);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

START_TEST(test_hkdf_deterministic)
{
	unsigned char h1[32], h2[32], h3[32];
	char t1[33], t2[33], t3[33];

	sec_init_with(secret_a);
	sec_lookup_hash("CARD-KEY-1", 10, h1);
	sec_derive_token("order", "O123", t1);
	ck_assert_uint_eq(strlen(t1), 32);
	ck_assert(is_lower_hex(t1));

	sec_init_with(secret_b);
	sec_lookup_hash("CARD-KEY-1", 10, h2);
	sec_derive_token("order", "O123", t2);
	ck_assert(memcmp(h1, h2, 32) != 0);
	ck_assert_str_ne(t1, t2);

	sec_init_with(secret_a);
	sec_lookup_hash("CARD-KEY-1", 10, h3);
	sec_derive_token("order", "O123", t3);
	ck_assert(memcmp(h1, h3, 32) == 0);
	ck_assert_str_eq(t1, t3);

	/* The lookup key is not the raw secret, and sub-keys are independent of each other. */
	unsigned char raw[32];
	sec_hmac_sha256(secret_a, 32, "CARD-KEY-1", 10, raw);
	ck_assert(memcmp(h1, raw, 32) != 0);
}
END_TEST

START_TEST(test_token_separation)
{
	char a[33], b[33], c[33], d[33];
	sec_derive_token("ab", "c", a);
	sec_derive_token("a", "bc", b);
	sec_derive_token("order", "O1", c);
	sec_derive_token("download", "O1", d);
	ck_assert_str_ne(a, b);
	ck_assert_str_ne(c, d);
}
END_TEST

static void roundtrip(size_t n)
{
	unsigned char *plain = malloc(n ? n : 1);
	for (size_t i = 0; i < n; i++)
		plain[i] = (unsigned char)(i * 7 + 3);
	size_t boxlen = 0;
	unsigned char *box = sec_encrypt(plain, n, &boxlen);
	ck_assert_uint_eq(boxlen, n + SEC_AEAD_OVERHEAD);
	char *out = NULL;
	size_t outlen = 99;
	ck_assert_int_eq(sec_decrypt(box, boxlen, &out, &outlen), 0);
	ck_assert_uint_eq(outlen, n);
	ck_assert(memcmp(out, plain, n) == 0);
	ck_assert_int_eq(out[n], '\0');
	free(out);
	free(box);
	free(plain);
}

START_TEST(test_aead_roundtrip)
{
	roundtrip(0);
	roundtrip(1);
	roundtrip(4096);
}
END_TEST

START_TEST(test_aead_fresh_nonce)
{
	size_t l1, l2;
	unsigned char *b1 = sec_encrypt("same key", 8, &l1);
	unsigned char *b2 = sec_encrypt("same key", 8, &l2);
	ck_assert_uint_eq(l1, l2);
	ck_assert(memcmp(b1, b2, 12) != 0);
	ck_assert(memcmp(b1, b2, l1) != 0);
	free(b1);
	free(b2);
}
END_TEST

START_TEST(test_aead_tamper)
{
	size_t len;
	unsigned char *box = sec_encrypt("CARD-0123456789-ABCDEF", 22, &len);
	/* Every byte matters: nonce, ciphertext and tag alike. */
	for (size_t i = 0; i < len; i++) {
		char *out = NULL;
		size_t outlen = 0;
		box[i] ^= 0x01;
		ck_assert_msg(sec_decrypt(box, len, &out, &outlen) == -1, "byte %zu", i);
		ck_assert_ptr_null(out);
		box[i] ^= 0x01;
	}
	char *out = NULL;
	size_t outlen = 0;
	ck_assert_int_eq(sec_decrypt(box, len, &out, &outlen), 0);
	ck_assert_str_eq(out, "CARD-0123456789-ABCDEF");
	free(out);
	free(box);
}
END_TEST

START_TEST(test_aead_truncated)
{
	size_t len;
	unsigned char *box = sec_encrypt("abc", 3, &len);
	char *out = NULL;
	size_t outlen = 0;
	for (size_t n = 0; n < len; n++)
		ck_assert_msg(sec_decrypt(box, n, &out, &outlen) == -1, "length %zu", n);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(sec_decrypt(box + 1, len - 1, &out, &outlen), -1);
	free(box);
}
END_TEST

START_TEST(test_aead_wrong_key)
{
	size_t len;
	unsigned char *box = sec_encrypt("secret", 6, &len);
	sec_init_with(secret_b);
	char *out = NULL;
	size_t outlen = 0;
	ck_assert_int_eq(sec_decrypt(box, len, &out, &outlen), -1);
	sec_init_with(secret_a);
	ck_assert_int_eq(sec_decrypt(box, len, &out, &outlen), 0);
	ck_assert_str_eq(out, "secret");
	free(out);
	free(box);
}
END_TEST

static void *aead_worker(void *arg)
{
	int *failures = arg;
	for (int i = 0; i < 500; i++) {
		char plain[32];
		int n = snprintf(plain, sizeof plain, "key-%p-%d", (void *)&plain, i);
		size_t len;
		unsigned char *box = sec_encrypt(plain, (size_t)n, &len);
		char *out = NULL;
		size_t outlen = 0;
		unsigned char mac[32];
		sec_lookup_hash(plain, (size_t)n, mac);
		if (sec_decrypt(box, len, &out, &outlen) != 0 || outlen != (size_t)n ||
		    memcmp(out, plain, outlen) != 0)
			(*failures)++;
		free(out);
		free(box);
	}
	return NULL;
}

START_TEST(test_aead_threads)
{
	pthread_t th[8];
	int failures[8] = {0};
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, aead_worker, &failures[i]), 0);
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(failures[i], 0);
	}
}
END_TEST

START_TEST(test_password)
{
	char *hash = sec_password_hash("correct horse");
	ck_assert_ptr_nonnull(hash);
	ck_assert_msg(strncmp(hash, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0, "%s", hash);
	ck_assert_int_eq(sec_password_verify(hash, "correct horse"), 1);
	ck_assert_int_eq(sec_password_verify(hash, "correct horsE"), 0);
	ck_assert_int_eq(sec_password_verify(hash, ""), 0);

	/* Salted: the same password hashes differently each time. */
	char *again = sec_password_hash("correct horse");
	ck_assert_str_ne(hash, again);
	ck_assert_int_eq(sec_password_verify(again, "correct horse"), 1);

	ck_assert_int_eq(sec_password_verify(NULL, "x"), 0);
	ck_assert_int_eq(sec_password_verify("", "x"), 0);
	ck_assert_int_eq(sec_password_verify("plaintext", "plaintext"), 0);
	ck_assert_int_eq(sec_password_verify("$argon2id$garbage", "x"), 0);
	ck_assert_int_eq(sec_password_verify("$argon2i$v=19$m=19456,t=2,p=1$AAAA$AAAA", "x"), 0);
	hash[strlen(hash) - 5] = '\0';
	ck_assert_int_eq(sec_password_verify(hash, "correct horse"), 0);
	free(again);
	free(hash);
}
END_TEST

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(chmod(path, 0600), 0); /* keep the mode warning out of the output */
}

START_TEST(test_secret_file)
{
	char dir[] = "/tmp/test_sec.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char sub[64], path[96], junk[96], shortf[96], upper[96];
	snprintf(sub, sizeof sub, "%s/data", dir);
	snprintf(path, sizeof path, "%s/secret.key", sub);
	snprintf(junk, sizeof junk, "%s/junk.key", dir);
	snprintf(shortf, sizeof shortf, "%s/short.key", dir);
	snprintf(upper, sizeof upper, "%s/upper.key", dir);
	char err[256] = "";

	ck_assert_msg(sec_init(path, err, sizeof err) == 0, "%s", err);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(st.st_size, 65);
	ck_assert_int_eq(stat(sub, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0700);
	char t1[33], t2[33];
	sec_derive_token("order", "O1", t1);

	sec_init_with(secret_b);
	ck_assert_msg(sec_init(path, err, sizeof err) == 0, "%s", err);
	sec_derive_token("order", "O1", t2);
	ck_assert_str_eq(t1, t2);

	/* Too open a mode is only warned about. */
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_msg(sec_init(path, err, sizeof err) == 0, "%s", err);

	write_file(junk, "this is not a hex secret at all, not even close to one. nope...\n");
	err[0] = '\0';
	ck_assert_int_eq(sec_init(junk, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "64 hex") != NULL, "%s", err);

	write_file(shortf, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n");
	ck_assert_int_eq(sec_init(shortf, err, sizeof err), -1);

	write_file(upper, "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF");
	ck_assert_msg(sec_init(upper, err, sizeof err) == 0, "%s", err);

	unlink(path);
	unlink(junk);
	unlink(shortf);
	unlink(upper);
	rmdir(sub);
	rmdir(dir);
}
END_TEST

START_TEST(test_rate_limit)
{
	ck_assert_int_eq(sec_rate_check("login", "alice", 3, 60), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(sec_rate_hit("login", "alice", 3, 60), 0);
	int64_t wait = sec_rate_hit("login", "alice", 3, 60);
	ck_assert_int_gt(wait, 0);
	ck_assert_int_le(wait, 60);
	ck_assert_int_gt(sec_rate_check("login", "alice", 3, 60), 0);

	/* Other keys and other buckets are independent. */
	ck_assert_int_eq(sec_rate_hit("login", "bob", 3, 60), 0);
	ck_assert_int_eq(sec_rate_hit("api", "alice", 3, 60), 0);
	ck_assert_int_eq(sec_rate_hit("logina", "lice", 3, 60), 0);

	sec_rate_reset("login", "alice");
	ck_assert_int_eq(sec_rate_check("login", "alice", 3, 60), 0);
	ck_assert_int_eq(sec_rate_hit("login", "alice", 3, 60), 0);

	ck_assert_int_gt(sec_rate_hit("never", "x", 0, 60), 0);
}
END_TEST

START_TEST(test_rate_check_does_not_consume)
{
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(sec_rate_check("check", "k", 2, 60), 0);
	ck_assert_int_eq(sec_rate_hit("check", "k", 2, 60), 0);
	ck_assert_int_eq(sec_rate_hit("check", "k", 2, 60), 0);
	ck_assert_int_gt(sec_rate_hit("check", "k", 2, 60), 0);
}
END_TEST

START_TEST(test_rate_many_keys)
{
	/* More keys than the table holds: it must neither fail nor grow, and keep limiting. */
	ck_assert_int_eq(sec_rate_hit("many", "k0", 2, 600), 0);
	ck_assert_int_eq(sec_rate_hit("many", "k0", 2, 600), 0);
	char key[32];
	for (int i = 1; i < 300000; i++) {
		snprintf(key, sizeof key, "k%d", i);
		ck_assert_int_eq(sec_rate_hit("many", key, 5, 600), 0);
	}
	/* The key at its limit survived the flood (the fewest-hit entries go first)... */
	ck_assert_int_gt(sec_rate_hit("many", "k0", 2, 600), 0);
	/* ...a key first seen with the table full is limited like any other... */
	ck_assert_int_eq(sec_rate_hit("many", "overflow", 1, 600), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_gt(sec_rate_hit("many", "overflow", 1, 600), 0);
	/* ...and making room took evictions, not a bigger table. */
	ck_assert_uint_gt(sec_rate_evictions(), 0);
}
END_TEST

START_TEST(test_rate_refused_stores_nothing)
{
	/* A refused hit under one key must not evict or create anything: the limit of a second
	 * key in the same bucket is untouched by a flood of refusals on the first. */
	ck_assert_int_eq(sec_rate_hit("refuse", "ip", 1, 600), 0);
	uint64_t before = sec_rate_evictions();
	for (int i = 0; i < 200000; i++)
		ck_assert_int_gt(sec_rate_hit("refuse", "ip", 1, 600), 0);
	ck_assert_uint_eq(sec_rate_evictions(), before);
	/* Undo back to zero frees the entry: the key starts a fresh window. */
	ck_assert_int_eq(sec_rate_hit("undo", "k", 1, 600), 0);
	sec_rate_undo("undo", "k");
	ck_assert_int_eq(sec_rate_check("undo", "k", 1, 600), 0);
	ck_assert_int_eq(sec_rate_hit("undo", "k", 1, 600), 0);
	ck_assert_int_gt(sec_rate_hit("undo", "k", 1, 600), 0);
}
END_TEST

START_TEST(test_rate_memory_bounded_with_huge_keys)
{
	/* Keys of 1 MiB each: the old table kept a copy of every key (200 MiB here). */
	size_t len = 1024 * 1024;
	char *key = malloc(len + 1);
	ck_assert_ptr_nonnull(key);
	memset(key, 'u', len);
	key[len] = '\0';
	ck_assert_int_eq(sec_rate_hit("huge", "warm", 5, 600), 0); /* the table's pages */
	struct mallinfo2 before = mallinfo2();
	for (int i = 0; i < 200; i++) {
		snprintf(key, 16, "%08d", i);
		key[8] = 'u';
		ck_assert_int_eq(sec_rate_hit("huge", key, 5, 600), 0);
	}
	struct mallinfo2 after = mallinfo2();
	/* The same key is still recognised and limited. */
	for (int i = 1; i < 5; i++)
		ck_assert_int_eq(sec_rate_hit("huge", key, 5, 600), 0);
	ck_assert_int_gt(sec_rate_hit("huge", key, 5, 600), 0);
	free(key);
	ck_assert_uint_lt(after.uordblks, before.uordblks + 64 * 1024);
}
END_TEST

/* ---- proof-of-work challenge ---- */

static int bits_of(const char *token, const char *nonce)
{
	char buf[160];
	unsigned char h[32];
	snprintf(buf, sizeof buf, "%s:%s", token, nonce);
	sec_sha256(buf, strlen(buf), h);
	return sec_challenge_zero_bits(h);
}

/* "token:nonce" with a nonce that meets (want = 1) or misses (want = 0) difficulty bits. */
static void answer_for(const char *token, int difficulty, int want, char *out, size_t n)
{
	for (unsigned long i = 0;; i++) {
		char nonce[24];
		snprintf(nonce, sizeof nonce, "%lu", i);
		if ((bits_of(token, nonce) >= difficulty) == want) {
			snprintf(out, n, "%s:%s", token, nonce);
			return;
		}
	}
}

START_TEST(test_challenge_zero_bits)
{
	unsigned char h[32] = {0};
	ck_assert_int_eq(sec_challenge_zero_bits(h), 256);
	h[0] = 0x80;
	ck_assert_int_eq(sec_challenge_zero_bits(h), 0);
	h[0] = 0x00;
	h[1] = 0x01;
	ck_assert_int_eq(sec_challenge_zero_bits(h), 15);
	h[1] = 0x00;
	h[2] = 0x20;
	ck_assert_int_eq(sec_challenge_zero_bits(h), 18);
}
END_TEST

START_TEST(test_challenge_verifies_once)
{
	char token[SEC_CHALLENGE_TOKEN_MAX], answer[160];
	sec_challenge_issue("orders", 8, token);
	answer_for(token, 8, 1, answer, sizeof answer);
	ck_assert_int_eq(sec_challenge_verify("orders", answer, 8), 0);
	ck_assert_int_eq(sec_challenge_verify("orders", answer, 8), -1); /* reused */
	/* Another token gets its own, independent use. */
	char token2[SEC_CHALLENGE_TOKEN_MAX];
	sec_challenge_issue("orders", 8, token2);
	ck_assert_str_ne(token, token2);
	answer_for(token2, 8, 1, answer, sizeof answer);
	ck_assert_int_eq(sec_challenge_verify("orders", answer, 8), 0);
}
END_TEST

START_TEST(test_challenge_wrong_route)
{
	char token[SEC_CHALLENGE_TOKEN_MAX], answer[160];
	sec_challenge_issue("orders", 6, token);
	answer_for(token, 6, 1, answer, sizeof answer);
	ck_assert_int_eq(sec_challenge_verify("login", answer, 1), -1);
	ck_assert_int_eq(sec_challenge_verify("lookup", answer, 1), -1);
	/* Refused elsewhere, so not spent: still good where it was issued. */
	ck_assert_int_eq(sec_challenge_verify("orders", answer, 1), 0);
}
END_TEST

START_TEST(test_challenge_expires_after_five_minutes)
{
	char token[SEC_CHALLENGE_TOKEN_MAX], answer[160];
	int64_t t0 = 1700000000;
	sec_challenge_issue_at("login", 6, t0, token);
	answer_for(token, 6, 1, answer, sizeof answer);
	ck_assert_int_eq(sec_challenge_verify_at("login", answer, 1, t0 + 301), -1);
	/* A clock far behind the token (a forged far-future expiry would look like this). */
	ck_assert_int_eq(sec_challenge_verify_at("login", answer, 1, t0 - 10), -1);
	ck_assert_int_eq(sec_challenge_verify_at("login", answer, 1, t0 + 300), 0);
}
END_TEST

START_TEST(test_challenge_bad_answers)
{
	char token[SEC_CHALLENGE_TOKEN_MAX], answer[200];
	sec_challenge_issue("orders", 10, token);
	answer_for(token, 10, 0, answer, sizeof answer); /* a nonce that does not solve it */
	ck_assert_int_eq(sec_challenge_verify("orders", answer, 1), -1);
	const char *nonces[] = {"", "abc", "-1", "1.5", " 1", "123456789012345678901"};
	for (size_t i = 0; i < sizeof nonces / sizeof nonces[0]; i++) {
		snprintf(answer, sizeof answer, "%s:%s", token, nonces[i]);
		ck_assert_int_eq(sec_challenge_verify("orders", answer, 1), -1);
	}
	ck_assert_int_eq(sec_challenge_verify("orders", token, 1), -1); /* no nonce at all */
	ck_assert_int_eq(sec_challenge_verify("orders", NULL, 1), -1);
	ck_assert_int_eq(sec_challenge_verify("orders", "", 1), -1);
	/* Lowering the difficulty in the token breaks its MAC. */
	char forged[SEC_CHALLENGE_TOKEN_MAX];
	snprintf(forged, sizeof forged, "%s", token);
	char *dot = strchr(forged, '.');
	ck_assert_ptr_nonnull(dot);
	ck_assert(dot[1] == '1' && dot[2] == '0');
	memmove(dot + 1, dot + 2, strlen(dot + 2) + 1); /* "10" -> "0" */
	answer_for(forged, 0, 1, answer, sizeof answer);
	ck_assert_int_eq(sec_challenge_verify("orders", answer, 0), -1);
	/* A token from another instance's secret is not ours. */
	sec_init_with(secret_b);
	char other[SEC_CHALLENGE_TOKEN_MAX];
	sec_challenge_issue("orders", 4, other);
	sec_init_with(secret_a);
	answer_for(other, 4, 1, answer, sizeof answer);
	ck_assert_int_eq(sec_challenge_verify("orders", answer, 1), -1);
}
END_TEST

START_TEST(test_challenge_difficulty_bounds)
{
	char token[SEC_CHALLENGE_TOKEN_MAX], answer[160];
	sec_challenge_issue("orders", 40, token);
	ck_assert_ptr_nonnull(strstr(token, ".22."));
	sec_challenge_issue("orders", 0, token);
	ck_assert_ptr_nonnull(strstr(token, ".1."));
	/* A token easier than the caller's minimum is refused even when solved. */
	sec_challenge_issue("orders", 4, token);
	answer_for(token, 4, 1, answer, sizeof answer);
	ck_assert_int_eq(sec_challenge_verify("orders", answer, 5), -1);
	ck_assert_int_eq(sec_challenge_verify("orders", answer, 4), 0);

	ck_assert_int_eq(sec_challenge_level_rate(0, 600, 16), 0);
	ck_assert_int_eq(sec_challenge_level_rate(600, 600, 16), 0);
	ck_assert_int_eq(sec_challenge_level_rate(601, 600, 16), 16);
	ck_assert_int_eq(sec_challenge_level_rate(1200, 600, 16), 17);
	ck_assert_int_eq(sec_challenge_level_rate(4800, 600, 16), 19);
	ck_assert_int_eq(sec_challenge_level_rate(INT64_MAX / 2, 600, 16), 22);
	ck_assert_int_eq(sec_challenge_level_rate(1, 0, 8), 8); /* threshold 0: always */
	ck_assert_int_eq(sec_challenge_level_failures(4, 5, 16), 0);
	ck_assert_int_eq(sec_challenge_level_failures(5, 5, 16), 16);
	ck_assert_int_eq(sec_challenge_level_failures(10, 5, 16), 17);
	ck_assert_int_eq(sec_challenge_level_failures(1000000, 5, 16), 22);
}
END_TEST

/* The spent-token record is bounded: past its capacity, solutions are refused rather than
 * forgotten, so a token can never be spent twice. */
START_TEST(test_challenge_spent_record_is_bounded)
{
	const int slots = 1 << 17, tries = slots + 2000;
	int accepted = 0;
	char token[SEC_CHALLENGE_TOKEN_MAX], answer[160], first[160] = "";
	for (int i = 0; i < tries; i++) {
		sec_challenge_issue("orders", 1, token);
		answer_for(token, 1, 1, answer, sizeof answer);
		if (sec_challenge_verify("orders", answer, 1) == 0) {
			accepted++;
			if (!first[0])
				snprintf(first, sizeof first, "%s", answer);
		}
	}
	ck_assert_int_le(accepted, slots);
	ck_assert_int_lt(accepted, tries);
	ck_assert_int_gt(accepted, slots / 2);
	ck_assert_int_eq(sec_challenge_verify("orders", first, 1), -1);
}
END_TEST

START_TEST(test_pressure_rate)
{
	int64_t last = 0;
	for (int i = 0; i < 50; i++)
		last = sec_pressure_note(SEC_PRESSURE_LOOKUPS);
	ck_assert_int_ge(last, 50);
	ck_assert_int_le(last, 100);
}
END_TEST

/* RFC 6238 appendix B, the SHA-1 rows (key "12345678901234567890"), cut to 6 digits. */
START_TEST(test_totp_rfc6238_vectors)
{
	static const unsigned char key[] = "12345678901234567890";
	static const struct {
		int64_t t;
		uint32_t code;
	} v[] = {{59, 287082},       {1111111109, 81804},  {1111111111, 50471},
	         {1234567890, 5924}, {2000000000, 279037}, {20000000000LL, 353130}};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		ck_assert_uint_eq(sec_totp_code(key, 20, v[i].t / SEC_TOTP_PERIOD), v[i].code);
}
END_TEST

START_TEST(test_totp_window_and_replay)
{
	static const unsigned char key[] = "12345678901234567890";
	int64_t now = 1111111111, step = now / 30;
	char code[8];
	for (int d = -2; d <= 2; d++) {
		snprintf(code, sizeof code, "%06u", (unsigned)sec_totp_code(key, 20, step + d));
		int64_t got = sec_totp_match(key, 20, code, now, 0);
		if (d >= -1 && d <= 1)
			ck_assert_int_eq(got, step + d);
		else
			ck_assert_int_eq(got, -1);
		/* a code is refused once its step (or a later one) was used */
		ck_assert_int_eq(sec_totp_match(key, 20, code, now, step + d), -1);
	}
	snprintf(code, sizeof code, "%06u", (unsigned)sec_totp_code(key, 20, step));
	ck_assert_int_eq(sec_totp_match(key, 20, code, now, step - 1), step);
	ck_assert_int_eq(sec_totp_match(key, 20, "50471", now, 0), -1);
	ck_assert_int_eq(sec_totp_match(key, 20, "0504711", now, 0), -1);
	ck_assert_int_eq(sec_totp_match(key, 20, "05047a", now, 0), -1);
	ck_assert_int_eq(sec_totp_match(key, 20, NULL, now, 0), -1);
}
END_TEST

START_TEST(test_base32_rfc4648)
{
	char out[64];
	static const struct {
		const char *in, *out;
	} v[] = {{"", ""},
	         {"f", "MY"},
	         {"fo", "MZXQ"},
	         {"foo", "MZXW6"},
	         {"foob", "MZXW6YQ"},
	         {"fooba", "MZXW6YTB"},
	         {"foobar", "MZXW6YTBOI"}};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		sec_base32((const unsigned char *)v[i].in, strlen(v[i].in), out);
		ck_assert_str_eq(out, v[i].out);
	}
}
END_TEST

static Suite *sec_suite(void)
{
	Suite *s = suite_create("sec");
	TCase *basic = tcase_create("primitives");
	tcase_add_test(basic, test_hex_and_random);
	tcase_add_test(basic, test_equal);
	tcase_add_test(basic, test_hashes_known_vectors);
	tcase_add_test(basic, test_totp_rfc6238_vectors);
	tcase_add_test(basic, test_totp_window_and_replay);
	tcase_add_test(basic, test_base32_rfc4648);
	suite_add_tcase(s, basic);

	TCase *keys = tcase_create("keys");
	tcase_add_checked_fixture(keys, setup_keys, NULL);
	tcase_add_test(keys, test_hkdf_deterministic);
	tcase_add_test(keys, test_token_separation);
	tcase_add_test(keys, test_aead_roundtrip);
	tcase_add_test(keys, test_aead_fresh_nonce);
	tcase_add_test(keys, test_aead_tamper);
	tcase_add_test(keys, test_aead_truncated);
	tcase_add_test(keys, test_aead_wrong_key);
	tcase_add_test(keys, test_aead_threads);
	tcase_add_test(keys, test_secret_file);
	suite_add_tcase(s, keys);

	TCase *pw = tcase_create("password");
	tcase_set_timeout(pw, 30);
	tcase_add_test(pw, test_password);
	suite_add_tcase(s, pw);

	TCase *rate = tcase_create("ratelimit");
	tcase_set_timeout(rate, 30);
	tcase_add_test(rate, test_rate_limit);
	tcase_add_test(rate, test_rate_check_does_not_consume);
	tcase_add_test(rate, test_rate_many_keys);
	tcase_add_test(rate, test_rate_refused_stores_nothing);
	tcase_add_test(rate, test_rate_memory_bounded_with_huge_keys);
	suite_add_tcase(s, rate);

	TCase *ch = tcase_create("challenge");
	tcase_set_timeout(ch, 60);
	tcase_add_checked_fixture(ch, setup_keys, NULL);
	tcase_add_test(ch, test_challenge_zero_bits);
	tcase_add_test(ch, test_challenge_verifies_once);
	tcase_add_test(ch, test_challenge_wrong_route);
	tcase_add_test(ch, test_challenge_expires_after_five_minutes);
	tcase_add_test(ch, test_challenge_bad_answers);
	tcase_add_test(ch, test_challenge_difficulty_bounds);
	tcase_add_test(ch, test_challenge_spent_record_is_bounded);
	tcase_add_test(ch, test_pressure_rate);
	suite_add_tcase(s, ch);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sec_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
