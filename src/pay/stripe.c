/* Stripe Checkout: a Checkout Session created with our amount and currency (the buyer is sent
 * to its url), the webhook verified as Stripe signs it (Stripe-Signature t=…,v1=…: HMAC-SHA256
 * of "t.body" with the endpoint secret, 300 s tolerance), and session retrieve for lost
 * webhooks. The session id is the trade number: one session is one payment. */
#include <curl/curl.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cardshop/fetch.h"
#include "cardshop/sec.h"
#include "cardshop/util.h"
#include "internal.h"

#define TOLERANCE 300
#define MAX_SIG_HEADER 2048 /* Stripe sends a t and one or two v1 (secret rollover) */

/* Stripe counts in the currency's own smallest unit; the shop always in hundredths. */
static const char *const zero_decimal[] = {"bif", "clp", "djf", "gnf", "jpy", "kmf",
                                           "krw", "mga", "pyg", "rwf", "ugx", "vnd",
                                           "vuv", "xaf", "xof", "xpf", NULL};
static const char *const three_decimal[] = {"bhd", "jod", "kwd", "omr", "tnd", NULL};

static int in_list(const char *const *list, const char *cur)
{
	for (; *list; list++) {
		if (strcasecmp(*list, cur) == 0)
			return 1;
	}
	return 0;
}

int stripe_unit_amount(const char *currency, int64_t minor, int64_t *unit)
{
	if (minor < 0)
		return -1;
	if (in_list(zero_decimal, currency)) {
		if (minor % 100 != 0)
			return -1; /* a fraction of a yen cannot be charged */
		*unit = minor / 100;
		return 0;
	}
	if (in_list(three_decimal, currency))
		return __builtin_mul_overflow(minor, 10, unit) ? -1 : 0;
	*unit = minor;
	return 0;
}

int stripe_minor_amount(const char *currency, int64_t unit, int64_t *minor)
{
	if (unit < 0)
		return -1;
	if (in_list(zero_decimal, currency))
		return __builtin_mul_overflow(unit, 100, minor) ? -1 : 0;
	if (in_list(three_decimal, currency)) {
		if (unit % 10 != 0)
			return -1;
		*minor = unit / 10;
		return 0;
	}
	*minor = unit;
	return 0;
}

void stripe_sign(const char *secret, int64_t t, const char *body, size_t len, char out[65])
{
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "%lld.", (long long)t);
	buf_append(&b, body, len);
	unsigned char mac[32];
	sec_hmac_sha256(secret, strlen(secret), b.data, b.len, mac);
	sec_hex(mac, 32, out);
	buf_cleanup(&b);
}

/* Parses "t=…,v1=…,v1=…,v0=…" as Stripe's libraries do: every v1 is a candidate, any one
 * that matches is enough; other schemes are ignored. */
const char *stripe_check_signature(const char *secret, const char *header, const char *body,
                                   size_t len, int64_t now)
{
	if (!secret || !*secret)
		return "no webhook secret configured";
	if (!header || !*header)
		return "no Stripe-Signature header";
	if (strlen(header) > MAX_SIG_HEADER)
		return "Stripe-Signature header too long";
	int64_t t = -1;
	int candidates = 0, match = 0;
	char *copy = xstrdup(header), *save = NULL;
	for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		if (!eq)
			continue;
		*eq = '\0';
		const char *k = item, *v = eq + 1;
		if (strcmp(k, "t") == 0 && t < 0 && util_parse_i64(v, 0, INT64_MAX / 2, &t) != 0)
			t = -2;
		else if (strcmp(k, "v1") == 0)
			candidates++;
		*eq = '=';
	}
	const char *why = NULL;
	if (t < 0)
		why = "no valid timestamp in Stripe-Signature";
	else if (!candidates)
		why = "no v1 signature in Stripe-Signature";
	else if (t < now - TOLERANCE || t > now + TOLERANCE)
		why = "timestamp outside the tolerance";
	if (why) {
		free(copy);
		return why;
	}
	char want[65];
	stripe_sign(secret, t, body, len, want);
	free(copy);
	copy = xstrdup(header);
	for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		if (strncmp(item, "v1=", 3) == 0)
			match |= sec_streq(item + 3,
			                   want); /* every candidate is compared: no early out */
	}
	free(copy);
	sec_wipe(want, sizeof want);
	return match ? NULL : "bad signature";
}

static int enabled(const struct config *cfg)
{
	return cfg->stripe_enabled;
}

/* The secret key goes out with every call: only over TLS, or to this machine (tests). */
static int ready(const struct config *cfg)
{
	const char *u = cfg->stripe_api_url;
	return cfg->stripe_secret_key[0] && cfg->stripe_webhook_secret[0] && u[0] &&
	       (strncmp(u, "https://", 8) == 0 || util_url_host_is_loopback(u));
}

static char *api_url(const struct config *cfg, const char *path)
{
	const char *base = cfg->stripe_api_url;
	size_t n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	return xasprintf("%.*s%s", (int)n, base, path);
}

static void form_add(struct buf *b, const char *name, const char *value)
{
	char *v = curl_easy_escape(NULL, value, 0);
	char *k = curl_easy_escape(NULL, name, 0);
	buf_printf(b, "%s%s=%s", b->len ? "&" : "", k ? k : "", v ? v : "");
	curl_free(k);
	curl_free(v);
}

static void form_add_int(struct buf *b, const char *name, int64_t v)
{
	char text[32];
	snprintf(text, sizeof text, "%lld", (long long)v);
	form_add(b, name, text);
}

/* Calls Stripe with the secret key; the reply JSON (new reference) or NULL with err set. */
static json_t *stripe_call(const struct config *cfg, const char *path, const char *form,
                           const char *idem, long *status, char *err, size_t errlen)
{
	char *url = api_url(cfg, path);
	char *auth = xasprintf("Authorization: Bearer %s", cfg->stripe_secret_key);
	char *idem_h = idem ? xasprintf("Idempotency-Key: %s", idem) : NULL;
	const char *headers[] = {auth, idem_h, NULL};
	struct fetch_req r = {.url = url,
	                      .body = form,
	                      .body_len = form ? strlen(form) : 0,
	                      .headers = headers,
	                      .timeout_s = 10};
	struct fetch_reply reply;
	int rc = fetch_http(&r, &reply, err, errlen);
	*status = rc == 0 ? reply.status : 0;
	sec_wipe(auth, strlen(auth));
	free(auth);
	free(idem_h);
	free(url);
	if (rc != 0)
		return NULL;
	json_t *j = json_loadb(reply.body.data ? reply.body.data : "", reply.body.len, 0, NULL);
	if (reply.status != 200 || !json_is_object(j)) {
		/* The type and code only: Stripe's messages may quote part of the key. */
		json_t *e = json_object_get(j, "error");
		const char *type = json_string_value(json_object_get(e, "type"));
		const char *code = json_string_value(json_object_get(e, "code"));
		snprintf(err, errlen, "stripe answered %ld%s%s%s%s", reply.status, type ? " " : "",
		         type ? type : "", code ? " " : "", code ? code : "");
		json_decref(j);
		j = NULL;
	}
	fetch_reply_cleanup(&reply);
	return j;
}

static char *session_form(const struct config *cfg, const struct pay_order *o, int64_t unit)
{
	struct buf b;
	buf_init(&b);
	char cur[4] = "";
	for (int i = 0; i < 3 && o->currency[i]; i++)
		cur[i] = (char)tolower((unsigned char)o->currency[i]);
	char *back = xasprintf("%s/pay/stripe/return?order_no=%s", cfg->base_url, o->order_no);
	form_add(&b, "mode", "payment");
	form_add(&b, "client_reference_id", o->order_no);
	form_add(&b, "metadata[order_no]", o->order_no);
	form_add(&b, "payment_intent_data[metadata][order_no]", o->order_no);
	form_add(&b, "line_items[0][quantity]", "1");
	form_add(&b, "line_items[0][price_data][currency]", cur);
	form_add_int(&b, "line_items[0][price_data][unit_amount]", unit);
	form_add(&b, "line_items[0][price_data][product_data][name]",
	         o->product_name && *o->product_name ? o->product_name : o->order_no);
	form_add(&b, "success_url", back);
	form_add(&b, "cancel_url", back);
	/* Stripe takes 30 min to 24 h from now (by its clock: 2 min of slack): a shorter order gets
	 * the shortest session, so a payment after the order expired (late-payment rules) can only
	 * come within that half hour. */
	int64_t now = util_now(), at = o->expires_at;
	if (at < now + 1800 + 120)
		at = now + 1800 + 120;
	if (at > now + 86400 - 120)
		at = now + 86400 - 120;
	form_add_int(&b, "expires_at", at);
	free(back);
	return buf_release(&b);
}

static int create(const struct config *cfg, const struct pay_order *o, struct pay_created *out,
                  char *err, size_t errlen)
{
	int64_t unit;
	if (stripe_unit_amount(o->currency, o->amount, &unit) != 0 || unit <= 0) {
		snprintf(err, errlen, "amount cannot be charged in %s", o->currency);
		out->refused = 1;
		return -1;
	}
	char *form = session_form(cfg, o, unit);
	char idem[64];
	snprintf(idem, sizeof idem, "cardshop-order-%s", o->order_no);
	long status;
	json_t *s = stripe_call(cfg, "/v1/checkout/sessions", form, idem, &status, err, errlen);
	free(form);
	/* 400/402: this session was refused (an amount under Stripe's minimum...); a key or
	 * account problem (401, 403), a limit or an outage still counts against the breaker. */
	out->refused = !s && (status == 400 || status == 402);
	if (!s)
		return -1;
	const char *url = json_string_value(json_object_get(s, "url"));
	const char *id = json_string_value(json_object_get(s, "id"));
	int rc = -1;
	if (url && id && (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0)) {
		out->url = xstrdup(url);
		out->ref = xstrdup(id);
		rc = 0;
	} else {
		snprintf(err, errlen, "stripe session without id or url");
	}
	json_decref(s);
	return rc;
}

/* The Checkout Session in an event or a retrieve answer, read into n when it is paid. */
static const char *read_session(json_t *s, struct notify *n)
{
	const char *id = json_string_value(json_object_get(s, "id"));
	const char *ref = json_string_value(json_object_get(s, "client_reference_id"));
	const char *cur = json_string_value(json_object_get(s, "currency"));
	const char *paid = json_string_value(json_object_get(s, "payment_status"));
	json_t *total = json_object_get(s, "amount_total");
	const char *object = json_string_value(json_object_get(s, "object"));
	if (!object || strcmp(object, "checkout.session") != 0 || !id || !*id || !ref || !cur ||
	    !json_is_integer(total))
		return "not a checkout session with an order, amount and currency";
	n->order_no = ref;
	n->trade_no = id;
	n->currency = cur;
	if (!paid || strcmp(paid, "paid") != 0)
		return "session not paid";
	if (strlen(id) > 128 ||
	    stripe_minor_amount(cur, json_integer_value(total), &n->amount) != 0)
		return "amount_total is not an amount";
	return NULL;
}

static void verify(const struct config *cfg, const struct pay_notify_in *in, struct notify *n)
{
	n->verified = 0;
	const char *why = stripe_check_signature(cfg->stripe_webhook_secret,
	                                         pay_notify_header(in, "Stripe-Signature"),
	                                         in->body, in->body_len, util_now());
	if (why) {
		n->reason = why;
		return;
	}
	json_t *ev = json_loadb(in->body, in->body_len, 0, NULL);
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *s = json_object_get(json_object_get(ev, "data"), "object");
	if (!in->hold || !json_is_object(ev) || !type) {
		n->reason = "not a Stripe event";
		json_decref(ev);
		return;
	}
	*in->hold = ev; /* n's strings point into it; the caller frees it after applying */
	n->trade_no = json_string_value(json_object_get(ev, "id"));
	if (strcmp(type, "checkout.session.completed") != 0 &&
	    strcmp(type, "checkout.session.async_payment_succeeded") != 0) {
		n->reason = "event type not handled (acknowledged, ignored)";
		n->ignored = 1;
		return;
	}
	why = read_session(s, n);
	if (why && strcmp(why, "session not paid") == 0) {
		/* completed with an async method still pending: its success comes as its own event
		 */
		n->reason = "session not paid yet (acknowledged, ignored)";
		n->ignored = 1;
		return;
	}
	n->reason = why;
	n->verified = why == NULL;
}

static int can_query(const struct config *cfg)
{
	return ready(cfg);
}

static int query(const struct config *cfg, const char *order_no, struct pay_query *out)
{
	const char *ref = out->ref;
	memset(out, 0, sizeof *out);
	if (!ref || !*ref ||
	    strspn(ref, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
	        strlen(ref))
		return 0; /* no session was made for it: nothing can have been paid */
	char *path = xasprintf("/v1/checkout/sessions/%s", ref);
	char err[160];
	long status;
	json_t *s = stripe_call(cfg, path, NULL, NULL, &status, err, sizeof err);
	free(path);
	if (!s)
		return -1;
	struct notify n = {0};
	const char *why = read_session(s, &n);
	if (!why && n.order_no && strcmp(n.order_no, order_no) == 0 && n.trade_no &&
	    strlen(n.trade_no) < sizeof out->trade_no) {
		out->paid = 1;
		out->amount = n.amount;
		snprintf(out->trade_no, sizeof out->trade_no, "%s", n.trade_no);
		for (int i = 0; i < 3 && n.currency[i]; i++)
			out->currency[i] = (char)toupper((unsigned char)n.currency[i]);
	}
	out->raw = json_dumps(s, JSON_COMPACT);
	json_decref(s);
	return 0;
}

static const char *return_order(const struct kvlist *params)
{
	return kv_get(params, "order_no");
}

/* Stripe only looks at the status: 2xx received, anything else is retried for three days. */
static void reply(int ok, struct pay_reply *out)
{
	*out = (struct pay_reply){ok ? 200 : 400, "application/json; charset=utf-8",
	                          ok ? "{\"received\":true}" : "{\"received\":false}"};
}

const struct gateway stripe_gateway = {
    .name = "stripe",
    .enabled = enabled,
    .ready = ready,
    .can_query = can_query,
    .query = query,
    .create = create,
    .verify = verify,
    .return_order = return_order,
    .reply = reply,
    .success_reply = "{\"received\":true}",
    .failure_reply = "{\"received\":false}",
};
