/*
 * tests/arc/test_tempfail.c — a key lookup that times out or gets SERVFAIL
 * leaves an ARC chain undetermined (DESIGN.md: "a DNS failure gives
 * temperror, never a hang"), never a failed one: the validator says so
 * (mv_arc_validator_temperror, the chain's temperror flag, the reason
 * "temporary DNS failure: ..."), and the sealer refuses with MV_ETEMP rather
 * than seal cv=fail, which would end the chain for good (RFC 8617 §5.1
 * step 1). A key that does not exist still fails the chain, and a signature
 * that does not verify fails it whatever the other keys do.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mailvet/arc.h>

#include "arc/arc_int.h" /* mv_arc_seal_hash, the DKIM signing primitive: hand-made seals */
#include "arc_testkit.h"

#define TEMP_PREFIX "temporary DNS failure: "

/* How a selector's key record answers. */
enum how { PUBLISHED, TIMEOUT, SERVFAIL, ABSENT };

struct pub {
	const char *sel;
	const struct mv_dkim_signkey *key;
	enum how how;
};

/* A zone with the key records of DOMAIN as described (ABSENT: NXDOMAIN). */
static struct mv_resolver *zone_of(const struct pub *p, size_t n)
{
	struct mv_buf z = MV_BUF_INIT;
	struct mv_resolver *r = NULL;
	size_t k;

	mv_buf_puts(&z, "; keys\n");
	for (k = 0; k < n; k++) {
		char *rec = mv_dkim_signkey_record(p[k].key);
		assert_non_null(rec);
		if (p[k].how == PUBLISHED)
			mv_buf_printf(&z, "%s._domainkey." DOMAIN " TXT \"%s\"\n", p[k].sel, rec);
		else if (p[k].how != ABSENT)
			mv_buf_printf(&z, "%s._domainkey." DOMAIN " %s\n", p[k].sel,
			              p[k].how == TIMEOUT ? "TIMEOUT" : "SERVFAIL");
		free(rec);
	}
	assert_int_equal(mv_buf_status(&z), MV_OK);
	assert_int_equal(mv_dns_zone_parse(z.data, z.len, &r, NULL, 0), MV_OK);
	mv_buf_free(&z);
	return r;
}

static struct mv_arc_validator *validate(const char *text, struct mv_resolver *r, struct mv_msg **m)
{
	struct mv_arc_validator *v = NULL;

	assert_int_equal(mv_msg_parse(text, strlen(text), NULL, m, NULL, 0), MV_OK);
	assert_int_equal(mv_arc_validator_new(NULL, r, NOW, &v), MV_OK);
	assert_int_equal(mv_arc_validator_message(v, *m), MV_OK);
	return v;
}

/*
 * Replace the ARC-Seal of a message with one ARC set (its first field) by
 * one with s=sel signed by key, so the AMS and the AS of the set use
 * different keys (mv_arc_seal gives both the same selector).
 */
static char *reseal_as(char *text, const struct mv_dkim_signkey *key, const char *sel)
{
	struct mv_buf as = MV_BUF_INIT, b64 = MV_BUF_INIT, scratch = MV_BUF_INIT, out = MV_BUF_INIT;
	const struct mv_msg_field *fas, *fams, *faar;
	struct mv_arc_rawset set;
	struct mv_msg *m = NULL;
	unsigned char hash[ARC_HASHLEN], *sig = NULL;
	size_t off, siglen;

	assert_int_equal(mv_msg_parse(text, strlen(text), NULL, &m, NULL, 0), MV_OK);
	assert_int_equal(mv_msg_find(m, "ARC-Seal", 0), 0);
	fas = mv_msg_field(m, 0);
	fams = mv_msg_field(m, mv_msg_find(m, "ARC-Message-Signature", 0));
	faar = mv_msg_field(m, mv_msg_find(m, "ARC-Authentication-Results", 0));
	mv_buf_printf(&as, "ARC-Seal: a=%s; b=", mv_dkim_alg_str(key->alg));
	off = as.len;
	mv_buf_printf(&as, "; cv=none; d=" DOMAIN "; i=1; s=%s; t=%d", sel, NOW);
	memset(&set, 0, sizeof set);
	set.aar = faar->raw;
	set.aar_len = faar->raw_len;
	set.ams = fams->raw;
	set.ams_len = fams->raw_len;
	assert_int_equal(mv_arc_seal_hash(&set, 1, as.data, as.len, off, 0, &scratch, hash), MV_OK);
	assert_int_equal(mv_dkim_crypto_sign(key->pkey, hash, &sig, &siglen), MV_OK);
	assert_int_equal(mv_dkim_b64_encode(sig, siglen, &b64), MV_OK);
	mv_buf_append(&out, as.data, off);
	mv_buf_append(&out, b64.data, b64.len);
	mv_buf_printf(&out, "%s\r\n", as.data + off);
	assert_memory_equal(text, "ARC-Seal:", 9);
	mv_buf_puts(&out, text + fas->raw_len);
	assert_int_equal(mv_buf_status(&out), MV_OK);
	free(sig);
	mv_buf_free(&as);
	mv_buf_free(&b64);
	mv_buf_free(&scratch);
	mv_msg_free(m);
	free(text);
	return mv_buf_steal(&out, NULL);
}

/* kit_original with one ARC set: AMS under selector "ams", AS under "as" (both kit_rsa_key). */
static char *split_set(void)
{
	const struct pub good[] = {{"ams", kit_rsa_key, PUBLISHED}, {"as", kit_rsa_key, PUBLISHED}};
	struct mv_resolver *r = zone_of(good, 2);
	struct mv_arc_validator *v;
	struct mv_msg *m = NULL;
	size_t nsets;
	char *text;

	text = kit_seal_with(kit_original, NULL, r, kit_rsa_key, "ams", NULL, NULL, MV_OK, &nsets);
	text = reseal_as(text, kit_rsa_key, "as");
	v = validate(text, r, &m); /* the hand-made seal verifies: the failures below are DNS's */
	assert_int_equal(mv_arc_validator_cv(v, NULL), MV_ARC_PASS);
	assert_int_equal(mv_arc_validator_temperror(v), 0);
	mv_arc_validator_free(v);
	mv_msg_free(m);
	mv_dns_free(r);
	return text;
}

/* The outcome is undetermined, the reason starts with want_reason, and sealing is refused. */
static void assert_temperror(const char *text, struct mv_resolver *r, const char *want_reason)
{
	struct mv_arc_validator *v;
	struct mv_result *res = NULL;
	struct mv_msg *m = NULL;
	const char *reason;
	size_t nsets = 1;

	v = validate(text, r, &m);
	assert_int_equal(mv_arc_validator_cv(v, &reason), MV_ARC_FAIL);
	if (strncmp(reason, want_reason, strlen(want_reason)) != 0)
		print_error("reason: %s\n", reason);
	assert_int_equal(strncmp(reason, want_reason, strlen(want_reason)), 0);
	assert_int_equal(mv_arc_validator_temperror(v), 1);
	assert_non_null(mv_arc_validator_chosen(v));
	assert_int_equal(mv_arc_validator_chosen(v)->temperror, 1);
	/* The arc= record: fail (RFC 8617 §10.1 has no temperror), the reason says why. */
	assert_int_equal(mv_arc_result_authres(v, NULL, &res), MV_OK);
	assert_string_equal(res->result, "fail");
	assert_string_equal(res->reason, reason);
	mv_result_free(res);
	mv_arc_validator_free(v);
	mv_msg_free(m);
	assert_null(kit_seal_with(text, NULL, r, kit_rsa_key, "ams", NULL, NULL, MV_ETEMP, &nsets));
}

static void newest_ams_key_timeout_is_temperror_and_not_sealed(void **state)
{
	const struct pub zone[] = {{"ams", kit_rsa_key, TIMEOUT}, {"as", kit_rsa_key, PUBLISHED}};
	struct mv_resolver *r = zone_of(zone, 2);
	struct mv_arc_validator *v;
	struct mv_msg *m = NULL;
	char *text = split_set();

	(void)state;
	assert_temperror(text, r,
	                 TEMP_PREFIX "ARC-Message-Signature i=1: key lookup failed "
	                             "(ams._domainkey." DOMAIN ": timeout)");
	v = validate(text, r, &m);
	assert_int_equal(mv_arc_validator_chosen(v)->hop[0].ams_pass, -1); /* undetermined */
	mv_arc_validator_free(v);
	mv_msg_free(m);
	mv_dns_free(r);
	free(text);
}

static void seal_key_timeout_is_temperror_and_not_sealed(void **state)
{
	const struct pub zone[] = {{"ams", kit_rsa_key, PUBLISHED}, {"as", kit_rsa_key, TIMEOUT}};
	struct mv_resolver *r = zone_of(zone, 2);
	struct mv_arc_validator *v;
	struct mv_msg *m = NULL;
	char *text = split_set();

	(void)state;
	assert_temperror(text, r,
	                 TEMP_PREFIX "ARC-Seal i=1: key lookup failed "
	                             "(as._domainkey." DOMAIN ": timeout)");
	v = validate(text, r, &m);
	assert_int_equal(mv_arc_validator_chosen(v)->hop[0].ams_pass, 1);
	mv_arc_validator_free(v);
	mv_msg_free(m);
	mv_dns_free(r);
	free(text);
}

static void key_servfail_is_temperror_and_not_sealed(void **state)
{
	const struct pub zone[] = {{"ams", kit_rsa_key, SERVFAIL}, {"as", kit_rsa_key, PUBLISHED}};
	struct mv_resolver *r = zone_of(zone, 2);
	char *text = split_set();

	(void)state;
	assert_temperror(text, r,
	                 TEMP_PREFIX "ARC-Message-Signature i=1: key lookup failed "
	                             "(ams._domainkey." DOMAIN ": servfail)");
	mv_dns_free(r);
	free(text);
}

/* The validator given to mv_arc_seal (not one it makes itself) decides as well. */
static void sealing_with_an_undetermined_validator_is_refused(void **state)
{
	const struct pub zone[] = {{"ams", kit_rsa_key, PUBLISHED}, {"as", kit_rsa_key, SERVFAIL}};
	const struct mv_dkim_signkey *keys[1] = {kit_rsa_key};
	struct mv_resolver *r = zone_of(zone, 2);
	struct mv_arc_validator *v;
	struct mv_arc_seal_opts o;
	struct mv_buf out = MV_BUF_INIT;
	struct mv_msg *m = NULL;
	const char *body;
	size_t blen, nsets = 7;
	char *text = split_set();

	(void)state;
	v = validate(text, r, &m);
	assert_int_equal(mv_arc_validator_temperror(v), 1);
	mv_msg_body(m, &body, &blen, NULL);
	mv_arc_seal_opts_default(&o);
	o.domain = DOMAIN;
	o.selector = "ams";
	o.authserv_id = SERV_ID;
	o.now = NOW;
	mv_buf_puts(&out, "kept");
	assert_int_equal(mv_arc_seal(&o, keys, NULL, 1, m, body, blen, v, NULL, &out, &nsets),
	                 MV_ETEMP);
	assert_int_equal(nsets, 0);
	assert_string_equal(out.data, "kept"); /* nothing appended */
	mv_buf_free(&out);
	mv_arc_validator_free(v);
	mv_msg_free(m);
	mv_dns_free(r);
	free(text);
}

/* The cv and temperror flag of chain `alg`. */
static void assert_chain(const struct mv_arc_validator *v, const char *alg, enum mv_arc_cv cv,
                         int temperror)
{
	size_t k;

	for (k = 0; k < mv_arc_validator_nchains(v); k++) {
		const struct mv_arc_chain_result *c = mv_arc_validator_chain(v, k);
		if (strcmp(c->alg, alg) == 0) {
			assert_int_equal(c->cv, cv);
			assert_int_equal(c->temperror, temperror);
			return;
		}
	}
	fail_msg("no %s chain", alg);
}

/* draft-ietf-dmarc-arc-multi-02: one chain per algorithm; one of them times out. */
static void dual_chain_with_one_algorithm_timing_out(void **state)
{
	const struct pub good[] = {{"rsa", kit_rsa_key, PUBLISHED}, {"ed", kit_ed_key, PUBLISHED}};
	const struct pub ed_out[] = {{"rsa", kit_rsa_key, PUBLISHED}, {"ed", kit_ed_key, TIMEOUT}};
	const struct pub rsa_gone[] = {{"rsa", kit_rsa_key, ABSENT}, {"ed", kit_ed_key, TIMEOUT}};
	struct mv_resolver *r = zone_of(good, 2), *r_ed = zone_of(ed_out, 2),
	                   *r_gone = zone_of(rsa_gone, 2);
	struct mv_arc_validator *v;
	struct mv_msg *m = NULL;
	size_t nsets;
	char *text, *next;

	(void)state;
	text = kit_seal_with(kit_original, NULL, r, kit_rsa_key, "rsa", kit_ed_key, "ed", MV_OK,
	                     &nsets);
	assert_int_equal(nsets, 2);
	/* The rsa chain passes: the message passes, but the ed25519 chain is undetermined. */
	v = validate(text, r_ed, &m);
	assert_int_equal(mv_arc_validator_cv(v, NULL), MV_ARC_PASS);
	assert_int_equal(mv_arc_validator_temperror(v), 0);
	assert_chain(v, "rsa-sha256", MV_ARC_PASS, 0);
	assert_chain(v, "ed25519-sha256", MV_ARC_FAIL, 1);
	mv_arc_validator_free(v);
	mv_msg_free(m);
	/* A sealer with both keys would end the ed25519 chain with cv=fail: refused. */
	assert_null(kit_seal_with(text, NULL, r_ed, kit_rsa_key, "rsa", kit_ed_key, "ed", MV_ETEMP,
	                          &nsets));
	/* A sealer with the rsa key only continues the rsa chain, which passed. */
	next = kit_seal_with(text, NULL, r_ed, kit_rsa_key, "rsa", NULL, NULL, MV_OK, &nsets);
	assert_int_equal(nsets, 1);
	assert_non_null(strstr(next, "cv=pass; d=" DOMAIN "; i=2"));
	free(next);
	/* The rsa key is gone (a failure for good) and ed25519 times out: undetermined. */
	v = validate(text, r_gone, &m);
	assert_int_equal(mv_arc_validator_cv(v, NULL), MV_ARC_FAIL);
	assert_int_equal(mv_arc_validator_temperror(v), 1);
	assert_string_equal(mv_arc_validator_chosen(v)->alg, "ed25519-sha256");
	assert_chain(v, "rsa-sha256", MV_ARC_FAIL, 0);
	mv_arc_validator_free(v);
	mv_msg_free(m);
	assert_null(
	        kit_seal_with(text, NULL, r_gone, kit_ed_key, "ed", NULL, NULL, MV_ETEMP, &nsets));
	/* The rsa chain itself failed for good: continuing it says so (its own result). */
	next = kit_seal_with(text, NULL, r_gone, kit_rsa_key, "rsa", NULL, NULL, MV_OK, &nsets);
	assert_int_equal(nsets, 1);
	assert_non_null(strstr(next, "cv=fail; d=" DOMAIN "; i=2"));
	free(next);
	free(text);
	mv_dns_free(r);
	mv_dns_free(r_ed);
	mv_dns_free(r_gone);
}

/* A key that does not exist (NXDOMAIN) is no temporary failure: cv=fail as before. */
static void missing_key_still_fails_and_is_sealed_as_fail(void **state)
{
	const struct pub good[] = {{"s1", kit_rsa_key, PUBLISHED}};
	const struct pub gone[] = {{"s1", kit_rsa_key, ABSENT}};
	struct mv_resolver *r = zone_of(good, 1), *r_gone = zone_of(gone, 1);
	struct mv_arc_validator *v;
	struct mv_msg *m = NULL;
	const char *reason;
	size_t nsets;
	char *text, *next;

	(void)state;
	text = kit_seal_with(kit_original, NULL, r, kit_rsa_key, "s1", NULL, NULL, MV_OK, &nsets);
	v = validate(text, r_gone, &m);
	assert_int_equal(mv_arc_validator_cv(v, &reason), MV_ARC_FAIL);
	assert_int_equal(mv_arc_validator_temperror(v), 0);
	assert_int_equal(mv_arc_validator_chosen(v)->temperror, 0);
	assert_non_null(strstr(reason, "no key for signature"));
	assert_null(strstr(reason, "temporary"));
	mv_arc_validator_free(v);
	mv_msg_free(m);
	next = kit_seal_with(text, NULL, r_gone, kit_rsa_key, "s1", NULL, NULL, MV_OK, &nsets);
	assert_int_equal(nsets, 1);
	assert_non_null(strstr(next, "cv=fail; d=" DOMAIN "; i=2"));
	free(next);
	free(text);
	mv_dns_free(r);
	mv_dns_free(r_gone);
}

/* Two hops: i=1 sealed under selector s1, i=2 under s2. */
static char *two_hops(struct mv_resolver *r)
{
	size_t nsets;
	char *one =
	        kit_seal_with(kit_original, NULL, r, kit_rsa_key, "s1", NULL, NULL, MV_OK, &nsets);
	char *two = kit_seal_with(one, NULL, r, kit_rsa_key, "s2", NULL, NULL, MV_OK, &nsets);

	assert_non_null(strstr(two, "cv=pass; d=" DOMAIN "; i=2"));
	free(one);
	return two;
}

/* An older hop's key times out: its seal is undetermined, so the chain is. */
static void older_seal_key_timeout_is_temperror(void **state)
{
	const struct pub good[] = {{"s1", kit_rsa_key, PUBLISHED}, {"s2", kit_rsa_key, PUBLISHED}};
	const struct pub s1_out[] = {{"s1", kit_rsa_key, TIMEOUT}, {"s2", kit_rsa_key, PUBLISHED}};
	struct mv_resolver *r = zone_of(good, 2), *r_out = zone_of(s1_out, 2);
	char *text = two_hops(r);

	(void)state;
	assert_temperror(text, r_out,
	                 TEMP_PREFIX "ARC-Seal i=1: key lookup failed "
	                             "(s1._domainkey." DOMAIN ": timeout)");
	free(text);
	mv_dns_free(r);
	mv_dns_free(r_out);
}

/* A seal that does not verify fails the chain for good, whatever times out elsewhere. */
static void signature_failure_outweighs_a_key_timeout(void **state)
{
	const struct pub good[] = {{"s1", kit_rsa_key, PUBLISHED}, {"s2", kit_rsa_key, PUBLISHED}};
	const struct pub s2_out[] = {{"s1", kit_rsa_key, PUBLISHED}, {"s2", kit_rsa_key, TIMEOUT}};
	struct mv_resolver *r = zone_of(good, 2), *r_out = zone_of(s2_out, 2);
	struct mv_arc_validator *v;
	struct mv_msg *m = NULL;
	const char *reason;
	size_t nsets;
	char *text = two_hops(r), *b, *next;

	(void)state;
	/* The newest set (i=2, checked first) times out; the i=1 seal is broken. */
	b = strstr(strstr(strstr(text, "ARC-Seal:") + 1, "ARC-Seal:"), "b=");
	b[4] = b[4] == 'A' ? 'B' : 'A';
	v = validate(text, r_out, &m);
	assert_int_equal(mv_arc_validator_cv(v, &reason), MV_ARC_FAIL);
	assert_int_equal(mv_arc_validator_temperror(v), 0);
	assert_int_equal(mv_arc_validator_chosen(v)->temperror, 0);
	assert_string_equal(reason, "ARC-Seal i=1: signature did not verify");
	mv_arc_validator_free(v);
	mv_msg_free(m);
	next = kit_seal_with(text, NULL, r_out, kit_rsa_key, "s2", NULL, NULL, MV_OK, &nsets);
	assert_non_null(strstr(next, "cv=fail; d=" DOMAIN "; i=3"));
	free(next);
	free(text);
	mv_dns_free(r);
	mv_dns_free(r_out);
}

/*
 * Only an older AMS's key times out: step 5 (oldest-pass) is informational,
 * the chain passes, and oldest-pass claims no more than is known.
 */
static void older_ams_key_timeout_only_lowers_oldest_pass(void **state)
{
	const struct pub good[] = {{"ams", kit_rsa_key, PUBLISHED},
	                           {"as", kit_rsa_key, PUBLISHED},
	                           {"s2", kit_rsa_key, PUBLISHED}};
	const struct pub ams_out[] = {{"ams", kit_rsa_key, TIMEOUT},
	                              {"as", kit_rsa_key, PUBLISHED},
	                              {"s2", kit_rsa_key, PUBLISHED}};
	struct mv_resolver *r = zone_of(good, 3), *r_out = zone_of(ams_out, 3);
	struct mv_arc_validator *v;
	struct mv_msg *m = NULL;
	size_t nsets;
	char *one = split_set(), *text;

	(void)state;
	text = kit_seal_with(one, NULL, r, kit_rsa_key, "s2", NULL, NULL, MV_OK, &nsets);
	assert_non_null(strstr(text, "cv=pass; d=" DOMAIN "; i=2"));
	v = validate(text, r, &m);
	assert_int_equal(mv_arc_validator_cv(v, NULL), MV_ARC_PASS);
	assert_int_equal(mv_arc_validator_chosen(v)->oldest_pass, 0);
	mv_arc_validator_free(v);
	mv_msg_free(m);
	v = validate(text, r_out, &m);
	assert_int_equal(mv_arc_validator_cv(v, NULL), MV_ARC_PASS);
	assert_int_equal(mv_arc_validator_temperror(v), 0);
	assert_int_equal(mv_arc_validator_chosen(v)->oldest_pass, 2);
	assert_int_equal(mv_arc_validator_chosen(v)->hop[0].ams_pass, -1);
	mv_arc_validator_free(v);
	mv_msg_free(m);
	free(one);
	free(text);
	mv_dns_free(r);
	mv_dns_free(r_out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(newest_ams_key_timeout_is_temperror_and_not_sealed),
	        cmocka_unit_test(seal_key_timeout_is_temperror_and_not_sealed),
	        cmocka_unit_test(key_servfail_is_temperror_and_not_sealed),
	        cmocka_unit_test(sealing_with_an_undetermined_validator_is_refused),
	        cmocka_unit_test(dual_chain_with_one_algorithm_timing_out),
	        cmocka_unit_test(missing_key_still_fails_and_is_sealed_as_fail),
	        cmocka_unit_test(older_seal_key_timeout_is_temperror),
	        cmocka_unit_test(signature_failure_outweighs_a_key_timeout),
	        cmocka_unit_test(older_ams_key_timeout_only_lowers_oldest_pass),
	};
	return cmocka_run_group_tests(tests, kit_setup, kit_teardown);
}
