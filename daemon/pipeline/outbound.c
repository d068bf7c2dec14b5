/* daemon/pipeline/outbound.c — outbound mail: DKIM-sign, then ARC-seal what we forward. */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "pipeline_int.h"
#include "sign.h"

/*
 * DKIM-sign outbound mail with the keys of its From domain. The signatures
 * become edits (on top) and stay in sigs (for the seal). Returns 0 only on
 * an internal failure; a message that cannot be signed goes out unsigned
 * (and the note says why).
 */
static int sign(struct mvd_pipeline *p, struct mv_buf *sigs, struct mvd_outcome *out)
{
	enum mv_status st;

	if (!p->hdr || !p->rt->cfg.sign)
		return 1;
	if (p->body_too_big) {
		out->note = "not signed: larger than [outbound] max_message_bytes";
		return 1;
	}
	st = mvd_sign_dkim(p->rt->keys, p->hdr, p->body.data ? p->body.data : "", p->body.len,
	                   time(NULL), sigs, &out->signed_by);
	if (st == MV_OK)
		return mvd_pipeline_insert_fields(p, sigs->data, sigs->len);
	mv_buf_free(sigs);
	if (st != MV_ENOTFOUND) {
		out->note = "not signed: signing failed";
		mvd_log(MVD_LOG_WARNING, "sign", "queue_id=%s: %s", mvd_pipeline_queue_id(p),
		        mv_status_str(st));
	}
	return 1;
}

/*
 * After signing: ARC-seal (RFC 8617 §5.1) outbound mail that carries our
 * own earlier Authentication-Results, i.e. mail we received, checked and
 * now forward or a list re-sends out of the domain. The message sealed is
 * the one leaving (new DKIM-Signatures on top, forged fields gone; the
 * field we add for this hop is not copied into the AAR: it describes the
 * list's own submission, not the author's message); cv= comes from
 * lib/verify's validation of the chain as received. Returns 0 only on an
 * internal failure; a message that cannot be sealed goes out unsealed
 * (logged). A chain left undetermined by a temporary DNS failure (MV_ETEMP)
 * is not sealed with cv=fail, which would end it for good: with [policy]
 * temperror = tempfail *tempfail is set, else it goes out unsealed.
 */
static int seal(struct mvd_pipeline *p, const struct mv_buf *sigs, struct mvd_outcome *out,
                int *tempfail)
{
	struct mv_msg *leaving = NULL;
	struct mv_buf arc = MV_BUF_INIT;
	size_t nsets = 0;
	enum mv_status st;
	int ok = 1;

	if (!p->hdr || !p->rt->cfg.arc_seal)
		return 1;
	st = mvd_seal_header(sigs->data, sigs->len, p->hdr, p->ar_delete, p->ndelete, &leaving);
	if (st != MV_OK || !mvd_has_own_results(leaving, p->rt->cfg.authserv_id))
		goto out;
	if (p->body_too_big) {
		out->note = "not sealed: larger than [outbound] max_message_bytes";
		goto out;
	}
	st = mvd_sign_seal(p->rt->keys, leaving, p->env.mail_from, p->body.data ? p->body.data : "",
	                   p->body.len, mv_verify_arc(p->v), p->rt->resolver, time(NULL), &arc,
	                   &out->sealed_by, &nsets);
	if (st == MV_OK && nsets > 0)
		ok = mvd_pipeline_insert_fields(p, arc.data, arc.len);
	else
		out->sealed_by = NULL;
out:
	if (st == MV_ETEMP) {
		*tempfail = p->rt->cfg.temperror == MVD_FAIL_TEMPFAIL;
		out->note = *tempfail
		                    ? "not sealed: temporary DNS failure validating the ARC chain"
		                    : "not sealed: temporary DNS failure validating the ARC chain "
		                      "(temperror=accept)";
		mvd_log(MVD_LOG_WARNING, "seal", "queue_id=%s: %s", mvd_pipeline_queue_id(p),
		        out->note);
	} else if (st != MV_OK && st != MV_ENOTFOUND) {
		out->note = "not sealed: sealing failed";
		mvd_log(MVD_LOG_WARNING, "seal", "queue_id=%s: %s", mvd_pipeline_queue_id(p),
		        mv_status_str(st));
	}
	mv_buf_free(&arc);
	mv_msg_free(leaving);
	return ok;
}

int mvd_pipeline_outbound(struct mvd_pipeline *p, struct mvd_outcome *out, int *tempfail)
{
	struct mv_buf sigs = MV_BUF_INIT;
	int ok = sign(p, &sigs, out) && seal(p, &sigs, out, tempfail);

	mv_buf_free(&sigs);
	return ok;
}
