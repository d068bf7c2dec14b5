/*
 * tests/verify/test_verify_settings.c — the table of verify settings
 * (lib/verify/settings.c): every entry's default is what
 * mv_verify_config_default() sets, every entry reaches its field, and the
 * setter takes good values and refuses bad ones with a message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <mailvet/verify.h>

/* Apply name = text to *c; the status, with the message in err. */
static enum mv_status set(struct mv_verify_config *c, const char *name, const char *text, char *err,
                          size_t errlen)
{
	const struct mv_verify_setting *s = mv_verify_setting_find(name);

	if (s == NULL)
		fail_msg("no setting %s", name);
	return mv_verify_setting_set(s, c, text, err, errlen);
}

static void set_ok(struct mv_verify_config *c, const char *name, const char *text)
{
	char err[200] = "";

	if (set(c, name, text, err, sizeof err) != MV_OK)
		fail_msg("%s = %s refused: %s", name, text, err);
}

/* name = text is refused, c stays as it was, and the message says `want`. */
static void set_bad(const char *name, const char *text, const char *want)
{
	struct mv_verify_config c, before;
	char err[200] = "";

	mv_verify_config_default(&c);
	memcpy(&before, &c, sizeof c);
	assert_int_equal(set(&c, name, text, err, sizeof err), MV_EINVAL);
	if (strstr(err, want) == NULL)
		fail_msg("%s = \"%s\": message \"%s\" does not say \"%s\"", name, text, err, want);
	assert_memory_equal(&c, &before, sizeof c);
}

static void table_is_well_formed(void **state)
{
	const struct mv_verify_setting *s;
	size_t n;

	(void)state;
	s = mv_verify_settings(&n);
	assert_true(n >= 17);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(strspn(s[i].name, "abcdefghijklmnopqrstuvwxyz0123456789_"),
		                 strlen(s[i].name));
		assert_ptr_equal(mv_verify_setting_find(s[i].name), &s[i]);
		assert_non_null(s[i].value_name);
		assert_non_null(s[i].def);
		assert_non_null(s[i].store);
		assert_true(strlen(s[i].help) > 20);
		assert_int_equal(s[i].help[strlen(s[i].help) - 1], '.');
		if (s[i].type == MV_VERIFY_SETTING_ENUM)
			assert_non_null(s[i].names);
		if (s[i].type == MV_VERIFY_SETTING_UINT)
			assert_true(s[i].min <= s[i].max);
	}
	assert_null(mv_verify_setting_find("dmarc-mode"));  /* the option's spelling is the CLI's */
	assert_null(mv_verify_setting_find("authserv_id")); /* each front end's own */
	assert_null(mv_verify_setting_find(""));
}

/* The defaults the table states are the ones mv_verify_config_default() sets. */
static void every_default_text_is_the_default(void **state)
{
	struct mv_verify_config def, c;
	const struct mv_verify_setting *s;
	size_t n;

	(void)state;
	mv_verify_config_default(&def);
	s = mv_verify_settings(&n);
	for (size_t i = 0; i < n; i++) {
		memcpy(&c, &def, sizeof c);
		set_ok(&c, s[i].name, s[i].def);
		if (memcmp(&c, &def, sizeof c) != 0)
			fail_msg("%s = %s is not the default", s[i].name, s[i].def);
	}
}

/* A value other than the default; NULL when there is none to try. */
static const char *other_value(const struct mv_verify_setting *s, char *buf, size_t len)
{
	switch (s->type) {
	case MV_VERIFY_SETTING_BOOL:
		return strcmp(s->def, "yes") == 0 ? "no" : "yes";
	case MV_VERIFY_SETTING_UINT:
		snprintf(buf, len, "%u", strcmp(s->def, "1") == 0 ? s->max : s->min + 1);
		return buf;
	case MV_VERIFY_SETTING_ENUM:
		return strcmp(s->names[0], s->def) == 0 ? s->names[1] : s->names[0];
	case MV_VERIFY_SETTING_STRING:
		return "/some/where";
	}
	return NULL;
}

/* Each entry's store() reaches a field: another value changes the config. */
static void every_setting_changes_the_config(void **state)
{
	struct mv_verify_config def, c;
	const struct mv_verify_setting *s;
	char buf[32];
	size_t n;

	(void)state;
	mv_verify_config_default(&def);
	s = mv_verify_settings(&n);
	for (size_t i = 0; i < n; i++) {
		const char *v = other_value(&s[i], buf, sizeof buf);
		memcpy(&c, &def, sizeof c);
		set_ok(&c, s[i].name, v);
		if (memcmp(&c, &def, sizeof c) == 0)
			fail_msg("%s = %s changed nothing", s[i].name, v);
	}
}

static void numbers_within_their_range(void **state)
{
	struct mv_verify_config c;

	(void)state;
	mv_verify_config_default(&c);
	set_ok(&c, "budget_ms", "1500");
	assert_int_equal(c.budget_ms, 1500);
	set_ok(&c, "budget_ms", "0");
	assert_int_equal(c.budget_ms, 0);
	set_ok(&c, "budget_ms", "600000");
	assert_int_equal(c.budget_ms, 600000);
	set_ok(&c, "dmarc_reserve_pct", "100");
	assert_int_equal(c.dmarc_reserve_pct, 100);
	set_ok(&c, "dkim_max_signatures", "0");
	assert_int_equal(c.dkim_max_sigs, 0);
	set_ok(&c, "iprev_max_names", "100");
	assert_int_equal(c.iprev_max_names, 100);
	set_bad("budget_ms", "600001", "expected a number from 0 to 600000, not \"600001\"");
	set_bad("budget_ms", "-1", "from 0 to 600000");
	set_bad("budget_ms", "+5", "from 0 to 600000");
	set_bad("budget_ms", " 5", "from 0 to 600000");
	set_bad("budget_ms", "12abc", "not \"12abc\"");
	set_bad("budget_ms", "", "not \"\"");
	set_bad("budget_ms", "99999999999999999999999", "from 0 to 600000");
	set_bad("dmarc_reserve_pct", "101", "from 0 to 100");
	set_bad("dkim_max_signatures", "101", "from 0 to 100");
	set_bad("iprev_max_names", "0", "from 1 to 100");
}

static void booleans_in_any_spelling(void **state)
{
	static const char *const yes[] = {"yes", "YES", "true", "On", "1"};
	static const char *const no[] = {"no", "No", "FALSE", "off", "0"};
	struct mv_verify_config c;

	(void)state;
	mv_verify_config_default(&c);
	for (size_t i = 0; i < 5; i++) {
		set_ok(&c, "iprev", no[i]);
		assert_int_equal(c.iprev, 0);
		set_ok(&c, "iprev", yes[i]);
		assert_int_equal(c.iprev, 1);
	}
	set_ok(&c, "arc", "no");
	assert_int_equal(c.arc, 0);
	set_ok(&c, "dkim_allow_l", "no");
	assert_int_equal(c.dkim_allow_l, 0);
	set_ok(&c, "dmarc_enforce", "no");
	assert_int_equal(c.dmarc_enforce, 0);
	set_ok(&c, "dmarc_np", "no");
	assert_int_equal(c.dmarc.use_np, 0);
	set_ok(&c, "virtual_dmarc", "no");
	assert_int_equal(c.dmarc.virtual_enabled, 0);
	set_ok(&c, "virtual_bestguesspass", "yes");
	assert_int_equal(c.dmarc.virtual_bestguess, 1);
	set_bad("iprev", "maybe", "expected yes or no, not \"maybe\"");
	set_bad("arc", "", "expected yes or no");
	set_bad("arc", "yes ", "expected yes or no");
	set_bad("arc", "2", "expected yes or no");
}

static void enums_by_their_names(void **state)
{
	struct mv_verify_config c;

	(void)state;
	mv_verify_config_default(&c);
	set_ok(&c, "dmarc_mode", "rfc7489");
	assert_int_equal(c.dmarc.mode, MV_DMARC_MODE_7489);
	set_ok(&c, "dmarc_mode", "rfc9989");
	assert_int_equal(c.dmarc.mode, MV_DMARC_MODE_9989);
	set_ok(&c, "virtual_alignment", "relaxed");
	assert_int_equal(c.dmarc.virtual_adkim, MV_DMARC_RELAXED);
	assert_int_equal(c.dmarc.virtual_aspf, MV_DMARC_RELAXED);
	set_ok(&c, "virtual_alignment", "strict");
	assert_int_equal(c.dmarc.virtual_adkim, MV_DMARC_STRICT);
	assert_int_equal(c.dmarc.virtual_aspf, MV_DMARC_STRICT);
	set_ok(&c, "dmarc_temperror", "accept");
	assert_int_equal(c.dmarc_temperror_action, MV_VERIFY_ACCEPT);
	set_ok(&c, "dmarc_temperror", "tempfail");
	assert_int_equal(c.dmarc_temperror_action, MV_VERIFY_TEMPFAIL);
	set_bad("dmarc_mode", "RFC7489", "expected one of rfc9989|rfc7489, not \"RFC7489\"");
	set_bad("dmarc_mode", "7489", "rfc9989|rfc7489");
	set_bad("dmarc_temperror", "reject", "tempfail|accept");
	set_bad("virtual_alignment", "", "strict|relaxed");
}

/* bad_from sets from_permerror_action and from_permerror_protect together. */
static void bad_from_sets_both_fields(void **state)
{
	struct mv_verify_config c;

	(void)state;
	mv_verify_config_default(&c);
	set_ok(&c, "bad_from", "reject");
	assert_int_equal(c.from_permerror_action, MV_VERIFY_REJECT);
	assert_int_equal(c.from_permerror_protect, 0);
	set_ok(&c, "bad_from", "accept");
	assert_int_equal(c.from_permerror_action, MV_VERIFY_ACCEPT);
	assert_int_equal(c.from_permerror_protect, 0);
	set_ok(&c, "bad_from", "reject-if-protected");
	assert_int_equal(c.from_permerror_action, MV_VERIFY_ACCEPT);
	assert_int_equal(c.from_permerror_protect, 1);
	set_bad("bad_from", "protected", "reject-if-protected|accept|reject");
}

/* A string setting keeps the caller's pointer; "" unsets it. */
static void strings_are_borrowed(void **state)
{
	static const char path[] = "/etc/mailvet/psl.dat";
	static const char name[] = "mx.example.org";
	struct mv_verify_config c;

	(void)state;
	mv_verify_config_default(&c);
	set_ok(&c, "psl", path);
	assert_ptr_equal(c.psl_file, path);
	set_ok(&c, "receiver", name);
	assert_ptr_equal(c.receiver, name);
	set_ok(&c, "psl", "");
	assert_null(c.psl_file);
	set_ok(&c, "receiver", "");
	assert_null(c.receiver);
}

static void the_psl_is_opened_for_rfc7489_only(void **state)
{
	struct mv_verify_config c;
	struct mv_dmarc_psl *psl = (struct mv_dmarc_psl *)&c;
	char err[300] = "";

	(void)state;
	mv_verify_config_default(&c);
	assert_int_equal(mv_verify_config_open_psl(&c, &psl, err, sizeof err), MV_OK);
	assert_null(psl);
	assert_null(c.dmarc.psl);

	set_ok(&c, "dmarc_mode", "rfc7489");
	set_ok(&c, "psl", "/nonexistent/psl.dat");
	assert_int_equal(mv_verify_config_open_psl(&c, &psl, err, sizeof err), MV_EIO);
	assert_null(psl);
	assert_null(c.dmarc.psl);
	assert_non_null(strstr(err, "/nonexistent/psl.dat"));

	set_ok(&c, "psl", ""); /* the system's list, else libpsl's own */
	if (mv_verify_config_open_psl(&c, &psl, err, sizeof err) != MV_OK)
		fail_msg("no public suffix list: %s (publicsuffix, libpsl5: scripts/install-deps)",
		         err);
	assert_non_null(psl);
	assert_ptr_equal(c.dmarc.psl, psl);
	mv_dmarc_psl_free(psl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(table_is_well_formed),
	        cmocka_unit_test(every_default_text_is_the_default),
	        cmocka_unit_test(every_setting_changes_the_config),
	        cmocka_unit_test(numbers_within_their_range),
	        cmocka_unit_test(booleans_in_any_spelling),
	        cmocka_unit_test(enums_by_their_names),
	        cmocka_unit_test(bad_from_sets_both_fields),
	        cmocka_unit_test(strings_are_borrowed),
	        cmocka_unit_test(the_psl_is_opened_for_rfc7489_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
