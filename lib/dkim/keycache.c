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
	struct mv_dkim_key key; /* owns key.pkey */
};

struct mv_dkim_keycache {
	pthread_mutex_t lock;
	struct slot *slot;
	size_t n, next; /* next: the slot replaced when the cache is full (round robin) */
	struct mv_dkim_keycache_stats stats;
};

/* The slot holding exactly this record text, or NULL. Called with the lock held. */
static struct slot *find(struct mv_dkim_keycache *c, const char *txt, size_t len, uint64_t h)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		struct slot *s = &c->slot[i];
		if (s->txt != NULL && s->hash == h && s->len == len && !memcmp(s->txt, txt, len))
			return s;
	}
	return NULL;
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
	struct mv_dkim_keycache *c = calloc(1, sizeof *c);

	*out = NULL;
	if (c == NULL || entries == 0 || (c->slot = calloc(entries, sizeof *c->slot)) == NULL ||
	    pthread_mutex_init(&c->lock, NULL) != 0) {
		if (c != NULL)
			free(c->slot);
		free(c);
		return entries == 0 ? MV_EINVAL : MV_ENOMEM;
	}
	c->n = entries;
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
	c->next = (c->next + 1) % c->n;
	if (s->txt != NULL)
		c->stats.evictions++;
	else
		c->stats.entries++;
	c->stats.inserts++;
	free(s->txt);
	old = s->key.pkey;
	s->txt = copy;
	s->len = len;
	s->hash = h;
	s->key = *k;
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
