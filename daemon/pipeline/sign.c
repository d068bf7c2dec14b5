/* daemon/pipeline/sign.c — outbound DKIM signing and ARC sealing: From domain -> section -> lib. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/arc.h>
#include <mailvet/dkim.h>

#include "sign.h"

/* The ASCII domain of the (first) From address of m into dom (lowercase). */
static enum mv_status from_domain(const struct mv_msg *m, char *dom, size_t domlen)
{
	size_t i = mv_msg_find(m, "From", 0);
	const struct mv_msg_field *f;
	struct mv_addr_list *al = NULL;
	enum mv_status st;

	if (i == (size_t)-1 || !(f = mv_msg_field(m, i)))
		return MV_ESYNTAX;
	st = mv_addr_parse(f->unfolded, f->unfolded_len, &al, NULL, 0);
	if (st != MV_OK)
		return st;
	if (al->count == 0 || !al->addr[0].domain_ascii ||
	    strlen(al->addr[0].domain_ascii) >= domlen) {
		st = MV_ESYNTAX;
	} else {
		snprintf(dom, domlen, "%s", al->addr[0].domain_ascii);
	}
	mv_addr_list_free(al);
	return st;
}

enum mv_status mvd_sign_seal(const struct mvd_keys *s, const struct mv_msg *m,
                             const char *mail_from, const void *body, size_t len,
                             const struct mv_arc_validator *v, struct mv_resolver *r, time_t now,
                             struct mv_buf *out, const char **domain, size_t *nsets)
{
	const struct mvd_keys_domain *sd = NULL;
	const char *at = mail_from ? strrchr(mail_from, '@') : NULL;
	struct mv_arc_seal_opts o;
	char dom[256];
	enum mv_status st;

	*domain = NULL;
	*nsets = 0;
	if (from_domain(m, dom, sizeof dom) == MV_OK)
		sd = mvd_keys_for(s, dom);
	if (!sd && at && strlen(at + 1) < sizeof dom) {
		snprintf(dom, sizeof dom, "%s", at + 1);
		mv_ascii_lower(dom, strlen(dom));
		sd = mvd_keys_for(s, dom);
	}
	if (!sd)
		return MV_ENOTFOUND;
	mv_arc_seal_opts_default(&o);
	o.domain = sd->conf->name;
	o.selector = sd->conf->keys[0].selector;
	o.authserv_id = s->cfg->authserv_id;
	o.now = (int64_t)now;
	st = mv_arc_seal(&o, (const struct mv_dkim_signkey *const *)sd->keys, sd->selectors,
	                 sd->conf->nkeys, m, body, len, v, r, out, nsets);
	if (st == MV_OK)
		*domain = sd->conf->name;
	return st;
}

enum mv_status mvd_sign_dkim(const struct mvd_keys *s, const struct mv_msg *m, const void *body,
                             size_t len, time_t now, struct mv_buf *out, const char **domain)
{
	const struct mvd_config *c = s->cfg;
	const struct mvd_domain_conf *dc;
	const struct mvd_keys_domain *sd = NULL;
	struct mv_dkim_sign_opts o;
	char dom[256];
	enum mv_status st;

	*domain = NULL;
	if ((st = from_domain(m, dom, sizeof dom)) != MV_OK)
		return MV_ESYNTAX;
	if (!(sd = mvd_keys_for(s, dom)))
		return MV_ENOTFOUND;
	dc = sd->conf;
	mv_dkim_sign_opts_default(&o);
	/* d= is the section's domain: a subdomain's mail is signed by its parent (aligned, relaxed). */
	o.domain = dc->name;
	o.selector = dc->keys[0].selector;
	o.hcanon = c->sign_hcanon;
	o.bcanon = c->sign_bcanon;
	o.headers = c->sign_headers[0] ? c->sign_headers : NULL;
	o.now = (int64_t)now;
	o.expire = c->sign_expire;
	st = mv_dkim_sign(&o, (const struct mv_dkim_signkey *const *)sd->keys, sd->selectors,
	                  dc->nkeys, m, body, len, out);
	if (st == MV_OK)
		*domain = dc->name;
	return st;
}
