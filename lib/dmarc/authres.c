/* lib/dmarc/authres.c — a DMARC verdict as an Authentication-Results result record. */
#include <string.h>

#include <mailvet/dmarc.h>

/* What the Domain Owner's policy asks for a failing message: the policy, or one below (t=y). */
static enum mv_dmarc_policy requested(const struct mv_dmarc_verdict *v)
{
	if (!v->testing)
		return v->policy;
	return v->policy == MV_DMARC_P_REJECT ? MV_DMARC_P_QUARANTINE : MV_DMARC_P_NONE;
}

/*
 * For a failure: the tag whose policy applies and what was done: "p
 * applied", or "p applied as quarantine: why" / "p not applied: why" when
 * the receiver did otherwise.
 */
static void what_happened(const struct mv_dmarc_verdict *v, enum mv_dmarc_policy applied,
                          const char *why, struct mv_buf *b)
{
	enum mv_dmarc_policy asked = requested(v);

	mv_buf_printf(b, "; %s ", v->applied_tag ? v->applied_tag : "p");
	if (applied == asked)
		mv_buf_puts(b, "applied");
	else if (applied == MV_DMARC_P_NONE)
		mv_buf_puts(b, "not applied");
	else
		mv_buf_printf(b, "applied as %s", mv_dmarc_policy_str(applied));
	if (v->nonexistent)
		mv_buf_puts(b, ", domain does not exist");
	if (v->testing)
		mv_buf_printf(b, ", t=y testing: applied as %s", mv_dmarc_policy_str(asked));
	if (applied != asked && why)
		mv_buf_printf(b, ": %s", why);
}

/* The comment: the record's policy and, for a failure, what was done; or "virtual". */
static enum mv_status comment(const struct mv_dmarc_verdict *v, enum mv_dmarc_policy applied,
                              const char *why, struct mv_buf *b)
{
	if (v->virtual_record) {
		mv_buf_puts(b, "virtual DMARC: no record published");
		if (v->result == MV_DMARC_PASS)
			mv_buf_printf(b, ", aligned %s", v->dkim_aligned ? "dkim" : "spf");
	} else if (v->have_record) {
		mv_dmarc_record_summary(&v->record, b);
		if (strcmp(v->record_domain, v->author_domain) != 0)
			mv_buf_printf(b, " from %s", v->record_domain);
		if (v->result == MV_DMARC_FAIL)
			what_happened(v, applied, why, b);
	}
	return mv_buf_status(b);
}

enum mv_status mv_dmarc_authres_result(const struct mv_dmarc_verdict *v, struct mv_result **out)
{
	return mv_dmarc_authres_result_applied(v, v->disposition, NULL, out);
}

enum mv_status mv_dmarc_authres_result_applied(const struct mv_dmarc_verdict *v,
                                               enum mv_dmarc_policy applied, const char *why,
                                               struct mv_result **out)
{
	struct mv_result *res = NULL;
	struct mv_buf c = MV_BUF_INIT;
	const char *name = mv_dmarc_result_str(v->result);
	enum mv_status st;

	*out = NULL;
	if (v->result == MV_DMARC_PASS && v->bestguess)
		name = "bestguesspass";
	if ((st = mv_result_new("dmarc", name, &res)) != MV_OK)
		return st;
	if ((st = comment(v, applied, why, &c)) != MV_OK)
		goto out;
	if (c.len && (st = mv_result_set_comment(res, c.data)) != MV_OK)
		goto out;
	if ((v->result == MV_DMARC_TEMPERROR || v->result == MV_DMARC_PERMERROR) && v->problem &&
	    (st = mv_result_set_reason(res, v->problem)) != MV_OK)
		goto out;
	if (v->author_domain && (st = mv_result_add_prop(res, "header", "from", v->author_domain)))
		goto out;
	if (v->have_record && v->result != MV_DMARC_TEMPERROR) /* temperror: none applied */
		st = mv_result_add_prop(res, "policy", "dmarc", mv_dmarc_policy_str(applied));
out:
	mv_buf_free(&c);
	if (st != MV_OK) {
		mv_result_free(res);
		return st;
	}
	*out = res;
	return MV_OK;
}
