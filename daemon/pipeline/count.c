/* daemon/pipeline/count.c — each message into the metrics, as its log line says it. */
#include <mailvet/dmarc.h>

#include "metrics.h"
#include "pipeline_int.h"

static double seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/*
 * Called with the log line (mvd_pipeline_log), so the counters and the log
 * agree: the verdict the client was told, the results that were judged (a
 * header not read whole or an internal error has none), and for inbound
 * mail that failed DMARC the disposition its domain's policy gave.
 */
void mvd_pipeline_count(const struct mvd_pipeline *p, const struct mvd_outcome *out)
{
	enum mvd_metric_verdict v = mvd_metrics_verdict(mvd_pipeline_action_name(p, out));
	const struct mv_authres *ar = NULL;
	const struct mv_dmarc_verdict *dv;

	mvd_metrics_message(p->env.front_end, v, seconds_since(&p->start));
	if (p->failed)
		mvd_metrics_error(MVD_ERROR_INTERNAL);
	else if (p->nbad_headers)
		mvd_metrics_error(MVD_ERROR_UNREADABLE_HEADER);
	else if (p->v)
		ar = mv_verify_results(p->v);
	for (size_t i = 0; ar && i < ar->results.count; i++)
		mvd_metrics_result(ar->results.item[i]->method, ar->results.item[i]->result);
	dv = ar && !p->outbound ? mv_verify_dmarc(p->v) : NULL;
	if (dv && dv->result == MV_DMARC_FAIL && (dv->have_record || dv->virtual_record))
		mvd_metrics_dmarc_policy(mv_dmarc_policy_str(dv->disposition));
}
