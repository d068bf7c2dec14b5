/* daemon/pipeline/decide.c — the end of a message: the verdict as data and the header edits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pipeline_int.h"

#define DEFAULT_ERROR "451 4.3.0 Temporary local problem, try again later"
#define DEFAULT_UNREADABLE_REJECT "550 5.6.0 Message refused: its header could not be read whole"
#define DEFAULT_UNREADABLE_TEMPFAIL "451 4.6.0 Message deferred: its header could not be read whole"

/*
 * A refusal of the pipeline's own ("550 5.6.0 text": an unreadable header,
 * an internal error, a seal that must wait) as the verdict.
 */
static void reply(struct mvd_verdict *v, enum mvd_action action, const char *line)
{
	v->action = action;
	snprintf(v->code, sizeof v->code, "%.3s", line);
	snprintf(v->xcode, sizeof v->xcode, "%.*s", (int)strcspn(line + 4, " "), line + 4);
	snprintf(v->text, sizeof v->text, "%s", line + 4 + strcspn(line + 4, " ") + 1);
}

/* The library's verdict (one policy layer: lib/verify decides, with its settings). */
static void from_library(struct mvd_verdict *v, const struct mv_verify_verdict *lv)
{
	switch (lv->action) {
	case MV_VERIFY_ACCEPT:
		v->action = MVD_ACTION_ACCEPT;
		return;
	case MV_VERIFY_QUARANTINE:
		v->action = MVD_ACTION_QUARANTINE;
		return;
	case MV_VERIFY_REJECT:
		v->action = MVD_ACTION_REJECT;
		break;
	case MV_VERIFY_TEMPFAIL:
		v->action = MVD_ACTION_TEMPFAIL;
		break;
	}
	snprintf(v->code, sizeof v->code, "%s", lv->code);
	snprintf(v->xcode, sizeof v->xcode, "%s", lv->xcode);
	snprintf(v->text, sizeof v->text, "%s", lv->text);
}

/* The deletions of forged fields, last first so that earlier indexes stay valid. */
static int delete_forged(struct mvd_pipeline *p)
{
	for (size_t i = p->ndelete; i-- > 0;)
		if (!mvd_pipeline_edit(p, MVD_EDIT_DELETE, "Authentication-Results",
		                       p->ar_delete[i], NULL, 0))
			return 0;
	return 1;
}

/*
 * A message whose header lib/verify could not take whole (a malformed
 * field, or more fields than the limit) is never judged without the fields
 * it lost: one of them may be the From that decides DMARC. It is refused as
 * [policy] unreadable_header says, whatever its direction.
 */
static void unreadable(struct mvd_pipeline *p, struct mvd_outcome *out)
{
	int tempfail = p->rt->cfg.unreadable_header == MVD_REFUSE_TEMPFAIL;

	snprintf(p->note, sizeof p->note,
	         "header not read whole: %zu field%s refused, the first (%s) %s", p->nbad_headers,
	         p->nbad_headers == 1 ? "" : "s", p->bad_header_name,
	         p->bad_header_st == MV_ETOOBIG ? "past the header limits" : "malformed");
	out->note = p->note;
	if (tempfail)
		reply(&out->verdict, MVD_ACTION_TEMPFAIL, DEFAULT_UNREADABLE_TEMPFAIL);
	else
		reply(&out->verdict, MVD_ACTION_REJECT, DEFAULT_UNREADABLE_REJECT);
}

/*
 * Quarantine: the MTA's (the verdict's reason), or a header field of ours
 * on a message the MTA then delivers as accepted (the log still says
 * quarantine).
 */
static int quarantine(struct mvd_pipeline *p, struct mvd_outcome *out)
{
	const struct mvd_config *c = &p->rt->cfg;
	char value[300];

	if (c->quarantine == MVD_QUARANTINE_MILTER) {
		if (p->lp_dmarc) /* [policy] dmarc_override_file quarantines instead of rejecting */
			snprintf(out->verdict.reason, sizeof out->verdict.reason,
			         "mailvetd: local_policy=%.200s (%s)", p->local_policy,
			         c->authserv_id);
		else
			snprintf(out->verdict.reason, sizeof out->verdict.reason,
			         "mailvetd: DMARC policy of the author's domain (%s)",
			         c->authserv_id);
		return 1;
	}
	out->verdict.action = MVD_ACTION_ACCEPT;
	snprintf(value, sizeof value, " %s; dmarc=fail", c->authserv_id);
	return mvd_pipeline_edit(p, MVD_EDIT_INSERT, c->quarantine_header, 0, value, strlen(value));
}

/*
 * The steps of an accepted message: deletions, our field, quarantine,
 * outbound. Outbound mail leaves without our field unless [outbound]
 * authentication_results says otherwise: its results (auth, an internal
 * client's SPF) concern our own submission, not the receiving domain.
 */
static void accepted(struct mvd_pipeline *p, struct mvd_outcome *out)
{
	const char *field = mvd_pipeline_local_field(p); /* the library's, or overridden */
	int ours = !p->outbound || p->rt->cfg.outbound_results;
	int seal_tempfail = 0;

	if (!delete_forged(p) || !field ||
	    (ours && !mvd_pipeline_insert_fields(p, field, strlen(field)))) {
		mvd_pipeline_fail(p, "header changes", out);
		return;
	}
	if (out->verdict.action == MVD_ACTION_QUARANTINE && !quarantine(p, out)) {
		mvd_pipeline_fail(p, "quarantine", out);
		return;
	}
	if (p->outbound && !mvd_pipeline_outbound(p, out, &seal_tempfail)) {
		mvd_pipeline_fail(p, "signing", out);
		return;
	}
	if (seal_tempfail) { /* the edits are dropped with the message */
		p->nedits = 0;
		reply(&out->verdict, MVD_ACTION_TEMPFAIL,
		      seal_tempfail == 2
		              ? "451 4.3.0 Signing key temporarily unavailable, try again later"
		              : "451 4.4.3 Temporary DNS failure while ARC-sealing the message, "
		                "try again later");
	}
}

void mvd_pipeline_end(struct mvd_pipeline *p, struct mvd_outcome *out)
{
	const struct mv_verify_verdict *lv;
	enum mv_status st;

	memset(out, 0, sizeof *out);
	p->nedits = 0;
	if (p->skip) {
		mvd_pipeline_local_pass(p, out);
		return;
	}
	if (!p->failed && (st = mv_verify_end(p->v)) != MV_OK)
		mvd_pipeline_failed(p, st, "verify_end");
	if (p->failed) {
		mvd_pipeline_fail(p, p->fail_where, out);
		return;
	}
	if (p->nbad_headers) {
		unreadable(p, out);
		return;
	}
	if (mvd_pipeline_submit_refused(p, out)) {
		p->record = 0;
		return;
	}
	lv = mv_verify_verdict(p->v);
	from_library(&out->verdict, lv);
	mvd_pipeline_local_dmarc(p, &out->verdict); /* [policy] dmarc_override_file */
	if (lv->note[0]) {
		snprintf(p->note, sizeof p->note, "%s", lv->note);
		out->note = p->note;
	}
	if (out->verdict.action == MVD_ACTION_ACCEPT ||
	    out->verdict.action == MVD_ACTION_QUARANTINE)
		accepted(p, out);
	out->edits = p->edits;
	out->nedits = p->nedits;
	p->record = !p->failed && !p->outbound && out->verdict.action != MVD_ACTION_TEMPFAIL;
}

void mvd_pipeline_fail(struct mvd_pipeline *p, const char *what, struct mvd_outcome *out)
{
	const struct mvd_config *c = &p->rt->cfg;

	if (!p->failed)
		mvd_pipeline_failed(p, MV_EIO, what);
	p->record = 0; /* on_error's answer, not DMARC's verdict */
	snprintf(p->note, sizeof p->note, "internal error in %s: %s", what,
	         mv_status_str(p->fail_st));
	memset(out, 0, sizeof *out);
	out->note = p->note;
	p->nedits = 0;
	if (c->on_error == MVD_FAIL_ACCEPT && delete_forged(p)) {
		/* Forged fields go even now: they would otherwise pass as ours. */
		out->verdict.action = MVD_ACTION_ACCEPT;
	} else {
		p->nedits = 0;
		reply(&out->verdict, MVD_ACTION_TEMPFAIL, DEFAULT_ERROR);
	}
	out->edits = p->edits;
	out->nedits = p->nedits;
}
