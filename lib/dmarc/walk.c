/* lib/dmarc/walk.c — the DNS tree walk (RFC 9989 §4.10): policy discovery and the Organizational Domain. */
#include <stdlib.h>
#include <string.h>

#include <mailvet/dmarc.h>

#include "dmarc/dmarc_int.h"

#define DNS_NAME_MAX 253

size_t mv_dmarc_labels(const char *d)
{
	size_t n = *d ? 1 : 0;

	for (; *d; d++)
		if (*d == '.')
			n++;
	return n;
}

const char *mv_dmarc_last_labels(const char *d, size_t keep)
{
	size_t n = mv_dmarc_labels(d);

	while (n > keep) {
		d = strchr(d, '.') + 1;
		n--;
	}
	return d;
}

int mv_dmarc_walkable(const char *domain)
{
	size_t len = strlen(domain);

	return len > 0 && len <= DNS_NAME_MAX && domain[len - 1] != '.';
}

const char *mv_dmarc_walk_next(const char *domain, size_t *labels)
{
	if (*labels <= 1)
		return NULL;
	/* §4.10 step 5: past 7 labels jump to the last 7, else drop one */
	*labels = *labels >= 8 ? 7 : *labels - 1;
	return mv_dmarc_last_labels(domain, *labels);
}

enum mv_status mv_dmarc_qname(const char *domain, char qname[MV_DMARC_QNAME_MAX])
{
	size_t len = strlen(domain);

	if (len > DNS_NAME_MAX)
		return MV_EINVAL;
	if (len > DNS_NAME_MAX - 7)
		return MV_ETOOBIG; /* no such name can exist, so no record is there */
	memcpy(qname, "_dmarc.", 7);
	memcpy(qname + 7, domain, len + 1);
	return MV_OK;
}

/*
 * Query _dmarc.<name> TXT and keep what §4.10 steps 1-2 keep: records
 * that do not start with v=DMARC1 are discarded, and so are all of them
 * when more than one remains. A record that starts with v=DMARC1 but breaks
 * the tag-list grammar is no valid record either.
 */
enum mv_status mv_dmarc_query_step(struct mv_resolver *r, struct mv_dmarc_step *s)
{
	struct mv_dns_answer *a = NULL;
	struct mv_dmarc_record rec;
	char qname[MV_DMARC_QNAME_MAX];
	size_t k, ndmarc = 0;
	enum mv_status st, pst;

	if ((st = mv_dmarc_qname(s->domain, qname)) == MV_ETOOBIG) {
		s->toolong = 1;
		return MV_OK;
	}
	if (st != MV_OK)
		return st;
	if ((st = mv_dns_query(r, qname, MV_DNS_TXT, &a)) != MV_OK)
		return st;
	if (a->rcode == MV_DNS_SERVFAIL || a->rcode == MV_DNS_TIMEOUT) {
		s->failed = 1;
		goto out;
	}
	for (k = 0; k < a->count; k++) {
		pst = mv_dmarc_record_parse(a->rr[k].txt, a->rr[k].txtlen, &rec, NULL, 0);
		if (pst == MV_ENOMEM) {
			mv_dmarc_record_clear(&rec);
			st = pst;
			goto out;
		}
		if (pst == MV_ENOTFOUND || pst == MV_ETOOBIG) {
			mv_dmarc_record_clear(&rec);
			continue;
		}
		if (++ndmarc == 1 && pst == MV_OK) {
			s->record = rec; /* ownership moves to the step */
			s->found = 1;
		} else {
			mv_dmarc_record_clear(&rec);
		}
	}
	if (ndmarc > 1) {
		mv_dmarc_record_clear(&s->record);
		s->found = 0;
		s->discarded = 1;
	}
out:
	mv_dns_answer_free(a);
	return st;
}

/* §4.10.2: the Organizational Domain from the steps of a full walk. */
static enum mv_status find_org(const char *domain, struct mv_dmarc_walk *w)
{
	const char *org = domain;
	size_t k, labels;

	for (k = 0; k < w->nsteps; k++) {
		const struct mv_dmarc_step *s = &w->step[k];
		if (!s->found)
			continue;
		org = s->domain; /* so far: the found record with the fewest labels */
		if (s->record.psd == MV_DMARC_PSD_N)
			break;
		if (s->record.psd == MV_DMARC_PSD_Y) {
			/* a PSD: the Organizational Domain is one label below it */
			labels = mv_dmarc_labels(s->domain) + 1;
			org = labels > mv_dmarc_labels(domain)
			              ? domain
			              : mv_dmarc_last_labels(domain, labels);
			break;
		}
	}
	w->org = strdup(org);
	return w->org ? MV_OK : MV_ENOMEM;
}

enum mv_status mv_dmarc_walk(struct mv_resolver *r, const char *domain, int full,
                             struct mv_dmarc_walk *w)
{
	const char *name = domain;
	size_t labels;
	enum mv_status st = MV_OK;

	memset(w, 0, sizeof *w);
	labels = mv_dmarc_labels(domain);
	if (!mv_dmarc_walkable(domain))
		return MV_EINVAL;
	while (w->nsteps < MV_DMARC_MAX_WALK) {
		struct mv_dmarc_step *s = &w->step[w->nsteps];
		if ((s->domain = strdup(name)) == NULL)
			return MV_ENOMEM;
		w->nsteps++;
		if ((st = mv_dmarc_query_step(r, s)) != MV_OK)
			return st;
		if (s->failed) {
			w->failed = 1;
			break;
		}
		if (s->found && !full)
			break;
		if (s->found &&
		    (s->record.psd == MV_DMARC_PSD_N || s->record.psd == MV_DMARC_PSD_Y))
			break;
		if ((name = mv_dmarc_walk_next(domain, &labels)) == NULL)
			break;
	}
	for (w->policy = 0; w->policy < w->nsteps; w->policy++)
		if (w->step[w->policy].found)
			break;
	if (full && !w->failed)
		st = find_org(domain, w);
	return st;
}

void mv_dmarc_walk_clear(struct mv_dmarc_walk *w)
{
	size_t k;

	for (k = 0; k < w->nsteps; k++) {
		free(w->step[k].domain);
		mv_dmarc_record_clear(&w->step[k].record);
	}
	free(w->org);
	memset(w, 0, sizeof *w);
}
