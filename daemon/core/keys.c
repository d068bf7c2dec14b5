/* daemon/core/keys.c — the private keys of every [domain] section, loaded from their files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/dkim.h>

#include "keys.h"
#include "log.h"

#define MAX_KEY_FILE ((size_t)64 * 1024)

void mvd_keys_free(struct mvd_keys *s)
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
	free(s->table);
	free(s);
}

/* Load one PEM key file. */
static enum mv_status load_key(const struct mvd_config *c, const struct mvd_key_conf *kc,
                               struct mv_dkim_signkey **out, char *err, size_t errlen)
{
	char *pem = NULL, why[128] = "";
	size_t len = 0;
	unsigned mode = 0;
	enum mv_status st;

	st = mv_read_regular_file(kc->path, MAX_KEY_FILE, &pem, &len, &mode);
	if (st != MV_OK) {
		mvd_config_errf(c, kc->line, err, errlen, "key %s: %s", kc->path,
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
		mvd_config_errf(c, kc->line, err, errlen, "key %s: %s", kc->path,
		                why[0] ? why : mv_status_str(st));
	memset(pem, 0, len);
	free(pem);
	return st;
}

/* Every loaded key as one lib/outbound key table (the same order as the file). */
static enum mv_status build_table(struct mvd_keys *s)
{
	size_t total = 0, t = 0;

	for (size_t i = 0; i < s->n; i++)
		total += s->d[i].conf->nkeys;
	if (total && !(s->table = calloc(total, sizeof *s->table)))
		return MV_ENOMEM;
	for (size_t i = 0; i < s->n; i++)
		for (size_t k = 0; k < s->d[i].conf->nkeys; k++, t++) {
			s->table[t].domain = s->d[i].conf->name;
			s->table[t].selector = s->d[i].selectors[k];
			s->table[t].key = s->d[i].keys[k];
			s->table[t].subdomains = s->d[i].conf->subdomains;
		}
	s->ntable = total;
	return MV_OK;
}

enum mv_status mvd_keys_load(const struct mvd_config *c, struct mvd_keys **out, char *err,
                             size_t errlen)
{
	struct mvd_keys *s;
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
		struct mvd_keys_domain *sd = &s->d[i];

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
			if ((st = load_key(c, &dc->keys[k], &sd->keys[k], err, errlen)) != MV_OK)
				goto out;
		}
	}
	if (st == MV_OK && (st = build_table(s)) != MV_OK)
		snprintf(err, errlen, "out of memory");
out:
	if (st != MV_OK)
		mvd_keys_free(s);
	else
		*out = s;
	return st;
}

const struct mvd_keys_domain *mvd_keys_for(const struct mvd_keys *k, const char *domain)
{
	const struct mvd_domain_conf *dc = mvd_config_domain(k->cfg, domain);

	for (size_t i = 0; dc && i < k->n; i++)
		if (k->d[i].conf == dc)
			return &k->d[i];
	return NULL;
}
