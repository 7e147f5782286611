/* EPay (易支付): submit.php redirect with an MD5 signature; notify by GET or POST with
 * pid, trade_no, out_trade_no, type, name, money, trade_status, sign, sign_type. */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "cardshop/fetch.h"
#include "cardshop/sec.h"
#include "cardshop/util.h"
#include "internal.h"

static int cmp_kv(const void *a, const void *b)
{
	const struct kv *x = *(const struct kv *const *)a;
	const struct kv *y = *(const struct kv *const *)b;
	return strcmp(x->name, y->name);
}

void epay_sign(const struct kvlist *params, const char *key, char out[33])
{
	const struct kv **sorted = xmalloc((params->count + 1) * sizeof *sorted);
	size_t n = 0;
	for (size_t i = 0; i < params->count; i++) {
		const struct kv *kv = &params->items[i];
		if (!kv->value[0] || !strcmp(kv->name, "sign") || !strcmp(kv->name, "sign_type"))
			continue;
		sorted[n++] = kv;
	}
	qsort(sorted, n, sizeof *sorted, cmp_kv);
	struct buf b;
	buf_init(&b);
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%s%s=%s", i ? "&" : "", sorted[i]->name, sorted[i]->value);
	buf_puts(&b, key);
	sec_md5_hex(b.data, b.len, out);
	sec_wipe(b.data, b.len);
	buf_cleanup(&b);
	free(sorted);
}

static int enabled(const struct config *cfg)
{
	return cfg->epay_enabled;
}

/* Without a key, pid and URL no notify could ever verify: taking orders would strand them. */
static int ready(const struct config *cfg)
{
	return cfg->epay_key[0] && cfg->epay_pid[0] && cfg->epay_api_url[0];
}

static void add_param(struct kvlist *l, const char *name, const char *value)
{
	l->items = xrealloc(l->items, (l->count + 1) * sizeof *l->items);
	l->items[l->count].name = xstrdup(name);
	l->items[l->count].value = xstrdup(value);
	l->count++;
}

static char *pay_url(const struct config *cfg, const struct pay_order *o)
{
	struct kvlist p = {0};
	char money[32];
	pay_format_money(o->amount, money);
	char *notify = xasprintf("%s/pay/epay/notify", cfg->base_url);
	char *ret = xasprintf("%s/pay/epay/return", cfg->base_url);
	add_param(&p, "pid", cfg->epay_pid);
	add_param(&p, "out_trade_no", o->order_no);
	add_param(&p, "notify_url", notify);
	add_param(&p, "return_url", ret);
	add_param(&p, "name", o->product_name);
	add_param(&p, "money", money);
	if (o->channel && *o->channel)
		add_param(&p, "type", o->channel); /* the wallet; without it the cashier asks */
	char sign[33];
	epay_sign(&p, cfg->epay_key, sign);
	add_param(&p, "sign", sign);
	add_param(&p, "sign_type", "MD5");
	struct buf url;
	buf_init(&url);
	const char *base = cfg->epay_api_url;
	size_t blen = strlen(base);
	buf_printf(&url, "%s%ssubmit.php?", base, blen && base[blen - 1] == '/' ? "" : "/");
	for (size_t i = 0; i < p.count; i++) {
		char *v = curl_easy_escape(NULL, p.items[i].value, 0);
		buf_printf(&url, "%s%s=%s", i ? "&" : "", p.items[i].name, v ? v : "");
		curl_free(v);
	}
	kv_free(&p);
	free(notify);
	free(ret);
	return buf_release(&url);
}

/* The redirect is signed here: nothing to ask the platform before the buyer goes there. */
static int create(const struct config *cfg, const struct pay_order *o, struct pay_created *out,
                  char *err, size_t errlen)
{
	/* Another currency never gets here: pay_create refuses it by .currency. */
	(void)err, (void)errlen;
	out->url = pay_url(cfg, o);
	return 0;
}

static void verify(const struct config *cfg, const struct pay_notify_in *in, struct notify *n)
{
	const struct kvlist *params = in->params;
	n->order_no = kv_get(params, "out_trade_no");
	n->trade_no = kv_get(params, "trade_no");
	const char *sign = kv_get(params, "sign");
	const char *pid = kv_get(params, "pid");
	const char *status = kv_get(params, "trade_status");
	const char *money = kv_get(params, "money");
	n->verified = 0;
	if (!cfg->epay_key[0]) {
		n->reason = "no merchant key configured";
		return;
	}
	if (!pay_params_unique(params) || !sign || !n->order_no || !n->trade_no || !money || !pid) {
		n->reason = "missing or repeated parameters";
		return;
	}
	char want[33];
	epay_sign(params, cfg->epay_key, want);
	if (!sec_streq(want, sign)) {
		n->reason = "bad signature";
		return;
	}
	if (strcmp(pid, cfg->epay_pid) != 0) {
		n->reason = "pid does not match";
		return;
	}
	if (!status || strcmp(status, "TRADE_SUCCESS") != 0) {
		n->reason = "trade_status is not TRADE_SUCCESS";
		return;
	}
	if (pay_parse_money(money, &n->amount) != 0) {
		n->reason = "money is not an amount";
		return;
	}
	n->currency = "CNY"; /* what 易支付's money is in */
	n->verified = 1;
}

static char *query_url(const struct config *cfg, const char *order_no)
{
	char *pid = curl_easy_escape(NULL, cfg->epay_pid, 0);
	char *key = curl_easy_escape(NULL, cfg->epay_key, 0);
	char *no = curl_easy_escape(NULL, order_no, 0);
	const char *base = cfg->epay_api_url;
	size_t blen = strlen(base);
	char *url = xasprintf("%s%sapi.php?act=order&pid=%s&key=%s&out_trade_no=%s", base,
	                      blen && base[blen - 1] == '/' ? "" : "/", pid ? pid : "",
	                      key ? key : "", no ? no : "");
	curl_free(pid);
	curl_free(key);
	curl_free(no);
	return url;
}

/* "status": 1 (or "1") with our pid, order and a parsable amount means paid. */
static void read_answer(const struct config *cfg, const char *order_no, json_t *j,
                        struct pay_query *out)
{
	json_t *st = json_object_get(j, "status"), *pid = json_object_get(j, "pid");
	int paid = json_is_integer(st)
	               ? json_integer_value(st) == 1
	               : json_is_string(st) && strcmp(json_string_value(st), "1") == 0;
	char pidbuf[32];
	const char *pidtext = json_string_value(pid);
	if (json_is_integer(pid)) {
		snprintf(pidbuf, sizeof pidbuf, "%lld", (long long)json_integer_value(pid));
		pidtext = pidbuf;
	}
	const char *out_no = json_string_value(json_object_get(j, "out_trade_no"));
	const char *trade = json_string_value(json_object_get(j, "trade_no"));
	const char *money = json_string_value(json_object_get(j, "money"));
	out->paid = paid && pidtext && strcmp(pidtext, cfg->epay_pid) == 0 && out_no &&
	            strcmp(out_no, order_no) == 0 && trade && *trade &&
	            strlen(trade) < sizeof out->trade_no && money &&
	            pay_parse_money(money, &out->amount) == 0;
	if (out->paid) {
		snprintf(out->trade_no, sizeof out->trade_no, "%s", trade);
		snprintf(out->currency, sizeof out->currency, "CNY");
	}
}

/* The order query carries the merchant key and its answer is not signed: it is only asked
 * over TLS (with the certificate checked), or on this machine. */
static int can_query(const struct config *cfg)
{
	return ready(cfg) && (strncmp(cfg->epay_api_url, "https://", 8) == 0 ||
	                      util_url_host_is_loopback(cfg->epay_api_url));
}

static int query(const struct config *cfg, const char *order_no, struct pay_query *out)
{
	memset(out, 0, sizeof *out);
	if (!can_query(cfg))
		return -1;
	char *url = query_url(cfg, order_no);
	struct fetch_req r = {.url = url, .timeout_s = 5};
	struct fetch_reply reply;
	char err[128];
	int rc = fetch_http(&r, &reply, err, sizeof err);
	sec_wipe(url, strlen(url)); /* it holds the merchant key */
	free(url);
	if (rc != 0 || reply.status != 200) {
		fetch_reply_cleanup(&reply);
		return -1;
	}
	json_t *j = json_loadb(reply.body.data ? reply.body.data : "", reply.body.len, 0, NULL);
	if (json_is_object(j))
		read_answer(cfg, order_no, j, out);
	json_decref(j);
	out->raw = buf_release(&reply.body);
	return 0;
}

static const char *return_order(const struct kvlist *params)
{
	return kv_get(params, "out_trade_no");
}

static const char *channels(const struct config *cfg)
{
	return cfg->epay_types;
}

const struct gateway epay_gateway = {
    .name = "epay",
    .enabled = enabled,
    .ready = ready,
    .can_query = can_query,
    .query = query,
    .create = create,
    .verify = verify,
    .return_order = return_order,
    .success_reply = "success",
    .failure_reply = "fail",
    .channels = channels,
    .currency = "CNY",
};
