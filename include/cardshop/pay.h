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
	char *ref; /* the gateway's own id for the payment (Stripe's session id), kept with the
	            * order for query; NULL when the order number is enough */
	/* Create failed for this order alone (its amount, its currency), refused by the gateway
	 * or by our check first: the gateway is up, so its breaker counts no failure. */
	int refused;
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
	/* Where verify may park a parsed body its n strings point into (JSON gateways); the
	 * caller json_decref's it after applying n. NULL: verify cannot keep one (and fails). */
	json_t **hold;
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
	const char *ref; /* in: the gateway's id stored with the order at create (may be NULL) */
	int paid;        /* the gateway says so, for our merchant id and this order */
	int64_t amount;  /* what it says was paid, minor units */
	char trade_no[129];
	char currency[4]; /* upper-case ISO code when the gateway names one, else "" */
	char *raw;        /* the answer verbatim, for payment_events (malloc'd) */
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
	/* The wallets offered inside the gateway, comma-separated ("alipay,wxpay"); NULL or "":
	 * none (the gateway's own cashier chooses). */
	const char *(*channels)(const struct config *cfg);
	/* The one currency it charges in ("CNY" for the Chinese gateways, whose amounts are
	 * yuan); NULL: the order's own, whatever it is. */
	const char *currency;
};

/* The reply the gateway expects for a notify that was (ok) or was not applied. */
void pay_reply_for(const struct gateway *gw, int ok, struct pay_reply *out);

/* The named gateway when it exists and is enabled; NULL otherwise. */
const struct gateway *pay_gateway(const struct config *cfg, const char *name);

/* The gateway at index i of the table (NULL past the end), enabled or not. */
const struct gateway *pay_gateway_at(size_t i);
/* Whether gw takes orders now: enabled, ready, charging the shop's currency, and its breaker
 * not open. */
int pay_gateway_offered(const struct config *cfg, const struct gateway *gw);
/* 1 when gw can charge an amount in currency (borrowed ISO code), else 0. */
int pay_gateway_takes(const struct gateway *gw, const char *currency);

/* The channel an order for gw uses: the one asked for when gw offers it, else (asked NULL or
 * "") the first it offers, else "" (none). 0 with out set, -1 when asked for one not offered. */
int pay_channel_pick(const struct config *cfg, const struct gateway *gw, const char *asked,
                     char out[33]);
/* {"<gateway>": ["alipay", ...]} for the offered gateways that have channels. New reference. */
json_t *pay_channels_json(const struct config *cfg);

/* Breakers: [payment] breaker_failures consecutive failed create/query calls within
 * breaker_window seconds take a gateway down for breaker_cooldown seconds, then one trial call
 * decides (half-open). Thread-safe. */
/* gw->create through its breaker: 0, or -1 with err (no secret) when it failed, gave no URL
 * or the gateway is down now; out is cleaned up on failure. */
int pay_create(const struct config *cfg, const struct gateway *gw, const struct pay_order *o,
               struct pay_created *out, char *err, size_t errlen);
/* gw->query through its breaker: -1 when it cannot be asked, could not be reached, or is down
 * now (not asked); otherwise 0 and out filled (out->raw malloc'd). ref borrowed (may be NULL). */
int pay_query(const struct config *cfg, const struct gateway *gw, const char *order_no,
              const char *ref, struct pay_query *out);
/* 1 while gw's breaker lets calls through (up, or half-open with no trial in flight). */
int pay_gateway_up(const struct gateway *gw);
/* The enabled gateways and their breakers, for the admin: [{"gateway", "state" (up, down,
 * half_open), "ready", "can_query", "failures", "last_error", "last_error_at",
 * "down_until"}]. New reference. */
json_t *pay_gateways_json(const struct config *cfg);
/* cardshop_gateway_up{gateway="…"} (HELP and TYPE) for the enabled gateways. */
void pay_metrics_render(const struct config *cfg, struct buf *out);

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
/* Stripe helpers, shared with tests. The webhook signature check, as Stripe's libraries do
 * it: NULL when header ("t=…,v1=…[,v1=…]") holds a v1 matching HMAC-SHA256("t.body") with
 * secret and t is within 300 s of now; otherwise why not (static text). */
const char *stripe_check_signature(const char *secret, const char *header, const char *body,
                                   size_t len, int64_t now);
/* The v1 signature of body at time t. out: 65 bytes. */
void stripe_sign(const char *secret, int64_t t, const char *body, size_t len, char out[65]);
/* Our minor units (hundredths) <-> Stripe's smallest unit of the currency (JPY: yen, KWD:
 * thousandths). -1 when it cannot be expressed exactly. */
int stripe_unit_amount(const char *currency, int64_t minor, int64_t *unit);
int stripe_minor_amount(const char *currency, int64_t unit, int64_t *minor);

/* epusdt helpers, shared with tests: the signature the epusdt server computes over a JSON
 * object (every field but signature and nulls as "k=v", numbers in Go's shortest decimal form,
 * sorted, joined with '&', the token appended; MD5, lower-case hex). -1 when a field is a
 * boolean, object or array (the server cannot sign those). out: 33 bytes. */
int epusdt_sign(json_t *obj, const char *token, char out[33]);
/* A number as epusdt writes it into the signed text: 12.88, 2, 0.0001. out: 400 bytes. */
void epusdt_format_number(double v, char out[400]);

/* Sandbox: the signature the sandbox gateway puts on its notify. out: 33 bytes. */
void sandbox_sign(const char *order_no, const char *trade_no, int64_t amount, char out[33]);

#endif
