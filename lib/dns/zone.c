/* lib/dns/zone.c — the zone-file backend: a hash table of owner names and its lookups. */
#include <stdlib.h>
#include <string.h>

#include <mailvet/util.h>

#include "dns/backend.h"
#include "dns/zone.h"

int mv_dns_zone_type_index(enum mv_dns_type type)
{
	switch (type) {
	case MV_DNS_A:
		return 0;
	case MV_DNS_CNAME:
		return 1;
	case MV_DNS_PTR:
		return 2;
	case MV_DNS_MX:
		return 3;
	case MV_DNS_TXT:
		return 4;
	case MV_DNS_AAAA:
		return 5;
	}
	return -1;
}

static uint32_t hash_name(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

/* The slot holding name, or the empty slot where it would go. */
static size_t find_slot(const struct mv_dns_zone *z, const char *name, size_t len)
{
	size_t mask = z->slotcap - 1, i = hash_name(name, len) & mask;
	const struct mv_dns_node *n;

	while (z->slots[i]) {
		n = &z->nodes[z->slots[i] - 1];
		if (strncmp(n->name, name, len) == 0 && n->name[len] == '\0')
			return i;
		i = (i + 1) & mask;
	}
	return i;
}

/* Keep the table at most half full. */
static enum mv_status grow_slots(struct mv_dns_zone *z)
{
	size_t cap = z->slotcap ? z->slotcap * 2 : 64, i, j, mask = cap - 1;
	uint32_t *s;
	const char *nm;

	if (cap > UINT32_MAX || !(s = calloc(cap, sizeof *s)))
		return MV_ENOMEM;
	for (i = 0; i < z->nnodes; i++) {
		nm = z->nodes[i].name;
		j = hash_name(nm, strlen(nm)) & mask;
		while (s[j])
			j = (j + 1) & mask;
		s[j] = (uint32_t)(i + 1);
	}
	free(z->slots);
	z->slots = s;
	z->slotcap = cap;
	return MV_OK;
}

static struct mv_dns_node *insert(struct mv_dns_zone *z, const char *name, size_t len)
{
	struct mv_dns_node *n;
	size_t cap, slot;

	if ((z->nnodes + 1) * 2 > z->slotcap && grow_slots(z) != MV_OK)
		return NULL;
	if (z->nnodes == z->nodecap) {
		cap = z->nodecap ? z->nodecap * 2 : 32;
		if (!(n = realloc(z->nodes, cap * sizeof *n)))
			return NULL;
		z->nodes = n;
		z->nodecap = cap;
	}
	n = &z->nodes[z->nnodes];
	memset(n, 0, sizeof *n);
	if (!(n->name = mv_strndup(name, len)))
		return NULL;
	slot = find_slot(z, name, len);
	z->slots[slot] = (uint32_t)++z->nnodes;
	return n;
}

/* The node of name, inserted if absent (its ancestors are the caller's business). */
static struct mv_dns_node *find_or_insert(struct mv_dns_zone *z, const char *name, size_t len)
{
	size_t slot;

	if (z->slotcap) {
		slot = find_slot(z, name, len);
		if (z->slots[slot])
			return &z->nodes[z->slots[slot] - 1];
	}
	return insert(z, name, len);
}

struct mv_dns_node *mv_dns_zone_node(struct mv_dns_zone *z, const char *name, size_t len,
                                     int create)
{
	size_t slot, i;

	if (!create) {
		if (!z->slotcap)
			return NULL;
		slot = find_slot(z, name, len);
		return z->slots[slot] ? &z->nodes[z->slots[slot] - 1] : NULL;
	}
	/* the root and every ancestor first, top-down: each is an empty non-terminal */
	if (len > 0 && !find_or_insert(z, "", 0))
		return NULL;
	for (i = len; i-- > 0;)
		if (name[i] == '.' && !find_or_insert(z, name + i + 1, len - i - 1))
			return NULL;
	return find_or_insert(z, name, len);
}

enum mv_status mv_dns_zone_add(struct mv_dns_node *node, const struct mv_dns_rr *rr)
{
	struct mv_dns_rrset *set;
	struct mv_dns_rr copy = *rr, *p;
	int ti = mv_dns_zone_type_index(rr->type);
	size_t cap;

	if (ti < 0)
		return MV_EINVAL;
	set = &node->set[ti];
	copy.host = NULL;
	copy.txt = NULL;
	if (rr->host && !(copy.host = mv_strndup(rr->host, strlen(rr->host))))
		return MV_ENOMEM;
	if (rr->txt && !(copy.txt = mv_strndup(rr->txt, rr->txtlen))) {
		free(copy.host);
		return MV_ENOMEM;
	}
	if (set->n == set->cap) {
		cap = set->cap ? set->cap * 2 : 1;
		if (!(p = realloc(set->rr, cap * sizeof *p))) {
			free(copy.host);
			free(copy.txt);
			return MV_ENOMEM;
		}
		set->rr = p;
		set->cap = cap;
	}
	set->rr[set->n++] = copy;
	return MV_OK;
}

void mv_dns_zone_clear(struct mv_dns_zone *z)
{
	size_t i, j;
	int t;

	if (!z)
		return;
	for (i = 0; i < z->nnodes; i++) {
		for (t = 0; t < MV_DNS_ZONE_NTYPES; t++) {
			for (j = 0; j < z->nodes[i].set[t].n; j++) {
				free(z->nodes[i].set[t].rr[j].host);
				free(z->nodes[i].set[t].rr[j].txt);
			}
			free(z->nodes[i].set[t].rr);
		}
		free(z->nodes[i].name);
	}
	free(z->nodes);
	free(z->slots);
	memset(z, 0, sizeof *z);
}

/*
 * docs/zone-file.md "Answers", in order: no node is NXDOMAIN; records of the type
 * answer; a pseudo-type for the type (or for every type) fails the query;
 * a CNAME is left to resolver.c to follow; otherwise NODATA.
 */
static enum mv_status zone_lookup(void *impl, const char *name, enum mv_dns_type type,
                                  struct mv_dns_view *v)
{
	struct mv_dns_zone *z = impl;
	const struct mv_dns_node *n = mv_dns_zone_node(z, name, strlen(name), 0);
	int ti = mv_dns_zone_type_index(type), ci = mv_dns_zone_type_index(MV_DNS_CNAME);
	int fail;

	if (!n) {
		v->rcode = MV_DNS_NXDOMAIN;
		return MV_OK;
	}
	if (ti < 0)
		return MV_EINVAL;
	if (n->set[ti].n) {
		v->rcode = MV_DNS_RECORDS;
		v->rr = n->set[ti].rr;
		v->count = n->set[ti].n;
		return MV_OK;
	}
	fail = n->fail[ti] ? n->fail[ti] : n->fail_any;
	if (fail) {
		v->rcode = fail == MV_DNS_ZONE_TIMEOUT ? MV_DNS_TIMEOUT : MV_DNS_SERVFAIL;
		return MV_OK;
	}
	if (type != MV_DNS_CNAME && n->set[ci].n) {
		v->cname = n->set[ci].rr[0].host;
		return MV_OK;
	}
	v->rcode = MV_DNS_NODATA;
	return MV_OK;
}

static void zone_destroy(void *impl)
{
	mv_dns_zone_clear(impl);
	free(impl);
}

static const struct mv_dns_ops zone_ops = {
        .name = "zone",
        .lookup = zone_lookup,
        .release = NULL,
        .prefetch = NULL, /* every answer is already in memory */
        .destroy = zone_destroy,
};

enum mv_status mv_dns_zone_resolver(struct mv_dns_zone *z, struct mv_resolver **out)
{
	return mv_dns_resolver_new(&zone_ops, z, out);
}
