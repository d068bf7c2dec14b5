/* tests/dmarc/test_dmarc_record.c — record parser (RFC 9989 §4.7), tree walk (§4.10), PSL vectors (RFC 7489 mode). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mailvet/dmarc.h>

static enum mv_status parse(const char *txt, struct mv_dmarc_record *rec)
{
	return mv_dmarc_record_parse(txt, strlen(txt), rec, NULL, 0);
}

static void full_record_parses(void **state)
{
	struct mv_dmarc_record r;

	(void)state;
	assert_int_equal(parse("v=DMARC1; p=quarantine; sp=reject; np=none; adkim=s; aspf=s; "
	                       "psd=n; t=y; rua=mailto:a@example.com,mailto:b@example.net; "
	                       "ruf=mailto:f@example.com; fo=1",
	                       &r),
	                 MV_OK);
	assert_int_equal(r.p, MV_DMARC_P_QUARANTINE);
	assert_int_equal(r.sp, MV_DMARC_P_REJECT);
	assert_int_equal(r.np, MV_DMARC_P_NONE);
	assert_int_equal(r.adkim, MV_DMARC_STRICT);
	assert_int_equal(r.aspf, MV_DMARC_STRICT);
	assert_int_equal(r.psd, MV_DMARC_PSD_N);
	assert_true(r.testing);
	assert_true(r.rua_valid);
	assert_string_equal(r.ruf, "mailto:f@example.com");
	assert_string_equal(r.fo, "1");
	mv_dmarc_record_clear(&r);
}

static void defaults_are_relaxed_and_absent(void **state)
{
	struct mv_dmarc_record r;

	(void)state;
	assert_int_equal(parse("v=DMARC1", &r), MV_OK);
	assert_int_equal(r.p, MV_DMARC_P_ABSENT);
	assert_int_equal(r.adkim, MV_DMARC_RELAXED);
	assert_int_equal(r.psd, MV_DMARC_PSD_U);
	assert_false(r.testing);
	mv_dmarc_record_clear(&r);
}

/* Records that are not DMARC records at all (§4.10 step 2 discards them). */
static void version_must_come_first_and_exact(void **state)
{
	static const char *const bad[] = {"p=reject; v=DMARC1", "v=DMARC2; p=reject",
	                                  "v=dmarc1; p=reject", " v=DMARC1; p=reject",
	                                  "v=DMARC1p=reject",   "",
	                                  "v=spf1 -all"};
	struct mv_dmarc_record r;
	size_t k;

	(void)state;
	for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		assert_int_equal(parse(bad[k], &r), MV_ENOTFOUND);
		mv_dmarc_record_clear(&r);
	}
}

static void policy_values_invalid_are_marked(void **state)
{
	struct mv_dmarc_record r;

	(void)state;
	assert_int_equal(parse("v=DMARC1; p=rejected; sp=; np=REJECT", &r), MV_OK);
	assert_int_equal(r.p, MV_DMARC_P_INVALID);
	assert_int_equal(r.sp, MV_DMARC_P_INVALID);
	assert_int_equal(r.np, MV_DMARC_P_REJECT); /* values are case-insensitive */
	mv_dmarc_record_clear(&r);
}

static void rua_validity(void **state)
{
	struct mv_dmarc_record r;

	(void)state;
	assert_int_equal(parse("v=DMARC1; rua=not a uri", &r), MV_OK);
	assert_false(r.rua_valid);
	mv_dmarc_record_clear(&r);
	assert_int_equal(parse("v=DMARC1; rua=bad, mailto:x@example.com!10m", &r), MV_OK);
	assert_true(r.rua_valid);
	mv_dmarc_record_clear(&r);
}

static void malformed_tags_and_duplicates_are_syntax_errors(void **state)
{
	static const char *const bad[] = {"v=DMARC1; p", "v=DMARC1; =reject",
	                                  "v=DMARC1; p=none; p=reject", "v=DMARC1; 1p=none"};
	struct mv_dmarc_record r;
	char err[100];
	size_t k;

	(void)state;
	for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		assert_int_equal(mv_dmarc_record_parse(bad[k], strlen(bad[k]), &r, err, sizeof err),
		                 MV_ESYNTAX);
		assert_true(err[0] != '\0');
		mv_dmarc_record_clear(&r);
	}
}

static void oversized_record_is_refused(void **state)
{
	struct mv_dmarc_record r;
	size_t n = MV_DMARC_RECORD_MAX + 10;
	char *big = malloc(n + 1);

	(void)state;
	memset(big, 'x', n);
	memcpy(big, "v=DMARC1; x=", 12);
	big[n] = '\0';
	assert_int_equal(parse(big, &r), MV_ETOOBIG);
	mv_dmarc_record_clear(&r);
	free(big);
}

/* §4.10: a 12-label name costs at most 8 queries: itself, its last 7 labels, then one less each. */
static void tree_walk_asks_at_most_eight_names(void **state)
{
	static const char *const expect[] = {"a.b.c.d.e.f.g.h.i.j.example.com",
	                                     "f.g.h.i.j.example.com",
	                                     "g.h.i.j.example.com",
	                                     "h.i.j.example.com",
	                                     "i.j.example.com",
	                                     "j.example.com",
	                                     "example.com",
	                                     "com"};
	struct mv_resolver *r = NULL;
	struct mv_dmarc_walk w;
	size_t k;

	(void)state;
	assert_int_equal(mv_dns_zone_parse("x.example TXT \"y\"\n", 18, &r, NULL, 0), MV_OK);
	assert_int_equal(mv_dmarc_walk(r, expect[0], 1, &w), MV_OK);
	assert_int_equal(w.nsteps, 8);
	for (k = 0; k < 8; k++)
		assert_string_equal(w.step[k].domain, expect[k]);
	assert_string_equal(w.org, expect[0]); /* no record anywhere: the name itself */
	mv_dmarc_walk_clear(&w);
	mv_dns_free(r);
}

static void tree_walk_for_policy_stops_at_first_record(void **state)
{
	static const char zone[] = "_dmarc.b.example.com TXT \"v=DMARC1; p=none\"\n"
	                           "_dmarc.example.com TXT \"v=DMARC1; p=reject\"\n";
	struct mv_resolver *r = NULL;
	struct mv_dmarc_walk w;

	(void)state;
	assert_int_equal(mv_dns_zone_parse(zone, sizeof zone - 1, &r, NULL, 0), MV_OK);
	assert_int_equal(mv_dmarc_walk(r, "a.b.example.com", 0, &w), MV_OK);
	assert_int_equal(w.nsteps, 2);
	assert_int_equal(w.policy, 1);
	assert_int_equal(w.step[1].record.p, MV_DMARC_P_NONE);
	mv_dmarc_walk_clear(&w);
	/* the full walk goes on to the top and takes the record with the fewest labels */
	assert_int_equal(mv_dmarc_walk(r, "a.b.example.com", 1, &w), MV_OK);
	assert_int_equal(w.nsteps, 4);
	assert_string_equal(w.org, "example.com");
	mv_dmarc_walk_clear(&w);
	mv_dns_free(r);
}

/* ../shared/conformance/dmarc/psl-test-vectors.txt: checkPublicSuffix('x', 'y' or null). */
static void psl_test_vectors(void **state)
{
	const char *dir = getenv("MV_SHARED_DIR");
	char path[4096], line[512], in[256], want[256];
	struct mv_dmarc_psl *psl = NULL;
	size_t n = 0, bad = 0;
	FILE *f;

	(void)state;
	if (dir == NULL || *dir == '\0') {
		printf("MV_SHARED_DIR is not set: skipping the PSL vectors\n");
		skip();
	}
	snprintf(path, sizeof path, "%s/conformance/dmarc/psl-test-vectors.txt", dir);
	if ((f = fopen(path, "r")) == NULL) {
		printf("%s is absent: skipping\n", path);
		skip();
	}
	if (mv_dmarc_psl_open(NULL, &psl) != MV_OK) {
		fclose(f);
		printf("libpsl (libpsl5) is not installed: skipping the PSL vectors\n");
		skip();
	}
	while (fgets(line, sizeof line, f)) {
		char *res;
		int got;
		if (strncmp(line, "checkPublicSuffix(", 18) != 0)
			continue;
		if (strncmp(line + 18, "null", 4) == 0)
			continue; /* a null input: a C string cannot be null here */
		got = sscanf(line + 18, "'%255[^']', '%255[^']')", in, want);
		if (got < 1)
			continue;
		if (got == 1)
			want[0] = '\0'; /* expected null */
		res = mv_dmarc_psl_org(psl, in);
		if ((res == NULL) != (want[0] == '\0') || (res && strcmp(res, want) != 0)) {
			print_error("PSL %s: expected %s, got %s\n", in, want[0] ? want : "null",
			            res ? res : "null");
			bad++;
		}
		free(res);
		n++;
	}
	fclose(f);
	mv_dmarc_psl_free(psl);
	printf("PSL vectors: %zu checked, %zu wrong\n", n, bad);
	assert_true(n > 50);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(full_record_parses),
	        cmocka_unit_test(defaults_are_relaxed_and_absent),
	        cmocka_unit_test(version_must_come_first_and_exact),
	        cmocka_unit_test(policy_values_invalid_are_marked),
	        cmocka_unit_test(rua_validity),
	        cmocka_unit_test(malformed_tags_and_duplicates_are_syntax_errors),
	        cmocka_unit_test(oversized_record_is_refused),
	        cmocka_unit_test(tree_walk_asks_at_most_eight_names),
	        cmocka_unit_test(tree_walk_for_policy_stops_at_first_record),
	        cmocka_unit_test(psl_test_vectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
