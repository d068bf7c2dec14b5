/* daemon/pipeline/record.c — a finished message's DMARC record handed to the recorder ([reports] store). */
#include <time.h>

#include <mailvet/report.h>

#include "pipeline_int.h"
#include "recorder.h"

/*
 * Called when the message is freed, its fate final: a message whose
 * verdict was DMARC's (mvd_pipeline_end set p->record) and whose author
 * domain has a DMARC record goes to the recorder's queue; the store is
 * written by the recorder's own thread, so nothing here waits for it.
 * The envelope recipient is not known to the pipeline (envelope_to "").
 */
void mvd_pipeline_record(struct mvd_pipeline *p)
{
	const struct mvd_config *c = &p->rt->cfg;
	struct mv_report_record r;

	if (!p->record || !c->reports.store || c->reports.store[0] == '\0')
		return;
	if (mv_report_record_from_verify(p->v, NULL, (int64_t)time(NULL), &r) != MV_OK)
		return; /* no DMARC record, virtual DMARC, none, temperror: nothing to report */
	/* [policy] dmarc_override_file: RFC 9990 reason local_policy */
	if (p->lp_dmarc) {
		MV_REPORT_SET(r.disposition, p->lp_quarantine ? "quarantine" : "none");
		MV_REPORT_SET(r.reason, "local_policy");
		MV_REPORT_SET(r.reason_comment, p->local_policy);
	}
	mvd_recorder_put(c->reports.store, c->reports.queue, c->reports.batch, &r);
}
