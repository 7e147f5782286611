/* Proof-of-work challenges: a token the server can check without storing it (its fields are
 * bound by an HMAC under a key derived from the instance secret), a bounded record of the
 * tokens already spent, and the pressure gauges that decide when to ask and how hard.
 * Token: "<expires>.<difficulty>.<random 16 hex>.<mac 32 hex>"; the MAC covers the route too,
 * so a token issued for one route is worthless on another. */
#include "cardshop/sec.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cardshop/util.h"

#define CH_TTL 300
/* The spent-token record: a fixed open-addressed table, so its memory is bounded whatever the
 * traffic. When no slot is free within CH_PROBES, the solution is refused: a full table must
 * never let a token be spent twice. */
#define CH_SLOTS (1u << 17)
#define CH_PROBES 64

struct ch_slot {
	uint64_t id;     /* 0 = never used */
	int64_t expires; /* the token's expiry: once past, the slot may be taken again */
};

static pthread_mutex_t ch_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ch_slot ch_spent[CH_SLOTS];

static void ch_mac(const char *route, const char *body, size_t bodylen, char out[33])
{
	char buf[192];
	snprintf(buf, sizeof buf, "%s|%.*s", route, (int)bodylen, body);
	sec_derive_token("challenge", buf, out);
}

void sec_challenge_issue_at(const char *route, int difficulty, int64_t now,
                            char out[SEC_CHALLENGE_TOKEN_MAX])
{
	char rnd[17], mac[33], body[48];
	if (difficulty < 1)
		difficulty = 1;
	if (difficulty > SEC_CHALLENGE_MAX_BITS)
		difficulty = SEC_CHALLENGE_MAX_BITS;
	sec_random_hex(rnd, 8);
	int n =
	    snprintf(body, sizeof body, "%lld.%d.%s", (long long)(now + CH_TTL), difficulty, rnd);
	ch_mac(route, body, (size_t)n, mac);
	snprintf(out, SEC_CHALLENGE_TOKEN_MAX, "%s.%s", body, mac);
}

void sec_challenge_issue(const char *route, int difficulty, char out[SEC_CHALLENGE_TOKEN_MAX])
{
	sec_challenge_issue_at(route, difficulty, util_now(), out);
}

int sec_challenge_zero_bits(const unsigned char hash[32])
{
	int bits = 0;
	for (int i = 0; i < 32; i++) {
		if (hash[i] == 0) {
			bits += 8;
			continue;
		}
		for (int b = 7; b >= 0 && !(hash[i] >> b & 1); b--)
			bits++;
		break;
	}
	return bits;
}

/* Parses and authenticates the token part of "token:nonce"; fills its fields. */
static int ch_parse(const char *route, const char *tok, size_t toklen, int64_t *expires,
                    int *difficulty, uint64_t *id)
{
	if (toklen < 34 || toklen >= SEC_CHALLENGE_TOKEN_MAX)
		return -1;
	size_t bodylen = toklen - 33;
	if (tok[bodylen] != '.')
		return -1;
	char mac[33];
	ch_mac(route, tok, bodylen, mac);
	if (!sec_equal(mac, 32, tok + bodylen + 1, 32))
		return -1;
	/* Authentic, so the fields are ours: parse without further doubt about their shape. */
	long long exp;
	int diff;
	char rnd[17];
	if (sscanf(tok, "%lld.%d.%16[0-9a-f]", &exp, &diff, rnd) != 3 || strlen(rnd) != 16)
		return -1;
	*expires = exp;
	*difficulty = diff;
	*id = strtoull(rnd, NULL, 16) | 1; /* never 0, the empty mark */
	return 0;
}

static int nonce_ok(const char *nonce)
{
	size_t n = strlen(nonce);
	return n >= 1 && n <= 20 && strspn(nonce, "0123456789") == n;
}

/* Records id as spent; 0 if it was not spent before and a slot was free, else -1. */
static int ch_spend(uint64_t id, int64_t expires, int64_t now)
{
	int rc = -1;
	pthread_mutex_lock(&ch_lock);
	struct ch_slot *free_slot = NULL;
	size_t at = (size_t)(id % CH_SLOTS);
	for (int i = 0; i < CH_PROBES; i++) {
		struct ch_slot *s = &ch_spent[(at + (size_t)i) % CH_SLOTS];
		if (s->id == id && s->expires >= now)
			goto out; /* reused */
		if (!free_slot && (s->id == 0 || s->expires < now))
			free_slot = s;
		if (s->id == 0)
			break; /* nothing was ever stored past here */
	}
	if (free_slot) {
		free_slot->id = id;
		free_slot->expires = expires;
		rc = 0;
	}
out:
	pthread_mutex_unlock(&ch_lock);
	return rc;
}

int sec_challenge_verify_at(const char *route, const char *answer, int min_difficulty, int64_t now)
{
	const char *colon = answer ? strrchr(answer, ':') : NULL;
	int64_t expires;
	int difficulty;
	uint64_t id;
	if (!colon || !nonce_ok(colon + 1) ||
	    ch_parse(route, answer, (size_t)(colon - answer), &expires, &difficulty, &id) != 0)
		return -1;
	if (expires < now || expires > now + CH_TTL || difficulty < min_difficulty)
		return -1;
	unsigned char hash[32];
	sec_sha256(answer, strlen(answer), hash);
	if (sec_challenge_zero_bits(hash) < difficulty)
		return -1;
	return ch_spend(id, expires, now);
}

int sec_challenge_verify(const char *route, const char *answer, int min_difficulty)
{
	return sec_challenge_verify_at(route, answer, min_difficulty, util_now());
}

/* ---- pressure ---- */

/* An event rate per minute over a sliding minute, estimated from two fixed windows. */
struct ch_rate {
	int64_t minute;
	int64_t cur, prev;
	uint64_t total; /* every event noted, for /metrics */
};

static struct ch_rate ch_rates[SEC_PRESSURE_KINDS];

static int64_t rate_estimate(const struct ch_rate *r, int64_t now)
{
	int64_t minute = now / 60, into = now % 60;
	if (minute == r->minute)
		return r->cur + r->prev * (60 - into) / 60;
	if (minute == r->minute + 1)
		return r->cur * (60 - into) / 60;
	return 0;
}

/* Counts n events of kind now (n may be 0) and returns the rate. */
static int64_t pressure_add(enum sec_pressure kind, int64_t n)
{
	int64_t now = util_now(), minute = now / 60;
	pthread_mutex_lock(&ch_lock);
	struct ch_rate *r = &ch_rates[kind];
	if (minute != r->minute) {
		r->prev = minute == r->minute + 1 ? r->cur : 0;
		r->cur = 0;
		r->minute = minute;
	}
	r->cur += n;
	r->total += (uint64_t)n;
	int64_t rate = rate_estimate(r, now);
	pthread_mutex_unlock(&ch_lock);
	return rate;
}

int64_t sec_pressure_note(enum sec_pressure kind)
{
	return pressure_add(kind, 1);
}

int64_t sec_pressure_rate(enum sec_pressure kind)
{
	return pressure_add(kind, 0);
}

void sec_pressure_metrics_render(struct buf *out)
{
	static const char *const names[SEC_PRESSURE_KINDS] = {
	    [SEC_PRESSURE_ORDERS] = "orders", [SEC_PRESSURE_LOOKUPS] = "lookups"};
	int64_t rate[SEC_PRESSURE_KINDS];
	uint64_t total[SEC_PRESSURE_KINDS];
	for (int k = 0; k < SEC_PRESSURE_KINDS; k++) {
		rate[k] = sec_pressure_rate((enum sec_pressure)k);
		pthread_mutex_lock(&ch_lock);
		total[k] = ch_rates[k].total;
		pthread_mutex_unlock(&ch_lock);
	}
	buf_puts(out, "# HELP cardshop_challenge_pressure Requests per minute over the last minute "
	              "that decide the proof-of-work challenge, per route (each order or lookup "
	              "once: its solved retry is not counted again).\n"
	              "# TYPE cardshop_challenge_pressure gauge\n");
	for (int k = 0; k < SEC_PRESSURE_KINDS; k++)
		buf_printf(out, "cardshop_challenge_pressure{route=\"%s\"} %lld\n", names[k],
		           (long long)rate[k]);
	buf_puts(out, "# HELP cardshop_challenge_pressure_events_total Requests counted in "
	              "cardshop_challenge_pressure since start, per route.\n"
	              "# TYPE cardshop_challenge_pressure_events_total counter\n");
	for (int k = 0; k < SEC_PRESSURE_KINDS; k++)
		buf_printf(out, "cardshop_challenge_pressure_events_total{route=\"%s\"} %llu\n",
		           names[k], (unsigned long long)total[k]);
}

int sec_challenge_level_rate(int64_t rate, int64_t threshold, int base)
{
	if (rate <= threshold)
		return 0;
	/* One bit more (twice the work) each time the rate doubles past the threshold. */
	int level = base;
	for (int64_t t = threshold < 1 ? 1 : threshold; rate >= 2 * t; t *= 2)
		level++;
	return level > SEC_CHALLENGE_MAX_BITS ? SEC_CHALLENGE_MAX_BITS : level;
}

int sec_challenge_level_failures(int64_t failures, int64_t threshold, int base)
{
	if (failures < threshold)
		return 0;
	int64_t step = threshold < 1 ? 1 : threshold;
	int64_t level = base + (failures - threshold) / step;
	return level > SEC_CHALLENGE_MAX_BITS ? SEC_CHALLENGE_MAX_BITS : (int)level;
}
