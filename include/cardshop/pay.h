/* Payment gateways behind one interface: create the payment (a redirect URL and, for QR
 * gateways, the payload to show), verify a notify, ask about a lost one, answer the gateway. */
#ifndef CARDSHOP_PAY_H
#define CARDSHOP_PAY_H

#include <stdint.h>

#include "cardshop/config.h"
#include "cardshop/kv.h"
#include "cardshop/shop.h"

struct pay_order {
	const char *order_no;
	const char *token;
	int64_t amount;
	const char *currency;
	const char *product_name;
	const char *channel; /* the wallet inside the gateway (EPay `type`); NULL: its default */
	int64_t expires_at;
};

/* What create gives the buyer (all malloc'd or NULL; pay_created_cleanup frees them). */
struct pay_created {
	char *url; /* where the buyer goes to pay (for QR gateways: the shop's own pay page) */
	char *qr;  /* QR gateways: the payload to show as a QR code (code_url, qr_code...) */
};
void pay_created_cleanup(struct pay_created *c);

/* A notify as it arrived, for verify. The request owns every pointer. */
struct pay_notify_in {
	const char *method;
	const struct kvlist *params; /* the query (GET) or the urlencoded body (POST) */
	const char *body;            /* the raw body, NUL-terminated ("" when none) */
	size_t body_len;
	/* A request header by name (NULL when absent); NULL when there are no headers. */
	const char *(*header)(void *ctx, const char *name);
	void *header_ctx;
};
/* The notify as a list of parameters only (returns, reconciliation, tests). */
struct pay_notify_in pay_notify_in_params(const struct kvlist *params);
const char *pay_notify_header(const struct pay_notify_in *in, const char *name);

/* How the gateway wants its notify answered. */
struct pay_reply {
	int status;
	const char *content_type;
	const char *body; /* static text */
};

/* A gateway's answer to "was this order paid?" (the reconciler's question). */
struct pay_query {
	int paid;       /* the gateway says so, for our merchant id and this order */
	int64_t amount; /* what it says was paid, minor units */
	char trade_no[129];
	char *raw; /* the answer verbatim, for payment_events (malloc'd) */
};

struct gateway {
	const char *name;
	int (*enabled)(const struct config *cfg);
	/* Configured well enough to take orders (NULL: always). */
	int (*ready)(const struct config *cfg);
	/* Creates the payment: fills out (see struct pay_created). 0, or -1 with a message in err
	 * (never a secret in it) when the gateway could not be reached or refused. */
	int (*create)(const struct config *cfg, const struct pay_order *o, struct pay_created *out,
	              char *err, size_t errlen);
	/* Checks signature and merchant; fills n (strings borrowed from in, or static). n->currency
	 * stays NULL when the gateway names none. */
	void (*verify)(const struct config *cfg, const struct pay_notify_in *in, struct notify *n);
	/* Whether query may be used with this configuration (NULL: never). */
	int (*can_query)(const struct config *cfg);
	/* Asks the gateway whether order_no was paid (NULL: this gateway cannot be asked). -1 when
	 * it could not be reached; otherwise 0 and out filled (out->raw malloc'd). */
	int (*query)(const struct config *cfg, const char *order_no, struct pay_query *out);
	/* Where the buyer lands after paying: the order number named in the return parameters. */
	const char *(*return_order)(const struct kvlist *params);
	/* The answer to a notify: NULL means 200 text/plain with success_reply / failure_reply. */
	void (*reply)(int ok, struct pay_reply *out);
	const char *success_reply;
	const char *failure_reply;
};

/* The reply the gateway expects for a notify that was (ok) or was not applied. */
void pay_reply_for(const struct gateway *gw, int ok, struct pay_reply *out);

/* The named gateway when it exists and is enabled; NULL otherwise. */
const struct gateway *pay_gateway(const struct config *cfg, const char *name);

/* The gateways that can be asked about an order, as ",name,name," (for SQL instr()). */
void pay_queryable(const struct config *cfg, char *out, size_t n);

/* EPay helpers, shared with tests: the MD5 signature over the sorted non-empty parameters
 * (sign and sign_type excluded) with the key appended. out: 33 bytes. */
void epay_sign(const struct kvlist *params, const char *key, char out[33]);
/* "12.30" <-> 1230; -1 when the text is not a plain amount with at most two decimals. */
int pay_parse_money(const char *s, int64_t *minor);
void pay_format_money(int64_t minor, char out[32]);

/* Alipay helpers, shared with tests and fuzz targets. The string RSA2 signs: the parameters
 * sorted by name as k=v&k=v, without sign (and sign_type when notify), without empty values
 * when skip_empty. malloc'd. */
char *alipay_sign_content(const struct kvlist *params, int notify, int skip_empty);
/* "yyyy-MM-dd HH:mm:ss" in Asia/Shanghai time. */
void alipay_time_format(int64_t utc, char out[20]);
/* Where the value of the top-level member key starts in a JSON object text, and its length
 * (the bytes Alipay signs in an answer). 0, or -1 when absent or malformed. */
int alipay_response_span(const char *text, size_t len, const char *key, size_t *start,
                         size_t *vlen);
/* 1 when params carry Alipay's valid RSA2 notify signature (alipay_public_key_file). */
int alipay_notify_signed(const struct config *cfg, const struct kvlist *params);

/* WeChat Pay v3 helpers, shared with tests and fuzz targets (all results malloc'd). The
 * request signing message "METHOD\nURL_PATH\nTIMESTAMP\nNONCE\nBODY\n". */
char *wechat_sign_message(const char *method, const char *url_path, const char *timestamp,
                          const char *nonce, const char *body);
/* The answer/notify message "TIMESTAMP\nNONCE\nBODY\n" (body may hold any bytes). */
char *wechat_answer_message(const char *timestamp, const char *nonce, const char *body,
                            size_t body_len);
/* AEAD_AES_256_GCM of a notify resource: key the 32-byte APIv3 key, b64 = ciphertext||tag.
 * 0 with *plain malloc'd (NUL-terminated), or -1 when the tag does not match. */
int wechat_gcm_decrypt(const char *key, const char *nonce, const char *aad, const char *b64,
                       char **plain, size_t *plain_len);

/* Sandbox: the signature the sandbox gateway puts on its notify. out: 33 bytes. */
void sandbox_sign(const char *order_no, const char *trade_no, int64_t amount, char out[33]);

#endif
