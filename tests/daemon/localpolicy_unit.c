/* tests/daemon/localpolicy_unit.c — the [policy] local-policy lists: keys, files, matching (cmocka). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <mailvet/util.h>
#include "config.h"
#include "localpolicy.h"

struct fixture {
	char dir[64];
	char path[3][128]; /* files the cases write */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	snprintf(f->dir, sizeof f->dir, "/tmp/mv-lp-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	for (int i = 0; i < 3; i++)
		snprintf(f->path[i], sizeof f->path[i], "%s/list%d", f->dir, i);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < 3; i++)
		unlink(f->path[i]);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* Parse text as mailvet.conf and load its lists; NULL and err when either fails. */
static struct mvd_localpolicy *load(struct mvd_config *c, const char *text, char *err,
                                    size_t errlen, enum mv_status *st)
{
	struct mvd_localpolicy *lp = NULL;

	assert_int_equal(mvd_config_init(c), MV_OK);
	*st = mvd_config_parse(c, text, err, errlen);
	if (*st == MV_OK)
		*st = mvd_localpolicy_load(c, &lp, err, errlen);
	return lp;
}

static struct mvd_localpolicy *load_ok(struct mvd_config *c, const char *text)
{
	char err[512] = "";
	enum mv_status st;
	struct mvd_localpolicy *lp = load(c, text, err, sizeof err, &st);

	if (st != MV_OK)
		fail_msg("load failed: %s", err);
	return lp;
}

static void load_fails(const char *text, const char *want)
{
	struct mvd_config c;
	char err[512] = "";
	enum mv_status st;
	struct mvd_localpolicy *lp = load(&c, text, err, sizeof err, &st);

	assert_int_not_equal(st, MV_OK);
	assert_null(lp);
	if (!strstr(err, want))
		fail_msg("error \"%s\" does not mention \"%s\"", err, want);
	mvd_config_free(&c);
}

static void no_keys_no_rules(void **state)
{
	struct mvd_config c;
	struct mvd_localpolicy *lp;

	(void)state;
	lp = load_ok(&c, "[policy]\non_error = tempfail\n");
	assert_null(lp);
	assert_int_equal(mvd_localpolicy_dmarc(lp, "example.com", NULL), MVD_LP_DMARC_NONE);
	assert_int_equal(mvd_localpolicy_skip_client(lp, "192.0.2.1"), 0);
	assert_int_equal(mvd_localpolicy_skip_rcpt(lp, "a@example.com"), 0);
	assert_int_equal(mvd_localpolicy_wants_rcpt(lp), 0);
	mvd_config_free(&c);
}

/* Exact lines win over "*." ones, nearer parents over farther, the first line over a later one. */
static void dmarc_overrides_match_by_domain(void **state)
{
	struct fixture *f = *state;
	struct mvd_config c;
	struct mvd_localpolicy *lp;
	char conf[256];
	const char *rule;

	write_file(f->path[0], "# author domain   action\n"
	                       "Lists.Example.ORG.  accept   # a mailing list that breaks DKIM\n"
	                       "\n"
	                       "*.example.org      quarantine\n"
	                       "*.sub.example.org  accept\n"
	                       "partner.example    quarantine\n"
	                       "partner.example    accept   # a later duplicate loses\n");
	snprintf(conf, sizeof conf, "[policy]\ndmarc_override_file = %s\n", f->path[0]);
	lp = load_ok(&c, conf);
	assert_non_null(lp);
	assert_int_equal(mvd_localpolicy_dmarc(lp, "lists.example.org", &rule),
	                 MVD_LP_DMARC_ACCEPT);
	assert_string_equal(rule, "lists.example.org");
	assert_int_equal(mvd_localpolicy_dmarc(lp, "LISTS.example.org.", NULL),
	                 MVD_LP_DMARC_ACCEPT);
	assert_int_equal(mvd_localpolicy_dmarc(lp, "news.example.org", &rule),
	                 MVD_LP_DMARC_QUARANTINE);
	assert_string_equal(rule, "*.example.org");
	assert_int_equal(mvd_localpolicy_dmarc(lp, "a.b.sub.example.org", &rule),
	                 MVD_LP_DMARC_ACCEPT);
	assert_string_equal(rule, "*.sub.example.org");
	/* "*.example.org" is below example.org only */
	assert_int_equal(mvd_localpolicy_dmarc(lp, "example.org", &rule), MVD_LP_DMARC_NONE);
	assert_null(rule);
	assert_int_equal(mvd_localpolicy_dmarc(lp, "partner.example", NULL),
	                 MVD_LP_DMARC_QUARANTINE);
	assert_int_equal(mvd_localpolicy_dmarc(lp, "xpartner.example", NULL), MVD_LP_DMARC_NONE);
	assert_int_equal(mvd_localpolicy_dmarc(lp, "", NULL), MVD_LP_DMARC_NONE);
	assert_int_equal(mvd_localpolicy_dmarc(lp, NULL, NULL), MVD_LP_DMARC_NONE);
	mvd_localpolicy_free(lp);
	mvd_config_free(&c);
}

/* Items inline and in files, over several lines of the key; networks of both families. */
static void clients_and_recipient_domains(void **state)
{
	struct fixture *f = *state;
	struct mvd_config c;
	struct mvd_localpolicy *lp;
	char conf[512];

	write_file(f->path[1], "# backup MX\n192.0.2.128/25\n2001:db8:1::/48  # v6 too\n");
	write_file(f->path[2], "archive.example\n*.lists.example, other.example\n");
	snprintf(conf, sizeof conf,
	         "[policy]\n"
	         "skip_clients = 198.51.100.7, %s\n"
	         "skip_recipient_domains = %s\n"
	         "skip_recipient_domains = Inbound.Example\n"
	         "internal_clients = 203.0.113.0/24\n",
	         f->path[1], f->path[2]);
	lp = load_ok(&c, conf);
	assert_int_equal(mvd_localpolicy_skip_client(lp, "198.51.100.7"), 1);
	assert_int_equal(mvd_localpolicy_skip_client(lp, "198.51.100.8"), 0);
	assert_int_equal(mvd_localpolicy_skip_client(lp, "192.0.2.200"), 1);
	assert_int_equal(mvd_localpolicy_skip_client(lp, "192.0.2.127"), 0);
	assert_int_equal(mvd_localpolicy_skip_client(lp, "2001:db8:1::25"), 1);
	assert_int_equal(mvd_localpolicy_skip_client(lp, "2001:db8:2::25"), 0);
	assert_int_equal(mvd_localpolicy_skip_client(lp, "not an address"), 0);
	assert_int_equal(mvd_localpolicy_internal_client(lp, "203.0.113.9"), 1);
	assert_int_equal(mvd_localpolicy_internal_client(lp, "198.51.100.7"), 0);
	assert_int_equal(mvd_localpolicy_wants_rcpt(lp), 1);
	assert_int_equal(mvd_localpolicy_skip_rcpt(lp, "<bob@ARCHIVE.example>"), 1);
	assert_int_equal(mvd_localpolicy_skip_rcpt(lp, "bob@archive.example."), 1);
	assert_int_equal(mvd_localpolicy_skip_rcpt(lp, "bob@x.lists.example"), 1);
	assert_int_equal(mvd_localpolicy_skip_rcpt(lp, "bob@lists.example"), 0);
	assert_int_equal(mvd_localpolicy_skip_rcpt(lp, "bob@other.example"), 1);
	assert_int_equal(mvd_localpolicy_skip_rcpt(lp, "bob@inbound.example"), 1);
	assert_int_equal(mvd_localpolicy_skip_rcpt(lp, "bob@dest.example"), 0);
	assert_int_equal(mvd_localpolicy_skip_rcpt(lp, "no-at-sign"), 0);
	assert_int_equal(mvd_localpolicy_skip_rcpt(lp, "bob@"), 0);
	mvd_localpolicy_free(lp);
	mvd_config_free(&c);
}

/* The files `mailvetd -n` opens as the daemon's user: the override file and each '/' item. */
static void conf_files_lists_every_file(void **state)
{
	struct mvd_localpolicy_conf lc = {0};
	char why[128], *paths[4];
	const char *keys[4];
	long n;

	(void)state;
	assert_int_equal(mvd_localpolicy_conf_set(&lc, "skip_clients", "192.0.2.1, /etc/a /etc/b",
	                                          why, sizeof why),
	                 0);
	assert_int_equal(
	        mvd_localpolicy_conf_set(&lc, "internal_clients", "/etc/c", why, sizeof why), 0);
	assert_int_equal(
	        mvd_localpolicy_conf_set(&lc, "dmarc_override_file", "/etc/o", why, sizeof why), 0);
	n = mvd_localpolicy_conf_files(&lc, paths, keys, 4);
	assert_int_equal(n, 4);
	assert_string_equal(paths[0], "/etc/o");
	assert_string_equal(keys[0], "dmarc_override_file");
	assert_string_equal(paths[1], "/etc/a");
	assert_string_equal(paths[2], "/etc/b");
	assert_string_equal(keys[2], "skip_clients");
	assert_string_equal(paths[3], "/etc/c");
	assert_string_equal(keys[3], "internal_clients");
	for (long i = 0; i < n; i++)
		free(paths[i]);
	assert_int_equal(mvd_localpolicy_conf_files(&lc, paths, keys, 2), 2); /* bounded by max */
	free(paths[0]);
	free(paths[1]);
	mvd_localpolicy_conf_free(&lc);
}

/* Each broken list names the config line or the file and line, and the reason. */
static void bad_lists_name_the_place(void **state)
{
	struct fixture *f = *state;
	char conf[512], want[256];

	load_fails("[policy]\nskip_clients = 192.0.2.0/33\n",
	           "line 2: [policy] skip_clients: bad address or network \"192.0.2.0/33\"");
	load_fails("[policy]\nskip_recipient_domains = bad..example\n",
	           "line 2: [policy] "
	           "skip_recipient_domains: bad "
	           "domain");
	load_fails("[policy]\ndmarc_override_file = relative/path\n", "an absolute path");
	load_fails("[policy]\ndmarc_override_file = /a\ndmarc_override_file = /b\n", "set twice");
	load_fails("[policy]\ndmarc_override_file = /nonexistent/overrides\n",
	           "/nonexistent/overrides: No such file or directory");

	write_file(f->path[0], "good.example quarantine\nbad.example reject\n");
	snprintf(conf, sizeof conf, "\n[policy]\ndmarc_override_file = %s\n", f->path[0]);
	snprintf(want, sizeof want, "line 3: [policy] dmarc_override_file: %s:2: unknown action",
	         f->path[0]);
	load_fails(conf, want);

	write_file(f->path[0], "good.example quarantine extra\n");
	load_fails(conf, "expected \"DOMAIN quarantine|accept\"");
	write_file(f->path[0], "-bad_\x01.example accept\n");
	load_fails(conf, "bad domain in");

	write_file(f->path[1], "192.0.2.1\n\n192.0.2.300\n");
	snprintf(conf, sizeof conf, "[policy]\nskip_clients = %s\n", f->path[1]);
	snprintf(want, sizeof want, "%s:3: bad address or network \"192.0.2.300\"", f->path[1]);
	load_fails(conf, want);
	load_fails("[policy]\nskip_everything = yes\n", "unknown key");

	/* found by fuzz_localpolicy: a NUL byte made the word loop spin */
	FILE *fp = fopen(f->path[2], "w");
	assert_non_null(fp);
	fwrite("archive.example\n\0archive\n", 1, 25, fp);
	fclose(fp);
	snprintf(conf, sizeof conf, "[policy]\nskip_recipient_domains = %s\n", f->path[2]);
	snprintf(want, sizeof want, "%s:2: NUL byte in the line", f->path[2]);
	load_fails(conf, want);
	fp = fopen(f->path[2], "w");
	assert_non_null(fp);
	fwrite("a.example accept\n\0 accept\n", 1, 26, fp);
	fclose(fp);
	snprintf(conf, sizeof conf, "[policy]\ndmarc_override_file = %s\n", f->path[2]);
	load_fails(conf, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(no_keys_no_rules),
	        cmocka_unit_test(dmarc_overrides_match_by_domain),
	        cmocka_unit_test(clients_and_recipient_domains),
	        cmocka_unit_test(conf_files_lists_every_file),
	        cmocka_unit_test(bad_lists_name_the_place),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
