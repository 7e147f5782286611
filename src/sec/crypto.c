/* The instance secret and everything keyed by it (AES-256-GCM, lookup HMAC, derived tokens),
 * plus the keyless primitives: randomness, hex, constant-time compare, hashes. */
#include "cardshop/sec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "cardshop/log.h"
#include "cardshop/util.h"

#define KEY_LEN 32
#define NONCE_LEN 12
#define TAG_LEN 16
#define SECRET_HEX_LEN (2 * KEY_LEN)
/* OpenSSL lengths are int: feed larger inputs in slices well below INT_MAX. */
#define CHUNK_MAX ((size_t)1 << 30)

/* Algorithms are fetched once: an implicit fetch on every call takes a lock in the provider
 * store, which would serialise the worker threads and slow bulk imports. Fetched objects are
 * immutable and safe to share between threads; contexts are always per call. */
static struct {
	EVP_CIPHER *aes_gcm;
	EVP_MAC *hmac;
	EVP_MD *sha256;
} algs;
static pthread_once_t algs_once = PTHREAD_ONCE_INIT;

/* Sub-keys are written once by sec_init/sec_init_with at startup, before any worker thread
 * exists, and only read afterwards. */
static unsigned char data_key[KEY_LEN];
static unsigned char lookup_key[KEY_LEN];
static unsigned char token_key[KEY_LEN];
static int keys_ready;

/* OSSL_PARAM wants mutable strings even for values it only reads. */
static char digest_name[] = "SHA256";
static char info_data[] = "cardshop/v1 data key (aes-256-gcm)";
static char info_lookup[] = "cardshop/v1 lookup key (hmac-sha256)";
static char info_token[] = "cardshop/v1 token key (hmac-sha256)";

static void fatal(const char *msg)
{
	log_error(msg, NULL);
	abort();
}

static void fetch_algs(void)
{
	algs.aes_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	algs.hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	algs.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!algs.aes_gcm || !algs.hmac || !algs.sha256)
		fatal("openssl: cannot fetch AES-256-GCM, HMAC or SHA256");
}

static void need_algs(void)
{
	pthread_once(&algs_once, fetch_algs);
}

/* Using a key before sec_init is a programming error that must not silently use zeros. */
static void need_keys(void)
{
	if (!keys_ready)
		fatal("sec: keys used before sec_init");
}

void sec_random(void *out, size_t n)
{
	unsigned char *p = out;
	while (n > 0) {
		size_t k = n < CHUNK_MAX ? n : CHUNK_MAX;
		if (RAND_bytes(p, (int)k) != 1)
			fatal("openssl: RAND_bytes failed");
		p += k;
		n -= k;
	}
}

void sec_hex(const unsigned char *data, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

void sec_random_hex(char *out, size_t nbytes)
{
	unsigned char tmp[64];
	size_t done = 0;
	while (done < nbytes) {
		size_t k = nbytes - done < sizeof tmp ? nbytes - done : sizeof tmp;
		sec_random(tmp, k);
		sec_hex(tmp, k, out + 2 * done);
		done += k;
	}
	out[2 * nbytes] = '\0';
	OPENSSL_cleanse(tmp, sizeof tmp);
}

int sec_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	if (alen != blen) {
		/* Still touch every byte so the time does not reveal how far a guess got. */
		(void)CRYPTO_memcmp(a, a, alen);
		return 0;
	}
	return CRYPTO_memcmp(a, b, alen) == 0;
}

int sec_streq(const char *a, const char *b)
{
	if (!a || !b)
		return 0;
	return sec_equal(a, strlen(a), b, strlen(b));
}

void sec_sha256(const void *data, size_t n, unsigned char out[32])
{
	need_algs();
	if (EVP_Digest(data, n, out, NULL, algs.sha256, NULL) != 1)
		fatal("openssl: SHA256 failed");
}

void sec_md5_hex(const void *data, size_t n, char out[33])
{
	unsigned char md[16];
	if (EVP_Digest(data, n, md, NULL, EVP_md5(), NULL) != 1)
		fatal("openssl: MD5 failed");
	sec_hex(md, sizeof md, out);
}

/* HMAC-SHA256 over the concatenation of up to three parts (a NULL part is skipped). */
static void hmac_parts(const void *key, size_t keylen, const void *p1, size_t n1, const void *p2,
                       size_t n2, const void *p3, size_t n3, unsigned char out[32])
{
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
	    OSSL_PARAM_construct_end(),
	};
	need_algs();
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(algs.hmac);
	size_t outlen = 0;
	int ok = ctx && EVP_MAC_init(ctx, key, keylen, params) == 1 &&
	         (!p1 || EVP_MAC_update(ctx, p1, n1) == 1) &&
	         (!p2 || EVP_MAC_update(ctx, p2, n2) == 1) &&
	         (!p3 || EVP_MAC_update(ctx, p3, n3) == 1) &&
	         EVP_MAC_final(ctx, out, &outlen, 32) == 1 && outlen == 32;
	EVP_MAC_CTX_free(ctx);
	if (!ok)
		fatal("openssl: HMAC-SHA256 failed");
}

void sec_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
                     unsigned char out[32])
{
	/* An empty message is still a message: pass a non-NULL part so it is not skipped. */
	hmac_parts(key, keylen, data ? data : "", n, NULL, 0, NULL, 0, out);
}

void sec_lookup_hash(const void *data, size_t n, unsigned char out[32])
{
	need_keys();
	hmac_parts(lookup_key, sizeof lookup_key, data ? data : "", n, NULL, 0, NULL, 0, out);
}

void sec_derive_token(const char *purpose, const char *name, char out[33])
{
	unsigned char mac[32];
	need_keys();
	/* The NUL separator keeps ("ab","c") and ("a","bc") apart. */
	hmac_parts(token_key, sizeof token_key, purpose, strlen(purpose), "", 1, name, strlen(name),
	           mac);
	sec_hex(mac, 16, out);
}

static void hkdf(const unsigned char secret[KEY_LEN], char *info, unsigned char out[KEY_LEN])
{
	unsigned char key[KEY_LEN];
	memcpy(key, secret, sizeof key);
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest_name, 0),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, key, sizeof key),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, strlen(info)),
	    OSSL_PARAM_construct_end(),
	};
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	int ok = ctx && EVP_KDF_derive(ctx, out, KEY_LEN, params) == 1;
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	OPENSSL_cleanse(key, sizeof key);
	if (!ok)
		fatal("openssl: HKDF-SHA256 failed");
}

void sec_init_with(const unsigned char secret[32])
{
	need_algs();
	hkdf(secret, info_data, data_key);
	hkdf(secret, info_lookup, lookup_key);
	hkdf(secret, info_token, token_key);
	keys_ready = 1;
}

/* Accepts exactly 64 hex digits, optionally followed by one line ending. */
static int parse_secret(const char *text, size_t n, unsigned char secret[KEY_LEN])
{
	if (n > 0 && text[n - 1] == '\n')
		n--;
	if (n > 0 && text[n - 1] == '\r')
		n--;
	if (n != SECRET_HEX_LEN)
		return -1;
	for (size_t i = 0; i < KEY_LEN; i++) {
		int hi = util_hex_digit(text[2 * i]);
		int lo = util_hex_digit(text[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		secret[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

static void warn_if_shared(const char *path, const struct stat *st)
{
	if (!(st->st_mode & (S_IRWXG | S_IRWXO)))
		return;
	char mode[8];
	snprintf(mode, sizeof mode, "%04o", (unsigned)(st->st_mode & 07777));
	log_warn("secret file is accessible to group or others; chmod 600 it",
	         json_pack("{s:s, s:s}", "path", path, "mode", mode));
}

static ssize_t read_all(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	while (got < cap) {
		ssize_t r = read(fd, buf + got, cap - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* 0 loaded, 1 missing, -1 error (message in err). */
static int load_secret(const char *path, unsigned char secret[KEY_LEN], char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 1;
	if (fd < 0) {
		snprintf(err, errlen, "secret file %s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "secret file %s: not a regular file", path);
		close(fd);
		return -1;
	}
	warn_if_shared(path, &st);
	char text[SECRET_HEX_LEN + 8];
	ssize_t n = read_all(fd, text, sizeof text);
	close(fd);
	int rc = n < 0 ? -1 : parse_secret(text, (size_t)n, secret);
	OPENSSL_cleanse(text, sizeof text);
	if (rc != 0)
		snprintf(err, errlen,
		         "secret file %s: expected exactly 64 hex characters "
		         "(32 bytes) on one line",
		         path);
	return rc;
}

/* Creates each missing folder above path with mode 0700. */
static int make_parents(const char *path, char *err, size_t errlen)
{
	char *dir = xstrdup(path);
	int rc = 0;
	for (char *p = dir + 1; *p && rc == 0; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "secret folder %s: %s", dir, strerror(errno));
			rc = -1;
		}
		*p = '/';
	}
	free(dir);
	return rc;
}

static int write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* O_EXCL: if another process wins the race to create it, we load its secret instead of
 * overwriting it. A failed write removes the partial file so the next start is not stuck. */
static int create_secret(const char *path, char *err, size_t errlen)
{
	if (make_parents(path, err, errlen) != 0)
		return -1;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST)
		return 0;
	if (fd < 0) {
		snprintf(err, errlen, "secret file %s: cannot create: %s", path, strerror(errno));
		return -1;
	}
	char text[SECRET_HEX_LEN + 2];
	sec_random_hex(text, KEY_LEN);
	text[SECRET_HEX_LEN] = '\n';
	int rc = write_all(fd, text, SECRET_HEX_LEN + 1) == 0 && fsync(fd) == 0 ? 0 : -1;
	OPENSSL_cleanse(text, sizeof text);
	if (rc != 0)
		snprintf(err, errlen, "secret file %s: cannot write: %s", path, strerror(errno));
	if (close(fd) != 0 && rc == 0) {
		snprintf(err, errlen, "secret file %s: cannot write: %s", path, strerror(errno));
		rc = -1;
	}
	if (rc != 0)
		unlink(path);
	else
		log_info("created instance secret", json_pack("{s:s}", "path", path));
	return rc;
}

int sec_init(const char *secret_file, char *err, size_t errlen)
{
	unsigned char secret[KEY_LEN];
	int rc = load_secret(secret_file, secret, err, errlen);
	if (rc == 1) {
		if (create_secret(secret_file, err, errlen) != 0)
			return -1;
		rc = load_secret(secret_file, secret, err, errlen);
		if (rc == 1) {
			snprintf(err, errlen, "secret file %s: vanished after creation",
			         secret_file);
			rc = -1;
		}
	}
	if (rc == 0)
		sec_init_with(secret);
	OPENSSL_cleanse(secret, sizeof secret);
	return rc;
}

/* Runs n bytes through an initialised cipher context, in slices that fit an int. */
static int cipher_update(EVP_CIPHER_CTX *ctx, unsigned char *out, const unsigned char *in, size_t n)
{
	while (n > 0) {
		size_t k = n < CHUNK_MAX ? n : CHUNK_MAX;
		int outl = 0;
		if (EVP_CipherUpdate(ctx, out, &outl, in, (int)k) != 1 || (size_t)outl != k)
			return -1;
		out += k;
		in += k;
		n -= k;
	}
	return 0;
}

unsigned char *sec_encrypt(const void *plain, size_t n, size_t *outlen)
{
	size_t total;
	if (__builtin_add_overflow(n, (size_t)SEC_AEAD_OVERHEAD, &total))
		fatal("sec_encrypt: input too large");
	need_keys();
	unsigned char *box = xmalloc(total);
	unsigned char *nonce = box, *ct = box + NONCE_LEN, *tag = box + NONCE_LEN + n;
	/* A random 96-bit nonce per message: safe far beyond any number of keys we store. */
	sec_random(nonce, NONCE_LEN);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int fin = 0;
	int ok = ctx && EVP_EncryptInit_ex2(ctx, algs.aes_gcm, data_key, nonce, NULL) == 1 &&
	         cipher_update(ctx, ct, plain, n) == 0 &&
	         EVP_EncryptFinal_ex(ctx, ct + n, &fin) == 1 && fin == 0 &&
	         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok)
		fatal("openssl: AES-256-GCM encryption failed");
	*outlen = total;
	return box;
}

int sec_decrypt(const unsigned char *box, size_t n, char **plain, size_t *plainlen)
{
	if (n < SEC_AEAD_OVERHEAD)
		return -1;
	need_keys();
	size_t ctlen = n - SEC_AEAD_OVERHEAD;
	const unsigned char *nonce = box, *ct = box + NONCE_LEN;
	/* SET_TAG takes a mutable pointer; copy rather than cast away const. */
	unsigned char tag[TAG_LEN];
	memcpy(tag, box + NONCE_LEN + ctlen, TAG_LEN);
	unsigned char *out = xmalloc(ctlen + 1);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int fin = 0;
	int ok = ctx && EVP_DecryptInit_ex2(ctx, algs.aes_gcm, data_key, nonce, NULL) == 1 &&
	         cipher_update(ctx, out, ct, ctlen) == 0 &&
	         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, tag) == 1 &&
	         EVP_DecryptFinal_ex(ctx, out + ctlen, &fin) == 1 && fin == 0;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok) {
		/* Never hand out plaintext whose tag failed: it may be attacker-chosen. */
		OPENSSL_cleanse(out, ctlen + 1);
		free(out);
		return -1;
	}
	out[ctlen] = '\0';
	*plain = (char *)out;
	*plainlen = ctlen;
	return 0;
}

void sec_wipe(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}
