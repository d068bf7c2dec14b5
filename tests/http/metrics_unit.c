/* tests/http/metrics_unit.c — the [http] section and the counters' text form (cmocka). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mailvet/util.h>

#include "config.h"
#include "metrics.h"

/* Parse text, then run the checks -n runs; the error text, "" when both pass. */
static const char *check(const char *text)
{
	static char err[512];
	struct mvd_config c;

	err[0] = '\0';
	assert_int_equal(mvd_config_init(&c), MV_OK);
	if (mvd_config_parse(&c, text, err, sizeof err) == MV_OK)
		err[0] = '\0';
	mvd_config_free(&c);
	return err;
}

#define BASE "[milter]\nsocket = inet:10025@127.0.0.1\n[http]\n"

static void loopback_needs_no_credentials(void **state)
{
	(void)state;
	assert_string_equal(check(BASE "listen = 127.0.0.1:8895\n"), "");
	assert_string_equal(check(BASE "listen = 127.1.2.3:8895\n"), "");
	assert_string_equal(check(BASE "listen = [::1]:8895\n"), "");
	assert_string_equal(check(BASE "listen =\n"), "");
}

static void other_addresses_need_a_token_or_basic_auth(void **state)
{
	(void)state;
	assert_non_null(strstr(check(BASE "listen = 0.0.0.0:8895\n"), "line 4: [http] listen"));
	assert_non_null(strstr(check(BASE "listen = [::]:8895\n"), "not a loopback address"));
	assert_non_null(strstr(check(BASE "listen = 192.0.2.1:8895\n"), "not a loopback address"));
	assert_string_equal(check(BASE "listen = 0.0.0.0:8895\ntoken = 0123456789abcdef\n"), "");
	assert_string_equal(check(BASE "listen = 0.0.0.0:8895\nuser = a\npassword_file = /p\n"),
	                    "");
	assert_non_null(strstr(check(BASE "listen = 0.0.0.0:8895\ntoken = 0123456789abcde\n"),
	                       "line 5: [http] token is shorter than 16"));
	assert_non_null(strstr(check(BASE "listen = 0.0.0.0:8895\npassword_file = /p\n"),
	                       "line 5: [http] user and password_file go together"));
}

static void bad_listen_values_are_refused_where_they_are(void **state)
{
	static const char *const bad[] = {"8895",          "localhost:8895",
	                                  "127.0.0.1:0",   "127.0.0.1:65536",
	                                  "127.0.0.1:",    "::1:8895",
	                                  "[::1]8895",     "[::1:8895",
	                                  "127.0.0.1:88a", "127.0.0.1:-1"};
	char text[256];

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(text, sizeof text, BASE "listen = %s\n", bad[i]);
		if (!strstr(check(text), "line 4: listen ="))
			fail_msg("listen = %s: \"%s\"", bad[i], check(text));
	}
	assert_non_null(strstr(check(BASE "port = 1\n"), "unknown key \"port\" in [http]"));
	assert_non_null(
	        strstr(check(BASE "listen = 127.0.0.1:1\nlisten = 127.0.0.1:2\n"), "set twice"));
}

/* The value of the series that line starts with in text, or -1. */
static long long series(const char *text, const char *line)
{
	const char *p = text;
	size_t n = strlen(line);

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
		p += n;
	}
	return -1;
}

static void counters_render_with_bounded_labels(void **state)
{
	struct mv_buf b = MV_BUF_INIT;
	struct mvd_metrics_recent r;

	(void)state;
	mvd_metrics_init();
	mvd_metrics_message(MVD_FRONT_SMTP, MVD_VERDICT_REJECT, 0.003);
	mvd_metrics_message(MVD_FRONT_SMTP, MVD_VERDICT_REJECT, 20.0);
	mvd_metrics_message(MVD_FRONT_MILTER, MVD_VERDICT_N, 1); /* not a verdict: not counted */
	mvd_metrics_result("spf", "pass");
	mvd_metrics_result("x-custom", "pass");     /* an unknown method: other */
	mvd_metrics_result("dkim", "evil.example"); /* an unknown result: other */
	mvd_metrics_dmarc_policy("reject");
	mvd_metrics_dmarc_policy("attacker@example.org");
	mvd_metrics_session(MVD_FRONT_MILTER, 1);
	mvd_metrics_error(MVD_ERROR_INTERNAL);
	mvd_metrics_render(&b);
	assert_int_equal(mv_buf_status(&b), MV_OK);
	assert_int_equal(
	        series(b.data, "mailvet_messages_total{front_end=\"smtp\",verdict=\"reject\"}"), 2);
	assert_int_equal(
	        series(b.data, "mailvet_messages_total{front_end=\"milter\",verdict=\"accept\"}"),
	        0);
	assert_int_equal(series(b.data, "mailvet_results_total{method=\"other\",result=\"pass\"}"),
	                 1);
	assert_int_equal(series(b.data, "mailvet_results_total{method=\"dkim\",result=\"other\"}"),
	                 1);
	assert_int_equal(series(b.data, "mailvet_dmarc_policy_applied_total{policy=\"other\"}"), 1);
	assert_int_equal(series(b.data, "mailvet_sessions_open{front_end=\"milter\"}"), 1);
	assert_int_equal(series(b.data, "mailvet_errors_total{kind=\"internal\"}"), 1);
	assert_int_equal(series(b.data, "mailvet_verify_duration_seconds_bucket{le=\"0.005\"}"), 1);
	assert_int_equal(series(b.data, "mailvet_verify_duration_seconds_bucket{le=\"10\"}"), 1);
	assert_int_equal(series(b.data, "mailvet_verify_duration_seconds_bucket{le=\"+Inf\"}"), 2);
	assert_int_equal(series(b.data, "mailvet_verify_duration_seconds_count"), 2);
	assert_null(strstr(b.data, "example"));
	assert_null(strstr(b.data, "x-custom"));
	/* The ring: both messages in the last hour, and gone a day later. */
	mvd_metrics_recent(time(NULL), &r);
	assert_int_equal(r.hour[MVD_VERDICT_REJECT], 2);
	assert_int_equal(r.day[MVD_VERDICT_REJECT], 2);
	mvd_metrics_recent(time(NULL) + 3600 + 60, &r);
	assert_int_equal(r.hour[MVD_VERDICT_REJECT], 0);
	assert_int_equal(r.day[MVD_VERDICT_REJECT], 2);
	mvd_metrics_recent(time(NULL) + 86400 + 60, &r);
	assert_int_equal(r.day[MVD_VERDICT_REJECT], 0);
	mv_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(loopback_needs_no_credentials),
	        cmocka_unit_test(other_addresses_need_a_token_or_basic_auth),
	        cmocka_unit_test(bad_listen_values_are_refused_where_they_are),
	        cmocka_unit_test(counters_render_with_bounded_labels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
