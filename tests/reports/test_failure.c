/* tests/reports/test_failure.c — failure reports: fo=, Identity-Alignment, redaction, spool file, ARF. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mailvet/report.h>

static struct mv_report_record rec(const char *dkim_aligned, const char *spf_aligned)
{
	struct mv_report_record r;

	memset(&r, 0, sizeof r);
	MV_REPORT_SET(r.dkim_aligned, dkim_aligned);
	MV_REPORT_SET(r.spf_aligned, spf_aligned);
	MV_REPORT_SET(r.spf_result, "pass");
	return r;
}

/* RFC 9989 §4.7 fo=0: only when neither mechanism gave an aligned pass. */
static void fo_0_reports_when_both_fail(void **state)
{
	struct mv_report_record both = rec("fail", "fail"), one = rec("pass", "fail");

	(void)state;
	assert_true(mv_report_failure_wanted("0", &both));
	assert_true(mv_report_failure_wanted("", &both)); /* the default */
	assert_false(mv_report_failure_wanted("0", &one));
	assert_false(mv_report_failure_wanted(NULL, &one));
}

/* fo=1: when either mechanism did not give an aligned pass. */
static void fo_1_reports_when_either_fails(void **state)
{
	struct mv_report_record one = rec("pass", "fail"), none = rec("pass", "pass");

	(void)state;
	assert_true(mv_report_failure_wanted("1", &one));
	assert_false(mv_report_failure_wanted("1", &none));
	assert_true(mv_report_failure_wanted("0:1", &one));
}

/* fo=d and fo=s: a failed evaluation, aligned or not. */
static void fo_d_and_s_look_at_evaluation(void **state)
{
	struct mv_report_record r = rec("pass", "pass");

	(void)state;
	r.ndkim = 2;
	MV_REPORT_SET(r.dkim[0].result, "pass");
	MV_REPORT_SET(r.dkim[1].result, "fail");
	assert_true(mv_report_failure_wanted("d", &r));
	assert_false(mv_report_failure_wanted("s", &r));
	MV_REPORT_SET(r.spf_result, "softfail");
	assert_true(mv_report_failure_wanted("s", &r));
	assert_false(mv_report_failure_wanted("x:y", &r)); /* unknown options: ignored */
}

static void identity_alignment_names_what_failed(void **state)
{
	char out[12];
	struct mv_report_record a = rec("fail", "fail"), b = rec("pass", "fail"),
	                        c = rec("pass", "pass");

	(void)state;
	mv_report_failure_alignment(&a, out);
	assert_string_equal(out, "dkim, spf");
	mv_report_failure_alignment(&b, out);
	assert_string_equal(out, "spf");
	mv_report_failure_alignment(&c, out);
	assert_string_equal(out, "none");
}

static char *redact(const char *h)
{
	struct mv_buf out = MV_BUF_INIT;

	assert_int_equal(mv_report_failure_redact(h, strlen(h), "k", 1, &out), MV_OK);
	return mv_buf_steal(&out, NULL);
}

/* RFC 6590: local parts replaced consistently, domains and message ids kept. */
static void redaction_hides_local_parts(void **state)
{
	char *r = redact("From: Alice <alice@example.com>\r\n"
	                 "To: bob@example.net,\r\n \"odd one\"@example.org\r\n"
	                 "Cc: alice@example.com\r\n"
	                 "Message-ID: <id123@example.com>\r\n"
	                 "Received: from x by y for <bob@example.net>; Mon\r\n"
	                 "DKIM-Signature: v=1; d=example.com; i=@example.com;\r\n");
	const char *a1, *a2;

	(void)state;
	assert_null(strstr(r, "alice@"));
	assert_null(strstr(r, "bob@"));
	assert_null(strstr(r, "odd one"));
	assert_non_null(strstr(r, "<id123@example.com>"));
	assert_non_null(strstr(r, "i=@example.com"));
	assert_non_null(strstr(r, "From: Alice <x"));
	/* The same address is the same token wherever it stands. */
	a1 = strstr(r, "From: Alice <") + 13;
	a2 = strstr(r, "Cc: ") + 4;
	assert_memory_equal(a1, a2, 17 + strlen("@example.com"));
	assert_int_equal(strlen(a1) > 17 && a1[17] == '@', 1);
	free(r);
}

static const char HEADER[] = "From: x0123456789abcdef@example.com\r\nSubject: hi\r\n";

static struct mv_report_failure sample(void)
{
	struct mv_report_failure f;

	memset(&f, 0, sizeof f);
	f.arrival = 1700000000;
	f.reported_domain = "example.com";
	f.policy_domain = "example.com";
	f.destinations = "mailto:ruf@example.com";
	f.source_ip = "192.0.2.1";
	f.envelope_id = "QID1";
	f.mail_from = "xabc@example.com";
	f.identity_alignment = "dkim, spf";
	f.delivery_result = "reject";
	f.authres = "mx.example; dmarc=fail header.from=example.com; spf=fail";
	f.header = HEADER;
	f.header_len = strlen(HEADER);
	return f;
}

/* What mailvetd writes, `report send` reads back unchanged. */
static void spool_file_round_trips(void **state)
{
	struct mv_report_failure f = sample(), g;
	struct mv_buf b = MV_BUF_INIT;
	char err[100];

	(void)state;
	assert_int_equal(mv_report_failure_format(&f, &b), MV_OK);
	assert_int_equal(mv_report_failure_read(b.data, b.len, &g, err, sizeof err), MV_OK);
	assert_int_equal(g.arrival, 1700000000);
	assert_string_equal(g.destinations, "mailto:ruf@example.com");
	assert_string_equal(g.authres, f.authres);
	assert_null(g.dkim_domain);
	assert_null(g.body);
	assert_int_equal(g.header_len, f.header_len);
	assert_memory_equal(g.header, HEADER, f.header_len);
	mv_buf_free(&b);
}

static void spool_file_refuses_garbage(void **state)
{
	struct mv_report_failure f = sample(), g;
	struct mv_buf b = MV_BUF_INIT;
	char err[100], junk[] = "From: someone\n\nbody";

	(void)state;
	assert_int_equal(mv_report_failure_read(junk, strlen(junk), &g, err, sizeof err),
	                 MV_ESYNTAX);
	assert_int_equal(mv_report_failure_format(&f, &b), MV_OK);
	/* Truncated: the sizes no longer match. */
	assert_int_equal(mv_report_failure_read(b.data, b.len - 3, &g, err, sizeof err),
	                 MV_ESYNTAX);
	mv_buf_free(&b);
	f.source_ip = "1.2.3.4\r\nBcc: x";
	assert_int_equal(mv_report_failure_format(&f, &b), MV_EINVAL);
	mv_buf_free(&b);
}

/* RFC 6591 / failure-reporting §4: the ARF fields and a headers-only third part. */
static void arf_message_has_the_fields(void **state)
{
	struct mv_report_failure f = sample();
	struct mv_report_info info = {"Org", "postmaster@rx.example", "rx.example", NULL, 0, 0};
	struct mv_buf b = MV_BUF_INIT;

	(void)state;
	assert_int_equal(mv_report_failure_email(&info, &f, "ruf-1", "p@rx.example",
	                                         "ruf@example.com", 1700000100, &b),
	                 MV_OK);
	assert_non_null(strstr(b.data, "Content-Type: multipart/report; "
	                               "report-type=feedback-report;"));
	assert_non_null(strstr(b.data, "\r\nFeedback-Type: auth-failure\r\n"));
	assert_non_null(strstr(b.data, "\r\nAuth-Failure: dmarc\r\n"));
	assert_non_null(strstr(b.data, "\r\nIdentity-Alignment: dkim, spf\r\n"));
	assert_non_null(strstr(b.data, "\r\nOriginal-Envelope-Id: QID1\r\n"));
	assert_non_null(strstr(b.data, "\r\nOriginal-Mail-From: <xabc@example.com>\r\n"));
	assert_non_null(strstr(b.data, "\r\nSource-IP: 192.0.2.1\r\n"));
	assert_non_null(strstr(b.data, "\r\nReported-Domain: example.com\r\n"));
	assert_non_null(strstr(b.data, "\r\nAuthentication-Results: mx.example;\r\n dmarc=fail"));
	assert_non_null(strstr(b.data, "Content-Type: text/rfc822-headers\r\n"));
	assert_non_null(strstr(b.data, "Message-ID: <ruf-1@rx.example>\r\n"));
	assert_non_null(strstr(b.data, HEADER));
	mv_buf_free(&b);
	assert_int_equal(mv_report_failure_email(&info, &f, "ruf-1", "p@rx.example",
	                                         "a@b\r\nBcc: c@d", 1700000100, &b),
	                 MV_EINVAL);
	mv_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(fo_0_reports_when_both_fail),
	        cmocka_unit_test(fo_1_reports_when_either_fails),
	        cmocka_unit_test(fo_d_and_s_look_at_evaluation),
	        cmocka_unit_test(identity_alignment_names_what_failed),
	        cmocka_unit_test(redaction_hides_local_parts),
	        cmocka_unit_test(spool_file_round_trips),
	        cmocka_unit_test(spool_file_refuses_garbage),
	        cmocka_unit_test(arf_message_has_the_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
