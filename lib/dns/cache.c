/* lib/dns/cache.c — the answer cache: sharded hash tables, per-shard LRU, TTLs on a monotonic clock. */
#include <pthread.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns/cache.h"

#define MAX_SHARDS 32
#define MAX_BUCKETS ((size_t)1 << 16) /* per shard; chains grow past it */

/*
 * One cached answer, one allocation: this header, the answer (a relocated
 * copy of an mv_dns_answer_new() block), then the names of the chain, NUL
 * separated (the first, the key, is the asked name).
 */
struct entry {
	struct entry *hnext;       /* bucket chain */
	struct entry *prev, *next; /* LRU list, most recent first */
	uint64_t hash;
	uint64_t expires; /* ms on the cache's clock */
	enum mv_dns_type type;
	size_t keylen;
	size_t size;    /* the whole allocation, counted against the byte bound */
	size_t anssize; /* of the answer block */
	size_t nchain;
	struct mv_dns_answer *ans;
	char *names;
};

/* A lock, a hash table and an LRU list; padded so shards do not share cache lines. */
struct shard {
	pthread_mutex_t lock;
	struct entry **buckets;
	size_t mask;
	struct entry *head, *tail;
	size_t count, bytes;
	uint64_t hits, misses, inserts, evictions, expired;
	char pad[64];
};

struct mv_dns_cache {
	struct shard *shards;
	size_t nshards;
	size_t shard_entries, shard_bytes; /* the bounds, per shard */
	unsigned min_ttl, max_ttl, neg_ttl;
	mv_dns_cache_clock_fn clock;
	void *clock_arg;
};

#define ENTRY_HEAD ((sizeof(struct entry) + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1))

static uint64_t monotonic_ms(void *arg)
{
	struct timespec t;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

/* FNV-1a over the key, then the type. */
static uint64_t hash_of(const char *key, size_t keylen, enum mv_dns_type type)
{
	uint64_t h = 14695981039346656037u;
	size_t i;

	for (i = 0; i < keylen; i++) {
		h ^= (unsigned char)key[i];
		h *= 1099511628211u;
	}
	h ^= (unsigned)type;
	h *= 1099511628211u;
	return h;
}

static size_t pow2_floor(size_t n)
{
	size_t p = 1;

	while (p <= n / 2)
		p *= 2;
	return p;
}

enum mv_status mv_dns_cache_new(const struct mv_dns_cache_opts *o, struct mv_dns_cache **out)
{
	struct mv_dns_cache *c;
	size_t entries = o->entries ? o->entries : MV_DNS_CACHE_ENTRIES, nb, i;

	*out = NULL;
	if (o->entries == MV_DNS_CACHE_OFF)
		return MV_EINVAL;
	if (!(c = calloc(1, sizeof *c)))
		return MV_ENOMEM;
	c->nshards = pow2_floor(entries < MAX_SHARDS ? entries : MAX_SHARDS);
	c->shard_entries = entries / c->nshards;
	c->shard_bytes = (o->bytes ? o->bytes : MV_DNS_CACHE_BYTES) / c->nshards;
	c->max_ttl = o->max_ttl ? o->max_ttl : MV_DNS_CACHE_MAX_TTL;
	c->neg_ttl = o->neg_ttl ? o->neg_ttl : MV_DNS_CACHE_NEG_TTL;
	c->min_ttl = o->min_ttl < c->max_ttl ? o->min_ttl : c->max_ttl;
	c->clock = monotonic_ms;
	nb = c->shard_entries < MAX_BUCKETS ? pow2_floor(c->shard_entries) * 2 : MAX_BUCKETS;
	if (!(c->shards = calloc(c->nshards, sizeof *c->shards))) {
		free(c);
		return MV_ENOMEM;
	}
	for (i = 0; i < c->nshards; i++) {
		pthread_mutex_init(&c->shards[i].lock, NULL);
		c->shards[i].mask = nb - 1;
		if (!(c->shards[i].buckets = calloc(nb, sizeof *c->shards[i].buckets))) {
			c->nshards = i + 1;
			mv_dns_cache_free(c);
			return MV_ENOMEM;
		}
	}
	*out = c;
	return MV_OK;
}

void mv_dns_cache_free(struct mv_dns_cache *c)
{
	struct entry *e, *next;
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->nshards; i++) {
		for (e = c->shards[i].head; e; e = next) {
			next = e->next;
			free(e);
		}
		free(c->shards[i].buckets);
		pthread_mutex_destroy(&c->shards[i].lock);
	}
	free(c->shards);
	free(c);
}

void mv_dns_cache_set_clock(struct mv_dns_cache *c, mv_dns_cache_clock_fn fn, void *arg)
{
	c->clock = fn ? fn : monotonic_ms;
	c->clock_arg = arg;
}

static struct shard *shard_of(struct mv_dns_cache *c, uint64_t h)
{
	return &c->shards[(h >> 40) & (c->nshards - 1)];
}

/* The entry for the question (lock held), or NULL. */
static struct entry *find(struct shard *s, uint64_t h, const char *key, size_t keylen,
                          enum mv_dns_type type)
{
	struct entry *e;

	for (e = s->buckets[h & s->mask]; e; e = e->hnext)
		if (e->hash == h && e->type == type && e->keylen == keylen &&
		    memcmp(e->names, key, keylen) == 0)
			return e;
	return NULL;
}

/* Take e out of the table and the list (lock held); the caller frees it. */
static void unlink_entry(struct shard *s, struct entry *e)
{
	struct entry **pp = &s->buckets[e->hash & s->mask];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	if (e->prev)
		e->prev->next = e->next;
	else
		s->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		s->tail = e->prev;
	s->count--;
	s->bytes -= e->size;
}

static void push_front(struct shard *s, struct entry *e)
{
	e->prev = NULL;
	e->next = s->head;
	if (s->head)
		s->head->prev = e;
	s->head = e;
	if (!s->tail)
		s->tail = e;
}

static void touch(struct shard *s, struct entry *e)
{
	if (s->head == e)
		return;
	e->prev->next = e->next; /* e is not the head, so it has a prev */
	if (e->next)
		e->next->prev = e->prev;
	else
		s->tail = e->prev;
	push_front(s, e);
}

static void fill_chain(const struct entry *e, struct mv_dns_chain *chain)
{
	const char *p = e->names;
	size_t i, n;

	chain->n = e->nchain;
	chain->overflow = 0;
	for (i = 0; i < e->nchain; i++) {
		n = strlen(p);
		memcpy(chain->name[i], p, n + 1);
		p += n + 1;
	}
}

int mv_dns_cache_get(struct mv_dns_cache *c, const char *key, size_t keylen, enum mv_dns_type type,
                     struct mv_dns_answer **out, struct mv_dns_chain *chain)
{
	uint64_t h = hash_of(key, keylen, type), now = c->clock(c->clock_arg);
	struct shard *s = shard_of(c, h);
	struct entry *e, *dead = NULL;
	int rc = 0;

	*out = NULL;
	pthread_mutex_lock(&s->lock);
	e = find(s, h, key, keylen, type);
	if (e && e->expires <= now) {
		unlink_entry(s, e);
		s->expired++;
		dead = e;
		e = NULL;
	}
	if (!e) {
		s->misses++;
	} else if (!(*out = malloc(e->anssize))) {
		rc = -1;
	} else {
		mv_dns_answer_copy_to(*out, e->ans, e->anssize);
		(*out)->ttl = (unsigned)((e->expires - now) / 1000u);
		if (chain)
			fill_chain(e, chain);
		touch(s, e);
		s->hits++;
		rc = 1;
	}
	pthread_mutex_unlock(&s->lock);
	free(dead);
	return rc;
}

int mv_dns_cache_has(struct mv_dns_cache *c, const char *key, size_t keylen, enum mv_dns_type type)
{
	uint64_t h = hash_of(key, keylen, type), now = c->clock(c->clock_arg);
	struct shard *s = shard_of(c, h);
	struct entry *e;
	int rc;

	pthread_mutex_lock(&s->lock);
	e = find(s, h, key, keylen, type);
	rc = e && e->expires > now;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* Seconds to keep a, by the cache's rules; 0: do not keep it. */
static unsigned keep_for(const struct mv_dns_cache *c, const struct mv_dns_answer *a)
{
	unsigned ttl = a->ttl, max;

	switch (a->rcode) {
	case MV_DNS_RECORDS:
		max = c->max_ttl;
		break;
	case MV_DNS_NXDOMAIN:
	case MV_DNS_NODATA:
		max = c->neg_ttl < c->max_ttl ? c->neg_ttl : c->max_ttl;
		break;
	default: /* SERVFAIL, TIMEOUT: the next query retries */
		return 0;
	}
	if (ttl < c->min_ttl)
		ttl = c->min_ttl;
	return ttl < max ? ttl : max;
}

/* A new entry holding a copy of a and the chain's names; NULL if too big or no memory. */
static struct entry *entry_new(const struct mv_dns_cache *c, const struct mv_dns_chain *chain,
                               enum mv_dns_type type, const struct mv_dns_answer *a)
{
	size_t anssize = mv_dns_answer_size(a), names = 0, i, n, off, keylen;
	struct entry *e;
	char *p;

	for (i = 0; i < chain->n; i++)
		names += strlen(chain->name[i]) + 1;
	off = ENTRY_HEAD + ((anssize + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1));
	if (anssize == 0 || off + names > c->shard_bytes || !(e = malloc(off + names)))
		return NULL;
	memset(e, 0, sizeof *e);
	keylen = strlen(chain->name[0]);
	e->type = type;
	e->keylen = keylen;
	e->hash = hash_of(chain->name[0], keylen, type);
	e->size = off + names;
	e->anssize = anssize;
	e->nchain = chain->n;
	e->ans = mv_dns_answer_copy_to((char *)e + ENTRY_HEAD, a, anssize);
	e->names = p = (char *)e + off;
	for (i = 0; i < chain->n; i++) {
		n = strlen(chain->name[i]);
		memcpy(p, chain->name[i], n + 1);
		p += n + 1;
	}
	/* no CNAME: the answer carries the asked spelling; keep the key's */
	if (chain->n == 1 && strlen(e->ans->name) == keylen)
		memcpy(e->ans->name, e->names, keylen);
	return e;
}

void mv_dns_cache_put(struct mv_dns_cache *c, const struct mv_dns_chain *chain,
                      enum mv_dns_type type, const struct mv_dns_answer *a)
{
	unsigned ttl = keep_for(c, a);
	uint64_t now = c->clock(c->clock_arg);
	struct entry *e, *old, *dead = NULL;
	struct shard *s;

	if (ttl == 0 || chain->n == 0 || chain->overflow || !(e = entry_new(c, chain, type, a)))
		return;
	e->expires = now + (uint64_t)ttl * 1000u;
	e->ans->ttl = ttl;
	s = shard_of(c, e->hash);
	pthread_mutex_lock(&s->lock);
	if ((old = find(s, e->hash, e->names, e->keylen, type))) {
		unlink_entry(s, old);
		old->hnext = dead;
		dead = old;
	}
	e->hnext = s->buckets[e->hash & s->mask];
	s->buckets[e->hash & s->mask] = e;
	push_front(s, e);
	s->count++;
	s->bytes += e->size;
	s->inserts++;
	while (s->count > c->shard_entries || s->bytes > c->shard_bytes) {
		old = s->tail; /* never e: e alone fits both bounds */
		unlink_entry(s, old);
		s->evictions++;
		old->hnext = dead;
		dead = old;
	}
	pthread_mutex_unlock(&s->lock);
	for (; dead; dead = old) {
		old = dead->hnext;
		free(dead);
	}
}

void mv_dns_cache_stats(struct mv_dns_cache *c, struct mv_dns_cache_stats *st)
{
	struct shard *s;
	size_t i;

	memset(st, 0, sizeof *st);
	for (i = 0; i < c->nshards; i++) {
		s = &c->shards[i];
		pthread_mutex_lock(&s->lock);
		st->hits += s->hits;
		st->misses += s->misses;
		st->inserts += s->inserts;
		st->evictions += s->evictions;
		st->expired += s->expired;
		st->entries += s->count;
		st->bytes += s->bytes;
		pthread_mutex_unlock(&s->lock);
	}
}
