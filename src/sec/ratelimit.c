/* Fixed-window rate limiter: one counter per (bucket, key) in a fixed, set-associative table.
 * Keys come from clients (addresses, user names), so an entry keeps only a 128-bit SipHash of
 * the key under a random process key: memory is the same whatever the keys, and nobody can
 * aim collisions at a set. A full set evicts its least valuable entry; it never stops
 * limiting (the old table failed open once 100,000 refused sign-ins had filled it). */
#include "cardshop/sec.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "cardshop/util.h"

/* 8,192 sets of 16 ways: 131,072 entries of 32 bytes, 4 MiB, touched only as used. */
#define RL_SETS 8192
#define RL_WAYS 16
#define RL_LOCKS 64

struct rl_entry {
	uint64_t id[2];   /* keyed hash of bucket, NUL, key; all zero when the way is free */
	int64_t reset_at; /* the window ends at this second */
	int32_t window;
	int32_t count;
};

static struct rl_entry rl_table[RL_SETS][RL_WAYS];
static pthread_mutex_t rl_locks[RL_LOCKS];
static uint64_t rl_seed[4];
static pthread_once_t rl_once = PTHREAD_ONCE_INIT;
static atomic_uint_fast64_t rl_evictions;

static void rl_init(void)
{
	sec_random(rl_seed, sizeof rl_seed);
	for (size_t i = 0; i < RL_LOCKS; i++)
		pthread_mutex_init(&rl_locks[i], NULL);
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

/* SipHash-2-4 fed byte by byte, so (bucket, NUL, key) is hashed without copying the key. */
struct sip {
	uint64_t v[4];
	uint64_t m;
	size_t n;
};

static void sip_init(struct sip *s, uint64_t k0, uint64_t k1)
{
	s->v[0] = k0 ^ 0x736f6d6570736575ULL;
	s->v[1] = k1 ^ 0x646f72616e646f6dULL;
	s->v[2] = k0 ^ 0x6c7967656e657261ULL;
	s->v[3] = k1 ^ 0x7465646279746573ULL;
	s->m = 0;
	s->n = 0;
}

static void sip_block(struct sip *s, uint64_t m)
{
	s->v[3] ^= m;
	sip_round(s->v);
	sip_round(s->v);
	s->v[0] ^= m;
}

static void sip_update(struct sip *s, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++) {
		s->m |= (uint64_t)p[i] << (8 * (s->n & 7));
		if ((++s->n & 7) == 0) {
			sip_block(s, s->m);
			s->m = 0;
		}
	}
}

static uint64_t sip_final(struct sip *s)
{
	sip_block(s, s->m | (uint64_t)(s->n & 0xff) << 56);
	s->v[2] ^= 0xff;
	for (int i = 0; i < 4; i++)
		sip_round(s->v);
	return s->v[0] ^ s->v[1] ^ s->v[2] ^ s->v[3];
}

static uint64_t rl_hash(uint64_t k0, uint64_t k1, const char *bucket, const char *key)
{
	struct sip s;
	sip_init(&s, k0, k1);
	sip_update(&s, bucket, strlen(bucket) + 1); /* the NUL keeps ("ab","c") from ("a","bc") */
	sip_update(&s, key, strlen(key));
	return sip_final(&s);
}

/* The identity of a (bucket, key) pair: two independent 64-bit hashes. Never all zero, which
 * marks a free way. */
static void rl_id(const char *bucket, const char *key, uint64_t id[2])
{
	pthread_once(&rl_once, rl_init);
	id[0] = rl_hash(rl_seed[0], rl_seed[1], bucket, key);
	id[1] = rl_hash(rl_seed[2], rl_seed[3], bucket, key) | 1;
}

static size_t rl_set_of(const uint64_t id[2])
{
	return (size_t)(id[0] % RL_SETS);
}

static pthread_mutex_t *rl_lock_of(size_t set)
{
	return &rl_locks[set % RL_LOCKS];
}

static int rl_live(const struct rl_entry *e, int64_t now)
{
	return e->id[1] != 0 && now < e->reset_at;
}

/* The live entry for id in its set, or NULL. Caller holds the set's lock. */
static struct rl_entry *rl_find(struct rl_entry *set, const uint64_t id[2], int64_t now)
{
	for (size_t w = 0; w < RL_WAYS; w++) {
		struct rl_entry *e = &set[w];
		if (e->id[0] == id[0] && e->id[1] == id[1] && rl_live(e, now))
			return e;
	}
	return NULL;
}

/* The way a new entry takes: a free or expired one, else the live entry worth least — the
 * fewest hits (a key at its limit is the one doing the limiting), the oldest among equals. */
static struct rl_entry *rl_victim(struct rl_entry *set, int64_t now)
{
	struct rl_entry *best = &set[0];
	for (size_t w = 0; w < RL_WAYS; w++) {
		struct rl_entry *e = &set[w];
		if (!rl_live(e, now))
			return e;
		int64_t start = e->reset_at - e->window, best_start = best->reset_at - best->window;
		if (e->count < best->count || (e->count == best->count && start < best_start))
			best = e;
	}
	atomic_fetch_add(&rl_evictions, 1);
	return best;
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
	uint64_t id[2];
	rl_id(bucket, key, id);
	size_t set = rl_set_of(id);
	int64_t now = util_now(), wait = 0;
	pthread_mutex_lock(rl_lock_of(set));
	struct rl_entry *e = rl_find(rl_table[set], id, now);
	if (!e) {
		e = rl_victim(rl_table[set], now);
		*e = (struct rl_entry){.id = {id[0], id[1]},
		                       .reset_at = now + window,
		                       .window = (int32_t)window,
		                       .count = 0};
	}
	if (e->count < limit)
		e->count++;
	else
		wait = rl_wait(e, now); /* not counted, so the window is not prolonged */
	pthread_mutex_unlock(rl_lock_of(set));
	return wait;
}

int64_t sec_rate_check(const char *bucket, const char *key, int64_t limit, int64_t window)
{
	window = rl_window(window);
	if (limit < 1)
		return window;
	uint64_t id[2];
	rl_id(bucket, key, id);
	size_t set = rl_set_of(id);
	int64_t now = util_now(), wait = 0;
	pthread_mutex_lock(rl_lock_of(set));
	struct rl_entry *e = rl_find(rl_table[set], id, now);
	if (e && e->count >= limit)
		wait = rl_wait(e, now);
	pthread_mutex_unlock(rl_lock_of(set));
	return wait;
}

void sec_rate_reset(const char *bucket, const char *key)
{
	uint64_t id[2];
	rl_id(bucket, key, id);
	size_t set = rl_set_of(id);
	pthread_mutex_lock(rl_lock_of(set));
	struct rl_entry *e = rl_find(rl_table[set], id, util_now());
	if (e)
		memset(e, 0, sizeof *e);
	pthread_mutex_unlock(rl_lock_of(set));
}

void sec_rate_undo(const char *bucket, const char *key)
{
	uint64_t id[2];
	rl_id(bucket, key, id);
	size_t set = rl_set_of(id);
	pthread_mutex_lock(rl_lock_of(set));
	struct rl_entry *e = rl_find(rl_table[set], id, util_now());
	/* A hit given back to zero frees the way: an attempt that turned out fine leaves nothing.
	 */
	if (e && --e->count <= 0)
		memset(e, 0, sizeof *e);
	pthread_mutex_unlock(rl_lock_of(set));
}

uint64_t sec_rate_evictions(void)
{
	return atomic_load(&rl_evictions);
}

int64_t sec_rate_count(const char *bucket, const char *key)
{
	uint64_t id[2];
	rl_id(bucket, key, id);
	size_t set = rl_set_of(id);
	pthread_mutex_lock(rl_lock_of(set));
	struct rl_entry *e = rl_find(rl_table[set], id, util_now());
	int64_t n = e ? (int64_t)e->count : 0;
	pthread_mutex_unlock(rl_lock_of(set));
	return n;
}
