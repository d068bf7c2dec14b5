/* lib/dmarc/check.c — the DMARC result and disposition of one message (RFC 9989 §4.8, virtual DMARC). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mailvet/dmarc.h>

#include "dmarc/align.h"
#include "dmarc/discover.h"

void mv_dmarc_config_default(struct mv_dmarc_config *c)
{
	memset(c, 0, sizeof *c);
	c->mode = MV_DMARC_MODE_9989;
	c->virtual_enabled = 1;
	c->virtual_bestguess = 0;           /* the draft's choice: dmarc=pass */
	c->virtual_adkim = MV_DMARC_STRICT; /* draft-akagiri-...-02 §4, Table 1 */
	c->virtual_aspf = MV_DMARC_STRICT;
	c->use_np = 1;
}

const char *mv_dmarc_result_str(enum mv_dmarc_result r)
{
	static const char *const names[] = {"none", "pass", "fail", "temperror", "permerror"};

	return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "permerror";
}

void mv_dmarc_verdict_clear(struct mv_dmarc_verdict *v)
{
	mv_dmarc_record_clear(&v->record);
	free(v->record_domain);
	free(v->author_domain);
	free(v->org_domain);
	free(v->dkim_aligned);
	free(v->problem);
	mv_buf_free(&v->explain);
	memset(v, 0, sizeof *v);
	mv_buf_init(&v->explain);
}

static enum mv_status set_problem(struct mv_dmarc_verdict *v, const char *why)
{
	free(v->problem);
	v->problem = strdup(why);
	return v->problem ? MV_OK : MV_ENOMEM;
}

/*
 * Identifier alignment (RFC 9989 §4.4): SPF through the MAIL FROM domain
 * when SPF passed, DKIM through the d= of each passing signature.
 * *undecided is set when a relaxed check could not finish (a DNS failure).
 */
static enum mv_status check_alignment(struct mv_resolver *r, const struct mv_dmarc_config *c,
                                      const struct mv_dmarc_input *in, enum mv_dmarc_align adkim,
                                      enum mv_dmarc_align aspf, struct mv_dmarc_verdict *v,
                                      int *undecided)
{
	struct mv_dmarc_orgcache oc;
	enum mv_status st = MV_OK;
	int ok = 0;
	size_t k;

	memset(&oc, 0, sizeof oc);
	if (in->spf == MV_SPF_PASS && in->spf_domain && *in->spf_domain) {
		st = mv_dmarc_aligned(r, c, &oc, in->spf_domain, v->author_domain, aspf, &ok,
		                      undecided, &v->explain);
		v->spf_aligned = ok;
		mv_buf_printf(&v->explain, "spf pass for %s: %saligned (%s)\n", in->spf_domain,
		              ok ? "" : "not ", aspf == MV_DMARC_STRICT ? "strict" : "relaxed");
	} else {
		mv_buf_printf(&v->explain, "spf %s: no SPF identifier to align\n",
		              mv_spf_result_str(in->spf));
	}
	for (k = 0; st == MV_OK && k < in->ndkim && v->dkim_aligned == NULL; k++) {
		st = mv_dmarc_aligned(r, c, &oc, in->dkim_domains[k], v->author_domain, adkim, &ok,
		                      undecided, &v->explain);
		mv_buf_printf(&v->explain, "dkim pass d=%s: %saligned (%s)\n", in->dkim_domains[k],
		              ok ? "" : "not ", adkim == MV_DMARC_STRICT ? "strict" : "relaxed");
		if (st == MV_OK && ok && (v->dkim_aligned = strdup(in->dkim_domains[k])) == NULL)
			st = MV_ENOMEM;
	}
	if (in->ndkim == 0)
		mv_buf_puts(&v->explain, "dkim: no passing signature to align\n");
	const char *org = mv_dmarc_org_cached(&oc, v->author_domain);
	if (st == MV_OK && org && (v->org_domain = strdup(org)) == NULL)
		st = MV_ENOMEM;
	mv_dmarc_orgcache_clear(&oc);
	return st;
}

/* Virtual DMARC (draft-akagiri-dmarc-virtual-verification-02 §3.2, §4): no record was found. */
static enum mv_status check_virtual(struct mv_resolver *r, const struct mv_dmarc_config *c,
                                    const struct mv_dmarc_input *in, struct mv_dmarc_verdict *v)
{
	enum mv_status st;
	int undecided = 0;

	mv_buf_printf(&v->explain,
	              "no DMARC record: virtual record v=DMARC1; p=none; adkim=%s; aspf=%s\n",
	              c->virtual_adkim == MV_DMARC_STRICT ? "s" : "r",
	              c->virtual_aspf == MV_DMARC_STRICT ? "s" : "r");
	v->virtual_record = 1;
	st = check_alignment(r, c, in, c->virtual_adkim, c->virtual_aspf, v, &undecided);
	if (st != MV_OK)
		return st;
	/* An aligned pass is "pass" (or bestguesspass); anything else "none" (§3.2). */
	if (v->spf_aligned || v->dkim_aligned) {
		v->result = MV_DMARC_PASS;
		v->bestguess = c->virtual_bestguess;
	} else {
		v->result = MV_DMARC_NONE;
	}
	v->policy = MV_DMARC_P_NONE;
	v->disposition = MV_DMARC_P_NONE; /* a virtual record never rejects */
	return MV_OK;
}

/*
 * RFC 9989 §4.7 ("p" tag): a record without a valid p=, or with an invalid
 * sp= or np=, is read as p=none when its rua= holds a valid URI, and
 * otherwise means no DMARC processing. Returns 0 for the latter.
 */
static int usable_record(struct mv_dmarc_record *rec)
{
	if (rec->p != MV_DMARC_P_ABSENT && rec->p != MV_DMARC_P_INVALID &&
	    rec->sp != MV_DMARC_P_INVALID && rec->np != MV_DMARC_P_INVALID)
		return 1;
	if (!rec->rua_valid)
		return 0;
	rec->p = MV_DMARC_P_NONE;
	rec->sp = MV_DMARC_P_ABSENT;
	rec->np = MV_DMARC_P_ABSENT;
	return 1;
}

/*
 * The policy that applies (RFC 9989 §4.7 p/sp/np): p when the record is the
 * Author Domain's own; for a record found above it, np when the Author
 * Domain does not exist and np= is given (RFC 9989 mode), else sp when
 * given, else p.
 */
static void choose_policy(struct mv_resolver *r, const struct mv_dmarc_config *c,
                          struct mv_dmarc_verdict *v)
{
	const struct mv_dmarc_record *rec = &v->record;

	v->applied_tag = "p";
	v->policy = rec->p;
	if (strcasecmp(v->record_domain, v->author_domain) == 0)
		return;
	if (c->mode == MV_DMARC_MODE_9989 && c->use_np && rec->np != MV_DMARC_P_ABSENT &&
	    (v->nonexistent = mv_dmarc_nonexistent(r, v->author_domain))) {
		v->applied_tag = "np";
		v->policy = rec->np;
		mv_buf_printf(&v->explain, "%s has no A, AAAA or MX: np applies\n",
		              v->author_domain);
	} else if (rec->sp != MV_DMARC_P_ABSENT) {
		v->applied_tag = "sp";
		v->policy = rec->sp;
	}
}

/*
 * RFC 9989 §5.3.6: the message would fail, but a DNS failure may be why.
 * When the SPF identity (SPF temperror) or the d= of a DKIM signature whose
 * key lookup failed aligns with the Author Domain, the check did not
 * complete: result temperror, the policy not applied. Identifiers that
 * cannot align change nothing.
 */
static enum mv_status check_unfinished(struct mv_resolver *r, const struct mv_dmarc_config *c,
                                       const struct mv_dmarc_input *in, struct mv_dmarc_verdict *v)
{
	struct mv_dmarc_orgcache oc;
	struct mv_buf why = MV_BUF_INIT;
	enum mv_status st = MV_OK;
	int ok = 0, undecided = 0;
	size_t k;

	memset(&oc, 0, sizeof oc);
	if (in->spf == MV_SPF_TEMPERROR && in->spf_domain && *in->spf_domain) {
		st = mv_dmarc_aligned(r, c, &oc, in->spf_domain, v->author_domain, v->record.aspf,
		                      &ok, &undecided, &v->explain);
		if (st == MV_OK && (ok || undecided))
			mv_buf_printf(&why, "spf temperror for %s", in->spf_domain);
	}
	for (k = 0; st == MV_OK && why.len == 0 && k < in->ndkim_temperror; k++) {
		st = mv_dmarc_aligned(r, c, &oc, in->dkim_temperror_domains[k], v->author_domain,
		                      v->record.adkim, &ok, &undecided, &v->explain);
		if (st == MV_OK && (ok || undecided))
			mv_buf_printf(&why, "dkim temperror for d=%s",
			              in->dkim_temperror_domains[k]);
	}
	mv_dmarc_orgcache_clear(&oc);
	if (st == MV_OK && why.len) {
		mv_buf_puts(&why, ", an identifier that aligns: neither pass nor fail");
		mv_buf_printf(&v->explain, "%s\n", why.data);
		v->result = MV_DMARC_TEMPERROR;
		st = mv_buf_status(&why) == MV_OK ? set_problem(v, why.data) : MV_ENOMEM;
	}
	mv_buf_free(&why);
	return st;
}

/* One level below p: reject -> quarantine, quarantine -> none, none -> none. */
static enum mv_dmarc_policy one_level_below(enum mv_dmarc_policy p)
{
	return p == MV_DMARC_P_REJECT ? MV_DMARC_P_QUARANTINE : MV_DMARC_P_NONE;
}

/*
 * RFC 9989 §4.7, "t" tag: with t=y the Domain Owner is testing its policy
 * and expects failing mail to get the policy one level below it (reject ->
 * quarantine, quarantine -> none); t=y has no effect on p=none.
 */
static void apply_testing(struct mv_dmarc_verdict *v)
{
	v->testing = 1;
	v->disposition = one_level_below(v->policy);
	mv_buf_printf(&v->explain, "t=y (testing): policy %s applied one level below, as %s\n",
	              mv_dmarc_policy_str(v->policy), mv_dmarc_policy_str(v->disposition));
}

static enum mv_status check_record(struct mv_resolver *r, const struct mv_dmarc_config *c,
                                   const struct mv_dmarc_input *in, struct mv_dmarc_verdict *v)
{
	enum mv_status st;
	int undecided = 0;

	if (!usable_record(&v->record)) {
		mv_buf_puts(&v->explain, "record has no valid p= and no valid rua=: not applied\n");
		v->result = MV_DMARC_NONE;
		return set_problem(v, "record without a valid p=");
	}
	v->have_record = 1;
	choose_policy(r, c, v);
	st = check_alignment(r, c, in, v->record.adkim, v->record.aspf, v, &undecided);
	if (st != MV_OK)
		return st;
	if (v->spf_aligned || v->dkim_aligned) {
		v->result = MV_DMARC_PASS;
		v->disposition = MV_DMARC_P_NONE;
		return MV_OK;
	}
	/* What a failure gets; a temperror keeps it to say what was at stake. */
	v->disposition = v->policy;
	if (v->record.testing)
		apply_testing(v);
	if (undecided) {
		v->result = MV_DMARC_TEMPERROR;
		return set_problem(v, "DNS failure while finding an organizational domain");
	}
	if ((st = check_unfinished(r, c, in, v)) != MV_OK || v->result == MV_DMARC_TEMPERROR)
		return st;
	v->result = MV_DMARC_FAIL;
	return MV_OK;
}

enum mv_status mv_dmarc_domain_policy(struct mv_resolver *r, const struct mv_dmarc_config *c,
                                      const char *domain, enum mv_dmarc_policy *policy, int *failed,
                                      struct mv_buf *explain)
{
	struct mv_dmarc_found f;
	struct mv_dmarc_verdict v;
	enum mv_status st = MV_OK;

	*policy = MV_DMARC_P_ABSENT;
	*failed = 0;
	memset(&f, 0, sizeof f);
	memset(&v, 0, sizeof v);
	mv_buf_init(&v.explain);
	if (c->mode == MV_DMARC_MODE_7489 && c->psl == NULL)
		return MV_EINVAL;
	if ((st = mv_dmarc_discover(r, c, domain, &f, explain)) != MV_OK)
		goto out;
	*failed = f.failed;
	if (!f.found || !usable_record(&f.record))
		goto out;
	v.record = f.record;
	memset(&f.record, 0, sizeof f.record);
	v.record_domain = f.domain;
	f.domain = NULL;
	if ((v.author_domain = strdup(domain)) == NULL) {
		st = MV_ENOMEM;
		goto out;
	}
	choose_policy(r, c, &v);
	v.disposition = v.policy;
	if (v.record.testing)
		apply_testing(&v);
	*policy = v.disposition;
	st = mv_buf_append(explain, v.explain.data, v.explain.len);
out:
	mv_dmarc_found_clear(&f);
	mv_dmarc_verdict_clear(&v);
	return st;
}

enum mv_status mv_dmarc_check(struct mv_resolver *r, const struct mv_dmarc_config *c,
                              const struct mv_dmarc_input *in, struct mv_dmarc_verdict *out)
{
	struct mv_dmarc_found f;
	enum mv_status st;

	memset(out, 0, sizeof *out);
	mv_buf_init(&out->explain);
	memset(&f, 0, sizeof f);
	if (c->mode == MV_DMARC_MODE_7489 && c->psl == NULL)
		return MV_EINVAL;
	if (in->author_domain == NULL || *in->author_domain == '\0') {
		out->result = MV_DMARC_PERMERROR;
		return set_problem(out,
		                   in->author_problem ? in->author_problem : "no author domain");
	}
	if ((out->author_domain = strdup(in->author_domain)) == NULL)
		return MV_ENOMEM;
	mv_ascii_lower(out->author_domain, strlen(out->author_domain));
	if ((st = mv_dmarc_discover(r, c, out->author_domain, &f, &out->explain)) != MV_OK)
		goto out;
	if (f.failed) {
		out->result = MV_DMARC_TEMPERROR;
		st = set_problem(out, "DNS failure looking up the DMARC record");
	} else if (!f.found) {
		if (c->virtual_enabled)
			st = check_virtual(r, c, in, out);
		else
			out->result = MV_DMARC_NONE;
	} else {
		out->record = f.record;
		memset(&f.record, 0, sizeof f.record);
		out->record_domain = f.domain;
		f.domain = NULL;
		st = check_record(r, c, in, out);
	}
out:
	mv_dmarc_found_clear(&f);
	return st;
}
