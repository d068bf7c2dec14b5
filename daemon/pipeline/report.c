/* daemon/pipeline/report.c — the one log line per message: who, what each method said, what was done. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <mailvet/dmarc.h>
#include <mailvet/spf.h>

#include "log.h"
#include "pipeline_int.h"

static long elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

static const struct mv_authres *results(const struct mvd_pipeline *m)
{
	/* A header not read whole was not judged: its partial results would mislead. */
	return m->v && !m->failed && !m->nbad_headers ? mv_verify_results(m->v) : NULL;
}

/* The domains the results are about, and the DMARC policy found; NULL when unknown. */
struct domains {
	const char *from;   /* the header From domain (DMARC's author domain) */
	const char *spf;    /* the domain SPF checked (MAIL FROM, else HELO) */
	const char *policy; /* the DMARC policy that applies (p=, sp= or np=) */
};

static void domains(const struct mvd_pipeline *m, const struct mv_authres *ar, struct domains *d)
{
	const struct mv_dmarc_verdict *dv = ar ? mv_verify_dmarc(m->v) : NULL;
	const struct mv_spf_verdict *sv = ar ? mv_verify_spf(m->v) : NULL;

	d->from = dv ? dv->author_domain : NULL;
	d->spf = sv ? sv->domain : NULL;
	d->policy = dv && (dv->have_record || dv->virtual_record) ? mv_dmarc_policy_str(dv->policy)
	                                                          : NULL;
}

/* The DKIM record i's d=, or NULL when it is not a DKIM result. */
static const char *dkim_domain(const struct mv_result *r)
{
	if (strcmp(r->method, "dkim") != 0)
		return NULL;
	return mv_result_prop_value(r, "header", "d");
}

/* What the client was told, as the log says it. */
const char *mvd_pipeline_action_name(const struct mvd_pipeline *m, const struct mvd_outcome *o)
{
	switch (o->verdict.action) {
	case MVD_ACTION_REJECT:
		return "reject";
	case MVD_ACTION_TEMPFAIL:
		return "tempfail";
	case MVD_ACTION_QUARANTINE:
		return "quarantine";
	case MVD_ACTION_ACCEPT:
		break;
	}
	/* quarantine = header: accepted with our quarantine field (local policy's, or DMARC's) */
	if (m->skip)
		return "accept";
	return (m->lp_dmarc ? m->lp_quarantine : mv_verify_action(m->v) == MV_VERIFY_QUARANTINE) &&
	                       !m->outbound && !m->failed &&
	                       m->rt->cfg.quarantine == MVD_QUARANTINE_HEADER
	               ? "quarantine"
	               : "accept";
}

static void report_kv(struct mv_buf *b, const struct mvd_pipeline *m, const struct mvd_outcome *o)
{
	const struct mvd_client *s = m->client;
	const struct mv_authres *ar = results(m);
	struct mv_buf res = MV_BUF_INIT, dkim = MV_BUF_INIT;
	struct domains d;
	char num[32];

	mvd_log_kv(b, "event", "message");
	mvd_log_kv(b, "queue_id", mvd_pipeline_queue_id(m));
	mvd_log_kv(b, "client", s->ip);
	mvd_log_kv(b, "client_name", s->name ? s->name : "-");
	mvd_log_kv(b, "helo", s->helo ? s->helo : "-");
	mvd_log_kv(b, "mail_from", m->env.mail_from ? m->env.mail_from : "-");
	if (m->env.auth_id)
		mvd_log_kv(b, "auth", m->env.auth_id);
	if (m->env.trace_id)
		mvd_log_kv(b, "trace_id", m->env.trace_id);
	for (size_t i = 0; ar && i < ar->results.count; i++)
		mv_buf_printf(&res, "%s%s=%s", i ? " " : "", ar->results.item[i]->method,
		              ar->results.item[i]->result);
	mvd_log_kv(b, "results", res.data ? res.data : "");
	domains(m, ar, &d);
	mvd_log_kv(b, "from_domain", d.from ? d.from : "-");
	for (size_t i = 0; ar && i < ar->results.count; i++) {
		const char *dom = dkim_domain(ar->results.item[i]);
		if (dom)
			mv_buf_printf(&dkim, "%s%s:%s", dkim.len ? " " : "", dom,
			              ar->results.item[i]->result);
	}
	if (dkim.len)
		mvd_log_kv(b, "dkim", dkim.data);
	mvd_log_kv(b, "spf_domain", d.spf ? d.spf : "-");
	if (d.policy)
		mvd_log_kv(b, "dmarc_policy", d.policy);
	snprintf(num, sizeof num, "%zu", m->ndelete);
	mvd_log_kv(b, "removed", num);
	mvd_log_kv(b, "direction", m->outbound ? "outbound" : "inbound");
	mvd_log_kv(b, "action", mvd_pipeline_action_name(m, o));
	if (m->local_policy[0])
		mvd_log_kv(b, "local_policy", m->local_policy);
	if (o->signed_by)
		mvd_log_kv(b, "signed", o->signed_by);
	if (o->not_signed)
		mvd_log_kv(b, "not_signed", o->not_signed);
	if (o->sealed_by)
		mvd_log_kv(b, "sealed", o->sealed_by);
	if (o->note)
		mvd_log_kv(b, "note", o->note);
	snprintf(num, sizeof num, "%llu", m->body_bytes);
	mvd_log_kv(b, "body_bytes", num);
	snprintf(num, sizeof num, "%ld", elapsed_ms(&m->start));
	mvd_log_kv(b, "ms", num);
	mv_buf_free(&res);
	mv_buf_free(&dkim);
}

static void json_field(struct mv_buf *b, const char *key, const char *value)
{
	mv_buf_printf(b, ",\"%s\":", key);
	mv_json_cstr(b, value);
}

static void report_json(struct mv_buf *b, const struct mvd_pipeline *m, const struct mvd_outcome *o)
{
	const struct mvd_client *s = m->client;
	const struct mv_authres *ar = results(m);
	struct domains d;
	int first = 1;

	mv_buf_puts(b, "{\"event\":\"message\"");
	json_field(b, "queue_id", m->queue_id ? m->queue_id : m->env.queue_id);
	json_field(b, "client", s->ip);
	json_field(b, "client_name", s->name);
	json_field(b, "helo", s->helo);
	json_field(b, "mail_from", m->env.mail_from);
	json_field(b, "auth", m->env.auth_id);
	if (m->env.trace_id)
		json_field(b, "trace_id", m->env.trace_id);
	mv_buf_puts(b, ",\"results\":[");
	for (size_t i = 0; ar && i < ar->results.count; i++) {
		mv_buf_puts(b, i ? ",{\"method\":" : "{\"method\":");
		mv_json_cstr(b, ar->results.item[i]->method);
		mv_buf_puts(b, ",\"result\":");
		mv_json_cstr(b, ar->results.item[i]->result);
		if (ar->results.item[i]->reason) {
			mv_buf_puts(b, ",\"reason\":");
			mv_json_cstr(b, ar->results.item[i]->reason);
		}
		mv_buf_putc(b, '}');
	}
	mv_buf_putc(b, ']');
	domains(m, ar, &d);
	json_field(b, "from_domain", d.from);
	mv_buf_puts(b, ",\"dkim\":[");
	for (size_t i = 0; ar && i < ar->results.count; i++) {
		const char *dom = dkim_domain(ar->results.item[i]);
		if (!dom)
			continue;
		mv_buf_puts(b, first ? "{\"d\":" : ",{\"d\":");
		mv_json_cstr(b, dom);
		mv_buf_puts(b, ",\"result\":");
		mv_json_cstr(b, ar->results.item[i]->result);
		mv_buf_putc(b, '}');
		first = 0;
	}
	mv_buf_putc(b, ']');
	json_field(b, "spf_domain", d.spf);
	json_field(b, "dmarc_policy", d.policy);
	mv_buf_printf(b, ",\"removed\":%zu", m->ndelete);
	json_field(b, "direction", m->outbound ? "outbound" : "inbound");
	json_field(b, "action", mvd_pipeline_action_name(m, o));
	json_field(b, "local_policy", m->local_policy[0] ? m->local_policy : NULL);
	json_field(b, "signed", o->signed_by);
	json_field(b, "not_signed", o->not_signed);
	json_field(b, "sealed", o->sealed_by);
	json_field(b, "note", o->note);
	mv_buf_printf(b, ",\"body_bytes\":%llu,\"ms\":%ld}", m->body_bytes, elapsed_ms(&m->start));
}

void mvd_pipeline_log(const struct mvd_pipeline *p, const struct mvd_outcome *out)
{
	struct mv_buf b = MV_BUF_INIT;

	if (mvd_log_json())
		report_json(&b, p, out);
	else
		report_kv(&b, p, out);
	mvd_log_raw(MVD_LOG_INFO, b.data ? b.data : "event=message error=\"out of memory\"");
	mv_buf_free(&b);
	mvd_pipeline_count(p, out);
	mvd_pipeline_trace(p, out);
}
