/* Shared between the pay/ files. */
#ifndef CARDSHOP_PAY_INTERNAL_H
#define CARDSHOP_PAY_INTERNAL_H

#include "cardshop/pay.h"

extern const struct gateway epay_gateway;
extern const struct gateway sandbox_gateway;
extern const struct gateway alipay_gateway;
extern const struct gateway wechat_gateway;
extern const struct gateway stripe_gateway;
extern const struct gateway epusdt_gateway;
/* The breakers' table size; gateway.c checks its table fits. */
#define PAY_MAX_GATEWAYS 16
size_t pay_gateway_index(const struct gateway *gw);
int pay_params_unique(const struct kvlist *params);

/* ---- breaker.c: the breaker around every create and query call ---- */
/* What a call let through holds until it reports: the breaker period it started in, and
 * whether it is the half-open trial. */
struct pay_breaker_ticket {
	uint64_t gen;
	int trial;
};
/* 1 when a call to gw may go out now (t filled), 0 when the breaker holds it back. */
int pay_breaker_enter(const struct gateway *gw, struct pay_breaker_ticket *t);
/* The outcome of the call t let through (ok: the gateway worked); err borrowed, no secret. */
void pay_breaker_leave(const struct config *cfg, const struct gateway *gw,
                       const struct pay_breaker_ticket *t, int ok, const char *err);
/* Tests: the monotonic clock the breakers read, in microseconds (NULL: the real one). */
void pay_breaker_clock_set(int64_t (*now_us)(void));
/* The shop's pay page for a QR gateway's order (malloc'd). */
char *pay_qr_page_url(const struct pay_order *o);

/* ---- rsa.c: keys and SHA256withRSA for the RSA gateways ---- */
typedef struct evp_pkey_st EVP_PKEY;
/* The RSA key in a file (PEM: PKCS#1 or PKCS#8 private; public as PEM, certificate or bare
 * base64), kept after the first read; a new reference (EVP_PKEY_free it) or NULL. */
EVP_PKEY *pay_key_load(const char *path, int private_key);
/* 1 when both files hold a usable key (our private one, the gateway's public one). */
int pay_keys_ok(const char *private_path, const char *public_path);
/* Base64 SHA256withRSA signature of msg (malloc'd), NULL on failure. */
char *pay_rsa_sign(EVP_PKEY *key, const void *msg, size_t n);
/* 1 when sig_b64 is key's signature of msg, else 0. */
int pay_rsa_verify(EVP_PKEY *key, const void *msg, size_t n, const char *sig_b64);
char *pay_base64_encode(const unsigned char *data, size_t n); /* malloc'd */
/* Strict base64 (padding required) -> malloc'd bytes, or NULL. */
unsigned char *pay_base64_decode(const char *s, size_t len, size_t *outlen);

#endif
