/*
 * lib/dmarc/from_domains.c — every domain a reader could take from the From field(s) of a
 * message that has no Author Domain (several From fields, several domains, an unparsable
 * From): what "reject if protected" looks up.
 */
#include <stdlib.h>
#include <string.h>

#include <mailvet/dmarc.h>

/* Bytes that end a domain read after '@': no domain, atom or dot-atom holds them. */
static int ends_domain(unsigned char ch)
{
	return ch <= ' ' || ch == 0x7f || strchr("<>()[]:;,@\"\\", ch) != NULL;
}

/* Add domain (an A-label, owned) unless it is there already; a full list drops it. */
static void add_domain(struct mv_dmarc_from_domains *out, char *domain)
{
	size_t k;

	for (k = 0; k < out->n; k++)
		if (strcmp(out->domain[k], domain) == 0)
			break;
	if (k < out->n || out->n == MV_DMARC_FROM_DOMAINS_MAX) {
		free(domain);
		return;
	}
	out->domain[out->n++] = domain;
}

/*
 * The text after each '@' up to a byte that cannot be in a domain, without
 * leading and trailing dots, when it is a valid domain name (IDNA included).
 * One pass over at most MV_ADDR_MAX bytes, whatever they hold.
 */
static enum mv_status scan_leniently(const char *p, size_t len, struct mv_dmarc_from_domains *out)
{
	const char *end = p + len, *d, *e;
	char *ascii, *unicode;
	enum mv_status st;

	if (len > MV_ADDR_MAX)
		end = p + MV_ADDR_MAX;
	while (out->n < MV_DMARC_FROM_DOMAINS_MAX && (p = memchr(p, '@', (size_t)(end - p)))) {
		for (d = ++p; p < end && !ends_domain((unsigned char)*p); p++)
			;
		for (e = p; d < e && *d == '.'; d++)
			;
		while (e > d && e[-1] == '.')
			e--;
		if (e == d)
			continue;
		st = mv_addr_domain_forms(d, (size_t)(e - d), &ascii, &unicode);
		if (st == MV_ENOMEM)
			return st;
		if (st == MV_OK) {
			free(unicode);
			add_domain(out, ascii);
		}
	}
	return MV_OK;
}

/* The domains of one From field: its addresses when it parses, else the lenient reading. */
static enum mv_status field_domains(const struct mv_msg_field *f, struct mv_dmarc_from_domains *out)
{
	struct mv_addr_list *l = NULL;
	enum mv_status st;
	char *d;
	size_t k;

	st = mv_addr_parse(f->unfolded, f->unfolded_len, &l, NULL, 0);
	if (st == MV_ENOMEM)
		return st;
	if (st != MV_OK)
		return scan_leniently(f->unfolded, f->unfolded_len, out);
	for (k = 0; k < l->count && st == MV_OK; k++) {
		if (l->addr[k].domain_ascii[0] == '[')
			continue; /* an address literal has no DMARC policy */
		if ((d = strdup(l->addr[k].domain_ascii)) == NULL)
			st = MV_ENOMEM;
		else
			add_domain(out, d);
	}
	mv_addr_list_free(l);
	return st;
}

enum mv_status mv_dmarc_from_domains(const struct mv_msg *m, struct mv_dmarc_from_domains *out)
{
	enum mv_status st = MV_OK;
	size_t k;

	memset(out, 0, sizeof *out);
	for (k = mv_msg_find(m, "from", 0); k != (size_t)-1 && st == MV_OK;
	     k = mv_msg_find(m, "from", k + 1))
		st = field_domains(mv_msg_field(m, k), out);
	if (st != MV_OK)
		mv_dmarc_from_domains_clear(out);
	return st;
}

void mv_dmarc_from_domains_clear(struct mv_dmarc_from_domains *d)
{
	size_t k;

	for (k = 0; k < d->n; k++)
		free(d->domain[k]);
	memset(d, 0, sizeof *d);
}
