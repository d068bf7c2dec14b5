/* daemon/core/keys.c — the signing keys: [domain] sections and the [signing] tables, loaded. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mailvet/dkim.h>
#include <mailvet/msg.h>

#include "keyfile.h"
#include "keys.h"
#include "log.h"

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
	mvd_keytable_free(s->kt);
	free(s->table);
	free(s);
}

/* Load one [domain] key (keyfile.c: here or through the key process). */
static enum mv_status load_key(const struct mvd_config *c, const struct mvd_key_conf *kc,
                               struct mv_dkim_signkey **out, char *err, size_t errlen)
{
	char why[400] = "";
	enum mv_status st = mvd_keyfile_open(kc->path, out, why, sizeof why);

	if (st != MV_OK)
		mvd_config_errf(c, kc->line, err, errlen, "%s", why);
	return st;
}

/* Append key table entry e to s->table (room was made). */
static void table_add(struct mvd_keys *s, const struct mvd_kt_key *e)
{
	struct mv_outbound_key *t = &s->table[s->ntable++];

	t->domain = e->domain;
	t->selector = e->selector;
	t->key = e->key;
	t->subdomains = 0;
}

/*
 * Every loaded key as one lib/outbound key table: the [domain] keys in file
 * order, then the key table's versions active now, then the key directory.
 */
static enum mv_status build_table(struct mvd_keys *s)
{
	size_t total = 0, t = 0;
	int64_t now = (int64_t)time(NULL);
	const struct mvd_keytable *kt = s->kt;

	for (size_t i = 0; i < s->n; i++)
		total += s->d[i].conf->nkeys;
	if (kt)
		total += kt->nkeys + kt->ndirkeys;
	if (total && !(s->table = calloc(total, sizeof *s->table)))
		return MV_ENOMEM;
	for (size_t i = 0; i < s->n; i++)
		for (size_t k = 0; k < s->d[i].conf->nkeys; k++, t++) {
			s->table[t].domain = s->d[i].conf->name;
			s->table[t].selector = s->d[i].selectors[k];
			s->table[t].key = s->d[i].keys[k];
			s->table[t].subdomains = s->d[i].conf->subdomains;
		}
	s->ntable = t;
	for (size_t i = 0; kt && i < kt->nkeys; i++) {
		const struct mvd_kt_key *e = &kt->keys[i];
		if (strcmp(e->domain, "%") != 0 &&
		    (i == 0 || strcmp(kt->keys[i - 1].name, e->name)) &&
		    (e = mvd_keytable_key(kt, e->name, now)) != NULL)
			table_add(s, e);
	}
	for (size_t i = 0; kt && i < kt->ndirkeys; i++)
		table_add(s, &kt->dirkeys[i]);
	return MV_OK;
}

/* The [signing] tables, read and their keys loaded, into s->kt. */
static enum mv_status load_tables(const struct mvd_config *c, struct mvd_keys *s, char *err,
                                  size_t errlen)
{
	char why[400] = "";
	enum mv_status st;
	unsigned line = mvd_config_line(c, "signing", "key_table");

	st = mvd_keytable_read(c->key_table, c->signing_table, c->key_directory, &s->kt, why,
	                       sizeof why);
	if (st == MV_OK && s->kt)
		st = mvd_keytable_load_keys(s->kt, why, sizeof why);
	if (st != MV_OK) {
		if (!line)
			line = mvd_config_line(c, "signing",
			                       c->signing_table[0] ? "signing_table"
			                                           : "key_directory");
		mvd_config_errf(c, line, err, errlen, "[signing] %s", why);
	}
	return st;
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
	if (st == MV_OK)
		st = load_tables(c, s, err, errlen);
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

/* The local part of the first address of the From field, or NULL; *l is freed by the caller. */
static const char *from_local(const struct mv_msg *m, struct mv_addr_list **l)
{
	size_t i = m ? mv_msg_find(m, "From", 0) : (size_t)-1;
	const struct mv_msg_field *f;
	char err[64];

	*l = NULL;
	if (i == (size_t)-1 || !(f = mv_msg_field(m, i)))
		return NULL;
	if (mv_addr_parse(f->unfolded, f->unfolded_len, l, err, sizeof err) != MV_OK ||
	    (*l)->count == 0)
		return NULL;
	return (*l)->addr[0].local;
}

size_t mvd_keys_choose_at(const struct mvd_keys *k, const char *local, const char *domain,
                          int64_t now, struct mv_outbound_key *keys, size_t max, char *why,
                          size_t whylen)
{
	const struct mvd_keys_domain *sd = mvd_keys_for(k, domain);
	size_t n = 0;

	if (sd) {
		for (; n < sd->conf->nkeys && n < max; n++) {
			keys[n].domain = sd->conf->name;
			keys[n].selector = sd->selectors[n];
			keys[n].key = sd->keys[n];
			keys[n].subdomains = sd->conf->subdomains;
		}
		return n;
	}
	if (k->kt)
		return mvd_keytable_choose(k->kt, local, domain, now, keys, max, why, whylen);
	snprintf(why, whylen, "no DKIM key for %s (no [domain] section covers it)", domain);
	return 0;
}

size_t mvd_keys_choose(void *arg, const struct mv_msg *header, const char *author,
                       struct mv_outbound_key *keys, size_t max, char *why, size_t whylen)
{
	struct mv_addr_list *l = NULL;
	size_t n;

	if (!author) {
		snprintf(why, whylen, "no single author domain in From");
		return 0;
	}
	n = mvd_keys_choose_at(arg, from_local(header, &l), author, (int64_t)time(NULL), keys, max,
	                       why, whylen);
	mv_addr_list_free(l);
	return n;
}

/* One key checked, its line printed; 1 when it is not ok, 0 when it is, -1 out of memory. */
static int check_one(struct mv_resolver *r, const char *domain, const char *selector,
                     const struct mv_dkim_signkey *key, const char *file, unsigned line, FILE *out)
{
	struct mv_dkim_keycheck *c = malloc(sizeof *c);
	const char *sep = ": ";

	if (!c || mv_dkim_keycheck(r, selector, domain, key, c) != MV_OK) {
		free(c);
		return -1;
	}
	fprintf(out, "mailvetd: %s (%s", c->name, file);
	if (line)
		fprintf(out, ":%u", line);
	fprintf(out, "): %s", mv_dkim_keycheck_status_str(c->status));
	for (size_t i = 0; i < c->nproblems; i++, sep = "; ")
		fprintf(out, "%s%s", sep, c->problem[i]);
	for (size_t i = 0; i < c->nwarnings; i++, sep = "; ")
		fprintf(out, "%swarning: %s", sep, c->warning[i]);
	fputc('\n', out);
	line = c->status != MV_KEYCHECK_OK;
	free(c);
	return (int)line;
}

long mvd_keys_check_dns(const struct mvd_keys *k, struct mv_resolver *r, FILE *out)
{
	const char *conf = k->cfg->path ? k->cfg->path : "configuration";
	long bad = 0, total = 0;
	int rc;

	for (size_t i = 0; i < k->n; i++)
		for (size_t j = 0; j < k->d[i].conf->nkeys; j++, total++) {
			rc = check_one(r, k->d[i].conf->name, k->d[i].selectors[j], k->d[i].keys[j],
			               conf, k->d[i].conf->keys[j].line, out);
			if (rc < 0)
				return -1;
			bad += rc;
		}
	for (size_t i = 0; k->kt && i < k->kt->nkeys + k->kt->ndirkeys; i++) {
		const struct mvd_kt_key *e =
		        i < k->kt->nkeys ? &k->kt->keys[i] : &k->kt->dirkeys[i - k->kt->nkeys];
		if (strcmp(e->domain, "%") == 0) {
			fprintf(out,
			        "mailvetd: key %s (%s:%u): not checked: its domain is %%, the "
			        "author's\n",
			        e->name, e->file, e->line);
			continue;
		}
		total++;
		if ((rc = check_one(r, e->domain, e->selector, e->key, e->file, e->line, out)) < 0)
			return -1;
		bad += rc;
	}
	fprintf(out, "mailvetd: %ld key(s) checked in DNS, %ld not ok\n", total, bad);
	return bad;
}
