/* daemon/core/keytable_lookup.c — which key the [signing] tables give an author address at a time. */
#include <stdio.h>
#include <string.h>

#include <mailvet/util.h>

#include "keytable_int.h"

const struct mvd_kt_key *mvd_keytable_key(const struct mvd_keytable *t, const char *name,
                                          int64_t now)
{
	const struct mvd_kt_key *best = NULL;
	size_t lo = 0, hi = t->nkeys;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(t->keys[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < t->nkeys && strcmp(t->keys[i].name, name) == 0; i++) {
		const struct mvd_kt_key *k = &t->keys[i];
		if (now < k->not_before || (k->not_after && now >= k->not_after))
			continue;
		if (!best || k->not_before > best->not_before)
			best = k;
	}
	return best;
}

int mvd_keytable_glob(const char *p, const char *s)
{
	const char *star = NULL, *resume = NULL;

	/* Greedy with one backtrack point: O(len(p) * len(s)) at worst, never recursive. */
	while (*s) {
		if (*p == '*') {
			star = p++;
			resume = s;
		} else if (*p && ((unsigned char)*p | 0x20) == ((unsigned char)*s | 0x20) &&
		           ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == *s)) {
			p++;
			s++;
		} else if (star) {
			p = star + 1;
			s = ++resume;
		} else {
			return 0;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

/* The exact-lookup entry for key, or NULL. */
static const struct mvd_st_entry *exact(const struct mvd_keytable *t, const char *key)
{
	size_t lo = 0, hi = t->nsign;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(t->sign[mid].pattern, key);
		if (c == 0)
			return &t->sign[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* OpenDKIM's order of exact lookups for local@domain (both lowercased by the caller). */
static const struct mvd_st_entry *lookup_exact(const struct mvd_keytable *t, const char *local,
                                               const char *domain)
{
	char key[700];
	const struct mvd_st_entry *e;
	const char *d;

	snprintf(key, sizeof key, "%s@%s", local, domain);
	if ((e = exact(t, key)) || (e = exact(t, domain)))
		return e;
	for (d = strchr(domain, '.'); d; d = strchr(d + 1, '.')) {
		snprintf(key, sizeof key, "%s@%s", local, d);
		if ((e = exact(t, key)))
			return e;
	}
	for (d = strchr(domain, '.'); d; d = strchr(d + 1, '.'))
		if ((e = exact(t, d)))
			return e;
	snprintf(key, sizeof key, "%s@*", local);
	if ((e = exact(t, key)))
		return e;
	return exact(t, "*");
}

/* refile: the first pattern in file order matching local@domain. */
static const struct mvd_st_entry *lookup_wild(const struct mvd_keytable *t, const char *local,
                                              const char *domain)
{
	char addr[700];
	size_t first = t->nsign, lo = 0, hi = t->nbyd;

	/* The "*@DOMAIN" lines through the index: the earliest of that domain bounds the scan. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(t->byd[mid].pattern, domain) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < t->nbyd && strcmp(t->byd[lo].pattern, domain) == 0)
		first = t->byd[lo].line;
	snprintf(addr, sizeof addr, "%s@%s", local, domain);
	for (size_t g = 0; g < t->ngeneral && t->general[g] < first; g++)
		if (mvd_keytable_glob(t->sign[t->general[g]].pattern, addr))
			return &t->sign[t->general[g]];
	return first < t->nsign ? &t->sign[first] : NULL;
}

const char *mvd_keytable_lookup(const struct mvd_keytable *t, const char *local, const char *domain,
                                unsigned *line)
{
	char l[320], d[256];
	const struct mvd_st_entry *e;

	if (!t->nsign || strlen(local) >= sizeof l || strlen(domain) >= sizeof d)
		return NULL;
	memcpy(l, local, strlen(local) + 1);
	memcpy(d, domain, strlen(domain) + 1);
	mv_ascii_lower(l, strlen(l));
	mv_ascii_lower(d, strlen(d));
	e = t->st_wild ? lookup_wild(t, l, d) : lookup_exact(t, l, d);
	if (e && line)
		*line = e->line;
	return e ? e->keyname : NULL;
}

/* Every key of the key directory for domain into keys[0..max). */
static size_t dir_keys(const struct mvd_keytable *t, const char *domain,
                       struct mv_outbound_key *keys, size_t max)
{
	size_t lo = 0, hi = t->ndirkeys, n = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(t->dirkeys[mid].domain, domain) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < t->ndirkeys && n < max && strcmp(t->dirkeys[i].domain, domain) == 0;
	     i++) {
		keys[n].domain = t->dirkeys[i].domain;
		keys[n].selector = t->dirkeys[i].selector;
		keys[n].key = t->dirkeys[i].key;
		keys[n].subdomains = 0;
		n++;
	}
	return n;
}

size_t mvd_keytable_choose(const struct mvd_keytable *t, const char *local, const char *domain,
                           int64_t now, struct mv_outbound_key *keys, size_t max, char *why,
                           size_t whylen)
{
	unsigned line = 0;
	const char *name = mvd_keytable_lookup(t, local ? local : "", domain, &line);
	const struct mvd_kt_key *k;
	char lower[256];

	if (strlen(domain) >= sizeof lower) {
		snprintf(why, whylen, "author domain too long");
		return 0;
	}
	memcpy(lower, domain, strlen(domain) + 1);
	mv_ascii_lower(lower, strlen(lower));
	if (name) {
		const char *kn = strcmp(name, "%") == 0 ? lower : name; /* "%": the author domain */
		k = mvd_keytable_key(t, kn, now);
		if (!k || !k->key || max == 0) {
			snprintf(why, whylen,
			         "no DKIM key for %s: %s:%u gives key %s, which has no version "
			         "valid now",
			         domain, t->st_file, line, kn);
			return 0;
		}
		keys[0].domain = strcmp(k->domain, "%") == 0 ? domain : k->domain;
		keys[0].selector = k->selector;
		keys[0].key = k->key;
		keys[0].subdomains = 0;
		return 1;
	}
	if (t->ndirkeys) {
		size_t n = dir_keys(t, lower, keys, max);
		if (n > 0)
			return n;
	}
	snprintf(why, whylen,
	         "no DKIM key for %s (no [domain] section, no match for %s@%s in %s%s)", domain,
	         local ? local : "", domain, t->nsign ? t->st_file : "",
	         t->dir[0] ? (t->nsign ? " or the key directory" : "the key directory") : "");
	return 0;
}
