/* tests/authres/test_forged.c — RFC 8601 §5: which existing fields a border MTA deletes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <mailvet/authres.h>

static const struct mv_authres_servid ours[] = {
        {"example.com", 0},
        {"mail.example.org", 1},
        {"b\xc3\xbc"
         "cher.example",
         0},
};
static const struct mv_authres_policy policy = {ours, 3, 0, 0};

static void servid_matching(void **state)
{
	(void)state;
	assert_true(mv_authres_servid_match(&policy, "example.com"));
	assert_true(mv_authres_servid_match(&policy, "EXAMPLE.Com"));
	assert_true(mv_authres_servid_match(&policy, "example.com."));    /* trailing dot */
	assert_false(mv_authres_servid_match(&policy, "mx.example.com")); /* exact only */
	assert_false(mv_authres_servid_match(&policy, "badexample.com"));
	assert_true(mv_authres_servid_match(&policy, "mail.example.org"));
	assert_true(mv_authres_servid_match(&policy, "mx1.mail.example.org")); /* subdomains */
	assert_false(mv_authres_servid_match(&policy, "xmail.example.org"));
	assert_false(mv_authres_servid_match(&policy, "example.org"));
	/* §5: EAI fields compare after converting A-labels into U-labels */
	assert_true(mv_authres_servid_match(&policy, "xn--bcher-kva.example"));
	assert_true(mv_authres_servid_match(&policy, "B\xc3\xbc"
	                                             "cher.example"));
	assert_false(mv_authres_servid_match(&policy, "example auth"));
	assert_false(mv_authres_servid_match(&policy, NULL));
}

/* Each case: a field value, where it came from, and what §5 (and our policy) decides. */
struct judge_case {
	const char *name;
	const char *value;
	int trusted;
	enum mv_authres_verdict want;
};

static const struct judge_case cases[] = {
        {"ours from outside is forged", " example.com; spf=pass smtp.mailfrom=a.example", 0,
         MV_AUTHRES_DELETE},
        {"ours from a trusted internal host", " example.com; spf=pass", 1, MV_AUTHRES_KEEP},
        {"ours quoted and with comments", " (x) \"EXAMPLE.com\" (y); dkim=pass", 0,
         MV_AUTHRES_DELETE},
        {"ours in A-label form", " xn--bcher-kva.example; dkim=pass", 0, MV_AUTHRES_DELETE},
        {"our subdomain", " mx2.mail.example.org; none", 0, MV_AUTHRES_DELETE},
        {"another ADMD", " example.net; dkim=pass header.d=example.net", 0, MV_AUTHRES_KEEP},
        {"another ADMD, unsupported version, outside", " example.net 2; dkim=pass", 0,
         MV_AUTHRES_DELETE},
        {"another ADMD, version 1", " example.net 1; dkim=pass", 0, MV_AUTHRES_KEEP},
        {"unsupported version from trusted (SHOULD remove)", " example.com 3; x", 1,
         MV_AUTHRES_DELETE},
        {"ours, malformed", " example.com; spf=pass smtp.mailfrom=a/b", 0, MV_AUTHRES_DELETE},
        {"other, malformed", " example.net; spf pass", 0, MV_AUTHRES_KEEP},
        {"no authserv-id from outside", " spf=pass smtp.mailfrom=example.com", 0,
         MV_AUTHRES_DELETE},
        {"no authserv-id from trusted", " spf=pass smtp.mailfrom=example.com", 1, MV_AUTHRES_KEEP},
        {"empty from outside", "", 0, MV_AUTHRES_DELETE},
        {"garbage from outside", " (unterminated", 0, MV_AUTHRES_DELETE},
};

static void judge_cases(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct judge_case *c = &cases[i];
		const char *why = NULL;
		enum mv_authres_verdict v =
		        mv_authres_judge(&policy, c->value, strlen(c->value), c->trusted, &why);
		if (v != c->want)
			fail_msg("%s: got %s (%s)", c->name,
			         v == MV_AUTHRES_KEEP ? "keep" : "delete", why);
		assert_non_null(why);
	}
}

static void policy_options(void **state)
{
	struct mv_authres_policy p = policy;
	const char *v = " example.net 2; dkim=pass";

	(void)state;
	p.trust_versions = 1;
	assert_int_equal(mv_authres_judge(&p, v, strlen(v), 1, NULL), MV_AUTHRES_KEEP);
	assert_int_equal(mv_authres_judge(&p, v, strlen(v), 0, NULL), MV_AUTHRES_DELETE);
	v = " example.net; dkim=pass";
	p.delete_foreign = 1;
	assert_int_equal(mv_authres_judge(&p, v, strlen(v), 0, NULL), MV_AUTHRES_DELETE);
	assert_int_equal(mv_authres_judge(&p, v, strlen(v), 1, NULL), MV_AUTHRES_KEEP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(servid_matching),
	        cmocka_unit_test(judge_cases),
	        cmocka_unit_test(policy_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
