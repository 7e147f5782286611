/* Fixed-window rate limiter: one counter per (bucket, key) in a bounded, mutex-protected
 * hash table. Keys come from clients (addresses, user names), so the table is seeded with a
 * random SipHash key against collision floods and capped so it cannot grow without limit. */
#include "cardshop/sec.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cardshop/log.h"
#include "cardshop/util.h"

#define RL_SLOTS 1024
#define RL_MAX_ENTRIES 100000

struct rl_entry {
	struct rl_entry *next;
	uint64_t hash;
	int64_t reset_at; /* the window ends at this second */
	int64_t window;
	int64_t count;
	size_t idlen;
	char id[]; /* bucket, NUL, key */
};

static pthread_mutex_t rl_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rl_entry *rl_table[RL_SLOTS];
static size_t rl_entries;
static int64_t rl_last_sweep;
static int64_t rl_last_warn;
static uint64_t rl_seed[2];
static pthread_once_t rl_seed_once = PTHREAD_ONCE_INIT;

static void rl_seed_init(void)
{
	sec_random(rl_seed, sizeof rl_seed);
}

static uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static void sip_round(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = rotl(v[1], 13) ^ v[0];
	v[0] = rotl(v[0], 32);
	v[2] += v[3];
	v[3] = rotl(v[3], 16) ^ v[2];
	v[0] += v[3];
	v[3] = rotl(v[3], 21) ^ v[0];
	v[2] += v[1];
	v[1] = rotl(v[1], 17) ^ v[2];
	v[2] = rotl(v[2], 32);
}

static void sip_block(uint64_t v[4], uint64_t m)
{
	v[3] ^= m;
	sip_round(v);
	sip_round(v);
	v[0] ^= m;
}

/* SipHash-2-4 with the process's random key. */
static uint64_t siphash(const unsigned char *p, size_t n)
{
	uint64_t v[4] = {
	    rl_seed[0] ^ 0x736f6d6570736575ULL,
	    rl_seed[1] ^ 0x646f72616e646f6dULL,
	    rl_seed[0] ^ 0x6c7967656e657261ULL,
	    rl_seed[1] ^ 0x7465646279746573ULL,
	};
	size_t full = n & ~(size_t)7;
	for (size_t i = 0; i < full; i += 8) {
		uint64_t m = 0;
		for (int j = 7; j >= 0; j--)
			m = (m << 8) | p[i + (size_t)j];
		sip_block(v, m);
	}
	uint64_t last = (uint64_t)(n & 0xff) << 56;
	for (size_t j = 0; j < n - full; j++)
		last |= (uint64_t)p[full + j] << (8 * j);
	sip_block(v, last);
	v[2] ^= 0xff;
	for (int i = 0; i < 4; i++)
		sip_round(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* The lookup identity of a (bucket, key) pair; the NUL keeps ("ab","c") and ("a","bc") apart. */
struct rl_id {
	char *data;
	size_t len;
	uint64_t hash;
};

static void rl_id_init(struct rl_id *id, const char *bucket, const char *key)
{
	size_t blen = strlen(bucket), klen = strlen(key);
	if (__builtin_add_overflow(blen, klen, &id->len) ||
	    __builtin_add_overflow(id->len, 1, &id->len))
		abort();
	id->data = xmalloc(id->len);
	memcpy(id->data, bucket, blen);
	id->data[blen] = '\0';
	memcpy(id->data + blen + 1, key, klen);
	pthread_once(&rl_seed_once, rl_seed_init);
	id->hash = siphash((const unsigned char *)id->data, id->len);
}

static void rl_unlink(struct rl_entry **link)
{
	struct rl_entry *e = *link;
	*link = e->next;
	free(e);
	rl_entries--;
}

/* Finds the entry for id, dropping expired entries met on the way (which bounds the cost
 * of a stale chain to one walk). Caller holds rl_lock. */
static struct rl_entry *rl_find(const struct rl_id *id, int64_t now)
{
	struct rl_entry **link = &rl_table[id->hash % RL_SLOTS];
	while (*link) {
		struct rl_entry *e = *link;
		if (now >= e->reset_at) {
			rl_unlink(link);
			continue;
		}
		if (e->hash == id->hash && e->idlen == id->len &&
		    memcmp(e->id, id->data, id->len) == 0)
			return e;
		link = &e->next;
	}
	return NULL;
}

/* Drops every expired entry; at most once a second so a table full of live entries does not
 * turn each new key into a full scan. Caller holds rl_lock. */
static void rl_sweep(int64_t now)
{
	if (now == rl_last_sweep)
		return;
	rl_last_sweep = now;
	for (size_t i = 0; i < RL_SLOTS; i++) {
		struct rl_entry **link = &rl_table[i];
		while (*link) {
			if (now >= (*link)->reset_at)
				rl_unlink(link);
			else
				link = &(*link)->next;
		}
	}
}

/* A new entry for id, or NULL when the table is full of live entries. Caller holds rl_lock. */
static struct rl_entry *rl_insert(const struct rl_id *id, int64_t now, int64_t window)
{
	if (rl_entries >= RL_MAX_ENTRIES)
		rl_sweep(now);
	if (rl_entries >= RL_MAX_ENTRIES)
		return NULL;
	struct rl_entry *e = xmalloc(sizeof *e + id->len);
	e->hash = id->hash;
	e->reset_at = now + window;
	e->window = window;
	e->count = 0;
	e->idlen = id->len;
	memcpy(e->id, id->data, id->len);
	struct rl_entry **head = &rl_table[id->hash % RL_SLOTS];
	e->next = *head;
	*head = e;
	rl_entries++;
	return e;
}

/* Seconds until e's window ends, at least 1 and, should the clock step back, at most the
 * window itself. */
static int64_t rl_wait(const struct rl_entry *e, int64_t now)
{
	int64_t wait = e->reset_at - now;
	if (wait > e->window)
		wait = e->window;
	return wait < 1 ? 1 : wait;
}

/* Logging happens outside the lock and at most once a minute. */
static void rl_warn_full(int64_t now)
{
	pthread_mutex_lock(&rl_lock);
	int warn = now - rl_last_warn >= 60;
	if (warn)
		rl_last_warn = now;
	pthread_mutex_unlock(&rl_lock);
	if (warn)
		log_warn("rate limiter table full; new keys are not limited",
		         json_pack("{s:I}", "entries", (json_int_t)RL_MAX_ENTRIES));
}

/* Keeps reset_at = now + window far from overflow; nobody means a window beyond decades. */
static int64_t rl_window(int64_t window)
{
	if (window < 1)
		return 1;
	return window > INT32_MAX ? INT32_MAX : window;
}

int64_t sec_rate_hit(const char *bucket, const char *key, int64_t limit, int64_t window)
{
	window = rl_window(window);
	if (limit < 1)
		return window;
	struct rl_id id;
	rl_id_init(&id, bucket, key);
	int64_t now = util_now(), wait = 0;
	int full = 0;
	pthread_mutex_lock(&rl_lock);
	struct rl_entry *e = rl_find(&id, now);
	if (!e)
		e = rl_insert(&id, now, window);
	if (!e)
		full =
		    1; /* failing open: refusing everyone would let a flood lock out real users */
	else if (e->count < limit)
		e->count++;
	else
		wait = rl_wait(e, now); /* not counted, so the window is not prolonged */
	pthread_mutex_unlock(&rl_lock);
	free(id.data);
	if (full)
		rl_warn_full(now);
	return wait;
}

int64_t sec_rate_check(const char *bucket, const char *key, int64_t limit, int64_t window)
{
	window = rl_window(window);
	if (limit < 1)
		return window;
	struct rl_id id;
	rl_id_init(&id, bucket, key);
	int64_t now = util_now(), wait = 0;
	pthread_mutex_lock(&rl_lock);
	struct rl_entry *e = rl_find(&id, now);
	if (e && e->count >= limit)
		wait = rl_wait(e, now);
	pthread_mutex_unlock(&rl_lock);
	free(id.data);
	return wait;
}

void sec_rate_reset(const char *bucket, const char *key)
{
	struct rl_id id;
	rl_id_init(&id, bucket, key);
	pthread_mutex_lock(&rl_lock);
	struct rl_entry **link = &rl_table[id.hash % RL_SLOTS];
	while (*link) {
		struct rl_entry *e = *link;
		if (e->hash == id.hash && e->idlen == id.len &&
		    memcmp(e->id, id.data, id.len) == 0) {
			rl_unlink(link);
			break;
		}
		link = &e->next;
	}
	pthread_mutex_unlock(&rl_lock);
	free(id.data);
}

void sec_rate_undo(const char *bucket, const char *key)
{
	struct rl_id id;
	rl_id_init(&id, bucket, key);
	pthread_mutex_lock(&rl_lock);
	struct rl_entry *e = rl_find(&id, util_now());
	if (e && e->count > 0)
		e->count--;
	pthread_mutex_unlock(&rl_lock);
	free(id.data);
}

int64_t sec_rate_count(const char *bucket, const char *key)
{
	struct rl_id id;
	rl_id_init(&id, bucket, key);
	pthread_mutex_lock(&rl_lock);
	struct rl_entry *e = rl_find(&id, util_now());
	int64_t n = e ? e->count : 0;
	pthread_mutex_unlock(&rl_lock);
	free(id.data);
	return n;
}
