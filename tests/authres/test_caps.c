/*
 * tests/authres/test_caps.c — the AUTHSERV capability (draft-kucherawy-sender-auth-caps-00)
 * read from EHLO, CAPABILITY and CAPA replies; the Appendix B lines as the draft writes them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <mailvet/authres.h>

static struct mv_authres_caps caps;
static char err[160];

static enum mv_status parse(enum mv_authres_caps_proto proto, int authenticated, const char *text)
{
	mv_authres_caps_clear(&caps);
	return mv_authres_caps_parse(proto, authenticated, text, strlen(text), &caps, err,
	                             sizeof err);
}

static void assert_id(const char *want)
{
	assert_int_equal(caps.state, MV_AUTHRES_CAPS_ID);
	assert_string_equal(caps.serv_id, want);
}

/* Appendix B.1: the EHLO reply, line for line. */
static void smtp_appendix_b1(void **state)
{
	(void)state;
	assert_int_equal(parse(MV_AUTHRES_CAPS_SMTP, 0,
	                       "250-ENHANCEDSTATUSCODES\r\n"
	                       "250-PIPELINING\r\n"
	                       "250-8BITMIME\r\n"
	                       "250-SIZE\r\n"
	                       "250-DSN\r\n"
	                       "250-DELIVERBY\r\n"
	                       "250-AUTHSERV=authserver.example.com\r\n"
	                       "250 HELP\r\n"),
	                 MV_OK);
	/* B.1 shows no greeting line: its first line stands where the server's name would */
	assert_id("authserver.example.com");
	assert_int_equal(caps.notes, 0);
	assert_int_equal(caps.ncaps, 7); /* 8 lines, the first taken as the greeting */
}

static void smtp_forms(void **state)
{
	(void)state;
	/* §3.2 item 4: the id is optional */
	assert_int_equal(parse(MV_AUTHRES_CAPS_SMTP, 0, "250-mx.example.com\r\n250 AUTHSERV\r\n"),
	                 MV_OK);
	assert_int_equal(caps.state, MV_AUTHRES_CAPS_CLAIMED);
	assert_null(caps.serv_id);
	/* keywords are case-insensitive; the id is kept as written */
	assert_int_equal(parse(MV_AUTHRES_CAPS_SMTP, 0, "250-mx\n250 authserv=Example.COM"), MV_OK);
	assert_id("Example.COM");
	/* RFC 5321 ehlo-param form: accepted and noted */
	assert_int_equal(parse(MV_AUTHRES_CAPS_SMTP, 0, "250-mx\r\n250 AUTHSERV example.com\r\n"),
	                 MV_OK);
	assert_id("example.com");
	assert_int_equal(caps.notes, MV_AUTHRES_CAPS_SPACE_PARAM);
	/* no AUTHSERV; a keyword that only starts like it is another keyword */
	assert_int_equal(
	        parse(MV_AUTHRES_CAPS_SMTP, 0, "250-mx\r\n250-AUTHSERVX=a\r\n250 HELP\r\n"), MV_OK);
	assert_int_equal(caps.state, MV_AUTHRES_CAPS_ABSENT);
	/* the greeting line is not an extension even when it reads like one */
	assert_int_equal(parse(MV_AUTHRES_CAPS_SMTP, 0, "250-AUTHSERV=x\r\n250 HELP\r\n"), MV_OK);
	assert_int_equal(caps.state, MV_AUTHRES_CAPS_ABSENT);
	assert_int_equal(parse(MV_AUTHRES_CAPS_SMTP, 0, "250 mx.example.com\r\n"), MV_OK);
	assert_int_equal(caps.ncaps, 0);
}

static void smtp_malformed(void **state)
{
	(void)state;
	assert_int_equal(parse(MV_AUTHRES_CAPS_SMTP, 0, "250-mx\r\n250-AUTHSERV=a\r\n"),
	                 MV_ESYNTAX);
	assert_string_equal(err, "line 2: the reply has no final \"250 \" line");
	assert_int_equal(caps.state, MV_AUTHRES_CAPS_ABSENT);
	assert_int_equal(parse(MV_AUTHRES_CAPS_SMTP, 0, "250 mx\r\n250 AUTHSERV\r\n"), MV_ESYNTAX);
	assert_int_equal(parse(MV_AUTHRES_CAPS_SMTP, 0, "220 mx\r\n"), MV_ESYNTAX);
	assert_int_equal(parse(MV_AUTHRES_CAPS_SMTP, 0, "250-mx\r\n250 AUTHSERV=\r\n"), MV_ESYNTAX);
	assert_int_equal(parse(MV_AUTHRES_CAPS_SMTP, 0, "250-mx\r\n250 AUTHSERV=a;b\r\n"),
	                 MV_ESYNTAX);
	assert_int_equal(parse(MV_AUTHRES_CAPS_SMTP, 0, "250-mx\r\n250 AUTHSERV=a b\r\n"),
	                 MV_ESYNTAX);
	assert_int_equal(
	        parse(MV_AUTHRES_CAPS_SMTP, 0, "250-mx\r\n250-AUTHSERV=a\r\n250 AUTHSERV=b"),
	        MV_ESYNTAX);
	assert_string_equal(err, "line 3: AUTHSERV listed twice with different values");
	assert_int_equal(
	        parse(MV_AUTHRES_CAPS_SMTP, 0, "250-mx\r\n250-AUTHSERV=a\r\n250 AUTHSERV=a"),
	        MV_OK);
	assert_int_equal(caps.notes, MV_AUTHRES_CAPS_REPEATED);
}

/* Appendix B.2, the wrapped lines joined again. */
static void imap_appendix_b2(void **state)
{
	(void)state;
	assert_int_equal(parse(MV_AUTHRES_CAPS_IMAP, 0,
	                       "* CAPABILITY CAPABILITY IMAP4 IMAP4rev1 UIDPLUS AUTHSERV\r\n"),
	                 MV_OK);
	assert_int_equal(caps.state, MV_AUTHRES_CAPS_CLAIMED);
	assert_int_equal(caps.notes, 0);
	assert_int_equal(caps.ncaps, 5);
	assert_int_equal(parse(MV_AUTHRES_CAPS_IMAP, 1,
	                       "* CAPABILITY CAPABILITY IMAP4 IMAP4rev1 UIDPLUS "
	                       "AUTHSERV=authserv.example.com\r\n"),
	                 MV_OK);
	assert_id("authserv.example.com");
	assert_int_equal(caps.notes, 0);
}

static void imap_forms(void **state)
{
	(void)state;
	/* the greeting's and a tagged OK's response code */
	assert_int_equal(parse(MV_AUTHRES_CAPS_IMAP, 0,
	                       "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTHSERV] Dovecot ready."),
	                 MV_OK);
	assert_int_equal(caps.state, MV_AUTHRES_CAPS_CLAIMED);
	assert_int_equal(parse(MV_AUTHRES_CAPS_IMAP, 1,
	                       "a2 OK [CAPABILITY IMAP4rev1 authserv=mx.example] Logged in\r\n"),
	                 MV_OK);
	assert_id("mx.example");
	/* departures from the draft's before/after values are noted */
	assert_int_equal(
	        parse(MV_AUTHRES_CAPS_IMAP, 0, "* CAPABILITY IMAP4rev1 AUTHSERV=a.example"), MV_OK);
	assert_int_equal(caps.notes, MV_AUTHRES_CAPS_VALUE_BEFORE_LOGIN);
	assert_int_equal(parse(MV_AUTHRES_CAPS_IMAP, 1, "* CAPABILITY IMAP4rev1 AUTHSERV"), MV_OK);
	assert_int_equal(caps.notes, MV_AUTHRES_CAPS_NO_VALUE_AFTER_LOGIN);
	/* a greeting without capabilities has none to give */
	assert_int_equal(parse(MV_AUTHRES_CAPS_IMAP, 0, "* OK ready"), MV_ESYNTAX);
	assert_int_equal(parse(MV_AUTHRES_CAPS_IMAP, 0, "* CAPABILITY IMAP4rev1 AUTHSERV=\"a\""),
	                 MV_ESYNTAX);
	assert_int_equal(parse(MV_AUTHRES_CAPS_IMAP, 0, "* CAPABILITY A\r\n* CAPABILITY B\r\n"),
	                 MV_ESYNTAX);
	assert_int_equal(parse(MV_AUTHRES_CAPS_IMAP, 0, "* OK [CAPABILITY IMAP4rev1 AUTHSERV"),
	                 MV_ESYNTAX);
}

/* Appendix B.3, line for line. */
static void pop3_appendix_b3(void **state)
{
	(void)state;
	assert_int_equal(parse(MV_AUTHRES_CAPS_POP3, 0,
	                       "+OK Capability list follows\r\n"
	                       "TOP\r\n"
	                       "USER\r\n"
	                       "SASL CRAM-MD5\r\n"
	                       "RESP-CODES\r\n"
	                       "AUTHSERV\r\n"
	                       ".\r\n"),
	                 MV_OK);
	assert_int_equal(caps.state, MV_AUTHRES_CAPS_CLAIMED);
	assert_int_equal(caps.notes, 0);
	assert_int_equal(caps.ncaps, 5);
	assert_int_equal(parse(MV_AUTHRES_CAPS_POP3, 1,
	                       "+OK Capability list follows\r\n"
	                       "TOP\r\n"
	                       "USER\r\n"
	                       "SASL CRAM-MD5\r\n"
	                       "RESP-CODES\r\n"
	                       "AUTHSERV authserv.example.com\r\n"
	                       ".\r\n"),
	                 MV_OK);
	assert_id("authserv.example.com");
	assert_int_equal(caps.notes, 0);
}

static void pop3_forms(void **state)
{
	(void)state;
	assert_int_equal(parse(MV_AUTHRES_CAPS_POP3, 1, "+OK\r\nAUTHSERV=a.example\r\n.\r\n"),
	                 MV_OK);
	assert_id("a.example");
	assert_int_equal(caps.notes, MV_AUTHRES_CAPS_EQUALS_PARAM);
	assert_int_equal(parse(MV_AUTHRES_CAPS_POP3, 0, "+OK\r\n..AUTHSERV\r\n.\r\n"), MV_OK);
	assert_int_equal(caps.state, MV_AUTHRES_CAPS_ABSENT); /* ".AUTHSERV" after unstuffing */
	assert_int_equal(parse(MV_AUTHRES_CAPS_POP3, 0, "-ERR no CAPA\r\n"), MV_ESYNTAX);
	assert_int_equal(parse(MV_AUTHRES_CAPS_POP3, 0, "+OK\r\nAUTHSERV\r\n"), MV_ESYNTAX);
	assert_int_equal(parse(MV_AUTHRES_CAPS_POP3, 0, "+OK\r\nAUTHSERV a b\r\n.\r\n"),
	                 MV_ESYNTAX);
	assert_int_equal(parse(MV_AUTHRES_CAPS_POP3, 0, "+OK\r\n.\r\nAUTHSERV\r\n"), MV_ESYNTAX);
}

static void limits(void **state)
{
	static char big[MV_AUTHRES_CAPS_MAX + 2];

	(void)state;
	memset(big, 'A', sizeof big - 1);
	assert_int_equal(parse(MV_AUTHRES_CAPS_IMAP, 0, big), MV_ETOOBIG);
	assert_int_equal(mv_authres_caps_parse(MV_AUTHRES_CAPS_POP3, 0, "", 0, &caps, NULL, 0),
	                 MV_ESYNTAX);
	mv_authres_caps_clear(&caps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(smtp_appendix_b1), cmocka_unit_test(smtp_forms),
	        cmocka_unit_test(smtp_malformed),   cmocka_unit_test(imap_appendix_b2),
	        cmocka_unit_test(imap_forms),       cmocka_unit_test(pop3_appendix_b3),
	        cmocka_unit_test(pop3_forms),       cmocka_unit_test(limits),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	mv_authres_caps_clear(&caps);
	return rc;
}
