/* RSA keys and SHA256withRSA signatures for the RSA gateways (Alipay RSA2, WeChat Pay v3):
 * key files read once and kept (reloaded when the file changes), base64 in and out. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cardshop/sec.h"
#include "cardshop/util.h"
#include "internal.h"

#define KEY_FILE_MAX 65536
#define KEY_CACHE 8

struct cached_key {
	char *path;
	int private_key;
	struct timespec mtime;
	off_t size;
	EVP_PKEY *key;
	int failed; /* this version of the file is not a key: not parsed again until it changes */
};

static struct cached_key cache[KEY_CACHE];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static char *read_small_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *data = xmalloc(KEY_FILE_MAX + 1);
	*len = fread(data, 1, KEY_FILE_MAX + 1, f);
	fclose(f);
	if (*len > KEY_FILE_MAX) {
		free(data);
		return NULL;
	}
	data[*len] = '\0';
	return data;
}

/* The bare base64 Alipay's console shows: DER SubjectPublicKeyInfo without PEM armour. */
static EVP_PKEY *public_from_bare_base64(const char *text)
{
	struct buf clean;
	buf_init(&clean);
	for (const char *p = text; *p; p++) {
		if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t')
			buf_append(&clean, p, 1);
	}
	size_t der_len;
	unsigned char *der = pay_base64_decode(buf_cstr(&clean), clean.len, &der_len);
	buf_cleanup(&clean);
	if (!der)
		return NULL;
	const unsigned char *p = der;
	EVP_PKEY *k = d2i_PUBKEY(NULL, &p, (long)der_len);
	if (k && p != der + der_len) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	free(der);
	return k;
}

/* A public key as PEM "PUBLIC KEY", a PEM certificate (WeChat platform), or bare base64. */
static EVP_PKEY *public_from_text(const char *text, size_t len)
{
	EVP_PKEY *k = NULL;
	BIO *bio = BIO_new_mem_buf(text, (int)len);
	if (strstr(text, "-----BEGIN CERTIFICATE-----")) {
		X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		if (x)
			k = X509_get_pubkey(x);
		X509_free(x);
	} else if (strstr(text, "-----BEGIN")) {
		k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	} else {
		k = public_from_bare_base64(text);
	}
	BIO_free(bio);
	return k;
}

static EVP_PKEY *key_from_file(const char *path, int private_key)
{
	size_t len;
	char *text = read_small_file(path, &len);
	if (!text)
		return NULL;
	EVP_PKEY *k = NULL;
	if (private_key) {
		/* PEM_read_bio_PrivateKey reads PKCS#8 ("PRIVATE KEY") and PKCS#1 ("RSA ..."). */
		BIO *bio = BIO_new_mem_buf(text, (int)len);
		k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		BIO_free(bio);
	} else {
		k = public_from_text(text, len);
	}
	sec_wipe(text, len);
	free(text);
	if (k && EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	return k;
}

static int same_file(const struct cached_key *c, const struct stat *st)
{
	return c->mtime.tv_sec == st->st_mtim.tv_sec && c->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       c->size == st->st_size;
}

EVP_PKEY *pay_key_load(const char *path, int private_key)
{
	struct stat st;
	if (!path || !*path || stat(path, &st) != 0)
		return NULL;
	pthread_mutex_lock(&cache_lock);
	struct cached_key *slot = NULL;
	for (int i = 0; i < KEY_CACHE && !slot; i++) {
		struct cached_key *c = &cache[i];
		if (c->path && c->private_key == private_key && strcmp(c->path, path) == 0)
			slot = c;
	}
	if (slot && !same_file(slot, &st)) {
		EVP_PKEY_free(slot->key);
		slot->key = NULL;
		slot->failed = 0;
	}
	for (int i = 0; i < KEY_CACHE && !slot; i++) {
		if (!cache[i].path) {
			slot = &cache[i];
			slot->path = xstrdup(path);
			slot->private_key = private_key;
		}
	}
	EVP_PKEY *k = NULL;
	if (slot && !slot->key && !slot->failed) {
		/* The readiness check asks on every /api/config: a bad file is read once. */
		slot->key = key_from_file(path, private_key);
		slot->failed = slot->key == NULL;
		slot->mtime = st.st_mtim;
		slot->size = st.st_size;
	}
	if (slot && slot->key && EVP_PKEY_up_ref(slot->key))
		k = slot->key;
	pthread_mutex_unlock(&cache_lock);
	return k ? k : (slot ? NULL : key_from_file(path, private_key));
}

int pay_keys_ok(const char *private_path, const char *public_path)
{
	EVP_PKEY *priv = pay_key_load(private_path, 1);
	EVP_PKEY *pub = pay_key_load(public_path, 0);
	int ok = priv && pub;
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
	return ok;
}

char *pay_base64_encode(const unsigned char *data, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, data, (int)n);
	return out;
}

unsigned char *pay_base64_decode(const char *s, size_t len, size_t *outlen)
{
	if (len == 0 || len % 4 != 0 || len > (1u << 20))
		return NULL;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		         (c >= '0' && c <= '9') || c == '+' || c == '/' ||
		         (c == '=' && i >= len - 2);
		if (!ok || (c != '=' && i > 0 && s[i - 1] == '='))
			return NULL;
	}
	unsigned char *out = xmalloc(len / 4 * 3 + 1);
	int n = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);
	if (n < 0) {
		free(out);
		return NULL;
	}
	size_t pad = (s[len - 1] == '=') + (s[len - 2] == '=');
	*outlen = (size_t)n - pad;
	return out;
}

char *pay_rsa_sign(EVP_PKEY *key, const void *msg, size_t n)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t siglen = 0;
	unsigned char *sig = NULL;
	char *out = NULL;
	if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(ctx, NULL, &siglen, msg, n) != 1)
		goto out;
	sig = xmalloc(siglen);
	if (EVP_DigestSign(ctx, sig, &siglen, msg, n) == 1)
		out = pay_base64_encode(sig, siglen);
out:
	free(sig);
	EVP_MD_CTX_free(ctx);
	return out;
}

int pay_rsa_verify(EVP_PKEY *key, const void *msg, size_t n, const char *sig_b64)
{
	if (!key || !sig_b64)
		return 0;
	size_t siglen;
	unsigned char *sig = pay_base64_decode(sig_b64, strlen(sig_b64), &siglen);
	if (!sig)
		return 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
	         EVP_DigestVerify(ctx, sig, siglen, msg, n) == 1;
	EVP_MD_CTX_free(ctx);
	free(sig);
	return ok;
}
