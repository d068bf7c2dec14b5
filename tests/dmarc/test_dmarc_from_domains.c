/* tests/dmarc/test_dmarc_from_domains.c — the domains read from bad From fields (reject if protected). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mailvet/dmarc.h>

/* The domains of the From fields of header (LF line ends), joined by spaces, in a static buffer. */
static const char *domains_of(const char *header)
{
	static char out[600];
	struct mv_dmarc_from_domains fd;
	struct mv_msg *m = NULL;
	size_t k, used = 0;

	assert_int_equal(mv_msg_parse(header, strlen(header), NULL, &m, NULL, 0), MV_OK);
	assert_int_equal(mv_dmarc_from_domains(m, &fd), MV_OK);
	out[0] = '\0';
	for (k = 0; k < fd.n; k++)
		used += (size_t)snprintf(out + used, sizeof out - used, "%s%s", k ? " " : "",
		                         fd.domain[k]);
	mv_dmarc_from_domains_clear(&fd);
	mv_msg_free(m);
	return out;
}

static void trailing_dot_is_dropped(void **state)
{
	(void)state;
	assert_string_equal(domains_of("From: ceo@bank.example.\n\nx\n"), "bank.example");
}

static void unclosed_angle_bracket_still_gives_the_domain(void **state)
{
	(void)state;
	assert_string_equal(domains_of("From: CEO <ceo@Bank.Example\n\nx\n"), "bank.example");
}

static void text_after_the_address_is_not_part_of_the_domain(void **state)
{
	(void)state;
	assert_string_equal(domains_of("From: <ceo@bank.example>;\n\nx\n"), "bank.example");
}

static void every_from_field_counts_and_each_domain_once(void **state)
{
	(void)state;
	assert_string_equal(domains_of("From: a@evil.example\nFrom: b@bank.example,\n"
	                               " c@evil.example\nFrom: d@bank.example\n\nx\n"),
	                    "evil.example bank.example");
}

static void quoted_at_sign_of_a_bad_field_is_read_too(void **state)
{
	(void)state;
	assert_string_equal(domains_of("From: \"ceo@bank.example\" <x@evil.example\n\nx\n"),
	                    "bank.example evil.example");
}

static void a_field_that_parses_gives_only_its_real_domains(void **state)
{
	(void)state;
	/* the strict parser reads it: the quoted '@' is part of the local part */
	assert_string_equal(domains_of("From: \"ceo@bank.example\"@evil.example\n"
	                               "From: x@[192.0.2.1]\n\nx\n"),
	                    "evil.example");
}

static void unicode_domain_becomes_an_a_label(void **state)
{
	(void)state;
	assert_string_equal(domains_of("From: ceo@b\xc3\xa4nk.example.\n\nx\n"),
	                    "xn--bnk-qla.example");
}

static void no_from_and_no_domain_give_nothing(void **state)
{
	(void)state;
	assert_string_equal(domains_of("Subject: x\n\nx\n"), "");
	assert_string_equal(domains_of("From: ceo@\n\nx\n"), "");
	assert_string_equal(domains_of("From: ceo@..;\n\nx\n"), "");
}

static void many_addresses_stop_at_the_limit(void **state)
{
	struct mv_dmarc_from_domains fd;
	struct mv_msg *m = NULL;
	char hdr[2000];
	size_t used, k;

	(void)state;
	used = (size_t)snprintf(hdr, sizeof hdr, "From: <");
	for (k = 0; k < 40; k++)
		used += (size_t)snprintf(hdr + used, sizeof hdr - used, "a@d%zu.example ", k);
	snprintf(hdr + used, sizeof hdr - used, "\n\nx\n");
	assert_int_equal(mv_msg_parse(hdr, strlen(hdr), NULL, &m, NULL, 0), MV_OK);
	assert_int_equal(mv_dmarc_from_domains(m, &fd), MV_OK);
	assert_int_equal(fd.n, MV_DMARC_FROM_DOMAINS_MAX);
	assert_string_equal(fd.domain[0], "d0.example");
	mv_dmarc_from_domains_clear(&fd);
	mv_msg_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(trailing_dot_is_dropped),
	        cmocka_unit_test(unclosed_angle_bracket_still_gives_the_domain),
	        cmocka_unit_test(text_after_the_address_is_not_part_of_the_domain),
	        cmocka_unit_test(every_from_field_counts_and_each_domain_once),
	        cmocka_unit_test(quoted_at_sign_of_a_bad_field_is_read_too),
	        cmocka_unit_test(a_field_that_parses_gives_only_its_real_domains),
	        cmocka_unit_test(unicode_domain_becomes_an_a_label),
	        cmocka_unit_test(no_from_and_no_domain_give_nothing),
	        cmocka_unit_test(many_addresses_stop_at_the_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
