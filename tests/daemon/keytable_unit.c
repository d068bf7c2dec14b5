/* tests/daemon/keytable_unit.c — [signing] tables: OpenDKIM KeyTable/SigningTable, key directory, rotation (cmocka). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <mailvet/util.h>
#include "config.h"
#include "keys.h"
#include "keytable.h"

#ifndef MVD_TEST_DATA
#error "MVD_TEST_DATA must name tests/daemon/data"
#endif
#define ED_KEY MVD_TEST_DATA "/ed1.pem"
#define RSA_KEY MVD_TEST_DATA "/rsa1.pem"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/mv-keytable-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Write text to dir/name; the path in a static buffer of its own (one per slot). */
static const char *put(int slot, const char *name, const char *text)
{
	static char paths[4][256];
	FILE *f;

	snprintf(paths[slot], sizeof paths[slot], "%s/%s", dir, name);
	f = fopen(paths[slot], "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return paths[slot];
}

static struct mvd_keytable *read_ok(const char *kt, const char *st, const char *kd)
{
	struct mvd_keytable *t = NULL;
	char err[512] = "";

	if (mvd_keytable_read(kt, st, kd, &t, err, sizeof err) != MV_OK)
		fail_msg("read failed: %s", err);
	assert_non_null(t);
	return t;
}

/* The tables fail to read with an error containing want (a FILE:LINE and the reason). */
static void read_fails(const char *kt_text, const char *st_text, const char *want)
{
	struct mvd_keytable *t = NULL;
	char err[512] = "", st_spec[300];
	const char *kt = put(0, "KeyTable", kt_text);

	snprintf(st_spec, sizeof st_spec, "refile:%s", put(1, "SigningTable", st_text));
	assert_int_not_equal(mvd_keytable_read(kt, st_spec, NULL, &t, err, sizeof err), MV_OK);
	assert_null(t);
	if (!strstr(err, want))
		fail_msg("error \"%s\" does not mention \"%s\"", err, want);
}

static void key_table_lines_read_as_opendkim_writes_them(void **state)
{
	struct mvd_keytable *t;
	const struct mvd_kt_key *k;
	char st[300];

	(void)state;
	snprintf(st, sizeof st, "refile:%s",
	         put(1, "SigningTable", "# comment\n*@example.com mail._domainkey.example.com\n"));
	t = read_ok(put(0, "KeyTable",
	                "# OpenDKIM KeyTable\n\n"
	                "mail._domainkey.example.com example.com:mail:" ED_KEY "  # trailing\n"
	                "other\tExample.ORG:s2024:" RSA_KEY "\r\n"),
	            st, NULL);
	assert_int_equal(t->nkeys, 2);
	assert_int_equal(t->st_wild, 1);
	k = mvd_keytable_key(t, "mail._domainkey.example.com", 0);
	assert_non_null(k);
	assert_string_equal(k->domain, "example.com");
	assert_string_equal(k->selector, "mail");
	assert_string_equal(k->path, ED_KEY);
	assert_int_equal(k->line, 3);
	k = mvd_keytable_key(t, "other", 0);
	assert_string_equal(k->domain, "example.org"); /* lowercased */
	assert_string_equal(k->selector, "s2024");
	assert_int_equal(mvd_keytable_load_keys(t, NULL, 0), MV_OK);
	assert_non_null(k->key);
	mvd_keytable_free(t);
}

static void malformed_lines_are_refused_with_file_and_line(void **state)
{
	const char *st = "*@example.com k\n";

	(void)state;
	read_fails("k example.com:mail\n", st, "KeyTable:1: expected DOMAIN:SELECTOR");
	read_fails("\n\nk example.com:mail:relative/key.pem\n", st,
	           "KeyTable:3: the key must be an "
	           "absolute path");
	read_fails("k exa mple.com:mail:/k.pem\n", st, "KeyTable:1:");
	read_fails("k bad..domain:mail:/k.pem\n", st, "KeyTable:1: bad domain name");
	read_fails("k example.com:s;el:/k.pem\n", st, "KeyTable:1: bad selector");
	read_fails("k example.com:mail:/k.pem not_before=2026-02-30\n", st,
	           "KeyTable:1: not_before: expected a date");
	read_fails("k example.com:mail:/k.pem not_before=2026-03-01 not_after=2026-01-01\n", st,
	           "not_after is before not_before");
	read_fails("k example.com:mail:/k.pem colour=blue\n", st, "KeyTable:1: expected");
	read_fails("k example.com:a:/a.pem\nk example.com:b:/b.pem\n", st,
	           "KeyTable:2: key k is also on line 1 with the same not_before");
	read_fails("k example.com:mail:/k.pem\n", "# x\n*@example.com k\n*@example.org nokey\n",
	           "SigningTable:3: key name \"nokey\" is not in the key table");
	read_fails("k example.com:mail:/k.pem\n", "lonely\n", "SigningTable:1: expected");
	read_fails("k example.com:mail:/k.pem\n", "a b c d\n", "SigningTable:1: expected");
}

static void a_line_too_long_or_a_nul_byte_is_refused(void **state)
{
	char *big = malloc(MVD_KEYTABLE_MAX_LINE + 100);

	(void)state;
	assert_non_null(big);
	memset(big, 'a', MVD_KEYTABLE_MAX_LINE + 50);
	big[MVD_KEYTABLE_MAX_LINE + 50] = '\0';
	read_fails(big, "*@example.com k\n", "KeyTable:1: line longer than");
	free(big);
	{
		struct mvd_keytable *t = NULL;
		char err[300] = "", spec[300];
		FILE *f;
		const char *kt = put(0, "KeyTable", "");
		f = fopen(kt, "w");
		fwrite("k example.com:m:/k.pem\n\0\n", 1, 25, f);
		fclose(f);
		snprintf(spec, sizeof spec, "%s", put(1, "SigningTable", "x k\n"));
		assert_int_equal(mvd_keytable_read(kt, spec, NULL, &t, err, sizeof err),
		                 MV_ESYNTAX);
		assert_non_null(strstr(err, "KeyTable:2: a NUL byte"));
	}
}

static void one_table_without_the_other_is_refused(void **state)
{
	struct mvd_keytable *t = NULL;
	char err[300] = "";

	(void)state;
	assert_int_equal(mvd_keytable_read("/etc/x", "", NULL, &t, err, sizeof err), MV_ESYNTAX);
	assert_non_null(strstr(err, "key_table needs signing_table"));
	assert_int_equal(mvd_keytable_read("", "", "", &t, err, sizeof err), MV_OK);
	assert_null(t);
	assert_int_equal(
	        mvd_keytable_read("/nonexistent/kt", "/nonexistent/st", NULL, &t, err, sizeof err),
	        MV_EIO);
	assert_non_null(strstr(err, "/nonexistent/kt: No such file"));
}

static void refile_patterns_match_in_file_order(void **state)
{
	struct mvd_keytable *t;
	char st[300];
	unsigned line = 0;

	(void)state;
	snprintf(st, sizeof st, "refile:%s",
	         put(1, "SigningTable",
	             "ceo@example.com kceo\n"
	             "*@example.com kex\n"
	             "*@*.example.org ksub\n"
	             "*@example.org korg\n"
	             "*.example.net knet\n"
	             "*@example.com knever\n"
	             "* kall\n"));
	t = read_ok(put(0, "KeyTable",
	                "kceo example.com:ceo:/k\nkex example.com:m:/k\nksub example.org:m:/k\n"
	                "korg example.org:m:/k\nknet example.net:m:/k\nknever example.com:x:/k\n"
	                "kall example.com:all:/k\n"),
	            st, NULL);
	assert_string_equal(mvd_keytable_lookup(t, "ceo", "example.com", &line), "kceo");
	assert_int_equal(line, 1);
	assert_string_equal(mvd_keytable_lookup(t, "CEO", "EXAMPLE.com", NULL), "kceo");
	assert_string_equal(mvd_keytable_lookup(t, "bob", "example.com", &line), "kex");
	assert_int_equal(line, 2);
	assert_string_equal(mvd_keytable_lookup(t, "bob", "a.b.example.org", NULL), "ksub");
	assert_string_equal(mvd_keytable_lookup(t, "bob", "example.org", NULL), "korg");
	/* "*.example.net" is matched against the address: "*" takes "bob@mail". */
	assert_string_equal(mvd_keytable_lookup(t, "bob", "mail.example.net", NULL), "knet");
	assert_string_equal(mvd_keytable_lookup(t, "bob", "example.net", NULL), "kall");
	assert_string_equal(mvd_keytable_lookup(t, "x", "elsewhere.test", &line), "kall");
	assert_int_equal(line, 7);
	mvd_keytable_free(t);
}

static void exact_lookups_follow_opendkim_order(void **state)
{
	struct mvd_keytable *t;
	const char *kt = put(0, "KeyTable",
	                     "kuser a.test:m:/k\nkhost a.test:m:/k\nkupar a.test:m:/k\n"
	                     "kpar a.test:m:/k\nkuany a.test:m:/k\nkall a.test:m:/k\n");

	(void)state;
	t = read_ok(
	        kt,
	        put(1, "SigningTable",
	            "bob@mail.a.test kuser\nmail.a.test khost\nbob@.a.test kupar\n.a.test kpar\n"
	            "bob@* kuany\n* kall\n"),
	        NULL);
	assert_int_equal(t->st_wild, 0);
	assert_string_equal(mvd_keytable_lookup(t, "bob", "mail.a.test", NULL), "kuser");
	assert_string_equal(mvd_keytable_lookup(t, "eve", "mail.a.test", NULL), "khost");
	assert_string_equal(mvd_keytable_lookup(t, "bob", "x.a.test", NULL), "kupar");
	assert_string_equal(mvd_keytable_lookup(t, "eve", "x.a.test", NULL), "kpar");
	assert_string_equal(mvd_keytable_lookup(t, "bob", "b.test", NULL), "kuany");
	assert_string_equal(mvd_keytable_lookup(t, "eve", "b.test", NULL), "kall");
	mvd_keytable_free(t);
	/* file: is the same as no prefix; "*@example.com" is not a pattern there. */
	{
		char spec[300];
		snprintf(spec, sizeof spec, "file:%s",
		         put(1, "SigningTable", "*@example.com kuser\nexample.com khost\n"));
		t = read_ok(kt, spec, NULL);
		assert_string_equal(mvd_keytable_lookup(t, "bob", "example.com", NULL), "khost");
		assert_null(mvd_keytable_lookup(t, "bob", "example.org", NULL));
		mvd_keytable_free(t);
	}
}

static void glob_is_bounded_on_hostile_patterns(void **state)
{
	char s[400], p[200];
	clock_t start = clock();

	(void)state;
	assert_true(mvd_keytable_glob("*@example.com", "a@example.com"));
	assert_true(mvd_keytable_glob("*", ""));
	assert_false(mvd_keytable_glob("*@example.com", "a@example.co"));
	assert_true(mvd_keytable_glob("a*b*c", "aXXbYYc"));
	assert_false(mvd_keytable_glob("a*b*c", "aXXbYY"));
	assert_false(mvd_keytable_glob("a.b", "a-b")); /* '.' is a dot, not any byte */
	memset(s, 'a', sizeof s - 1);
	s[sizeof s - 1] = '\0';
	for (size_t i = 0; i + 1 < sizeof p; i += 2)
		p[i] = '*', p[i + 1] = 'a';
	p[sizeof p - 2] = 'b';
	p[sizeof p - 1] = '\0';
	assert_false(mvd_keytable_glob(p, s));
	assert_true((double)(clock() - start) / CLOCKS_PER_SEC < 2.0);
}

static void dates_are_checked_days(void **state)
{
	(void)state;
	assert_int_equal(mvd_keytable_date("1970-01-01"), 0);
	assert_int_equal(mvd_keytable_date("2000-03-01"), 951868800);
	assert_int_equal(mvd_keytable_date("2024-02-29"), 1709164800);
	assert_int_equal(mvd_keytable_date("2023-02-29"), -1);
	assert_int_equal(mvd_keytable_date("2100-02-29"), -1);
	assert_int_equal(mvd_keytable_date("2026-13-01"), -1);
	assert_int_equal(mvd_keytable_date("2026-1-01"), -1);
	assert_int_equal(mvd_keytable_date("2026-01-011"), -1);
	assert_int_equal(mvd_keytable_date("1969-12-31"), -1);
}

static void rotation_switches_to_the_new_selector_by_date(void **state)
{
	struct mvd_keytable *t;
	struct mv_outbound_key keys[8];
	char why[300] = "";
	int64_t jan1 = mvd_keytable_date("2027-01-01"), day = 86400;

	(void)state;
	t = read_ok(put(0, "KeyTable",
	                "ex example.com:s2026:" RSA_KEY " not_after=2027-01-14\n"
	                "ex example.com:s2027:" ED_KEY " not_before=2027-01-01\n"
	                "old example.com:gone:" ED_KEY " not_after=2020-01-01\n"),
	            put(1, "SigningTable", "example.com ex\nold.example old\n"), NULL);
	assert_int_equal(mvd_keytable_load_keys(t, why, sizeof why), MV_OK);
	assert_string_equal(mvd_keytable_key(t, "ex", jan1 - 1)->selector, "s2026");
	assert_string_equal(mvd_keytable_key(t, "ex", jan1)->selector, "s2027");
	assert_string_equal(mvd_keytable_key(t, "ex", jan1 + 20 * day)->selector, "s2027");
	assert_int_equal(
	        mvd_keytable_choose(t, "bob", "example.com", jan1 - 1, keys, 8, why, sizeof why),
	        1);
	assert_string_equal(keys[0].selector, "s2026");
	assert_string_equal(keys[0].domain, "example.com");
	assert_int_equal(
	        mvd_keytable_choose(t, "bob", "example.com", jan1 + day, keys, 8, why, sizeof why),
	        1);
	assert_string_equal(keys[0].selector, "s2027");
	/* not_after is the whole day it names: the last second of 2020-01-01 still signs. */
	assert_non_null(mvd_keytable_key(t, "old", mvd_keytable_date("2020-01-02") - 1));
	assert_int_equal(
	        mvd_keytable_choose(t, "bob", "old.example", jan1, keys, 8, why, sizeof why), 0);
	assert_non_null(strstr(why, "no version valid now"));
	mvd_keytable_free(t);
}

static void key_directory_holds_domain_slash_selector(void **state)
{
	struct mvd_keytable *t;
	struct mv_outbound_key keys[8];
	char path[100], why[300] = "", cmd[1200];

	(void)state;
	snprintf(path, sizeof path, "%s/keys", dir);
	snprintf(cmd, sizeof cmd,
	         "mkdir -p %s/example.com %s/other.test && cp " ED_KEY " %s/example.com/ed.pem && "
	         "cp " RSA_KEY " %s/example.com/mail.private && cp " RSA_KEY
	         " %s/other.test/notakey.txt && touch %s/README",
	         path, path, path, path, path, path);
	assert_int_equal(system(cmd), 0);
	t = read_ok(NULL, NULL, path);
	assert_int_equal(t->ndirkeys, 2);
	assert_int_equal(mvd_keytable_load_keys(t, why, sizeof why), MV_OK);
	assert_int_equal(mvd_keytable_choose(t, "a", "Example.COM", 0, keys, 8, why, sizeof why),
	                 2);
	assert_string_equal(keys[0].selector, "ed");
	assert_string_equal(keys[1].selector, "mail");
	assert_string_equal(keys[0].domain, "example.com");
	assert_int_equal(mvd_keytable_choose(t, "a", "other.test", 0, keys, 8, why, sizeof why), 0);
	assert_non_null(strstr(why, "no DKIM key for other.test"));
	mvd_keytable_free(t);
	assert_int_equal(mvd_keytable_read(NULL, NULL, "/nonexistent/keys", &t, why, sizeof why),
	                 MV_EIO);
	assert_int_equal(mvd_keytable_read(NULL, NULL, "relative/keys", &t, why, sizeof why),
	                 MV_ESYNTAX);
}

/* Issue 16: thousands of domains without a section each; loading stays fast, lookups right. */
static void five_thousand_domains_load_fast_and_look_up_right(void **state)
{
	enum { N = 5000 };
	struct mvd_keytable *t;
	struct mv_buf kt, st;
	struct mv_outbound_key keys[8];
	char name[128], spec[300], why[300] = "";
	struct timespec a, b;
	double secs;

	(void)state;
	mv_buf_init(&kt);
	mv_buf_init(&st);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof name, "k%d d%d.example:sel%d:" ED_KEY "\n", i, i, i % 7);
		assert_int_equal(mv_buf_puts(&kt, name), MV_OK);
		snprintf(name, sizeof name, "*@d%d.example k%d\n", i, i);
		assert_int_equal(mv_buf_puts(&st, name), MV_OK);
	}
	assert_int_equal(mv_buf_puts(&st, "*@*.example kcatch\n"), MV_OK);
	assert_int_equal(mv_buf_puts(&kt, "kcatch example:c:" ED_KEY "\n"), MV_OK);
	assert_int_equal(mv_buf_putc(&kt, '\0'), MV_OK);
	assert_int_equal(mv_buf_putc(&st, '\0'), MV_OK);
	snprintf(spec, sizeof spec, "refile:%s", put(1, "SigningTable", st.data));
	clock_gettime(CLOCK_MONOTONIC, &a);
	t = read_ok(put(0, "KeyTable", kt.data), spec, NULL);
	assert_int_equal(mvd_keytable_load_keys(t, why, sizeof why), MV_OK);
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	print_message("read and loaded %d keys in %.3f s\n", N + 1, secs);
	assert_true(secs < 10.0); /* ~0.1 s here; ASan builds are slower */
	assert_int_equal(t->nkeys, N + 1);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < N; i++) {
		char dom[64], sel[16];
		snprintf(dom, sizeof dom, "d%d.example", i);
		snprintf(sel, sizeof sel, "sel%d", i % 7);
		assert_int_equal(mvd_keytable_choose(t, "user", dom, 0, keys, 8, why, sizeof why),
		                 1);
		assert_string_equal(keys[0].domain, dom);
		assert_string_equal(keys[0].selector, sel);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	print_message("%d lookups in %.3f s\n", N, secs);
	assert_true(secs < 10.0);
	/* A domain of no line of its own falls to the catch-all at the end of the file. */
	assert_int_equal(mvd_keytable_choose(t, "user", "new.example", 0, keys, 8, why, sizeof why),
	                 1);
	assert_string_equal(keys[0].selector, "c");
	mvd_keytable_free(t);
	mv_buf_free(&kt);
	mv_buf_free(&st);
}

/* OpenDKIM's "%": the author domain, as a key name and as a key's domain. */
static void percent_stands_for_the_author_domain(void **state)
{
	static const char kt[] = "a.test a.test:sel:/k\nany %:wild:/k\n";
	static const char st[] = "*@a.test %\n*@b.test any\n";
	struct mvd_keytable *t = NULL;
	struct mv_outbound_key keys[8];
	char why[300] = "";

	(void)state;
	assert_int_equal(mvd_keytable_parse(kt, strlen(kt), st, strlen(st), 1, &t, why, sizeof why),
	                 MV_OK);
	t->keys[0].key = t->keys[1].key =
	        (struct mv_dkim_signkey *)t; /* not used: a non-NULL mark */
	t->keys[0].borrowed = t->keys[1].borrowed = 1;
	assert_int_equal(mvd_keytable_choose(t, "x", "A.test", 0, keys, 8, why, sizeof why), 1);
	assert_string_equal(keys[0].selector, "sel");
	assert_int_equal(mvd_keytable_choose(t, "x", "b.test", 0, keys, 8, why, sizeof why), 1);
	assert_string_equal(keys[0].selector, "wild");
	assert_string_equal(keys[0].domain, "b.test");
	mvd_keytable_free(t);
}

/* [domain] sections win over the signing table, which wins over the key directory. */
static void domain_sections_come_first(void **state)
{
	struct mvd_config c;
	struct mvd_keys *k = NULL;
	struct mv_outbound_key keys[8];
	char text[1500], err[512] = "", why[300] = "", cmd[1000];

	(void)state;
	snprintf(cmd, sizeof cmd,
	         "mkdir -p %s/kd/dir.test %s/kd/both.test && cp " ED_KEY
	         " %s/kd/dir.test/d.pem && cp " ED_KEY " %s/kd/both.test/d.pem",
	         dir, dir, dir, dir);
	assert_int_equal(system(cmd), 0);
	put(0, "KeyTable", "kb both.test:tbl:" ED_KEY "\nks sec.test:tbl:" ED_KEY "\n");
	put(1, "SigningTable", "*@both.test kb\n*@sec.test ks\n");
	snprintf(text, sizeof text,
	         "[milter]\nuser =\n[signing]\nkey_table = %s/KeyTable\n"
	         "signing_table = refile:%s/SigningTable\nkey_directory = %s/kd\n"
	         "[domain sec.test]\nkey = sec " ED_KEY "\n",
	         dir, dir, dir);
	assert_int_equal(mvd_config_init(&c), MV_OK);
	if (mvd_config_parse(&c, text, err, sizeof err) != MV_OK)
		fail_msg("%s", err);
	if (mvd_keys_load(&c, &k, err, sizeof err) != MV_OK)
		fail_msg("%s", err);
	assert_int_equal(mvd_keys_choose_at(k, "a", "sec.test", 0, keys, 8, why, sizeof why), 1);
	assert_string_equal(keys[0].selector, "sec");
	assert_int_equal(mvd_keys_choose_at(k, "a", "both.test", 0, keys, 8, why, sizeof why), 1);
	assert_string_equal(keys[0].selector, "tbl");
	assert_int_equal(mvd_keys_choose_at(k, "a", "dir.test", 0, keys, 8, why, sizeof why), 1);
	assert_string_equal(keys[0].selector, "d");
	assert_int_equal(mvd_keys_choose_at(k, "a", "none.test", 0, keys, 8, why, sizeof why), 0);
	assert_non_null(strstr(why, "no DKIM key for none.test"));
	/* ARC's flat table: 1 [domain] key + 2 table keys + 2 directory keys. */
	assert_int_equal(k->ntable, 5);
	mvd_keys_free(k);
	mvd_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(key_table_lines_read_as_opendkim_writes_them),
	        cmocka_unit_test(malformed_lines_are_refused_with_file_and_line),
	        cmocka_unit_test(a_line_too_long_or_a_nul_byte_is_refused),
	        cmocka_unit_test(one_table_without_the_other_is_refused),
	        cmocka_unit_test(refile_patterns_match_in_file_order),
	        cmocka_unit_test(exact_lookups_follow_opendkim_order),
	        cmocka_unit_test(glob_is_bounded_on_hostile_patterns),
	        cmocka_unit_test(dates_are_checked_days),
	        cmocka_unit_test(rotation_switches_to_the_new_selector_by_date),
	        cmocka_unit_test(key_directory_holds_domain_slash_selector),
	        cmocka_unit_test(five_thousand_domains_load_fast_and_look_up_right),
	        cmocka_unit_test(percent_stands_for_the_author_domain),
	        cmocka_unit_test(domain_sections_come_first),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
