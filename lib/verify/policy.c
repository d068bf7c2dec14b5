/*
 * lib/verify/policy.c — the verdict: what the MTA does with the message, and the SMTP reply.
 *
 * Enhanced status codes (RFC 3463, RFC 7372): a DMARC reject is 550 5.7.1
 * (X.7.1 "delivery not authorized, message refused", what receivers
 * commonly send for policy rejections; RFC 7372's X.7.20-X.7.26 name single
 * DKIM/SPF/iprev failures, not a Domain Owner's policy); a message without a usable Author Domain is
 * 550 5.7.1 too (it cannot be authorized) when refused, by configuration or
 * because a domain read from its From asks quarantine or reject; DMARC temperror is 451 4.4.3
 * (directory server failure: the DNS answer needed to decide was not
 * available); a quarantine is accepted, 250 2.7.0 with the reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify/verify_int.h"

/* Length of an RFC 3463 enhanced status code ("5.7.1") at the start of p, or 0. */
static size_t enhanced_code(const char *p)
{
	size_t n = 0;

	for (int part = 0; part < 3; part++) {
		size_t digits = 0;
		while (p[n] >= '0' && p[n] <= '9' && digits < 3) {
			n++;
			digits++;
		}
		if (digits == 0 || (part < 2 && p[n++] != '.'))
			return 0;
	}
	return p[n] == ' ' || p[n] == '\0' ? n : 0;
}

/* Append text to dst (size n) as printable ASCII on one line. */
static void put_text(char *dst, size_t n, const char *text)
{
	size_t o = strlen(dst);

	for (; text && *text && o + 1 < n; text++) {
		char ch = (*text == '\r' || *text == '\n' || *text == '\t') ? ' ' : *text;
		if ((unsigned char)ch >= ' ' && ch != 127)
			dst[o++] = ch;
	}
	dst[o] = '\0';
}

/*
 * A configured reply ("550 5.7.1 text", "5.7.1 text" or "text") over ours:
 * its codes replace ours only when they are of our class (a 4xx never
 * stands for a rejection).
 */
static void apply_configured(struct mv_verify_verdict *vd, const char *p)
{
	size_t n;

	if (p[0] == vd->code[0] && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9' &&
	    p[3] == ' ') {
		memcpy(vd->code, p, 3);
		p += 4;
	}
	if ((n = enhanced_code(p)) > 0 && n < sizeof vd->xcode && p[0] == vd->code[0]) {
		memcpy(vd->xcode, p, n);
		vd->xcode[n] = '\0';
		p += n;
	}
	while (*p == ' ')
		p++;
	vd->text[0] = '\0';
	put_text(vd->text, sizeof vd->text, p);
}

static const char *code_for(enum mv_verify_action a)
{
	switch (a) {
	case MV_VERIFY_REJECT:
		return "550 5.7.1";
	case MV_VERIFY_QUARANTINE:
		return "250 2.7.0";
	case MV_VERIFY_TEMPFAIL:
		return "451 4.4.3";
	case MV_VERIFY_ACCEPT:
		break;
	}
	return "250 2.0.0";
}

/*
 * Set the action and its reply: code ("550 5.7.1") and our text (+ " domain"),
 * or the configured text for refusals and temporary failures.
 */
static enum mv_status set_reply(struct mv_verify *v, enum mv_verify_action a, const char *code,
                                const char *text, const char *domain)
{
	struct mv_verify_verdict *vd = &v->verdict;
	const char *configured = a == MV_VERIFY_REJECT     ? v->cfg->reject_text
	                         : a == MV_VERIFY_TEMPFAIL ? v->cfg->tempfail_text
	                                                   : NULL;
	struct mv_buf b = MV_BUF_INIT;
	size_t n;

	v->action = vd->action = a;
	if (a == MV_VERIFY_ACCEPT)
		return MV_OK;
	memcpy(vd->code, code, 3);
	vd->code[3] = '\0';
	n = enhanced_code(code + 4);
	memcpy(vd->xcode, code + 4, n < sizeof vd->xcode ? n : 0);
	vd->xcode[n < sizeof vd->xcode ? n : 0] = '\0';
	vd->text[0] = '\0';
	put_text(vd->text, sizeof vd->text, text);
	if (domain) {
		put_text(vd->text, sizeof vd->text, " ");
		put_text(vd->text, sizeof vd->text, domain);
	}
	if (configured && configured[0])
		apply_configured(vd, configured);
	mv_buf_printf(&b, "%s %s %s", vd->code, vd->xcode, vd->text);
	free(v->reply);
	v->reply = mv_buf_steal(&b, NULL);
	return v->reply ? MV_OK : MV_ENOMEM;
}

/* arc: the result, each seal of the chain reported, and the override if any. */
static void explain_arc(struct mv_verify *v)
{
	const struct mv_arc_chain_result *c = mv_arc_validator_chosen(v->arc);
	const char *reason;
	enum mv_arc_cv cv = mv_arc_validator_cv(v->arc, &reason);
	size_t k;

	mv_buf_printf(&v->explain, "arc: %s%s%s", mv_arc_cv_str(cv), reason[0] ? ": " : "", reason);
	if (cv == MV_ARC_NONE)
		mv_buf_puts(&v->explain, " (no ARC fields)");
	mv_buf_putc(&v->explain, '\n');
	for (k = 0; c != NULL && k < c->nhops; k++)
		mv_buf_printf(&v->explain, "arc: %s i=%u sealed by %s, cv=%s, AMS %s d=%s\n",
		              c->alg, c->hop[k].instance, c->hop[k].as_d ? c->hop[k].as_d : "?",
		              mv_arc_cv_str(c->hop[k].cv),
		              c->hop[k].ams_pass == 1   ? "verified"
		              : c->hop[k].ams_pass == 0 ? "failed"
		                                        : "not checked",
		              c->hop[k].ams_d ? c->hop[k].ams_d : "?");
	if (v->arc_override)
		mv_buf_printf(
		        &v->explain,
		        "arc: DMARC policy overridden: chain passes and the newest seal's d=%s "
		        "is a trusted ARC sealer\n",
		        v->arc_override);
}

/* dns: whether the budget ran out (budget_ms), and what it cost. */
static void explain_budget(struct mv_verify *v)
{
	struct mv_verify_dns_stats s;

	mv_verify_dns_stats(v, &s);
	if (!s.exhausted)
		return;
	mv_buf_printf(&v->explain,
	              "dns: budget of %u ms ran out after %lu ms of DNS (%u queries asked); "
	              "%u later queries answered as timeouts without asking\n",
	              s.budget_ms, s.spent_ms, s.queries, s.refused);
}

/* One line per fact for --explain: each result's why. */
static void build_explain(struct mv_verify *v)
{
	const char *p, *nl;
	size_t k;

	if (v->spf_done)
		mv_buf_printf(&v->explain, "spf: %s for %s (%s)\n",
		              mv_spf_result_str(v->spf.result), v->spf.sender ? v->spf.sender : "?",
		              v->spf.mechanism ? v->spf.mechanism
		                               : (v->spf.problem ? v->spf.problem : "no record"));
	else
		mv_buf_puts(&v->explain, "spf: not checked (no MAIL FROM or no client IP given)\n");
	for (k = 0; k < mv_dkim_verifier_count(v->dkim); k++) {
		const struct mv_dkim_result *d = mv_dkim_verifier_result(v->dkim, k);
		mv_buf_printf(&v->explain, "dkim: %s d=%s s=%s%s%s\n", mv_dkim_res_str(d->res),
		              d->d ? d->d : "-", d->s ? d->s : "-", d->reason[0] ? ": " : "",
		              d->reason);
	}
	if (v->arc)
		explain_arc(v);
	if (v->author == NULL)
		mv_buf_printf(&v->explain, "dmarc: no author domain: %s\n", v->author_err);
	for (p = v->dmarc.explain.data; p && *p; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p) - 1;
		mv_buf_printf(&v->explain, "dmarc: %.*s\n", (int)(nl - p + (*nl != '\n')), p);
	}
	if (v->iprev_done)
		mv_buf_printf(&v->explain, "iprev: %s %s -> %s (%zu PTR names, %zu checked)%s%s\n",
		              mv_iprev_result_str(v->iprev.result), v->iprev.ip,
		              v->iprev.name ? v->iprev.name : "-", v->iprev.names, v->iprev.checked,
		              v->iprev.problem ? ": " : "",
		              v->iprev.problem ? v->iprev.problem : "");
	explain_budget(v);
	mv_buf_printf(&v->explain, "action: %s%s%s\n", mv_verify_action_str(v->action),
	              v->reply ? " " : "", v->reply ? v->reply : "");
}

/*
 * Look up the policy of each domain read from the From field(s) until one
 * asks quarantine or reject (*protector, borrowed from fd); *failed names
 * the first domain whose lookup failed, or is NULL. The walks go to the
 * dmarc explain lines.
 */
static enum mv_status find_protector(struct mv_verify *v, const struct mv_dmarc_from_domains *fd,
                                     const char **protector, enum mv_dmarc_policy *policy,
                                     const char **failed)
{
	enum mv_status st = MV_OK;
	int f;
	size_t k;

	*protector = *failed = NULL;
	mv_buf_puts(&v->dmarc.explain, "bad From: the policy of each domain read from it:");
	for (k = 0; k < fd->n; k++)
		mv_buf_printf(&v->dmarc.explain, " %s", fd->domain[k]);
	mv_buf_puts(&v->dmarc.explain, fd->n ? "\n" : " none\n");
	for (k = 0; st == MV_OK && *protector == NULL && k < fd->n; k++) {
		st = mv_dmarc_domain_policy(v->res, &v->cfg->dmarc, fd->domain[k], policy, &f,
		                            &v->dmarc.explain);
		if (st == MV_OK && f && *failed == NULL)
			*failed = fd->domain[k];
		if (st == MV_OK &&
		    (*policy == MV_DMARC_P_QUARANTINE || *policy == MV_DMARC_P_REJECT))
			*protector = fd->domain[k];
	}
	return st;
}

/*
 * No usable Author Domain (permerror): from_permerror_action, where ACCEPT
 * with from_permerror_protect is "reject if protected" (verify.h). That
 * applies Domain Owners' policies, so report-only (dmarc_enforce 0) skips it.
 */
static enum mv_status decide_bad_from(struct mv_verify *v, enum mv_verify_action *a)
{
	struct mv_dmarc_from_domains fd;
	struct mv_buf text = MV_BUF_INIT;
	enum mv_dmarc_policy policy = MV_DMARC_P_ABSENT;
	const char *protector, *failed;
	enum mv_status st;

	*a = v->cfg->from_permerror_action;
	if (*a != MV_VERIFY_ACCEPT || !v->cfg->from_permerror_protect || !v->cfg->dmarc_enforce)
		return set_reply(v, *a, code_for(*a),
		                 "Message has no single author domain:", v->author_err);
	if ((st = mv_dmarc_from_domains(v->msg, &fd)) != MV_OK)
		return st;
	if ((st = find_protector(v, &fd, &protector, &policy, &failed)) != MV_OK)
		goto out;
	if (protector) {
		*a = MV_VERIFY_REJECT;
		mv_buf_printf(&text,
		              "Message has no single author domain (%s); DMARC policy %s for",
		              v->author_err, mv_dmarc_policy_str(policy));
		mv_buf_printf(&v->dmarc.explain, "%s asks %s of failing mail: refused\n", protector,
		              mv_dmarc_policy_str(policy));
	} else if (failed) {
		*a = v->cfg->dmarc_temperror_action;
		mv_buf_puts(&text, "DMARC policy lookup failed for the From domain");
		protector = failed;
	}
	if ((st = mv_buf_status(&text)) == MV_OK && *a != MV_VERIFY_ACCEPT)
		st = set_reply(v, *a, code_for(*a), text.data, protector);
out:
	mv_buf_free(&text);
	mv_dmarc_from_domains_clear(&fd);
	return st;
}

/*
 * After the DMARC result's own action: what the configuration and the
 * direction make of it, with a note saying so. Outbound mail is never
 * refused or quarantined for a Domain Owner's policy (a temporary failure
 * still is: the answer is not known).
 */
static enum mv_status adjust(struct mv_verify *v, enum mv_verify_action *a)
{
	struct mv_verify_verdict *vd = &v->verdict;
	const struct mv_dmarc_verdict *d = &v->dmarc;
	enum mv_status st = MV_OK;

	if (*a == MV_VERIFY_REJECT && d->result == MV_DMARC_FAIL &&
	    v->cfg->dmarc_reject_action != MV_VERIFY_REJECT) {
		*a = v->cfg->dmarc_reject_action == MV_VERIFY_QUARANTINE ? MV_VERIFY_QUARANTINE
		                                                         : MV_VERIFY_ACCEPT;
		snprintf(vd->note, sizeof vd->note, "dmarc_reject=%s",
		         *a == MV_VERIFY_QUARANTINE ? "quarantine" : "header");
		if (*a == MV_VERIFY_QUARANTINE)
			st = set_reply(v, *a, code_for(*a),
			               "Accepted for quarantine per DMARC policy for",
			               d->author_domain);
	}
	if (v->env.outbound && (*a == MV_VERIFY_REJECT || *a == MV_VERIFY_QUARANTINE)) {
		*a = MV_VERIFY_ACCEPT;
		snprintf(vd->note, sizeof vd->note, "outbound: policy not applied");
	}
	if (d->result == MV_DMARC_TEMPERROR && *a == MV_VERIFY_ACCEPT && !vd->note[0] &&
	    v->cfg->dmarc_temperror_action == MV_VERIFY_ACCEPT)
		snprintf(vd->note, sizeof vd->note, "dmarc_temperror=accept");
	if (v->arc_override && !vd->note[0])
		snprintf(vd->note, sizeof vd->note,
		         "dmarc policy overridden by trusted ARC sealer %s", v->arc_override);
	return st;
}

enum mv_status mv_verify_decide(struct mv_verify *v)
{
	const struct mv_dmarc_verdict *d = &v->dmarc;
	enum mv_verify_action a = MV_VERIFY_ACCEPT;
	enum mv_status st = MV_OK;

	switch (d->result) {
	case MV_DMARC_FAIL:
		if (!v->cfg->dmarc_enforce || d->virtual_record)
			break;
		if (d->disposition == MV_DMARC_P_REJECT)
			a = MV_VERIFY_REJECT;
		else if (d->disposition == MV_DMARC_P_QUARANTINE)
			a = MV_VERIFY_QUARANTINE;
		if (a == MV_VERIFY_REJECT)
			st = set_reply(v, a, code_for(a), "Email rejected per DMARC policy for",
			               d->author_domain);
		else if (a == MV_VERIFY_QUARANTINE)
			st = set_reply(v, a, code_for(a),
			               "Accepted for quarantine per DMARC policy for",
			               d->author_domain);
		break;
	case MV_DMARC_TEMPERROR:
		/* a record whose failure policy is none: trying again changes nothing */
		if (d->have_record && d->disposition == MV_DMARC_P_NONE)
			break;
		a = v->cfg->dmarc_temperror_action;
		st = set_reply(v, a, code_for(a),
		               a == MV_VERIFY_TEMPFAIL
		                       ? "DMARC policy lookup failed, try again later for"
		                       : "DMARC policy lookup failed for",
		               d->author_domain);
		break;
	case MV_DMARC_PERMERROR:
		st = decide_bad_from(v, &a);
		break;
	case MV_DMARC_NONE:
	case MV_DMARC_PASS:
		break;
	}
	if (st == MV_OK)
		st = adjust(v, &a);
	v->action = v->verdict.action = a;
	if (a == MV_VERIFY_ACCEPT) {
		free(v->reply);
		v->reply = NULL;
		v->verdict.code[0] = v->verdict.xcode[0] = v->verdict.text[0] = '\0';
	}
	v->decided = 1;
	return st;
}

/*
 * Built on the first call, from facts that no longer change once
 * mv_verify_end() has decided: only --explain wants the text, and building
 * it for every message cost more than DMARC itself. v is not shared between
 * threads (verify_int.h), so the cast writes to an object no other thread
 * reads. Out of memory: "" (the verdict stands).
 */
const char *mv_verify_explain(const struct mv_verify *v)
{
	struct mv_verify *w = (struct mv_verify *)v;

	if (v->decided && !v->explained) {
		w->explained = 1;
		build_explain(w);
	}
	if (mv_buf_status(&v->explain) != MV_OK)
		return "";
	return v->explain.data ? v->explain.data : "";
}

enum mv_status mv_verify_dmarc_authres(const struct mv_verify *v, struct mv_result **out)
{
	const struct mv_dmarc_verdict *d = &v->dmarc;
	enum mv_dmarc_policy applied = MV_DMARC_P_NONE;
	const char *why = v->verdict.note[0] ? v->verdict.note : NULL;
	char sealer[300];

	if (!d->have_record || d->result != MV_DMARC_FAIL)
		return mv_dmarc_authres_result(d, out);
	if (v->action == MV_VERIFY_REJECT)
		applied = MV_DMARC_P_REJECT;
	else if (v->action == MV_VERIFY_QUARANTINE)
		applied = MV_DMARC_P_QUARANTINE;
	if (v->arc_override) {
		snprintf(sealer, sizeof sealer, "overridden by trusted ARC sealer %s",
		         v->arc_override);
		why = sealer;
	} else if (v->env.outbound) {
		why = "outbound mail";
	} else if (!v->cfg->dmarc_enforce) {
		why = "report only";
	}
	return mv_dmarc_authres_result_applied(d, applied, why, out);
}
