/* The gateway table and helpers shared by the gateways. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cardshop/pay.h"
#include "cardshop/util.h"
#include "internal.h"

static const struct gateway *const gateways[] = {&epay_gateway,   &alipay_gateway,
                                                 &wechat_gateway, &stripe_gateway,
                                                 &epusdt_gateway, &sandbox_gateway};
#define NGATEWAYS (sizeof gateways / sizeof gateways[0])
_Static_assert(NGATEWAYS <= PAY_MAX_GATEWAYS, "one breaker per gateway");

const struct gateway *pay_gateway_at(size_t i)
{
	return i < NGATEWAYS ? gateways[i] : NULL;
}

size_t pay_gateway_index(const struct gateway *gw)
{
	for (size_t i = 0; i < NGATEWAYS; i++) {
		if (gateways[i] == gw)
			return i;
	}
	abort(); /* only the table's gateways exist */
}

int pay_gateway_takes(const struct gateway *gw, const char *currency)
{
	return !gw->currency || (currency && strcmp(gw->currency, currency) == 0);
}

int pay_gateway_offered(const struct config *cfg, const struct gateway *gw)
{
	return gw->enabled(cfg) && (!gw->ready || gw->ready(cfg)) &&
	       pay_gateway_takes(gw, cfg->currency) && pay_gateway_up(gw);
}

const struct gateway *pay_gateway(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < sizeof gateways / sizeof gateways[0]; i++) {
		if (strcmp(gateways[i]->name, name) == 0)
			return gateways[i]->enabled(cfg) ? gateways[i] : NULL;
	}
	return NULL;
}

/* Calls fn for each trimmed, non-empty item of a comma list until it returns non-zero. */
static int each_channel(const char *list, int (*fn)(const char *s, size_t n, void *arg), void *arg)
{
	for (const char *p = list ? list : ""; *p;) {
		p += strspn(p, " ,\t");
		size_t n = strcspn(p, ",");
		size_t m = n;
		while (m > 0 && (p[m - 1] == ' ' || p[m - 1] == '\t'))
			m--;
		if (m > 0 && fn(p, m, arg))
			return 1;
		p += n;
	}
	return 0;
}

struct pick {
	const char *asked;
	char *out;
};

static int pick_one(const char *s, size_t n, void *arg)
{
	struct pick *p = arg;
	if (n >= 33)
		return 0;
	if (p->asked && *p->asked && (strlen(p->asked) != n || memcmp(p->asked, s, n) != 0))
		return 0;
	memcpy(p->out, s, n);
	p->out[n] = '\0';
	return 1;
}

int pay_channel_pick(const struct config *cfg, const struct gateway *gw, const char *asked,
                     char out[33])
{
	const char *list = gw->channels ? gw->channels(cfg) : "";
	struct pick p = {asked, out};
	out[0] = '\0';
	if (each_channel(list, pick_one, &p))
		return 0;
	return asked && *asked ? -1 : 0;
}

static int add_channel(const char *s, size_t n, void *arg)
{
	if (n < 33)
		json_array_append_new(arg, json_stringn(s, n));
	return 0;
}

json_t *pay_channels_json(const struct config *cfg)
{
	json_t *all = json_object();
	for (size_t i = 0; i < NGATEWAYS; i++) {
		const struct gateway *g = gateways[i];
		if (!g->channels || !pay_gateway_offered(cfg, g))
			continue;
		json_t *list = json_array();
		each_channel(g->channels(cfg), add_channel, list);
		if (json_array_size(list))
			json_object_set_new(all, g->name, list);
		else
			json_decref(list);
	}
	return all;
}

void pay_queryable(const struct config *cfg, char *out, size_t n)
{
	snprintf(out, n, ",");
	for (size_t i = 0; i < sizeof gateways / sizeof gateways[0]; i++) {
		const struct gateway *g = gateways[i];
		if (g->query && g->can_query && g->enabled(cfg) && g->can_query(cfg)) {
			size_t used = strlen(out);
			snprintf(out + used, n - used, "%s,", g->name);
		}
	}
}

void pay_created_cleanup(struct pay_created *c)
{
	free(c->url);
	free(c->qr);
	free(c->ref);
	c->url = c->qr = c->ref = NULL;
}

struct pay_notify_in pay_notify_in_params(const struct kvlist *params)
{
	return (struct pay_notify_in){.method = "GET", .params = params, .body = ""};
}

const char *pay_notify_header(const struct pay_notify_in *in, const char *name)
{
	return in->header ? in->header(in->header_ctx, name) : NULL;
}

void pay_reply_for(const struct gateway *gw, int ok, struct pay_reply *out)
{
	if (gw->reply) {
		gw->reply(ok, out);
		return;
	}
	*out = (struct pay_reply){200, "text/plain; charset=utf-8",
	                          ok ? gw->success_reply : gw->failure_reply};
}

int pay_parse_money(const char *s, int64_t *minor)
{
	int64_t major = 0, cents = 0;
	const char *p = s;
	if (!s || !*s || *s == '.')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (__builtin_mul_overflow(major, 10, &major) ||
		    __builtin_add_overflow(major, *p - '0', &major))
			return -1;
	}
	if (*p == '.') {
		p++;
		int digits = 0;
		for (; *p >= '0' && *p <= '9' && digits < 2; p++, digits++)
			cents = cents * 10 + (*p - '0');
		if (digits == 0)
			return -1;
		if (digits == 1)
			cents *= 10;
	}
	if (*p != '\0' || major > INT64_MAX / 100 - 1)
		return -1;
	*minor = major * 100 + cents;
	return 0;
}

void pay_format_money(int64_t minor, char out[32])
{
	uint64_t abs = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
	snprintf(out, 32, "%s%llu.%02llu", minor < 0 ? "-" : "", (unsigned long long)(abs / 100),
	         (unsigned long long)(abs % 100));
}

/* Rejects repeated names: a signer and a reader may pick different copies. */
int pay_params_unique(const struct kvlist *params)
{
	for (size_t i = 0; i < params->count; i++) {
		for (size_t j = i + 1; j < params->count; j++) {
			if (strcmp(params->items[i].name, params->items[j].name) == 0)
				return 0;
		}
	}
	return 1;
}
