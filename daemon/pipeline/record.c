/* daemon/pipeline/record.c — a finished message's DMARC record handed to the recorder ([reports] store) and to the failure reports. */
#include <string.h>
#include <time.h>

#include <mailvet/report.h>

#include "failure.h"
#include "pipeline_int.h"
#include "recorder.h"

void mvd_envelope_rcpt(struct mvd_envelope *env, const char *addr, int first)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;

	if (first)
		env->rcpt_domain[0] = '\0';
	if (env->rcpt_domain[0] || !at || !at[1])
		return;
	MV_REPORT_SET(env->rcpt_domain, at + 1);
}

/*
 * Called when the message is freed, its fate final: a message whose
 * verdict was DMARC's (mvd_pipeline_end set p->record) and whose author
 * domain has a DMARC record goes to the recorder's queue; the store is
 * written by the recorder's own thread, so nothing here waits for it. The
 * same record decides whether a failure report is spooled ([reports]
 * failure_reports, daemon/core/failure.c).
 */
void mvd_pipeline_record(struct mvd_pipeline *p)
{
	const struct mvd_config *c = &p->rt->cfg;
	int store = c->reports.store && c->reports.store[0] != '\0';
	struct mv_report_record r;

	if (!p->record || (!store && !c->reports.failure.enabled))
		return;
	if (mv_report_record_from_verify(p->v, p->env.rcpt_domain[0] ? p->env.rcpt_domain : NULL,
	                                 (int64_t)time(NULL), &r) != MV_OK)
		return; /* no DMARC record, virtual DMARC, none, temperror: nothing to report */
	/* [policy] dmarc_override_file: RFC 9990 reason local_policy */
	if (p->lp_dmarc) {
		MV_REPORT_SET(r.disposition, p->lp_quarantine ? "quarantine" : "none");
		MV_REPORT_SET(r.reason, "local_policy");
		MV_REPORT_SET(r.reason_comment, p->local_policy);
	}
	if (store)
		mvd_recorder_put(c->reports.store, c->reports.queue, c->reports.batch, &r);
	mvd_failure_report(&c->reports.failure, p->v, &r, mvd_pipeline_queue_id(p));
}
