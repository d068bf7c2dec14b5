/* lib/dkim/keycache.c — parsed keys by record text, so a busy verifier decodes each key once. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "dkim/dkim_int.h"

struct slot {
	char *txt; /* the record as DNS gave it; NULL = empty slot */
	size_t len;
	uint64_t hash;
	size_t chain;           /* the next slot in the same bucket, plus one; 0 = none */
	struct mv_dkim_key key; /* owns key.pkey */
};

/*
 * Lookups go through buckets by hash (a power of two, at least twice the
 * slots): the lock is held for a few comparisons, not a walk over every
 * slot of a large cache as mailvetd's.
 */
struct mv_dkim_keycache {
	pthread_mutex_t lock;
	struct slot *slot;
	size_t *bucket; /* the first slot of each bucket, plus one; 0 = empty */
	size_t n, nbucket;
	size_t next; /* the slot replaced when the cache is full (round robin) */
	struct mv_dkim_keycache_stats stats;
};

/* The slot holding exactly this record text, or NULL. Called with the lock held. */
static struct slot *find(struct mv_dkim_keycache *c, const char *txt, size_t len, uint64_t h)
{
	size_t i;

	for (i = c->bucket[h & (c->nbucket - 1)]; i != 0; i = c->slot[i - 1].chain) {
		struct slot *s = &c->slot[i - 1];
		if (s->hash == h && s->len == len && !memcmp(s->txt, txt, len))
			return s;
	}
	return NULL;
}

/* Take slot i (in use) out of its bucket's chain. Called with the lock held. */
static void unlink_slot(struct mv_dkim_keycache *c, size_t i)
{
	size_t *p = &c->bucket[c->slot[i].hash & (c->nbucket - 1)];

	while (*p != i + 1)
		p = &c->slot[*p - 1].chain;
	*p = c->slot[i].chain;
	c->slot[i].chain = 0;
}

static uint64_t fnv1a(const char *p, size_t n)
{
	uint64_t h = 14695981039346656037ull;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
	return h;
}

enum mv_status mv_dkim_keycache_new(size_t entries, struct mv_dkim_keycache **out)
{
	struct mv_dkim_keycache *c;
	size_t nb = 2;

	*out = NULL;
	if (entries == 0 || entries > SIZE_MAX / 4 / sizeof *c->slot)
		return MV_EINVAL;
	while (nb < 2 * entries)
		nb *= 2;
	c = calloc(1, sizeof *c);
	if (c == NULL || (c->slot = calloc(entries, sizeof *c->slot)) == NULL ||
	    (c->bucket = calloc(nb, sizeof *c->bucket)) == NULL ||
	    pthread_mutex_init(&c->lock, NULL) != 0) {
		if (c != NULL) {
			free(c->slot);
			free(c->bucket);
		}
		free(c);
		return MV_ENOMEM;
	}
	c->n = entries;
	c->nbucket = nb;
	*out = c;
	return MV_OK;
}

void mv_dkim_keycache_free(struct mv_dkim_keycache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++) {
		free(c->slot[i].txt);
		EVP_PKEY_free(c->slot[i].key.pkey);
	}
	free(c->slot);
	free(c->bucket);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* A copy of k sharing its EVP_PKEY (reference counted). */
static enum mv_status share(const struct mv_dkim_key *k, struct mv_dkim_key **out)
{
	if ((*out = malloc(sizeof **out)) == NULL)
		return MV_ENOMEM;
	**out = *k;
	if (k->pkey != NULL && EVP_PKEY_up_ref(k->pkey) != 1) {
		free(*out);
		*out = NULL;
		return MV_ENOMEM;
	}
	return MV_OK;
}

enum mv_status mv_dkim_keycache_get(struct mv_dkim_keycache *c, const char *txt, size_t len,
                                    struct mv_dkim_key **out)
{
	uint64_t h = fnv1a(txt, len);
	enum mv_status st = MV_ENOTFOUND;
	const struct slot *s;

	*out = NULL;
	pthread_mutex_lock(&c->lock);
	if ((s = find(c, txt, len, h)) != NULL) {
		st = share(&s->key, out);
		c->stats.hits++;
	} else {
		c->stats.misses++;
	}
	pthread_mutex_unlock(&c->lock);
	return st;
}

void mv_dkim_keycache_put(struct mv_dkim_keycache *c, const char *txt, size_t len,
                          const struct mv_dkim_key *k)
{
	struct slot *s;
	uint64_t h = fnv1a(txt, len);
	char *copy = mv_strndup(txt, len);
	EVP_PKEY *old = NULL;

	if (copy == NULL || (k->pkey != NULL && EVP_PKEY_up_ref(k->pkey) != 1)) {
		free(copy);
		return; /* not cached: only slower */
	}
	pthread_mutex_lock(&c->lock);
	/*
	 * Threads that missed the same record at once each parsed it; the first
	 * to come back stored it, and a second copy would only push out another key.
	 */
	if (find(c, txt, len, h) != NULL) {
		pthread_mutex_unlock(&c->lock);
		free(copy);
		EVP_PKEY_free(k->pkey);
		return;
	}
	s = &c->slot[c->next];
	if (s->txt != NULL) {
		unlink_slot(c, c->next);
		c->stats.evictions++;
	} else {
		c->stats.entries++;
	}
	c->next = (c->next + 1) % c->n;
	c->stats.inserts++;
	free(s->txt);
	old = s->key.pkey;
	s->txt = copy;
	s->len = len;
	s->hash = h;
	s->key = *k;
	s->chain = c->bucket[h & (c->nbucket - 1)];
	c->bucket[h & (c->nbucket - 1)] = (size_t)(s - c->slot) + 1;
	pthread_mutex_unlock(&c->lock);
	/* the last reference may be ours: free it outside the lock */
	EVP_PKEY_free(old);
}

void mv_dkim_keycache_stats(struct mv_dkim_keycache *c, struct mv_dkim_keycache_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->stats;
	pthread_mutex_unlock(&c->lock);
}
