/* Per-address counters for the connection limits: open connections of each untrusted TCP peer,
 * and requests in flight of each client (the address resolved through trusted proxies). */
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Open addressing with linear probing; n == 0 marks a free slot. */
struct counter_slot {
	unsigned char key[16];
	uint32_t n;
};

struct http_counter {
	pthread_mutex_t mu;
	struct counter_slot *slots;
	size_t mask;
	uint64_t seed[2];
};

struct http_counter *http_counter_new(size_t capacity)
{
	struct http_counter *c = xcalloc(1, sizeof *c);
	size_t size = 256;
	/* Never more than half full: every counted address holds a connection, so capacity (the
	 * connection limit) bounds the entries. */
	while (size < 2 * capacity && size < ((size_t)1 << 30))
		size *= 2;
	c->slots = xcalloc(size, sizeof *c->slots);
	c->mask = size - 1;
	/* A keyed hash, so a client with many IPv6 addresses cannot choose colliding ones. */
	if (RAND_bytes((unsigned char *)c->seed, sizeof c->seed) != 1)
		abort();
	pthread_mutex_init(&c->mu, NULL);
	return c;
}

void http_counter_free(struct http_counter *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->mu);
	free(c->slots);
	free(c);
}

static size_t counter_home(const struct http_counter *c, const unsigned char key[16])
{
	uint64_t a, b;
	memcpy(&a, key, 8);
	memcpy(&b, key + 8, 8);
	uint64_t h = (a ^ c->seed[0]) * 0x9e3779b97f4a7c15ULL;
	h ^= (b ^ c->seed[1]) + (h << 6) + (h >> 2);
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 31;
	return (size_t)h & c->mask;
}

/* The slot holding key, or the free slot where it would go; NULL when the table is full. */
static struct counter_slot *counter_find(struct http_counter *c, const unsigned char key[16])
{
	size_t i = counter_home(c, key);
	for (size_t probes = 0; probes <= c->mask; probes++, i = (i + 1) & c->mask) {
		struct counter_slot *s = &c->slots[i];
		if (s->n == 0 || memcmp(s->key, key, 16) == 0)
			return s;
	}
	return NULL;
}

int http_counter_add(struct http_counter *c, const unsigned char key[16], uint32_t limit)
{
	pthread_mutex_lock(&c->mu);
	struct counter_slot *s = counter_find(c, key);
	int ok = s && s->n < limit;
	if (ok) {
		if (s->n == 0)
			memcpy(s->key, key, 16);
		s->n++;
	}
	pthread_mutex_unlock(&c->mu);
	return ok ? 0 : -1;
}

uint32_t http_counter_get(struct http_counter *c, const unsigned char key[16])
{
	pthread_mutex_lock(&c->mu);
	const struct counter_slot *s = counter_find(c, key);
	uint32_t n = s ? s->n : 0;
	pthread_mutex_unlock(&c->mu);
	return n;
}

/* Empties slot i and moves back the entries after it that probed past it (backward-shift
 * deletion), so lookups need no tombstones. */
static void counter_remove(struct http_counter *c, size_t i)
{
	c->slots[i].n = 0; /* the hole; the scan ends at the next free slot, this one at worst */
	for (size_t j = (i + 1) & c->mask; c->slots[j].n != 0; j = (j + 1) & c->mask) {
		size_t home = counter_home(c, c->slots[j].key);
		/* j's entry may fill the hole at i unless its home lies cyclically in (i, j]. */
		int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (stays)
			continue;
		c->slots[i] = c->slots[j];
		c->slots[j].n = 0;
		i = j;
	}
}

void http_counter_sub(struct http_counter *c, const unsigned char key[16])
{
	pthread_mutex_lock(&c->mu);
	struct counter_slot *s = counter_find(c, key);
	if (s && s->n > 0 && --s->n == 0)
		counter_remove(c, (size_t)(s - c->slots));
	pthread_mutex_unlock(&c->mu);
}
