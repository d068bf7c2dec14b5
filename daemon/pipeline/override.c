/*
 * daemon/pipeline/override.c — a site's local policy applied to one message
 * ([policy] dmarc_override_file, skip_clients, skip_recipient_domains,
 * internal_clients; the lists themselves are daemon/core/localpolicy.c).
 * Both front ends reach it through the pipeline. Every override is named
 * in the log line (local_policy=), in our dmarc result's comment, and as
 * reason local_policy in the DMARC report record (record.c).
 */
#include <stdio.h>
#include <string.h>

#include <mailvet/authres.h>

#include "localpolicy.h"
#include "pipeline_int.h"

int mvd_pipeline_local_start(struct mvd_pipeline *p)
{
	const struct mvd_localpolicy *lp = p->rt->localpolicy;

	if (!lp)
		return 0;
	if (mvd_localpolicy_skip_client(lp, p->client->ip)) {
		snprintf(p->local_policy, sizeof p->local_policy, "skip_client");
		p->skip = 1;
	} else if (p->env.nrcpt && p->env.nrcpt_skip == p->env.nrcpt) {
		/* every recipient is in a skipped domain; one that is not gets the checks */
		snprintf(p->local_policy, sizeof p->local_policy, "skip_recipient_domains");
		p->skip = 1;
	} else if (!p->outbound && mvd_localpolicy_internal_client(lp, p->client->ip)) {
		snprintf(p->local_policy, sizeof p->local_policy, "internal_client");
		p->outbound = 1;
	}
	return p->skip;
}

void mvd_pipeline_local_pass(struct mvd_pipeline *p, struct mvd_outcome *out)
{
	memset(out, 0, sizeof *out);
	out->verdict.action = MVD_ACTION_ACCEPT;
	p->nedits = 0;
	p->record = 0; /* not checked: nothing for a DMARC report */
}

void mvd_pipeline_local_dmarc(struct mvd_pipeline *p, struct mvd_verdict *v)
{
	const struct mv_dmarc_verdict *d = mv_verify_dmarc(p->v);
	enum mvd_localpolicy_dmarc a;
	const char *rule;

	/* Only a Domain Owner's policy is overridden: not a temperror, not a bad From. */
	if (p->outbound || !d || d->result != MV_DMARC_FAIL ||
	    (v->action != MVD_ACTION_REJECT && v->action != MVD_ACTION_QUARANTINE))
		return;
	a = mvd_localpolicy_dmarc(p->rt->localpolicy, d->author_domain, &rule);
	if (a == MVD_LP_DMARC_NONE ||
	    (a == MVD_LP_DMARC_QUARANTINE && v->action == MVD_ACTION_QUARANTINE))
		return;
	p->lp_dmarc = 1;
	p->lp_quarantine = a == MVD_LP_DMARC_QUARANTINE;
	snprintf(p->local_policy, sizeof p->local_policy, "dmarc_%s:%s",
	         mvd_localpolicy_dmarc_str(a), rule);
	memset(v, 0, sizeof *v);
	v->action = p->lp_quarantine ? MVD_ACTION_QUARANTINE : MVD_ACTION_ACCEPT;
}

/*
 * A copy of the dmarc result r with the override: policy.dmarc as applied,
 * and a comment of the policy asked and the rule ("p=reject;
 * local_policy=dmarc_quarantine:example.com").
 */
static enum mv_status dmarc_result(const struct mvd_pipeline *p, const struct mv_result *r,
                                   struct mv_result **out)
{
	struct mv_result *n = NULL;
	char comment[600];
	enum mv_status st;
	/* the policy asked ("p=reject"): the library's note of what was applied no longer holds */
	size_t asked = r->comment ? strcspn(r->comment, ";") : 0;

	snprintf(comment, sizeof comment, "%.*s%slocal_policy=%s", (int)asked,
	         asked ? r->comment : "", asked ? "; " : "", p->local_policy);
	if ((st = mv_result_new(r->method, r->result, &n)) != MV_OK)
		return st;
	mv_result_set_version(n, r->version);
	if ((st = mv_result_set_reason(n, r->reason)) == MV_OK)
		st = mv_result_set_comment(n, comment);
	for (size_t i = 0; st == MV_OK && i < r->nprops; i++) {
		const struct mv_result_prop *pr = &r->props[i];
		int policy = strcmp(pr->ptype, "policy") == 0 && strcmp(pr->property, "dmarc") == 0;
		const char *value = !policy ? pr->value : p->lp_quarantine ? "quarantine" : "none";
		st = mv_result_add_prop(n, pr->ptype, pr->property, value);
	}
	if (st != MV_OK) {
		mv_result_free(n);
		n = NULL;
	}
	*out = n;
	return st;
}

/* The library's results, formatted again with the dmarc result overridden. */
static enum mv_status rewrite(struct mvd_pipeline *p, const struct mv_authres *ar)
{
	struct mv_authres *copy = NULL;
	struct mv_result *r;
	enum mv_status st = mv_authres_new(ar->serv_id, ar->version, &copy);

	for (size_t i = 0; st == MV_OK && i < ar->results.count; i++) {
		const struct mv_result *old = ar->results.item[i];
		st = strcmp(old->method, "dmarc") == 0 ? dmarc_result(p, old, &r)
		                                       : mv_result_dup(old, &r);
		if (st == MV_OK)
			st = mv_result_list_add(&copy->results, r);
	}
	if (st == MV_OK && (st = mv_authres_format(copy, &p->lp_field)) == MV_OK)
		st = mv_buf_status(&p->lp_field);
	mv_authres_free(copy);
	return st;
}

const char *mvd_pipeline_local_field(struct mvd_pipeline *p)
{
	const struct mv_authres *ar = mv_verify_results(p->v);

	if (!p->lp_dmarc)
		return mv_verify_header_field(p->v);
	mv_buf_reset(&p->lp_field);
	if (!ar || rewrite(p, ar) != MV_OK)
		return NULL;
	return p->lp_field.data;
}
