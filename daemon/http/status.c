/* daemon/http/status.c — the status page: one plain HTML page, inline CSS, no scripts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_int.h"
#include "metrics.h"
#include "runtime.h"

static const char style[] =
        "body{font:14px/1.4 sans-serif;margin:2em;color:#222;background:#fff}"
        "h1{font-size:20px}h2{font-size:16px;margin-top:1.6em;border-bottom:1px solid #ccc}"
        "table{border-collapse:collapse}td,th{padding:3px 10px;border:1px solid #ddd;"
        "text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}"
        ".match{color:#070}.missing,.mismatch{color:#b00}.dnserror,.unchecked{color:#850}";

void mvd_html_puts(struct mv_buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '&')
			mv_buf_puts(b, "&amp;");
		else if (c == '<')
			mv_buf_puts(b, "&lt;");
		else if (c == '>')
			mv_buf_puts(b, "&gt;");
		else if (c == '"')
			mv_buf_puts(b, "&quot;");
		else if (c == '\'')
			mv_buf_puts(b, "&#39;");
		else
			mv_buf_putc(b, c < 0x20 || c == 0x7f ? '?' : (char)c);
	}
}

static void utc(char *out, size_t n, time_t t)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(out, n, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(out, n, "-");
}

static void overview(struct mv_buf *b, const struct mvd_config_view *cv, time_t now)
{
	time_t start = mvd_metrics_start_time();
	long long up = (long long)(now - start);
	char when[64];

	mv_buf_puts(b, "<table>\n");
	utc(when, sizeof when, start);
	mv_buf_printf(b,
	              "<tr><th>uptime</th><td id=\"uptime\" data-seconds=\"%lld\">%lldd %02lldh "
	              "%02lldm %02llds (since %s)</td></tr>\n",
	              up, up / 86400, up % 86400 / 3600, up % 3600 / 60, up % 60, when);
	mv_buf_puts(b, "<tr><th>configuration</th><td id=\"config-path\">");
	mvd_html_puts(b, cv->path[0] ? cv->path : "(not loaded yet)");
	utc(when, sizeof when, cv->loaded);
	mv_buf_printf(b, "</td></tr>\n<tr><th>loaded</th><td id=\"config-loaded\">%s</td></tr>\n",
	              cv->loaded ? when : "-");
	for (size_t f = 0; f < MVD_FRONT_N; f++)
		mv_buf_printf(
		        b, "<tr><th>%s sessions open</th><td id=\"sessions-%s\">%lld</td></tr>\n",
		        mvd_metrics_front_end_name(f), mvd_metrics_front_end_name(f),
		        mvd_metrics_sessions(f));
	mv_buf_puts(b, "</table>\n");
}

static void messages(struct mv_buf *b, time_t now)
{
	struct mvd_metrics_recent r;

	mvd_metrics_recent(now, &r);
	mv_buf_puts(b, "<h2>Messages</h2>\n<table id=\"messages\"><tr><th>verdict</th>"
	               "<th>last hour</th><th>last day</th><th>since start</th></tr>\n");
	for (size_t v = 0; v < MVD_VERDICT_N; v++) {
		const char *name = mvd_metrics_verdict_name(v);
		unsigned long long total = 0;
		for (size_t f = 0; f < MVD_FRONT_N; f++)
			total += mvd_metrics_messages(f, v);
		mv_buf_printf(b,
		              "<tr><td>%s</td><td class=\"n\" id=\"hour-%s\">%llu</td>"
		              "<td class=\"n\" id=\"day-%s\">%llu</td>"
		              "<td class=\"n\" id=\"total-%s\">%llu</td></tr>\n",
		              name, name, r.hour[v], name, r.day[v], name, total);
	}
	mv_buf_puts(b, "</table>\n");
}

static void keys(struct mv_buf *b, const struct mvd_config_view *cv)
{
	static const char *const cls[] = {"unchecked", "match", "missing", "mismatch", "dnserror"};

	mv_buf_puts(b, "<h2>Signing keys</h2>\n");
	if (cv->nkeys == 0) {
		mv_buf_puts(b, "<p>No [domain] section: outbound mail is not signed.</p>\n");
		return;
	}
	mv_buf_puts(b, "<table id=\"keys\"><tr><th>domain</th><th>selector</th><th>algorithm</th>"
	               "<th>DNS</th></tr>\n");
	for (size_t i = 0; i < cv->nkeys; i++) {
		const struct mvd_key_view *k = &cv->keys[i];
		mv_buf_puts(b, "<tr><td>");
		mvd_html_puts(b, k->domain);
		mv_buf_puts(b, "</td><td>");
		mvd_html_puts(b, k->selector);
		mv_buf_printf(b, "</td><td>%s</td><td class=\"%s\">%s</td></tr>\n", k->alg,
		              cls[k->state], mvd_key_state_name(k->state));
	}
	mv_buf_puts(b, "</table>\n");
	if (cv->more)
		mv_buf_printf(b, "<p>and %zu more keys</p>\n", cv->more);
}

void mvd_status_page(struct mv_buf *b)
{
	struct mvd_config_view *cv = calloc(1, sizeof *cv);
	struct mvd_runtime *rt = mvd_runtime_acquire();
	time_t now = time(NULL);

	mv_buf_printf(b,
	              "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	              "<title>mailvetd status</title><style>%s</style></head><body>\n"
	              "<h1>mailvetd %s</h1>\n",
	              style, MV_VERSION);
	if (cv)
		mvd_keycheck_view(cv);
	if (cv)
		overview(b, cv, now);
	messages(b, now);
	mv_buf_puts(b, "<h2>Top sending domains (last day)</h2>\n");
	if (rt && rt->cfg.reports.store && rt->cfg.reports.store[0])
		mvd_status_top_domains(b, rt->cfg.reports.store, now);
	else
		mv_buf_puts(b, "<p>Recording is off: set [reports] store to see them.</p>\n");
	if (cv)
		keys(b, cv);
	mv_buf_puts(b, "<p>Counters: <a href=\"/metrics\">/metrics</a></p>\n</body></html>\n");
	mvd_runtime_release(rt);
	free(cv);
}
