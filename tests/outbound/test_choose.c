/* tests/outbound/test_choose.c — mv_outbound_config.dkim_choose: the site picks each message's keys (cmocka). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <mailvet/outbound.h>

#define NOW 1700000000

static struct mv_dkim_signkey *key;
static int calls;
static char seen_author[64], seen_from[128];

/* Gives example.org's key to mail from boss@example.com only (a per-address signing table). */
static size_t choose(void *arg, const struct mv_msg *header, const char *author,
                     struct mv_outbound_key *keys, size_t max, char *why, size_t whylen)
{
	size_t i = mv_msg_find(header, "From", 0);
	const struct mv_msg_field *f = mv_msg_field(header, i);

	(void)arg;
	calls++;
	snprintf(seen_author, sizeof seen_author, "%s", author);
	snprintf(seen_from, sizeof seen_from, "%.*s", (int)f->unfolded_len, f->unfolded);
	if (!strstr(seen_from, "boss@") || max < 2) {
		snprintf(why, whylen, "no key for this sender");
		return 0;
	}
	keys[0] = (struct mv_outbound_key){"example.org", "sel", key, 0};
	keys[1] = (struct mv_outbound_key){"other.test", "x", key, 0}; /* another d=: dropped */
	return 2;
}

static const struct mv_outbound_result *sign(struct mv_outbound **o, const char *from)
{
	struct mv_outbound_config c;
	const struct mv_outbound_result *r = NULL;
	char text[300];

	mv_outbound_config_default(&c);
	c.dkim_choose = choose;
	snprintf(text, sizeof text, "From: %s\r\nTo: b@example.net\r\nSubject: s\r\n\r\nbody\r\n",
	         from);
	assert_int_equal(mv_outbound_new(&c, o, NULL, 0), MV_OK);
	assert_int_equal(mv_outbound_data(*o, text, strlen(text), NULL), MV_OK);
	assert_int_equal(mv_outbound_end(*o, NOW, &r), MV_OK);
	return r;
}

static void site_choice_signs_with_its_domain_and_selector(void **state)
{
	struct mv_outbound *o = NULL;
	const struct mv_outbound_result *r;

	(void)state;
	calls = 0;
	r = sign(&o, "Boss <boss@example.com>");
	assert_int_equal(calls, 1);
	assert_string_equal(seen_author, "example.com");
	assert_int_equal(r->dkim, MV_OUTBOUND_DONE);
	assert_int_equal(r->nsignatures, 1);
	assert_string_equal(r->dkim_domain, "example.org");
	assert_non_null(strstr(r->fields, "d=example.org"));
	assert_non_null(strstr(r->fields, "s=sel"));
	assert_null(strstr(r->fields, "other.test"));
	mv_outbound_free(o);
}

static void no_key_from_the_site_says_why(void **state)
{
	struct mv_outbound *o = NULL;
	const struct mv_outbound_result *r;

	(void)state;
	r = sign(&o, "clerk@example.com");
	assert_int_equal(r->dkim, MV_OUTBOUND_NO_KEY);
	assert_string_equal(r->dkim_reason, "no key for this sender");
	assert_int_equal(r->fields_len, 0);
	mv_outbound_free(o);
}

static void no_author_domain_is_not_asked(void **state)
{
	struct mv_outbound *o = NULL;
	const struct mv_outbound_result *r;

	(void)state;
	calls = 0;
	r = sign(&o, "boss@example.com, other@example.net");
	assert_int_equal(calls, 0);
	assert_int_equal(r->dkim, MV_OUTBOUND_NO_DOMAIN);
	mv_outbound_free(o);
}

int main(void)
{
	static const unsigned char seed[32] = {1, 2, 3, 4, 5, 6, 7, 8};
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(site_choice_signs_with_its_domain_and_selector),
	        cmocka_unit_test(no_key_from_the_site_says_why),
	        cmocka_unit_test(no_author_domain_is_not_asked),
	};
	int rc;

	if (mv_dkim_signkey_ed25519_seed(seed, &key) != MV_OK)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	mv_dkim_signkey_free(key);
	return rc;
}
