/* lib/report/record.c — the DMARC report record of one verified message (RFC 9990 "record"). */
#include <string.h>

#include <mailvet/dkim.h>
#include <mailvet/dmarc.h>
#include <mailvet/report.h>
#include <mailvet/spf.h>
#include <mailvet/verify.h>

/* A policy value for a report: absent and invalid are none (RFC 9989 §4.7). */
static const char *policy_str(enum mv_dmarc_policy p)
{
	return p == MV_DMARC_P_QUARANTINE ? "quarantine"
	       : p == MV_DMARC_P_REJECT   ? "reject"
	                                  : "none";
}

/* The domain of an address ("" for the null sender or no '@'), lowercased. */
static void address_domain(char *dst, size_t n, const char *addr)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;

	mv_report_field_set(dst, n, at ? at + 1 : (addr && !strchr(addr, '@') ? addr : ""));
	mv_ascii_lower(dst, strlen(dst));
}

static void policy_published(const struct mv_verify *v, const struct mv_dmarc_verdict *d,
                             struct mv_report_record *r)
{
	const struct mv_dmarc_record *rec = &d->record;
	enum mv_dmarc_policy sp = rec->sp == MV_DMARC_P_ABSENT ? rec->p : rec->sp;
	enum mv_dmarc_policy np = rec->np == MV_DMARC_P_ABSENT ? sp : rec->np;

	MV_REPORT_SET(r->policy_domain, d->record_domain);
	MV_REPORT_SET(r->discovery, mv_verify_get_config(v)->dmarc.mode == MV_DMARC_MODE_7489
	                                    ? "psl"
	                                    : "treewalk");
	MV_REPORT_SET(r->p, policy_str(rec->p));
	MV_REPORT_SET(r->sp, policy_str(sp));
	MV_REPORT_SET(r->np, policy_str(np));
	MV_REPORT_SET(r->adkim, rec->adkim == MV_DMARC_STRICT ? "s" : "r");
	MV_REPORT_SET(r->aspf, rec->aspf == MV_DMARC_STRICT ? "s" : "r");
	MV_REPORT_SET(r->testing, rec->testing ? "y" : "n");
	MV_REPORT_SET(r->psd, rec->psd == MV_DMARC_PSD_Y   ? "y"
	                      : rec->psd == MV_DMARC_PSD_N ? "n"
	                                                   : "u");
	MV_REPORT_SET(r->fo, rec->fo);
	MV_REPORT_SET(r->rua, rec->rua);
	MV_REPORT_SET(r->ruf, rec->ruf);
}

/*
 * The place of a DKIM result in RFC 9990 "DKIM Signatures in Aggregate
 * Reports" order: 0 the aligned pass, 1 other passes, 2 the rest.
 */
static int dkim_rank(const struct mv_dkim_result *k, const struct mv_dmarc_verdict *d)
{
	if (k->res != MV_DKIM_PASS)
		return 2;
	return d->dkim_aligned && mv_ascii_ieq(k->d, strlen(k->d), d->dkim_aligned) ? 0 : 1;
}

static void dkim_results(const struct mv_verify *v, const struct mv_dmarc_verdict *d,
                         struct mv_report_record *r)
{
	const struct mv_dkim_result *k;
	struct mv_report_dkim *out;
	size_t i, n = mv_verify_dkim_count(v);
	int rank;

	r->ndkim = 0;
	for (rank = 0; rank < 3; rank++)
		for (i = 0; i < n && r->ndkim < MV_REPORT_DKIM_MAX; i++) {
			k = mv_verify_dkim_result(v, i);
			if (k->d == NULL || dkim_rank(k, d) != rank)
				continue;
			out = &r->dkim[r->ndkim++];
			MV_REPORT_SET(out->domain, k->d);
			mv_ascii_lower(out->domain, strlen(out->domain));
			MV_REPORT_SET(out->selector, k->s ? k->s : "");
			MV_REPORT_SET(out->result, mv_dkim_res_str(k->res));
		}
}

static void spf_result(const struct mv_verify *v, struct mv_report_record *r)
{
	const struct mv_spf_verdict *s = mv_verify_spf(v);

	if (s == NULL) {
		MV_REPORT_SET(r->spf_domain, r->envelope_from);
		MV_REPORT_SET(r->spf_result, "none");
		return;
	}
	MV_REPORT_SET(r->spf_domain, s->domain ? s->domain : r->envelope_from);
	mv_ascii_lower(r->spf_domain, strlen(r->spf_domain));
	MV_REPORT_SET(r->spf_scope, s->identity == MV_SPF_ID_MAILFROM ? "mfrom" : "");
	MV_REPORT_SET(r->spf_result, mv_spf_result_str(s->result));
}

/* The disposition applied and why it is not what the Domain Owner asked, if it is not. */
static void evaluated(const struct mv_verify *v, const struct mv_dmarc_verdict *d,
                      struct mv_report_record *r)
{
	enum mv_verify_action a = mv_verify_action(v);
	const char *applied, *asked = policy_str(d->policy), *sealer;

	MV_REPORT_SET(r->dkim_aligned, d->dkim_aligned ? "pass" : "fail");
	MV_REPORT_SET(r->spf_aligned, d->spf_aligned ? "pass" : "fail");
	if (d->result == MV_DMARC_PASS) {
		MV_REPORT_SET(r->disposition, "pass");
		return;
	}
	applied = a == MV_VERIFY_REJECT       ? "reject"
	          : a == MV_VERIFY_QUARANTINE ? "quarantine"
	                                      : "none";
	MV_REPORT_SET(r->disposition, applied);
	if (strcmp(applied, asked) == 0)
		return;
	if ((sealer = mv_verify_arc_override(v)) != NULL) {
		MV_REPORT_SET(r->reason, "trusted_forwarder");
		mv_report_field_set(r->reason_comment, sizeof r->reason_comment,
		                    "trusted ARC sealer ");
		strncat(r->reason_comment, sealer,
		        sizeof r->reason_comment - strlen(r->reason_comment) - 1);
	} else if (d->testing && strcmp(applied, policy_str(d->disposition)) == 0) {
		MV_REPORT_SET(r->reason, "policy_test_mode");
	} else {
		MV_REPORT_SET(r->reason, "local_policy");
		MV_REPORT_SET(r->reason_comment, mv_verify_verdict(v)->note);
	}
}

enum mv_status mv_report_record_from_verify(const struct mv_verify *v, const char *envelope_to,
                                            int64_t when, struct mv_report_record *out)
{
	const struct mv_dmarc_verdict *d = mv_verify_dmarc(v);
	const struct mv_envelope *env = mv_verify_envelope(v);

	memset(out, 0, sizeof *out);
	if (d == NULL || !d->have_record || d->virtual_record || d->record_domain == NULL ||
	    (d->result != MV_DMARC_PASS && d->result != MV_DMARC_FAIL))
		return MV_ENOTFOUND;
	out->time = when;
	out->count = 1;
	MV_REPORT_SET(out->source_ip, env->client_ip ? env->client_ip : "");
	MV_REPORT_SET(out->header_from, d->author_domain);
	address_domain(out->envelope_from, sizeof out->envelope_from, env->mail_from);
	address_domain(out->envelope_to, sizeof out->envelope_to, envelope_to);
	policy_published(v, d, out);
	dkim_results(v, d, out);
	spf_result(v, out);
	evaluated(v, d, out);
	return MV_OK;
}
