/* Breakers: a gateway whose create or query calls keep failing is taken out of the checkout
 * for a cool-down, then let through for one trial call (half-open) that decides whether it is
 * back. Every create and query goes through pay_create/pay_query, so the count is complete. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "cardshop/log.h"
#include "cardshop/util.h"
#include "internal.h"

struct breaker {
	int failures;          /* consecutive, within the window */
	int64_t first_fail_us; /* monotonic time of the first of them */
	int64_t open_until_us; /* 0: closed (up); otherwise down until then, then half-open */
	int trial;             /* half-open: the one trial call is in flight */
	/* Bumped when it opens and when it closes: a call counts only in the period it started
	 * in, so one sent before the open and answered after the cool-down is not the trial. */
	uint64_t gen;
	int64_t last_error_at; /* UTC seconds */
	char last_error[160];  /* never a secret: gateways keep them out of err */
};

static struct breaker breakers[PAY_MAX_GATEWAYS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t (*clock_us)(void) = util_now_usec;

void pay_breaker_clock_set(int64_t (*now_us)(void))
{
	clock_us = now_us ? now_us : util_now_usec;
}

enum breaker_state { B_UP, B_DOWN, B_HALF_OPEN };

static enum breaker_state state_locked(const struct breaker *b, int64_t now)
{
	if (!b->open_until_us)
		return B_UP;
	return now < b->open_until_us ? B_DOWN : B_HALF_OPEN;
}

/* Whether a call would be let through now: up, or half-open with the trial still free. */
static int admits_locked(const struct breaker *b, int64_t now)
{
	enum breaker_state s = state_locked(b, now);
	return s == B_UP || (s == B_HALF_OPEN && !b->trial);
}

/* Whether a call may go out now; in half-open only one caller gets through (the trial). */
int pay_breaker_enter(const struct gateway *gw, struct pay_breaker_ticket *t)
{
	int64_t now = clock_us();
	pthread_mutex_lock(&lock);
	struct breaker *b = &breakers[pay_gateway_index(gw)];
	enum breaker_state s = state_locked(b, now);
	int ok = admits_locked(b, now);
	if (s == B_HALF_OPEN && ok)
		b->trial = 1;
	t->trial = s == B_HALF_OPEN && ok;
	t->gen = b->gen;
	pthread_mutex_unlock(&lock);
	return ok;
}

/* A failure of the current period: counted, and the breaker opens at the threshold (at once
 * for the trial). 1 when it opened. */
static int breaker_fail_locked(const struct config *cfg, struct breaker *b, int trial, int64_t now,
                               const char *err)
{
	if (b->failures == 0 || now - b->first_fail_us > cfg->breaker_window * 1000000)
		b->failures = 0, b->first_fail_us = now;
	b->failures++;
	b->last_error_at = util_now();
	snprintf(b->last_error, sizeof b->last_error, "%s", err && *err ? err : "failed");
	if (!trial && b->failures < cfg->breaker_failures)
		return 0;
	b->open_until_us = now + cfg->breaker_cooldown * 1000000;
	b->gen++;
	return 1;
}

void pay_breaker_leave(const struct config *cfg, const struct gateway *gw,
                       const struct pay_breaker_ticket *t, int ok, const char *err)
{
	int64_t now = clock_us();
	int opened = 0;
	pthread_mutex_lock(&lock);
	struct breaker *b = &breakers[pay_gateway_index(gw)];
	if (t->gen != b->gen) {
		/* Sent before the breaker last opened or closed: its answer says nothing of now. */
	} else if (t->trial) {
		b->trial = 0;
		if (ok) {
			b->failures = 0;
			b->open_until_us = 0;
			b->gen++;
			opened = -1; /* it was down and is back */
		} else {
			opened = breaker_fail_locked(cfg, b, 1, now, err);
		}
	} else if (ok) {
		b->failures = 0; /* up: only calls of this period are let through, none a trial */
	} else {
		opened = breaker_fail_locked(cfg, b, 0, now, err);
	}
	pthread_mutex_unlock(&lock);
	if (opened > 0)
		log_warn("gateway down: taken out of the checkout for its cool-down",
		         json_pack("{ss sI}", "gateway", gw->name, "cooldown_s",
		                   (json_int_t)cfg->breaker_cooldown));
	else if (opened < 0)
		log_info("gateway up again", json_pack("{ss}", "gateway", gw->name));
}

int pay_create(const struct config *cfg, const struct gateway *gw, const struct pay_order *o,
               struct pay_created *out, char *err, size_t errlen)
{
	struct pay_breaker_ticket t;
	memset(out, 0, sizeof *out);
	/* Refused here, before the breaker: such an order never reaches the gateway, so it says
	 * nothing of its health (it must neither take the half-open trial nor clear failures). */
	if (!pay_gateway_takes(gw, o->currency)) {
		snprintf(err, errlen, "%s takes %s only", gw->name, gw->currency);
		out->refused = 1;
		return -1;
	}
	if (!pay_breaker_enter(gw, &t)) {
		snprintf(err, errlen, "gateway is down (breaker open)");
		return -1;
	}
	int rc = gw->create(cfg, o, out, err, errlen);
	if (rc == 0 && !out->url) {
		snprintf(err, errlen, "gateway gave no payment URL");
		rc = -1;
	}
	/* An order refused on its own merits says the gateway works: a buyer must not be able to
	 * take a gateway out of everyone's checkout with orders it cannot charge. */
	pay_breaker_leave(cfg, gw, &t, rc == 0 || out->refused, err);
	if (rc != 0)
		pay_created_cleanup(out);
	return rc;
}

int pay_query(const struct config *cfg, const struct gateway *gw, const char *order_no,
              const char *ref, struct pay_query *out)
{
	memset(out, 0, sizeof *out);
	if (!gw->query || (gw->can_query && !gw->can_query(cfg)))
		return -1;
	struct pay_breaker_ticket t;
	if (!pay_breaker_enter(gw, &t))
		return -1; /* down: not asked this time; its orders keep the bounded grace */
	out->ref = ref;
	int rc = gw->query(cfg, order_no, out);
	pay_breaker_leave(cfg, gw, &t, rc == 0, "query failed: gateway unreachable or refused");
	return rc;
}

int pay_gateway_up(const struct gateway *gw)
{
	size_t i = pay_gateway_index(gw);
	int64_t now = clock_us();
	pthread_mutex_lock(&lock);
	int up = admits_locked(&breakers[i], now);
	pthread_mutex_unlock(&lock);
	return up;
}

static const char *const state_names[] = {
    [B_UP] = "up", [B_DOWN] = "down", [B_HALF_OPEN] = "half_open"};

json_t *pay_gateways_json(const struct config *cfg)
{
	json_t *list = json_array();
	int64_t now = clock_us(), wall = util_now();
	for (size_t i = 0; pay_gateway_at(i); i++) {
		const struct gateway *gw = pay_gateway_at(i);
		if (!gw->enabled(cfg))
			continue;
		pthread_mutex_lock(&lock);
		struct breaker b = breakers[i];
		pthread_mutex_unlock(&lock);
		enum breaker_state s = state_locked(&b, now);
		json_t *e = json_pack(
		    "{ss ss sb sb si}", "gateway", gw->name, "state", state_names[s], "ready",
		    !gw->ready || gw->ready(cfg), "can_query",
		    gw->query && (!gw->can_query || gw->can_query(cfg)), "failures", b.failures);
		json_object_set_new(e, "last_error",
		                    b.last_error_at ? json_string(b.last_error) : json_null());
		json_object_set_new(e, "last_error_at",
		                    b.last_error_at ? json_integer(b.last_error_at) : json_null());
		json_object_set_new(e, "down_until",
		                    s == B_DOWN
		                        ? json_integer(wall + (b.open_until_us - now) / 1000000)
		                        : json_null());
		json_array_append_new(list, e);
	}
	return list;
}

void pay_metrics_render(const struct config *cfg, struct buf *out)
{
	int any = 0;
	for (size_t i = 0; pay_gateway_at(i); i++) {
		const struct gateway *gw = pay_gateway_at(i);
		if (!gw->enabled(cfg))
			continue;
		if (!any++)
			buf_puts(out,
			         "# HELP cardshop_gateway_up Whether the gateway takes orders (0: "
			         "down after repeated failures, or waiting for its trial call).\n"
			         "# TYPE cardshop_gateway_up gauge\n");
		int64_t now = clock_us();
		pthread_mutex_lock(&lock);
		int up = state_locked(&breakers[i], now) == B_UP;
		pthread_mutex_unlock(&lock);
		buf_printf(out, "cardshop_gateway_up{gateway=\"%s\"} %d\n", gw->name, up);
	}
}
