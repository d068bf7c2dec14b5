/* lib/dns/resolver.c — the generic resolver: name checks, dispatch, CNAME chains, answers. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mailvet/util.h>

#include "dns/backend.h"
#include "dns/cache.h"

enum mv_status mv_dns_resolver_new(const struct mv_dns_ops *ops, void *impl,
                                   struct mv_resolver **out)
{
	struct mv_resolver *r = calloc(1, sizeof *r);

	*out = NULL;
	if (!r) {
		ops->destroy(impl);
		return MV_ENOMEM;
	}
	r->ops = ops;
	r->impl = impl;
	*out = r;
	return MV_OK;
}

void mv_dns_free(struct mv_resolver *r)
{
	if (!r)
		return;
	mv_dns_recorder_free(r->rec);
	mv_dns_cache_free(r->cache);
	r->ops->destroy(r->impl);
	free(r);
}

void mv_dns_answer_free(struct mv_dns_answer *a)
{
	free(a); /* one allocation: mv_dns_answer_new() */
}

const char *mv_dns_type_str(enum mv_dns_type type)
{
	switch (type) {
	case MV_DNS_A:
		return "A";
	case MV_DNS_CNAME:
		return "CNAME";
	case MV_DNS_PTR:
		return "PTR";
	case MV_DNS_MX:
		return "MX";
	case MV_DNS_TXT:
		return "TXT";
	case MV_DNS_AAAA:
		return "AAAA";
	}
	return NULL;
}

enum mv_status mv_dns_name_norm(const char *name, size_t len, char out[MV_DNS_NAME_MAX + 1],
                                size_t *outlen)
{
	size_t i, label = 0;

	if (len == 1 && name[0] == '.') {
		out[0] = '\0';
		*outlen = 0;
		return MV_OK;
	}
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > MV_DNS_NAME_MAX)
		return MV_EINVAL;
	for (i = 0; i < len; i++) {
		char c = name[i];
		if (c == '\0')
			return MV_EINVAL;
		if (c == '.') {
			if (label == 0)
				return MV_EINVAL;
			label = 0;
		} else if (++label > MV_DNS_LABEL_MAX) {
			return MV_EINVAL;
		}
		out[i] = mv_ascii_tolower(c);
	}
	if (label == 0)
		return MV_EINVAL; /* "a.." */
	out[len] = '\0';
	*outlen = len;
	return MV_OK;
}

/* Bytes one answer needs beyond the struct and the rr array; SIZE_MAX on overflow. */
static size_t strings_size(size_t namelen, const struct mv_dns_rr *rr, size_t count)
{
	size_t total = namelen + 1, i, add;

	for (i = 0; i < count; i++) {
		add = 0;
		if (rr[i].host)
			add += strlen(rr[i].host) + 1;
		if (rr[i].txt) {
			if (rr[i].txtlen > SIZE_MAX / 2)
				return SIZE_MAX;
			add += rr[i].txtlen + 1;
		}
		if (add > SIZE_MAX / 2 - total)
			return SIZE_MAX;
		total += add;
	}
	return total;
}

struct mv_dns_answer *mv_dns_answer_new(enum mv_dns_rcode rcode, enum mv_dns_type type,
                                        const char *name, size_t namelen,
                                        const struct mv_dns_rr *rr, size_t count, int secure)
{
	struct mv_dns_answer *a;
	size_t head, strs, i, n;
	char *p;

	if (count > (SIZE_MAX / 4) / sizeof *rr)
		return NULL;
	head = sizeof *a + count * sizeof *rr;
	if ((strs = strings_size(namelen, rr, count)) == SIZE_MAX)
		return NULL;
	if (!(a = calloc(1, head + strs)))
		return NULL;
	a->rcode = rcode;
	a->type = type;
	a->count = count;
	a->secure = secure;
	a->rr = count ? (struct mv_dns_rr *)(void *)(a + 1) : NULL;
	p = (char *)a + head;
	a->name = p;
	memcpy(p, name, namelen);
	p[namelen] = '\0';
	p += namelen + 1;
	for (i = 0; i < count; i++) {
		a->rr[i] = rr[i];
		if (rr[i].host) {
			n = strlen(rr[i].host);
			memcpy(p, rr[i].host, n + 1);
			a->rr[i].host = p;
			p += n + 1;
		}
		if (rr[i].txt) {
			memcpy(p, rr[i].txt, rr[i].txtlen);
			p[rr[i].txtlen] = '\0';
			a->rr[i].txt = p;
			p += rr[i].txtlen + 1;
		}
	}
	return a;
}

size_t mv_dns_answer_size(const struct mv_dns_answer *a)
{
	size_t strs = strings_size(strlen(a->name), a->rr, a->count);

	return strs == SIZE_MAX ? 0 : sizeof *a + a->count * sizeof *a->rr + strs;
}

/* p, a pointer into the block at from, moved to the same place in the block at to. */
static void *moved(const void *p, const void *from, void *to)
{
	return p ? (char *)to + ((const char *)p - (const char *)from) : NULL;
}

struct mv_dns_answer *mv_dns_answer_copy_to(void *dst, const struct mv_dns_answer *a, size_t size)
{
	struct mv_dns_answer *b = dst;
	size_t i;

	memcpy(b, a, size);
	b->name = moved(a->name, a, b);
	b->rr = moved(a->rr, a, b);
	for (i = 0; i < b->count; i++) {
		b->rr[i].host = moved(a->rr[i].host, a, b);
		b->rr[i].txt = moved(a->rr[i].txt, a, b);
	}
	return b;
}

static void release(struct mv_resolver *r, struct mv_dns_view *v)
{
	if (r->ops->release)
		r->ops->release(r->impl, v);
}

/* Append a name to the chain (a full chain keeps its last slot for the newest). */
static void chain_push(struct mv_dns_chain *c, const char *name, size_t len)
{
	if (c->n == MV_DNS_CHAIN_MAX)
		c->n--;
	memcpy(c->name[c->n], name, len);
	c->name[c->n][len] = '\0';
	c->n++;
}

/* The CNAMEs a backend followed itself, checked and appended. */
static void chain_add_view(struct mv_dns_chain *c, const struct mv_dns_view *v)
{
	char norm[MV_DNS_NAME_MAX + 1];
	size_t i, len;

	for (i = 0; i < v->nchain; i++)
		if (mv_dns_name_norm(v->chain[i], strlen(v->chain[i]), norm, &len) == MV_OK)
			chain_push(c, norm, len);
}

/*
 * The answer a view makes for a question whose names so far are chain
 * (the view's own CNAMEs are appended): owner is the last name of the
 * chain, or the caller's spelling asked/askedlen when there is no CNAME.
 * NULL when memory runs out.
 */
static struct mv_dns_answer *answer_of(struct mv_dns_chain *chain, const char *asked,
                                       size_t askedlen, enum mv_dns_type type,
                                       const struct mv_dns_view *v, unsigned ttl)
{
	struct mv_dns_answer *a;
	const char *owner;
	int recs = v->rcode == MV_DNS_RECORDS;

	chain_add_view(chain, v);
	owner = chain->n > 1 ? chain->name[chain->n - 1] : asked;
	if (chain->n > 1)
		askedlen = strlen(owner);
	a = mv_dns_answer_new(v->rcode, type, owner, askedlen, recs ? v->rr : NULL,
	                      recs ? v->count : 0, v->secure);
	if (a)
		a->ttl = ttl;
	return a;
}

/*
 * Ask the backend, following the CNAMEs it leaves to us: at most
 * MV_DNS_MAX_CNAME links, past which (a loop, or a long chain) the answer is
 * SERVFAIL. asked/askedlen is the caller's spelling, for answer->name when
 * no CNAME was followed; chain holds the asked name (normalized) on entry.
 */
static enum mv_status resolve(struct mv_resolver *r, const char *asked, size_t askedlen,
                              enum mv_dns_type type, struct mv_dns_chain *chain,
                              struct mv_dns_answer **out)
{
	char next[MV_DNS_NAME_MAX + 1];
	unsigned ttl = UINT_MAX;
	struct mv_dns_view v;
	enum mv_status st;
	size_t len;

	for (;;) {
		memset(&v, 0, sizeof v);
		st = r->ops->lookup(r->impl, chain->name[chain->n - 1], type, &v);
		if (st != MV_OK)
			return st;
		if (v.ttl < ttl)
			ttl = v.ttl; /* the chain lives as long as its shortest link */
		if (!v.cname)
			break;
		/* a CNAME the backend left to us: follow it, bounded */
		if (mv_dns_name_norm(v.cname, strlen(v.cname), next, &len) != MV_OK) {
			release(r, &v);
			memset(&v, 0, sizeof v);
			v.rcode = MV_DNS_SERVFAIL;
			break;
		}
		release(r, &v);
		if (chain->n > MV_DNS_MAX_CNAME) {
			memcpy(chain->name[chain->n], next, len + 1); /* kept for the recorder */
			chain->overflow = 1;
			memset(&v, 0, sizeof v);
			v.rcode = MV_DNS_SERVFAIL;
			break;
		}
		chain_push(chain, next, len);
	}
	*out = answer_of(chain, asked, askedlen, type, &v, v.ttl < ttl ? v.ttl : ttl);
	release(r, &v);
	return *out ? MV_OK : MV_ENOMEM;
}

/*
 * The fresh answer r's cache holds for the question (chain->name[0], len
 * bytes), named as asked when no CNAME was followed. 1: *out is new;
 * 0: no cache, or not cached; -1: out of memory.
 */
static int from_cache(struct mv_resolver *r, const char *name, size_t askedlen,
                      enum mv_dns_type type, struct mv_dns_chain *chain, size_t len,
                      struct mv_dns_answer **out)
{
	int rc;

	if (!r->cache)
		return 0;
	rc = mv_dns_cache_get(r->cache, chain->name[0], len, type, out, r->rec ? chain : NULL);
	if (rc > 0 && strcmp((*out)->name, chain->name[0]) == 0) /* no CNAME */
		memcpy((*out)->name, name, askedlen);            /* the caller's spelling */
	return rc;
}

/* Microseconds since t0 (CLOCK_MONOTONIC), for the latency counts. */
static unsigned long long micros_since(const struct timespec *t0)
{
	struct timespec now;
	long long us;

	clock_gettime(CLOCK_MONOTONIC, &now);
	us = (long long)(now.tv_sec - t0->tv_sec) * 1000000 + (now.tv_nsec - t0->tv_nsec) / 1000;
	return us > 0 ? (unsigned long long)us : 0;
}

/* mv_dns_query(); with cache_only, mv_dns_query_cached(). */
static enum mv_status query(struct mv_resolver *r, const char *name, enum mv_dns_type type,
                            int cache_only, struct mv_dns_answer **out)
{
	struct mv_dns_chain chain;
	size_t len, askedlen;
	enum mv_status st;
	int rc;

	*out = NULL;
	if (!r || !name || !mv_dns_type_str(type))
		return MV_EINVAL;
	askedlen = strlen(name);
	chain.n = 1;
	chain.overflow = 0;
	if ((st = mv_dns_name_norm(name, askedlen, chain.name[0], &len)) != MV_OK)
		return st;
	if (askedlen > 1 && name[askedlen - 1] == '.')
		askedlen--;
	if (len == 0)
		askedlen = 0; /* the root: "" */
	if ((rc = from_cache(r, name, askedlen, type, &chain, len, out)) < 0)
		return MV_ENOMEM;
	if (rc == 0 && cache_only)
		return MV_ENOTFOUND;
	if (rc == 0) {
		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if ((st = resolve(r, name, askedlen, type, &chain, out)) != MV_OK)
			return st;
		mv_dns_stats_count(r, *out, 0, micros_since(&t0));
		if (r->cache)
			mv_dns_cache_put(r->cache, &chain, type, *out);
	} else if (!cache_only) {
		mv_dns_stats_count(r, *out, 1, 0);
	}
	if (r->rec)
		mv_dns_recorder_add(r->rec, &chain, type, *out);
	return MV_OK;
}

enum mv_status mv_dns_query(struct mv_resolver *r, const char *name, enum mv_dns_type type,
                            struct mv_dns_answer **out)
{
	return query(r, name, type, 0, out);
}

enum mv_status mv_dns_query_cached(struct mv_resolver *r, const char *name, enum mv_dns_type type,
                                   struct mv_dns_answer **out)
{
	return query(r, name, type, 1, out);
}

/* A prefetch batch: the resolver and when the batch was sent (for the latency counts). */
struct batch {
	struct mv_resolver *r;
	struct timespec t0;
};

/* A prefetched answer: into the cache (arg is the batch). */
static void deliver(void *arg, const char *name, enum mv_dns_type type, const struct mv_dns_view *v)
{
	struct batch *bt = arg;
	struct mv_resolver *r = bt->r;
	struct mv_dns_answer *a;
	struct mv_dns_chain chain;
	size_t len = strlen(name);

	mv_dns_stats_prefetched(r, v->rcode == MV_DNS_TIMEOUT && !v->cname, micros_since(&bt->t0));
	if (v->cname || len > MV_DNS_NAME_MAX)
		return; /* a CNAME left to us: the query will follow it */
	memcpy(chain.name[0], name, len + 1);
	chain.n = 1;
	chain.overflow = 0;
	if ((a = answer_of(&chain, name, len, type, v, v->ttl))) {
		mv_dns_cache_put(r->cache, &chain, type, a);
		mv_dns_answer_free(a);
	}
}

enum mv_status mv_dns_prefetch(struct mv_resolver *r, const struct mv_dns_question *q, size_t n)
{
	struct mv_dns_question *todo;
	char norm[MV_DNS_NAME_MAX + 1];
	enum mv_status st = MV_OK;
	size_t i, m = 0, len;

	if (!r || (n && !q))
		return MV_EINVAL;
	if (!r->ops->prefetch || n == 0)
		return MV_OK;
	if (!r->cache)
		return r->ops->prefetch(r->impl, q, n, NULL, NULL);
	if (!(todo = malloc(n * sizeof *todo)))
		return MV_ENOMEM;
	for (i = 0; i < n; i++) {
		if (!q[i].name || !mv_dns_type_str(q[i].type) ||
		    mv_dns_name_norm(q[i].name, strlen(q[i].name), norm, &len) != MV_OK)
			continue; /* invalid names are skipped */
		if (!mv_dns_cache_has(r->cache, norm, len, q[i].type))
			todo[m++] = q[i];
	}
	if (m > 0) {
		struct batch bt = {r, {0, 0}};
		clock_gettime(CLOCK_MONOTONIC, &bt.t0);
		st = r->ops->prefetch(r->impl, todo, m, deliver, &bt);
	}
	free(todo);
	return st;
}
