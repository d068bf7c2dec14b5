/* daemon/pipeline/outbound.c — outbound mail: DKIM-sign, and ARC-seal what we forward (lib/outbound). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/authres.h>

#include "keyfile.h"
#include "log.h"
#include "pipeline_int.h"

/* 1 when m holds an Authentication-Results field whose authserv-id is serv_id. */
static int has_own_results(const struct mv_msg *m, const char *serv_id)
{
	int found = 0;

	for (size_t i = mv_msg_find(m, "Authentication-Results", 0); !found && i != (size_t)-1;
	     i = mv_msg_find(m, "Authentication-Results", i + 1)) {
		const struct mv_msg_field *f = mv_msg_field(m, i);
		char *id = NULL;
		unsigned version;
		if (mv_authres_peek(f->unfolded, f->unfolded_len, &id, &version) == MV_OK && id)
			found = mv_ascii_ieq(id, strlen(id), serv_id);
		free(id);
	}
	return found;
}

/*
 * ARC-seal (RFC 8617 §5.1) only outbound mail that still carries one of our
 * own earlier Authentication-Results fields (kept because an internal host
 * sent it: a list or forwarder re-sending mail we received and checked);
 * the AAR copies those results, and cv= comes from lib/verify's
 * validation of the chain as received. The field we add for this hop is
 * not in the AAR: it describes the list's own submission.
 */
static enum mv_status ask_seal(struct mvd_pipeline *p)
{
	const struct mv_msg *leaving = mv_outbound_msg(p->ob);
	const char *at = strrchr(p->env.mail_from, '@');
	struct mv_outbound_arc arc;

	if (!p->rt->cfg.arc_seal || !leaving || !has_own_results(leaving, p->rt->cfg.authserv_id))
		return MV_OK;
	memset(&arc, 0, sizeof arc);
	arc.validation = mv_verify_arc(p->v);
	arc.envelope_domain = at ? at + 1 : NULL;
	return mv_outbound_seal(p->ob, &arc);
}

/*
 * DKIM-sign with the keys of the author domain and seal when asked: the
 * new fields become edits (on top, in their order). Returns 0 only on an
 * internal failure; a message that cannot be signed or sealed goes out
 * without (the note says why). A chain left undetermined by a temporary
 * DNS failure is not sealed with cv=fail, which would end it for good:
 * with [verify] dmarc_temperror = tempfail *tempfail is set (1), else it goes out
 * unsealed. When the keys are the key process's and signing or sealing
 * failed, the key process did not answer (it died and is being restarted):
 * *tempfail is set (2) so that the MTA retries and the message leaves
 * signed, rather than unsigned and failing DMARC at its receivers.
 */
int mvd_pipeline_outbound(struct mvd_pipeline *p, struct mvd_outcome *out, int *tempfail)
{
	const struct mv_outbound_result *r = NULL;
	enum mv_status st;

	out->not_signed = p->not_signed;
	if (!p->ob) {
		if (!p->not_signed[0]) /* else the header could not be signed (message.c) */
			snprintf(p->not_signed, sizeof p->not_signed, "%s",
			         !p->rt->cfg.sign && !p->rt->cfg.arc_seal
			                 ? "[outbound] sign = no"
			                 : "no [domain] key configured");
		return 1;
	}
	if ((st = ask_seal(p)) == MV_OK)
		st = mv_outbound_end(p->ob, (int64_t)time(NULL), &r);
	if (st != MV_OK) {
		snprintf(p->not_signed, sizeof p->not_signed, "%s",
		         mv_outbound_why(p->ob) ? mv_outbound_why(p->ob) : mv_status_str(st));
		mvd_log(MVD_LOG_WARNING, "sign", "queue_id=%s: %s", mvd_pipeline_queue_id(p),
		        p->not_signed);
		out->note = "not signed: signing failed";
		return st != MV_ENOMEM;
	}
	if (r->dkim != MV_OUTBOUND_DONE)
		snprintf(p->not_signed, sizeof p->not_signed, "%s",
		         !p->rt->cfg.sign    ? "[outbound] sign = no"
		         : r->dkim_reason[0] ? r->dkim_reason
		                             : mv_outbound_outcome_str(r->dkim));
	else
		out->not_signed = NULL;
	out->signed_by = r->dkim_domain;
	out->sealed_by = r->arc_domain;
	if (r->dkim == MV_OUTBOUND_FAILED) {
		out->note = "not signed: signing failed";
		mvd_log(MVD_LOG_WARNING, "sign", "queue_id=%s: %s", mvd_pipeline_queue_id(p),
		        r->dkim_reason);
	}
	if (mvd_keyfile_remote() &&
	    (r->dkim == MV_OUTBOUND_FAILED || r->arc == MV_OUTBOUND_FAILED)) {
		*tempfail = 2;
		out->note = "not signed: the key process did not answer";
		mvd_log(MVD_LOG_WARNING, "sign", "queue_id=%s: %s: %s", mvd_pipeline_queue_id(p),
		        out->note, r->dkim == MV_OUTBOUND_FAILED ? r->dkim_reason : r->arc_reason);
	} else if (r->arc == MV_OUTBOUND_TEMPFAIL) {
		*tempfail = p->rt->vcfg.dmarc_temperror_action == MV_VERIFY_TEMPFAIL;
		out->note = *tempfail
		                    ? "not sealed: temporary DNS failure validating the ARC chain"
		                    : "not sealed: temporary DNS failure validating the ARC chain "
		                      "(temperror=accept)";
		mvd_log(MVD_LOG_WARNING, "seal", "queue_id=%s: %s", mvd_pipeline_queue_id(p),
		        out->note);
	} else if (r->arc == MV_OUTBOUND_FAILED) {
		out->note = "not sealed: sealing failed";
		mvd_log(MVD_LOG_WARNING, "seal", "queue_id=%s: %s", mvd_pipeline_queue_id(p),
		        r->arc_reason);
	}
	return r->fields_len == 0 || mvd_pipeline_insert_fields(p, r->fields, r->fields_len);
}
