/*
 * tests/verify/test_verify_settings_doc.c — the settings table and what
 * the manuals and `mailvet verify --help` say agree both ways.
 *
 * - mailvet.conf(5) [verify] has every table setting as ".B name = default"
 *   with the table's default, and no key that is neither a setting nor one
 *   of mailvetd's own [verify] keys;
 * - `mailvet verify --help` lists every setting as --name with its help
 *   text, and its settings part lists nothing else;
 * - mailvet.1's verify section names every setting as --name, every option
 *   it names exists (is in --help), and every option --help names is in
 *   mailvet.1's verify or DNS OPTIONS section.
 * MV_SOURCE_DIR and MAILVET come from tests/CMakeLists.txt.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mailvet/util.h>
#include <mailvet/verify.h>

/* mailvetd's own [verify] keys (daemon/core/config.c keys[]), not settings. */
static const char *const daemon_keys[] = {"authserv_id", "authserv_subdomains", "internal_hosts",
                                          "trust_internal_versions", "delete_foreign"};

/* A whole file under MV_SOURCE_DIR, or the test fails. */
static char *source_file(const char *rel)
{
	const char *dir = getenv("MV_SOURCE_DIR");
	char path[4096], *text = NULL;
	size_t len;

	if (dir == NULL)
		fail_msg("MV_SOURCE_DIR is not set");
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	if (mv_read_file(path, 1 << 20, &text, &len) != MV_OK)
		fail_msg("cannot read %s", path);
	return text;
}

/* The standard output of `$MAILVET verify --help`. */
static char *verify_help(void)
{
	const char *mailvet = getenv("MAILVET");
	struct mv_buf b = MV_BUF_INIT;
	char cmd[4200], chunk[4096];
	size_t n;
	FILE *p;

	if (mailvet == NULL)
		fail_msg("MAILVET is not set");
	snprintf(cmd, sizeof cmd, "'%s' verify --help", mailvet);
	if ((p = popen(cmd, "r")) == NULL)
		fail_msg("cannot run %s", cmd);
	while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
		mv_buf_append(&b, chunk, n);
	assert_int_equal(pclose(p), 0);
	mv_buf_puts(&b, "");
	assert_int_equal(mv_buf_status(&b), MV_OK);
	return b.data;
}

/* A copy of text from `from` (included) to `to` (excluded, or the end). */
static char *between(const char *text, const char *from, const char *to)
{
	const char *a = strstr(text, from), *z;

	if (a == NULL)
		fail_msg("no \"%s\"", from);
	z = strstr(a + strlen(from), to);
	return mv_strndup(a, z ? (size_t)(z - a) : strlen(a));
}

/* roff to plain text: \- is -, font changes vanish. In place. */
static void plain(char *s)
{
	char *w = s;

	while (*s) {
		if (s[0] == '\\' && s[1] == '-') {
			*w++ = '-';
			s += 2;
		} else if (s[0] == '\\' && s[1] == 'f' && s[2]) {
			s += 3;
		} else {
			*w++ = *s++;
		}
	}
	*w = '\0';
}

/* Whitespace runs as one space, in place (wrapped help compares to the table's). */
static void squeeze(char *s)
{
	char *w = s;

	for (const char *r = s; *r; r++) {
		int blank = *r == ' ' || *r == '\n' || *r == '\t';
		if (blank && w > s && w[-1] == ' ')
			continue;
		*w++ = blank ? ' ' : *r;
	}
	*w = '\0';
}

/* "--opt" stands in text as a whole option name. */
static int names_option(const char *text, const char *opt)
{
	size_t n = strlen(opt);

	for (const char *p = strstr(text, opt); p; p = strstr(p + 1, opt)) {
		char after = p[n];
		if ((p == text || p[-1] != '-') && !(after >= 'a' && after <= 'z') &&
		    !(after >= '0' && after <= '9') && after != '-')
			return 1;
	}
	return 0;
}

/* The option a setting is, with the two dashes. */
static void option_of(const char *name, char *out, size_t len)
{
	size_t i;

	snprintf(out, len, "--%s", name);
	for (i = 2; out[i]; i++)
		if (out[i] == '_')
			out[i] = '-';
}

/* The setting whose option is `opt` (with dashes, --no- allowed for yes/no), or NULL. */
static const struct mv_verify_setting *setting_of_option(const char *opt)
{
	const struct mv_verify_setting *s;
	char o[80];
	size_t n;

	s = mv_verify_settings(&n);
	for (size_t i = 0; i < n; i++) {
		option_of(s[i].name, o, sizeof o);
		if (strcmp(o, opt) == 0)
			return &s[i];
		if (s[i].type == MV_VERIFY_SETTING_BOOL && strncmp(opt, "--no-", 5) == 0 &&
		    strcmp(o + 2, opt + 5) == 0)
			return &s[i];
	}
	return NULL;
}

/* Calls fn(opt, arg) for each "--name" (lowercase) in text. */
static void each_option(const char *text, void (*fn)(const char *opt, void *arg), void *arg)
{
	char opt[80];

	for (const char *p = strstr(text, "--"); p; p = strstr(p + 2, "--")) {
		size_t n = strspn(p + 2, "abcdefghijklmnopqrstuvwxyz0123456789-");
		if (n == 0 || n + 3 > sizeof opt || p[2 + n - 1] == '-' ||
		    (p != text && p[-1] == '-'))
			continue;
		snprintf(opt, sizeof opt, "--%.*s", (int)n, p + 2);
		fn(opt, arg);
	}
}

static void conf_has_every_setting_with_its_default(void **state)
{
	const struct mv_verify_setting *s;
	char *conf = source_file("man/mailvet.conf.5"), *sec, line[300];
	size_t n;

	(void)state;
	sec = between(conf, "\n.SH [verify]\n", "\n.SH ");
	s = mv_verify_settings(&n);
	for (size_t i = 0; i < n; i++) {
		snprintf(line, sizeof line, "\n.B %s =%s%s\n", s[i].name, s[i].def[0] ? " " : "",
		         s[i].def);
		if (strstr(sec, line) == NULL)
			fail_msg("mailvet.conf(5) [verify] lacks \"%.*s\"", (int)strlen(line) - 2,
			         line + 1);
	}
	free(sec);
	free(conf);
}

static void conf_verify_keys_are_settings_or_the_daemons(void **state)
{
	char *conf = source_file("man/mailvet.conf.5"), *sec, key[80];
	const char *p;
	int known;

	(void)state;
	sec = between(conf, "\n.SH [verify]\n", "\n.SH ");
	for (p = strstr(sec, "\n.B "); p; p = strstr(p + 1, "\n.B ")) {
		size_t k = strcspn(p + 4, " \n");
		if (strncmp(p + 4 + k, " =", 2) != 0)
			continue; /* a bold word, not a key line */
		snprintf(key, sizeof key, "%.*s", (int)k, p + 4);
		known = mv_verify_setting_find(key) != NULL;
		for (size_t i = 0; i < sizeof daemon_keys / sizeof daemon_keys[0]; i++)
			known |= strcmp(key, daemon_keys[i]) == 0;
		if (!known)
			fail_msg("mailvet.conf(5) [verify] %s is neither a setting nor mailvetd's",
			         key);
	}
	free(sec);
	free(conf);
}

static void help_lists_every_setting_with_its_text(void **state)
{
	const struct mv_verify_setting *s;
	char *help = verify_help(), *want, opt[80];
	size_t n;

	(void)state;
	squeeze(help);
	s = mv_verify_settings(&n);
	for (size_t i = 0; i < n; i++) {
		option_of(s[i].name, opt, sizeof opt);
		if (!names_option(help, opt))
			fail_msg("mailvet verify --help lacks %s", opt);
		want = strdup(s[i].help);
		squeeze(want);
		if (strstr(help, want) == NULL)
			fail_msg("mailvet verify --help lacks the help of %s: %s", opt, want);
		free(want);
	}
	free(help);
}

static void fail_unless_setting(const char *opt, void *arg)
{
	(void)arg;
	if (setting_of_option(opt) == NULL)
		fail_msg("mailvet verify --help lists %s among the settings; the table has no such",
		         opt);
}

/* The settings part of --help (up to the older spellings) names only settings. */
static void help_settings_part_names_only_settings(void **state)
{
	char *help = verify_help(), *part;

	(void)state;
	part = between(help, "Settings (", "Older spellings:");
	each_option(part, fail_unless_setting, NULL);
	free(part);
	free(help);
}

static void fail_unless_in(const char *opt, void *arg)
{
	const char *const *texts = arg;
	const struct mv_verify_setting *s = setting_of_option(opt);

	if (strcmp(opt, "--help") == 0)
		return;
	/* --no-NAME: mailvet.1 says it once for every yes/no setting */
	if (s && s->type == MV_VERIFY_SETTING_BOOL && strncmp(opt, "--no-", 5) == 0)
		return;
	if (!names_option(texts[0], opt) && !(texts[1] && names_option(texts[1], opt)))
		fail_msg("%s is named in %s but not in %s", opt, texts[2], texts[3]);
}

static void man_verify_section_and_help_name_the_same_options(void **state)
{
	const struct mv_verify_setting *s;
	char *man = source_file("man/mailvet.1"), *help = verify_help(), *verify, *dns, opt[80];
	const char *texts[4];
	size_t n;

	(void)state;
	verify = between(man, "\n.SS verify\n", "\n.SS ");
	dns = between(man, "\n.SH DNS OPTIONS\n", "\n.SH ");
	plain(verify);
	plain(dns);
	s = mv_verify_settings(&n);
	for (size_t i = 0; i < n; i++) {
		option_of(s[i].name, opt, sizeof opt);
		if (!names_option(verify, opt))
			fail_msg("mailvet.1 verify section lacks %s", opt);
	}
	texts[0] = help, texts[1] = NULL, texts[2] = "mailvet.1", texts[3] = "--help";
	each_option(verify, fail_unless_in, texts);
	texts[0] = verify, texts[1] = dns, texts[2] = "--help", texts[3] = "mailvet.1";
	each_option(help, fail_unless_in, texts);
	free(verify);
	free(dns);
	free(help);
	free(man);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(conf_has_every_setting_with_its_default),
	        cmocka_unit_test(conf_verify_keys_are_settings_or_the_daemons),
	        cmocka_unit_test(help_lists_every_setting_with_its_text),
	        cmocka_unit_test(help_settings_part_names_only_settings),
	        cmocka_unit_test(man_verify_section_and_help_name_the_same_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
