/* lib/dmarc/author.c — the Author Domain: the one domain of the one From field (RFC 9989 §4.4). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/dmarc.h>

static enum mv_status fail(char *err, size_t errlen, const char *why)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", why);
	return MV_ESYNTAX;
}

enum mv_status mv_dmarc_author_domain(const struct mv_msg *m, char **domain, char *err,
                                      size_t errlen)
{
	const struct mv_msg_field *f;
	struct mv_addr_list *l = NULL;
	size_t first, k, nfrom = 0;
	char perr[160], msgbuf[200];
	enum mv_status st;

	*domain = NULL;
	if (err && errlen)
		err[0] = '\0';
	first = mv_msg_find(m, "from", 0);
	for (k = first; k != (size_t)-1; k = mv_msg_find(m, "from", k + 1))
		nfrom++;
	if (nfrom == 0)
		return fail(err, errlen, "no From field");
	if (nfrom > 1) {
		snprintf(msgbuf, sizeof msgbuf, "%zu From fields", nfrom);
		return fail(err, errlen, msgbuf);
	}
	f = mv_msg_field(m, first);
	perr[0] = '\0';
	st = mv_addr_parse(f->unfolded, f->unfolded_len, &l, perr, sizeof perr);
	if (st == MV_ENOMEM)
		return st;
	if (st != MV_OK) {
		snprintf(msgbuf, sizeof msgbuf, "From: %s", perr[0] ? perr : mv_status_str(st));
		return fail(err, errlen, msgbuf);
	}
	if (l->count == 0) {
		st = fail(err, errlen, "From holds no mailbox");
		goto out;
	}
	for (k = 0; k < l->count; k++) {
		if (l->addr[k].domain_ascii[0] == '[') {
			st = fail(err, errlen, "From domain is an address literal");
			goto out;
		}
		if (strcmp(l->addr[k].domain_ascii, l->addr[0].domain_ascii) != 0) {
			st = fail(err, errlen, "From addresses in several domains");
			goto out;
		}
	}
	*domain = strdup(l->addr[0].domain_ascii);
	st = *domain ? MV_OK : MV_ENOMEM;
out:
	mv_addr_list_free(l);
	return st;
}
