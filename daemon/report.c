/* daemon/report.c — the one log line per message: who, what each method said, what was done. */
#include <stdio.h>
#include <time.h>

#include "log.h"
#include "session.h"

static long elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

static const struct mv_authres *results(const struct mvd_message *m)
{
	/* A header not read whole was not judged: its partial results would mislead. */
	return m->v && !m->failed && !m->nbad_headers ? mv_verify_results(m->v) : NULL;
}

static void report_kv(struct mv_buf *b, const struct mvd_session *s, const char *action,
                      const char *signed_by, const char *note)
{
	const struct mvd_message *m = &s->m;
	const struct mv_authres *ar = results(m);
	struct mv_buf res = MV_BUF_INIT;
	char num[32];

	mvd_log_kv(b, "event", "message");
	mvd_log_kv(b, "queue_id", m->queue_id ? m->queue_id : "-");
	mvd_log_kv(b, "client", s->client_ip);
	mvd_log_kv(b, "client_name", s->client_name ? s->client_name : "-");
	mvd_log_kv(b, "helo", s->helo ? s->helo : "-");
	mvd_log_kv(b, "mail_from", m->mail_from ? m->mail_from : "-");
	if (m->auth_id)
		mvd_log_kv(b, "auth", m->auth_id);
	for (size_t i = 0; ar && i < ar->results.count; i++)
		mv_buf_printf(&res, "%s%s=%s", i ? " " : "", ar->results.item[i]->method,
		              ar->results.item[i]->result);
	mvd_log_kv(b, "results", res.data ? res.data : "");
	snprintf(num, sizeof num, "%zu", m->ndelete);
	mvd_log_kv(b, "removed", num);
	mvd_log_kv(b, "direction", m->outbound ? "outbound" : "inbound");
	mvd_log_kv(b, "action", action);
	if (signed_by)
		mvd_log_kv(b, "signed", signed_by);
	if (m->sealed_by)
		mvd_log_kv(b, "sealed", m->sealed_by);
	if (note)
		mvd_log_kv(b, "note", note);
	snprintf(num, sizeof num, "%llu", m->body_bytes);
	mvd_log_kv(b, "body_bytes", num);
	snprintf(num, sizeof num, "%ld", elapsed_ms(&m->start));
	mvd_log_kv(b, "ms", num);
	mv_buf_free(&res);
}

static void json_field(struct mv_buf *b, const char *key, const char *value)
{
	mv_buf_printf(b, ",\"%s\":", key);
	mv_json_cstr(b, value);
}

static void report_json(struct mv_buf *b, const struct mvd_session *s, const char *action,
                        const char *signed_by, const char *note)
{
	const struct mvd_message *m = &s->m;
	const struct mv_authres *ar = results(m);

	mv_buf_puts(b, "{\"event\":\"message\"");
	json_field(b, "queue_id", m->queue_id);
	json_field(b, "client", s->client_ip);
	json_field(b, "client_name", s->client_name);
	json_field(b, "helo", s->helo);
	json_field(b, "mail_from", m->mail_from);
	json_field(b, "auth", m->auth_id);
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
	mv_buf_printf(b, "],\"removed\":%zu", m->ndelete);
	json_field(b, "direction", m->outbound ? "outbound" : "inbound");
	json_field(b, "action", action);
	json_field(b, "signed", signed_by);
	json_field(b, "sealed", m->sealed_by);
	json_field(b, "note", note);
	mv_buf_printf(b, ",\"body_bytes\":%llu,\"ms\":%ld}", m->body_bytes, elapsed_ms(&m->start));
}

void mvd_report(const struct mvd_session *s, const char *action, const char *signed_by,
                const char *note)
{
	struct mv_buf b = MV_BUF_INIT;

	if (mvd_log_json())
		report_json(&b, s, action, signed_by, note);
	else
		report_kv(&b, s, action, signed_by, note);
	mvd_log_raw(MVD_LOG_INFO, b.data ? b.data : "event=message error=\"out of memory\"");
	mv_buf_free(&b);
}
