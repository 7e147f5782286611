/* Payment gateways behind one interface: build the payment redirect, verify a notify. */
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
	/* Where the buyer goes to pay (malloc'd URL). */
	char *(*pay_url)(const struct config *cfg, const struct pay_order *o);
	/* Checks signature and merchant; fills n (strings borrowed from params). */
	void (*verify)(const struct config *cfg, const struct kvlist *params, struct notify *n);
	/* Whether query may be used with this configuration (NULL: never). */
	int (*can_query)(const struct config *cfg);
	/* Asks the gateway whether order_no was paid (NULL: this gateway cannot be asked). -1 when
	 * it could not be reached; otherwise 0 and out filled (out->raw malloc'd). */
	int (*query)(const struct config *cfg, const char *order_no, struct pay_query *out);
	/* Where the buyer lands after paying: the order number named in the return parameters. */
	const char *(*return_order)(const struct kvlist *params);
	const char *success_reply;
	const char *failure_reply;
};

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

/* Sandbox: the signature the sandbox gateway puts on its notify. out: 33 bytes. */
void sandbox_sign(const char *order_no, const char *trade_no, int64_t amount, char out[33]);

#endif
