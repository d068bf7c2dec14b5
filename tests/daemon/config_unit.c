/* tests/daemon/config_unit.c — mailvet.conf parsing and internal-host matching (cmocka). */
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
#include "runtime.h"

static void parse_ok(struct mvd_config *c, const char *text)
{
	char err[256] = "";

	assert_int_equal(mvd_config_init(c), MV_OK);
	if (mvd_config_parse(c, text, err, sizeof err) != MV_OK)
		fail_msg("parse failed: %s", err);
}

static void parse_fails(const char *text, const char *want)
{
	struct mvd_config c;
	char err[256] = "";

	assert_int_equal(mvd_config_init(&c), MV_OK);
	assert_int_not_equal(mvd_config_parse(&c, text, err, sizeof err), MV_OK);
	if (!strstr(err, want))
		fail_msg("error \"%s\" does not mention \"%s\"", err, want);
	mvd_config_free(&c);
}

static void empty_file_gives_the_documented_defaults(void **state)
{
	struct mvd_config c;

	(void)state;
	parse_ok(&c, "");
	assert_string_equal(c.socket, "unix:/run/mailvetd/milter.sock");
	assert_string_equal(c.socket_group, "");
	assert_int_equal(c.unreadable_header, MVD_REFUSE_REJECT);
	assert_int_equal(c.verify.from_permerror_action, MV_VERIFY_ACCEPT);
	assert_int_equal(c.verify.from_permerror_protect, 1);
	assert_int_equal(c.verify.dmarc_reserve_pct, 25);
	assert_string_equal(c.user, "mailvet");
	assert_int_equal(c.log_dest, MVD_LOG_SYSLOG);
	assert_int_equal(c.log_format, MVD_LOG_KV);
	assert_int_equal(c.verify.budget_ms, 20000);
	assert_int_equal(c.verify.dmarc_reject_action, MV_VERIFY_REJECT);
	assert_int_equal(c.quarantine, MVD_QUARANTINE_MILTER);
	assert_int_equal(c.verify.dmarc_temperror_action, MV_VERIFY_TEMPFAIL);
	assert_null(c.verify.reject_text);
	assert_int_equal(c.on_error, MVD_FAIL_TEMPFAIL);
	assert_int_equal(c.sign_hcanon, MV_CANON_RELAXED);
	assert_int_equal(c.sign_bcanon, MV_CANON_RELAXED);
	assert_true(c.authserv_id[0] != '\0'); /* the host name */
	assert_true(mv_cidr_list_match(&c.internal_hosts, "127.0.0.1"));
	assert_true(mv_cidr_list_match(&c.internal_hosts, "::1"));
	assert_false(mv_cidr_list_match(&c.internal_hosts, "192.0.2.1"));
	mvd_config_free(&c);
}

static void every_section_is_read(void **state)
{
	struct mvd_config c;

	(void)state;
	parse_ok(&c, "[milter]\nsocket = unix:/run/mailvetd/sock\nuser = mv\ndrain_timeout = 5\n"
	             "socket_umask = 0027\n"
	             "[log]\ndestination = stderr\nformat = json\n"
	             "[verify]\nauthserv_id = mx.example.org\nbudget_ms = 1500\n"
	             "dmarc_reserve_pct = 40\n"
	             "[policy]\ndmarc_reject = quarantine\nquarantine = header\n"
	             "bad_from = reject\nunreadable_header = tempfail\n"
	             "temperror = accept\non_error = accept\nreject_text = 5.7.1 No.\n"
	             "[dns]\nresolver = 192.0.2.53@5353\ntimeout_ms = 900\n"
	             "[outbound]\ncanonicalization = simple/relaxed\nexpire = 86400\n");
	assert_string_equal(c.socket, "unix:/run/mailvetd/sock");
	assert_string_equal(c.user, "mv");
	assert_int_equal(c.drain_timeout, 5);
	assert_int_equal(c.socket_umask, 027);
	assert_int_equal(c.log_dest, MVD_LOG_STDERR);
	assert_int_equal(c.log_format, MVD_LOG_JSON);
	assert_string_equal(c.authserv_id, "mx.example.org");
	assert_int_equal(c.verify.budget_ms, 1500);
	assert_int_equal(c.verify.dmarc_reserve_pct, 40);
	assert_int_equal(c.verify.from_permerror_action, MV_VERIFY_REJECT);
	assert_int_equal(c.unreadable_header, MVD_REFUSE_TEMPFAIL);
	/* [policy] dmarc_reject, temperror and reject_text are the table's, under their old names */
	assert_int_equal(c.verify.dmarc_reject_action, MV_VERIFY_QUARANTINE);
	assert_int_equal(c.quarantine, MVD_QUARANTINE_HEADER);
	assert_int_equal(c.verify.dmarc_temperror_action, MV_VERIFY_ACCEPT);
	assert_int_equal(c.on_error, MVD_FAIL_ACCEPT);
	assert_string_equal(c.verify.reject_text, "5.7.1 No.");
	assert_string_equal(c.resolver, "192.0.2.53@5353");
	assert_int_equal(c.dns_timeout_ms, 900);
	assert_int_equal(c.sign_hcanon, MV_CANON_SIMPLE);
	assert_int_equal(c.sign_bcanon, MV_CANON_RELAXED);
	assert_int_equal(c.sign_expire, 86400);
	mvd_config_free(&c);
}

static void list_keys_accumulate_over_lines_and_continuations(void **state)
{
	struct mvd_config c;

	(void)state;
	parse_ok(&c, "[verify]\ninternal_hosts = 10.0.0.0/8\n  192.168.1.0/24, 2001:db8::/32\n"
	             "internal_hosts = 203.0.113.7\n"
	             "[policy]\ntrusted_arc_sealers = Lists.Example.org\n  forwarder.example\n");
	/* the file's list replaces the default (127.0.0.0/8, ::1) */
	assert_int_equal(c.internal_hosts.count, 4);
	assert_false(mv_cidr_list_match(&c.internal_hosts, "127.0.0.1"));
	assert_true(mv_cidr_list_match(&c.internal_hosts, "10.200.3.4"));
	assert_true(mv_cidr_list_match(&c.internal_hosts, "192.168.1.77"));
	assert_false(mv_cidr_list_match(&c.internal_hosts, "192.168.2.1"));
	assert_true(mv_cidr_list_match(&c.internal_hosts, "2001:db8:ffff::1"));
	assert_false(mv_cidr_list_match(&c.internal_hosts, "2001:db9::1"));
	assert_true(mv_cidr_list_match(&c.internal_hosts, "203.0.113.7"));
	assert_false(mv_cidr_list_match(&c.internal_hosts, "203.0.113.8"));
	assert_int_equal(c.trusted_arc_sealers.count, 2);
	assert_string_equal(c.trusted_arc_sealers.item[0], "lists.example.org");
	mvd_config_free(&c);
}

static void domain_sections_hold_several_keys(void **state)
{
	struct mvd_config c;
	const struct mvd_domain_conf *d;

	(void)state;
	parse_ok(&c, "[domain Example.COM.]\nkey = rsa2025 /etc/mailvet/keys/rsa.pem\n"
	             "key = ed2025   /etc/mailvet/keys/ed.pem\nsubdomains = yes\n"
	             "[domain example.net]\nkey = s1 /k.pem\n");
	assert_int_equal(c.ndomains, 2);
	d = mvd_config_domain(&c, "example.com");
	assert_non_null(d);
	assert_string_equal(d->name, "example.com");
	assert_int_equal(d->nkeys, 2);
	assert_string_equal(d->keys[1].selector, "ed2025");
	assert_string_equal(d->keys[1].path, "/etc/mailvet/keys/ed.pem");
	assert_ptr_equal(mvd_config_domain(&c, "lists.EXAMPLE.com"), d);
	assert_null(mvd_config_domain(&c, "sub.example.net"));
	assert_null(mvd_config_domain(&c, "badexample.com"));
	mvd_config_free(&c);
}

static void mistakes_are_refused_with_the_line(void **state)
{
	(void)state;
	parse_fails("[milter]\n\nsockett = x\n", "line 3: unknown key \"sockett\"");
	parse_fails("[nosuch]\nkey = 1\n", "unknown key");
	parse_fails("[log]\nformat = xml\n", "unknown value \"xml\"");
	parse_fails("[verify]\nbudget_ms = 600001\n", "line 2: budget_ms: expected a number");
	parse_fails("[verify]\ndmarc_mode = rfc1234\n",
	            "dmarc_mode: expected one of rfc9989|rfc7489");
	parse_fails("[verify]\niprev = perhaps\n", "iprev: expected yes or no");
	parse_fails("[policy]\nbad_from = maybe\n",
	            "bad_from: expected one of reject-if-protected");
	parse_fails("[dns]\niprev = no\n", "unknown key \"iprev\" in [dns]");
	parse_fails("[verify]\ndkim-allow-l = no\n", "unknown key");
	parse_fails("[verify]\nbudget_ms = 12abc\n", "budget_ms");
	parse_fails("[verify]\ninternal_hosts = 10.0.0.0/33\n", "bad address");
	parse_fails("[verify]\ninternal_hosts = not-an-ip\n", "bad address");
	parse_fails("[verify]\nauthserv_id = a;b\n", "authserv_id");
	parse_fails("[outbound]\nsign = perhaps\n", "yes or no");
	parse_fails("[outbound]\ncanonicalization = relaxed/fuzzy\n", "canonicalization");
	parse_fails("[domain example.com]\nsubdomains = yes\n", "has no key");
	parse_fails("[domain example.com]\nkey = onlyselector\n", "SELECTOR");
	parse_fails("[policy]\nquarantine_header = X Bad\n", "quarantine_header");
	parse_fails("this is not ini\n", "line 1");
}

/* A value of setting s other than its default. */
static const char *other_value(const struct mv_verify_setting *s, char *buf, size_t len)
{
	switch (s->type) {
	case MV_VERIFY_SETTING_BOOL:
		return strcmp(s->def, "yes") == 0 ? "no" : "yes";
	case MV_VERIFY_SETTING_UINT:
		snprintf(buf, len, "%u", s->max);
		return buf;
	case MV_VERIFY_SETTING_ENUM:
		return strcmp(s->names[0], s->def) == 0 ? s->names[1] : s->names[0];
	case MV_VERIFY_SETTING_STRING:
		return "/etc/mailvet/some.file";
	}
	return "";
}

/*
 * Every key of lib/verify's settings table is a [verify] key: its default
 * leaves the configuration as it was, another value gives what the
 * table's setter gives (strings: an owned copy of the value).
 */
static void every_settings_table_key_is_a_verify_key(void **state)
{
	const struct mv_verify_setting *s;
	struct mv_verify_config want;
	struct mvd_config c, def;
	char text[200], buf[32], err[200];
	const char *v;
	size_t n;

	(void)state;
	parse_ok(&def, "");
	s = mv_verify_settings(&n);
	for (size_t i = 0; i < n; i++) {
		snprintf(text, sizeof text, "[verify]\n%s = %s\n", s[i].name, s[i].def);
		parse_ok(&c, text);
		if (memcmp(&c.verify, &def.verify, sizeof c.verify) != 0)
			fail_msg("[verify] %s = %s is not the default", s[i].name, s[i].def);
		mvd_config_free(&c);

		v = other_value(&s[i], buf, sizeof buf);
		snprintf(text, sizeof text, "[verify]\n%s = %s\n", s[i].name, v);
		parse_ok(&c, text);
		memcpy(&want, &def.verify, sizeof want);
		assert_int_equal(mv_verify_setting_set(&s[i], &want, v, err, sizeof err), MV_OK);
		if (s[i].type == MV_VERIFY_SETTING_STRING) {
			assert_int_equal(c.verify_texts.count, 1);
			assert_string_equal(c.verify_texts.item[0], v);
			assert_int_equal(mv_verify_setting_set(&s[i], &want, c.verify_texts.item[0],
			                                       err, sizeof err),
			                 MV_OK);
		}
		if (memcmp(&c.verify, &want, sizeof want) != 0)
			fail_msg("[verify] %s = %s differs from the table's setter", s[i].name, v);
		mvd_config_free(&c);
	}
	mvd_config_free(&def);
}

/* [policy] bad_from, the key before the table, still works; [verify]'s wins. */
/*
 * Issue 16: a second value for a key, or a second section, would silently
 * win or be lost: refused, naming both lines. List keys and continuation
 * lines add to their key.
 */
static void keys_and_sections_set_twice_are_refused(void **state)
{
	struct mvd_config c;

	(void)state;
	parse_fails("[milter]\ntimeout = 60\n\ntimeout = 30\n",
	            "line 4: \"timeout\" is set twice in [milter] (first at line 2)");
	parse_fails("[verify]\npsl = /a\npsl = /b\n", "line 3: \"psl\" is set twice");
	parse_fails("[log]\ndebug = yes\n[milter]\n[log]\n",
	            "line 4: [log] appears twice (first at line 1)");
	parse_fails("[domain a.example]\nkey = s /k\n[domain A.EXAMPLE.]\nkey = t /k\n",
	            "line 3: [domain a.example] appears twice");
	parse_fails("[domain a.example]\nsubdomains = yes\nsubdomains = no\n", "line 3");
	parse_ok(&c, "[verify]\ninternal_hosts = 10.0.0.0/8\ninternal_hosts = 192.0.2.1\n"
	             "reject_text = 5.7.1 No.\n  Really not.\n"
	             "[domain a.example]\nkey = s /k\nkey = t /k2\n");
	assert_int_equal(c.domains[0].nkeys, 2);
	mvd_config_free(&c);
}

/* Issue 16: checks after parsing name the line of the key they are about. */
static void later_checks_name_the_line(void **state)
{
	(void)state;
	parse_fails("[verify]\nauthserv_id = mx.example\n[domain a.example]\n\n",
	            "line 3: [domain a.example] has no key");
	parse_fails("[milter]\nuser =\nsocket = 8891\n", "line 3: [milter] socket = \"8891\"");
	parse_fails("[milter]\nsocket = inet:99999@127.0.0.1\n", "line 2: [milter] socket");
	parse_fails("[milter]\nsocket = inet:@127.0.0.1\n", "1 to 65535");
	parse_fails("[milter]\nsocket = inet:25@\n", "no host");
	parse_fails("[milter]\nsocket = unix:rel.sock\n", "absolute path");
	parse_fails("[log]\nfacility = mial\n", "line 2: [log] facility = \"mial\"");
	parse_fails("[domain *]\nkey = s /k\n", "line 1: [domain *]: a wildcard never matches");
	parse_fails("[domain *.a.example]\nkey = s /k\n", "wildcard");
	parse_fails("[domain a..example]\nkey = s /k\n", "bad domain name");
	parse_fails("[domain a.example]\nkey = s keys/k.pem\n",
	            "line 2: key keys/k.pem must be an absolute");
	parse_fails("[dns]\nzone_file = z.txt\n", "line 2: zone_file must be an absolute");
}

static void policy_bad_from_is_an_alias(void **state)
{
	struct mvd_config c;

	(void)state;
	parse_ok(&c, "[policy]\nbad_from = accept\n");
	assert_int_equal(c.verify.from_permerror_action, MV_VERIFY_ACCEPT);
	assert_int_equal(c.verify.from_permerror_protect, 0);
	mvd_config_free(&c);
	parse_ok(&c, "[policy]\nbad_from = accept\n[verify]\nbad_from = reject\n");
	assert_int_equal(c.verify.from_permerror_action, MV_VERIFY_REJECT);
	mvd_config_free(&c);
	parse_ok(&c, "[verify]\ndkim_max_signatures = 7\nvirtual_alignment = relaxed\n"
	             "psl = /b\nreceiver = mx.example.org\n");
	assert_int_equal(c.verify.dkim_max_sigs, 7);
	assert_int_equal(c.verify.dmarc.virtual_aspf, MV_DMARC_RELAXED);
	assert_string_equal(c.verify.psl_file, "/b");
	assert_string_equal(c.verify.receiver, "mx.example.org");
	mvd_config_free(&c);
}

/* A runtime from text; NULL with the reason in err. An empty zone file answers. */
static struct mvd_runtime *runtime_from(const char *verify, char *err, size_t errlen)
{
	char zone[] = "/tmp/mailvet-config-unit-XXXXXX", text[400];
	struct mvd_runtime *rt = NULL;
	struct mvd_config c;
	int fd = mkstemp(zone);

	assert_true(fd >= 0);
	close(fd);
	snprintf(text, sizeof text, "[dns]\nzone_file = %s\n[verify]\nauthserv_id = mx.test\n%s",
	         zone, verify);
	parse_ok(&c, text);
	if (mvd_runtime_open(&c, &rt, err, errlen) != MV_OK)
		rt = NULL;
	unlink(zone);
	return rt;
}

/* The runtime gets the table's settings and, in RFC 7489 mode, the PSL. */
static void runtime_applies_the_verify_settings(void **state)
{
	struct mvd_runtime *rt;
	char err[300] = "";

	(void)state;
	rt = runtime_from("budget_ms = 900\niprev = no\narc = no\nvirtual_dmarc = no\n", err,
	                  sizeof err);
	if (!rt)
		fail_msg("runtime: %s", err);
	assert_int_equal(rt->vcfg.budget_ms, 900);
	assert_int_equal(rt->vcfg.iprev, 0);
	assert_int_equal(rt->vcfg.arc, 0);
	assert_int_equal(rt->vcfg.dmarc.virtual_enabled, 0);
	assert_string_equal(rt->vcfg.authserv_id, "mx.test");
	assert_ptr_equal(rt->vcfg.dkim_keycache, rt->keycache);
	assert_null(rt->psl);
	assert_null(rt->vcfg.dmarc.psl);
	mvd_runtime_release(rt);

	rt = runtime_from("dmarc_mode = rfc7489\npsl = /nonexistent/psl.dat\n", err, sizeof err);
	assert_null(rt);
	assert_non_null(strstr(err, "/nonexistent/psl.dat"));

	rt = runtime_from("dmarc_mode = rfc7489\n", err, sizeof err);
	if (!rt) /* neither the system's list nor libpsl's own */
		fail_msg("no public suffix list: %s (publicsuffix, libpsl5: scripts/install-deps)",
		         err);
	assert_int_equal(rt->vcfg.dmarc.mode, MV_DMARC_MODE_7489);
	assert_non_null(rt->psl);
	assert_ptr_equal(rt->vcfg.dmarc.psl, rt->psl);
	mvd_runtime_release(rt);
}

static void ipv4_mapped_addresses_match_ipv4_networks(void **state)
{
	struct mv_cidr_list l = {0};

	(void)state;
	assert_int_equal(mv_cidr_list_add(&l, "192.0.2.0/25"), MV_OK);
	assert_true(mv_cidr_list_match(&l, "::ffff:192.0.2.1"));
	assert_false(mv_cidr_list_match(&l, "::ffff:192.0.2.200"));
	assert_false(mv_cidr_list_match(&l, "garbage"));
	assert_false(mv_cidr_list_match(&l, NULL));
	assert_int_equal(mv_cidr_list_add(&l, "0.0.0.0/0"), MV_OK);
	assert_true(mv_cidr_list_match(&l, "198.51.100.1"));
	assert_false(mv_cidr_list_match(&l, "2001:db8::1"));
	mv_cidr_list_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(empty_file_gives_the_documented_defaults),
	        cmocka_unit_test(every_section_is_read),
	        cmocka_unit_test(list_keys_accumulate_over_lines_and_continuations),
	        cmocka_unit_test(domain_sections_hold_several_keys),
	        cmocka_unit_test(mistakes_are_refused_with_the_line),
	        cmocka_unit_test(keys_and_sections_set_twice_are_refused),
	        cmocka_unit_test(later_checks_name_the_line),
	        cmocka_unit_test(every_settings_table_key_is_a_verify_key),
	        cmocka_unit_test(policy_bad_from_is_an_alias),
	        cmocka_unit_test(runtime_applies_the_verify_settings),
	        cmocka_unit_test(ipv4_mapped_addresses_match_ipv4_networks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
