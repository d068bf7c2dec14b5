/* daemon/sign.c — outbound DKIM signing: keys per domain, From domain -> section -> lib/dkim. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/dkim.h>

#include "log.h"
#include "sign.h"

#define MAX_KEY_FILE ((size_t)64 * 1024)

struct signer_domain {
	const struct mvd_domain_conf *conf;
	struct mv_dkim_signkey **keys;
	const char **selectors;
};

struct mvd_signer {
	const struct mvd_config *cfg;
	struct signer_domain *d;
	size_t n;
};

void mvd_signer_free(struct mvd_signer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		for (size_t k = 0; s->d[i].keys && k < s->d[i].conf->nkeys; k++)
			mv_dkim_signkey_free(s->d[i].keys[k]);
		free(s->d[i].keys);
		free(s->d[i].selectors);
	}
	free(s->d);
	free(s);
}

/* Load one PEM key file. */
static enum mv_status load_key(const struct mvd_key_conf *kc, struct mv_dkim_signkey **out,
                               char *err, size_t errlen)
{
	char *pem = NULL, why[128] = "";
	size_t len = 0;
	unsigned mode = 0;
	enum mv_status st;

	st = mv_read_regular_file(kc->path, MAX_KEY_FILE, &pem, &len, &mode);
	if (st != MV_OK) {
		snprintf(err, errlen, "key %s: %s", kc->path,
		         st == MV_EIO      ? strerror(errno)
		         : st == MV_EINVAL ? "not a regular file"
		                           : mv_status_str(st));
		return st;
	}
	if (mode & 0007)
		mvd_log(MVD_LOG_WARNING, "key",
		        "private key %s is readable by others (mode %04o): chmod o-rwx", kc->path,
		        mode);
	st = mv_dkim_signkey_pem(pem, len, out, why, sizeof why);
	if (st != MV_OK)
		snprintf(err, errlen, "key %s: %s", kc->path, why[0] ? why : mv_status_str(st));
	memset(pem, 0, len);
	free(pem);
	return st;
}

enum mv_status mvd_signer_load(const struct mvd_config *c, struct mvd_signer **out, char *err,
                               size_t errlen)
{
	struct mvd_signer *s;
	enum mv_status st = MV_OK;

	*out = NULL;
	if (!(s = calloc(1, sizeof *s)) ||
	    (c->ndomains && !(s->d = calloc(c->ndomains, sizeof *s->d)))) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return MV_ENOMEM;
	}
	s->cfg = c;
	for (size_t i = 0; i < c->ndomains; i++) {
		const struct mvd_domain_conf *dc = &c->domains[i];
		struct signer_domain *sd = &s->d[i];

		sd->conf = dc;
		s->n++;
		sd->keys = calloc(dc->nkeys, sizeof *sd->keys);
		sd->selectors = calloc(dc->nkeys, sizeof *sd->selectors);
		if (!sd->keys || !sd->selectors) {
			snprintf(err, errlen, "out of memory");
			st = MV_ENOMEM;
			goto out;
		}
		for (size_t k = 0; k < dc->nkeys; k++) {
			sd->selectors[k] = dc->keys[k].selector;
			if ((st = load_key(&dc->keys[k], &sd->keys[k], err, errlen)) != MV_OK)
				goto out;
		}
	}
out:
	if (st != MV_OK)
		mvd_signer_free(s);
	else
		*out = s;
	return st;
}

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

/* The signer's keys for the section that covers dom, or NULL. */
static const struct signer_domain *section_for(const struct mvd_signer *s, const char *dom)
{
	const struct mvd_domain_conf *dc = mvd_config_domain(s->cfg, dom);

	for (size_t i = 0; dc && i < s->n; i++)
		if (s->d[i].conf == dc)
			return &s->d[i];
	return NULL;
}

enum mv_status mvd_signer_seal(const struct mvd_signer *s, const struct mv_msg *m,
                               const char *mail_from, const void *body, size_t len,
                               const struct mv_arc_validator *v, struct mv_resolver *r, time_t now,
                               struct mv_buf *out, const char **domain, size_t *nsets)
{
	const struct signer_domain *sd = NULL;
	const char *at = mail_from ? strrchr(mail_from, '@') : NULL;
	struct mv_arc_seal_opts o;
	char dom[256];
	enum mv_status st;

	*domain = NULL;
	*nsets = 0;
	if (from_domain(m, dom, sizeof dom) == MV_OK)
		sd = section_for(s, dom);
	if (!sd && at && strlen(at + 1) < sizeof dom) {
		snprintf(dom, sizeof dom, "%s", at + 1);
		mv_ascii_lower(dom, strlen(dom));
		sd = section_for(s, dom);
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

enum mv_status mvd_signer_sign(const struct mvd_signer *s, const struct mv_msg *m, const void *body,
                               size_t len, time_t now, struct mv_buf *out, const char **domain)
{
	const struct mvd_config *c = s->cfg;
	const struct mvd_domain_conf *dc;
	const struct signer_domain *sd = NULL;
	struct mv_dkim_sign_opts o;
	char dom[256];
	enum mv_status st;

	*domain = NULL;
	if ((st = from_domain(m, dom, sizeof dom)) != MV_OK)
		return MV_ESYNTAX;
	if (!(dc = mvd_config_domain(c, dom)))
		return MV_ENOTFOUND;
	for (size_t i = 0; i < s->n; i++)
		if (s->d[i].conf == dc)
			sd = &s->d[i];
	if (!sd)
		return MV_ENOTFOUND;
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
