/* tests/dkim/test_sig.c — DKIM-Signature parsing, RFC 6376 §3.5 (RFC 8301 for rsa-sha1). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mailvet/dkim.h>

#define BASE "v=1; a=rsa-sha256; d=example.com; s=sel; h=from:to; bh=AAAA; b=AAAA"

static char err[160];

static enum mv_status parse(const char *s, struct mv_dkim_sig **out)
{
	return mv_dkim_sig_parse(s, strlen(s), out, err, sizeof err);
}

/* Defaults: simple/simple, i= "@d", no l=, t=, x=. */
static void minimal_signature_gets_the_defaults(void **state)
{
	struct mv_dkim_sig *sig;

	(void)state;
	assert_int_equal(parse(BASE, &sig), MV_OK);
	assert_int_equal(sig->alg, MV_DKIM_RSA_SHA256);
	assert_int_equal(sig->hcanon, MV_CANON_SIMPLE);
	assert_int_equal(sig->bcanon, MV_CANON_SIMPLE);
	assert_string_equal(sig->i, "@example.com");
	assert_int_equal(sig->l, -1);
	assert_int_equal(sig->t, -1);
	assert_int_equal(sig->x, -1);
	assert_int_equal(sig->nh, 2);
	assert_int_equal(sig->blen, 3);
	mv_dkim_sig_free(sig);
}

/* §3.5 c=: "relaxed" alone means relaxed/simple. */
static void header_only_canonicalization_means_simple_body(void **state)
{
	struct mv_dkim_sig *sig;

	(void)state;
	assert_int_equal(parse(BASE "; c=relaxed", &sig), MV_OK);
	assert_int_equal(sig->hcanon, MV_CANON_RELAXED);
	assert_int_equal(sig->bcanon, MV_CANON_SIMPLE);
	mv_dkim_sig_free(sig);
	assert_int_equal(parse(BASE "; c=simple/relaxed", &sig), MV_OK);
	assert_int_equal(sig->hcanon, MV_CANON_SIMPLE);
	assert_int_equal(sig->bcanon, MV_CANON_RELAXED);
	mv_dkim_sig_free(sig);
}

/* h= names are lowercased, FWS around the colons dropped; b= may be folded. */
static void folded_h_and_b_are_read(void **state)
{
	struct mv_dkim_sig *sig;
	const char *s = "v=1; a=ed25519-sha256; d=example.com; s=sel;\r\n"
	                " h=From : TO :\r\n\tSubject; bh=AAAA;\r\n b=AAAA\r\n BBBB";

	(void)state;
	assert_int_equal(parse(s, &sig), MV_OK);
	assert_int_equal(sig->nh, 3);
	assert_string_equal(sig->h[0], "from");
	assert_string_equal(sig->h[1], "to");
	assert_string_equal(sig->h[2], "subject");
	assert_string_equal(sig->b64, "AAAABBBB");
	assert_int_equal(sig->blen, 6);
	assert_int_equal(sig->b_off, strstr(s, " b=") + 3 - s);
	assert_int_equal(sig->b_len, strlen("AAAA\r\n BBBB"));
	mv_dkim_sig_free(sig);
}

/* Unknown tags are ignored (§3.2), known optional tags read. */
static void unknown_tags_are_ignored(void **state)
{
	struct mv_dkim_sig *sig;

	(void)state;
	assert_int_equal(parse(BASE "; foo=bar; z=From:x; q=dns/txt; l=100; t=10; x=20;"
	                            " i=user@sub.example.com",
	                       &sig),
	                 MV_OK);
	assert_int_equal(sig->l, 100);
	assert_int_equal(sig->t, 10);
	assert_int_equal(sig->x, 20);
	assert_string_equal(sig->i, "user@sub.example.com");
	mv_dkim_sig_free(sig);
}

struct bad {
	const char *why, *text;
	enum mv_status st;
};

/* Each of these is refused, with what it could read kept for the report. */
static void malformed_signatures_are_refused(void **state)
{
	static const struct bad cases[] = {
	        {"duplicate d=", BASE "; d=other.example", MV_ESYNTAX},
	        {"missing bh=", "v=1; a=rsa-sha256; d=example.com; s=sel; h=from; b=AAAA",
	         MV_ESYNTAX},
	        {"missing v=", "a=rsa-sha256; d=example.com; s=sel; h=from; bh=AAAA; b=AAAA",
	         MV_ESYNTAX},
	        {"version 2", "v=2; a=rsa-sha256; d=example.com; s=sel; h=from; bh=AAAA; b=AAAA",
	         MV_ESYNTAX},
	        {"From not signed",
	         "v=1; a=rsa-sha256; d=example.com; s=sel; h=to; bh=AAAA; b=AAAA", MV_ESYNTAX},
	        {"i= outside d=", BASE "; i=@example.org", MV_ESYNTAX},
	        {"i= in a look-alike domain", BASE "; i=@badexample.com", MV_ESYNTAX},
	        {"x= before t=", BASE "; t=20; x=10", MV_ESYNTAX},
	        {"b= not base64", "v=1; a=rsa-sha256; d=example.com; s=sel; h=from; bh=AAAA; b=A*A",
	         MV_ESYNTAX},
	        {"empty b=", "v=1; a=rsa-sha256; d=example.com; s=sel; h=from; bh=AAAA; b=",
	         MV_ESYNTAX},
	        {"l= not a number", BASE "; l=12a", MV_ESYNTAX},
	        {"empty h= entry",
	         "v=1; a=rsa-sha256; d=example.com; s=sel; h=from::to; bh=AAAA; b=AAAA",
	         MV_ESYNTAX},
	        {"rsa-sha1 (RFC 8301)",
	         "v=1; a=rsa-sha1; d=example.com; s=sel; h=from; bh=AAAA; b=AAAA", MV_EUNSUPPORTED},
	        {"unknown algorithm",
	         "v=1; a=rsa-sha512; d=example.com; s=sel; h=from; bh=AAAA; b=AAAA",
	         MV_EUNSUPPORTED},
	        {"unknown canonicalization", BASE "; c=strict/simple", MV_EUNSUPPORTED},
	        {"query method other than dns/txt", BASE "; q=http/well-known", MV_EUNSUPPORTED},
	};
	struct mv_dkim_sig *sig;
	enum mv_status st;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		st = parse(cases[i].text, &sig);
		if (st != cases[i].st)
			fail_msg("%s: status %s (%s)", cases[i].why, mv_status_str(st), err);
		assert_non_null(sig);
		assert_true(err[0] != '\0');
		mv_dkim_sig_free(sig);
	}
}

/* A refused signature still names its d=, s= and b= for the result. */
static void refused_signature_keeps_its_identity(void **state)
{
	struct mv_dkim_sig *sig;

	(void)state;
	assert_int_equal(
	        parse("v=1; a=rsa-sha1; d=example.com; s=sel; h=from; bh=AAAA; b=QUJD", &sig),
	        MV_EUNSUPPORTED);
	assert_string_equal(err, "rsa-sha1 is not accepted (RFC 8301)");
	assert_string_equal(sig->d, "example.com");
	assert_string_equal(sig->s, "sel");
	assert_string_equal(sig->b64, "QUJD");
	mv_dkim_sig_free(sig);
}

/* A signature "...; d=<d>; ..." parsed, with its err. */
static enum mv_status parse_d(const char *d, struct mv_dkim_sig **out)
{
	char text[512];

	snprintf(text, sizeof text, "v=1; a=rsa-sha256; d=%s; s=sel; h=from; bh=AAAA; b=AAAA", d);
	return parse(text, out);
}

/*
 * §3.5: d= is domain-name, sub-domain 1*("." sub-domain) in RFC 5321's
 * letters-digits-hyphens labels; A-labels pass as such. A d= outside the
 * grammar is refused before any key lookup: "bank.example(.attacker.example"
 * must never reach DNS as a signer. (U-labels, which RFC 8616 allows in
 * EAI messages, stop earlier: the tag-list takes ASCII VALCHARs only.)
 */
static void d_must_be_a_domain_name(void **state)
{
	static const char *const good[] = {
	        "example.com", "Mail-1.EXAMPLE.com",    "r3---sn-abc.example",
	        "0.example",   "xn--bcher-kva.example",
	};
	static const char *const bad[] = {
	        "bank.example(.attacker.example",
	        ".net",
	        "com",
	        "example.com.",
	        "a..example",
	        "-a.example",
	        "a-.example",
	        "_x.example",
	        "[192.0.2.1]",
	        "a/b.example",
	};
	struct mv_dkim_sig *sig;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		if (parse_d(good[i], &sig) != MV_OK)
			fail_msg("d=%s refused: %s", good[i], err);
		mv_dkim_sig_free(sig);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (parse_d(bad[i], &sig) != MV_ESYNTAX ||
		    strcmp(err, "d= is not a domain name") != 0)
			fail_msg("d=%s: want ESYNTAX \"d= is not a domain name\", got \"%s\"",
			         bad[i], err);
		assert_string_equal(sig->d, bad[i]); /* still reported as written */
		mv_dkim_sig_free(sig);
	}
	assert_int_equal(parse(BASE "; d=", &sig), MV_ESYNTAX);
	mv_dkim_sig_free(sig);
	assert_int_equal(parse_d("", &sig), MV_ESYNTAX);
	assert_string_equal(err, "empty d=");
	mv_dkim_sig_free(sig);
}

/* The domain of i= is a domain-name too, even when it ends in d=. */
static void i_domain_must_be_a_domain_name(void **state)
{
	struct mv_dkim_sig *sig;

	(void)state;
	assert_int_equal(parse(BASE "; i=user@a(b.example.com", &sig), MV_ESYNTAX);
	assert_string_equal(err, "i= domain is not a domain name");
	mv_dkim_sig_free(sig);
	assert_int_equal(parse(BASE "; i=user@mail.example.com", &sig), MV_OK);
	mv_dkim_sig_free(sig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(minimal_signature_gets_the_defaults),
	        cmocka_unit_test(header_only_canonicalization_means_simple_body),
	        cmocka_unit_test(folded_h_and_b_are_read),
	        cmocka_unit_test(unknown_tags_are_ignored),
	        cmocka_unit_test(malformed_signatures_are_refused),
	        cmocka_unit_test(refused_signature_keeps_its_identity),
	        cmocka_unit_test(d_must_be_a_domain_name),
	        cmocka_unit_test(i_domain_must_be_a_domain_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
