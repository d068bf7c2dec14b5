/* lib/dmarc/discover.c — find the policy record of an Author Domain (RFC 9989 §4.10.1; RFC 7489 §6.6.3). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dmarc/discover.h"
#include "dmarc/dmarc_int.h"

static void explain_step(struct mv_buf *ex, const struct mv_dmarc_step *s)
{
	mv_buf_printf(ex, "_dmarc.%s TXT: ", s->domain);
	if (s->failed)
		mv_buf_puts(ex, "DNS failure\n");
	else if (s->toolong)
		mv_buf_puts(ex, "name over 253 octets, not asked: no DMARC record\n");
	else if (s->discarded)
		mv_buf_puts(ex, "several DMARC records, all discarded\n");
	else if (s->found) {
		mv_buf_puts(ex, "record ");
		mv_dmarc_record_summary(&s->record, ex);
		mv_buf_puts(ex, "\n");
	} else
		mv_buf_puts(ex, "no DMARC record\n");
}

/* Move the record of step s into the discovery result. */
static enum mv_status take(struct mv_dmarc_found *f, struct mv_dmarc_step *s)
{
	f->record = s->record;
	memset(&s->record, 0, sizeof s->record);
	f->domain = strdup(s->domain);
	f->found = 1;
	return f->domain ? MV_OK : MV_ENOMEM;
}

static enum mv_status discover_9989(struct mv_resolver *r, const char *author,
                                    struct mv_dmarc_found *f, struct mv_buf *ex)
{
	struct mv_dmarc_walk w;
	enum mv_status st;
	size_t k;

	st = mv_dmarc_walk(r, author, 0, &w);
	for (k = 0; k < w.nsteps; k++)
		explain_step(ex, &w.step[k]);
	if (st == MV_OK && w.failed)
		f->failed = 1;
	else if (st == MV_OK && w.policy < w.nsteps)
		st = take(f, &w.step[w.policy]);
	mv_dmarc_walk_clear(&w);
	return st;
}

/* RFC 7489 §6.6.3: the Author Domain, then its Organizational Domain (PSL). */
static enum mv_status discover_7489(struct mv_resolver *r, const struct mv_dmarc_psl *psl,
                                    const char *author, struct mv_dmarc_found *f, struct mv_buf *ex)
{
	struct mv_dmarc_step s;
	enum mv_status st;
	char *org = NULL;
	int round;

	for (round = 0; round < 2; round++) {
		memset(&s, 0, sizeof s);
		if (round == 1) {
			org = mv_dmarc_psl_org(psl, author);
			if (org == NULL || strcasecmp(org, author) == 0)
				break;
			mv_buf_printf(ex, "organizational domain (public suffix list): %s\n", org);
		}
		if ((s.domain = strdup(round == 0 ? author : org)) == NULL) {
			st = MV_ENOMEM;
			goto out;
		}
		st = mv_dmarc_query_step(r, &s);
		explain_step(ex, &s);
		if (st == MV_OK && s.failed)
			f->failed = 1;
		else if (st == MV_OK && s.found)
			st = take(f, &s);
		free(s.domain);
		mv_dmarc_record_clear(&s.record);
		if (st != MV_OK || f->failed || f->found)
			goto out;
	}
	st = MV_OK;
out:
	free(org);
	return st == MV_EINVAL ? MV_OK : st;
}

enum mv_status mv_dmarc_discover(struct mv_resolver *r, const struct mv_dmarc_config *c,
                                 const char *author, struct mv_dmarc_found *f, struct mv_buf *ex)
{
	enum mv_status st;

	memset(f, 0, sizeof *f);
	if (c->mode == MV_DMARC_MODE_7489)
		return discover_7489(r, c->psl, author, f, ex);
	st = discover_9989(r, author, f, ex);
	return st == MV_EINVAL ? MV_OK : st; /* a name DNS cannot ask: no record */
}

void mv_dmarc_found_clear(struct mv_dmarc_found *f)
{
	free(f->domain);
	mv_dmarc_record_clear(&f->record);
	memset(f, 0, sizeof *f);
}

/* RFC 9989 terminology, "Non-existent Domains": NXDOMAIN or NODATA for A, AAAA and MX. */
int mv_dmarc_nonexistent(struct mv_resolver *r, const char *domain)
{
	static const enum mv_dns_type types[] = {MV_DNS_A, MV_DNS_AAAA, MV_DNS_MX};
	struct mv_dns_answer *a;
	size_t k;
	int missing = 1;

	for (k = 0; k < sizeof types / sizeof types[0] && missing; k++) {
		a = NULL;
		if (mv_dns_query(r, domain, types[k], &a) != MV_OK)
			return 0;
		missing = a->rcode == MV_DNS_NXDOMAIN || a->rcode == MV_DNS_NODATA;
		mv_dns_answer_free(a);
	}
	return missing;
}
