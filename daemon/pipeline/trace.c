/* daemon/pipeline/trace.c — authenticated mail leaves a trace record: who sent it, from where, what we signed (spamops §3.1). */
#include <string.h>
#include <time.h>

#include <mailvet/msg.h>
#include <mailvet/store.h>

#include "pipeline_int.h"
#include "recorder.h"

/* s= of the first DKIM-Signature we added, into sel (cut at n-1 bytes); "" when none. */
static void our_selector(const struct mvd_outcome *out, char *sel, size_t n)
{
	struct mv_taglist tl;

	sel[0] = '\0';
	for (size_t i = 0; i < out->nedits; i++) {
		const struct mvd_edit *e = &out->edits[i];

		if (e->kind != MVD_EDIT_INSERT ||
		    !mv_ascii_ieq(e->name, strlen(e->name), "DKIM-Signature") ||
		    mv_taglist_parse(e->value, strlen(e->value), &tl, NULL, 0) != MV_OK)
			continue;
		for (size_t k = 0; k < tl.count; k++)
			if (tl.tag[k].name_len == 1 && tl.tag[k].name[0] == 's') {
				size_t len = tl.tag[k].value_len < n ? tl.tag[k].value_len : n - 1;
				memcpy(sel, tl.tag[k].value, len);
				sel[len] = '\0';
				return;
			}
	}
}

void mvd_pipeline_trace(const struct mvd_pipeline *p, const struct mvd_outcome *out)
{
	const struct mvd_reports_conf *st = &p->rt->cfg.trace.base;
	struct mv_trace_record t;

	if (!p->env.auth_id || !st->store || !st->store[0] ||
	    (out->verdict.action != MVD_ACTION_ACCEPT &&
	     out->verdict.action != MVD_ACTION_QUARANTINE))
		return;
	memset(&t, 0, sizeof t);
	t.time = (int64_t)time(NULL);
	MV_REPORT_SET(t.trace_id, p->env.trace_id ? p->env.trace_id : mvd_pipeline_queue_id(p));
	MV_REPORT_SET(t.login, p->env.auth_id);
	MV_REPORT_SET(t.client_ip, p->client->ip);
	MV_REPORT_SET(t.message_id, p->submit_msgid ? p->submit_msgid : "");
	MV_REPORT_SET(t.envelope_from, p->env.mail_from ? p->env.mail_from : "");
	t.rcpt_count = p->env.nrcpt;
	MV_REPORT_SET(t.dkim_domain, out->signed_by ? out->signed_by : "");
	if (out->signed_by)
		our_selector(out, t.dkim_selector, sizeof t.dkim_selector);
	mvd_recorder_put_trace(st->store, st->queue, st->batch, &t);
}
