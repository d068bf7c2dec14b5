/*
 * tests/arc/test_mixed.c — one ARC chain whose sets use different signing
 * algorithms. RFC 8617 has one set per instance and says nothing against a
 * hop sealing with another algorithm than the one before it (Stalwart seals
 * ed25519-sha256 or rsa-sha256, whichever key it has); such a chain is one
 * chain, not per-algorithm chains with gaps (draft-ietf-dmarc-arc-multi-02
 * applies only where an instance has more than one set).
 *
 * Our sealer follows arc-multi and never switches algorithm, so the hops
 * that switch are made here by a small RFC 8617 sealer of the test's own
 * (rfc8617_seal): one set, any key, the seal covering every earlier set.
 * The hops that keep the algorithm, and the first hop, use mv_arc_seal.
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

#include "arc/arc_int.h" /* mv_arc_seal_hash and the DKIM primitives: the test's own sealer */
#include "arc_testkit.h"

/* Sign hash with key and put the base64 signature into field at off. */
static void put_b(const struct mv_dkim_signkey *key, const unsigned char *hash,
                  struct mv_buf *field, size_t off)
{
	struct mv_buf b64 = MV_BUF_INIT, done = MV_BUF_INIT;
	unsigned char *sig = NULL;
	size_t siglen;

	assert_int_equal(mv_dkim_crypto_sign(key->pkey, hash, &sig, &siglen), MV_OK);
	assert_int_equal(mv_dkim_b64_encode(sig, siglen, &b64), MV_OK);
	mv_buf_append(&done, field->data, off);
	mv_buf_append(&done, b64.data, b64.len);
	mv_buf_append(&done, field->data + off, field->len - off);
	assert_int_equal(mv_buf_status(&done), MV_OK);
	mv_buf_free(field);
	*field = done;
	free(sig);
	mv_buf_free(&b64);
}

/* The AMS of instance inst over aug (the message with the new AAR on top), with its CRLF. */
static void make_ams(const char *aug, unsigned inst, const struct mv_dkim_signkey *key,
                     const char *sel, struct mv_buf *ams)
{
	static char from[] = "from", to[] = "to", subject[] = "subject", date[] = "date";
	char *h[] = {from, to, subject, date};
	struct mv_buf bh = MV_BUF_INIT, scratch = MV_BUF_INIT;
	struct mv_dkim_bodyhash *hasher = NULL;
	unsigned char hash[ARC_HASHLEN];
	struct mv_msg *m = NULL;
	const char *body;
	size_t blen, off;

	assert_int_equal(mv_msg_parse(aug, strlen(aug), NULL, &m, NULL, 0), MV_OK);
	mv_msg_body(m, &body, &blen, NULL);
	assert_int_equal(mv_dkim_bodyhash_new(MV_CANON_RELAXED, -1, &hasher), MV_OK);
	assert_int_equal(mv_dkim_bodyhash_update(hasher, body, blen), MV_OK);
	assert_int_equal(mv_dkim_bodyhash_final(hasher), MV_OK);
	assert_int_equal(mv_dkim_b64_encode(mv_dkim_bodyhash_digest(hasher), ARC_HASHLEN, &bh),
	                 MV_OK);
	mv_buf_printf(ams, "ARC-Message-Signature: a=%s; b=", mv_dkim_alg_str(key->alg));
	off = ams->len;
	mv_buf_printf(ams,
	              "; bh=%s; c=relaxed/relaxed; d=" DOMAIN
	              "; h=from:to:subject:date; i=%u; s=%s; t=%d",
	              bh.data, inst, sel, NOW);
	assert_int_equal(mv_dkim_hash_headers(m, MV_CANON_RELAXED, h, 4, ams->data, ams->len, off,
	                                      0, &scratch, hash),
	                 MV_OK);
	put_b(key, hash, ams, off);
	mv_buf_puts(ams, "\r\n");
	mv_dkim_bodyhash_free(hasher);
	mv_buf_free(&bh);
	mv_buf_free(&scratch);
	mv_msg_free(m);
}

/* The raw field idx of m. */
static void raw_of(const struct mv_msg *m, size_t idx, const char **p, size_t *n)
{
	const struct mv_msg_field *f = mv_msg_field(m, idx);

	*p = f->raw;
	*n = f->raw_len;
}

/*
 * Seal text as a sealer that knows only RFC 8617 does: one set at i=N+1
 * signed by key under selector sel, whatever algorithm the earlier sets
 * use, cv=pass (cv=none at i=1), the seal covering every earlier set.
 * text must hold one set per instance. Frees text; returns the new message.
 */
static char *rfc8617_seal(char *text, const struct mv_dkim_signkey *key, const char *sel)
{
	struct mv_buf aar = MV_BUF_INIT, aug = MV_BUF_INIT, ams = MV_BUF_INIT, as = MV_BUF_INIT;
	struct mv_buf scratch = MV_BUF_INIT;
	struct mv_arc_rawset sets[MV_ARC_MAX_INSTANCE];
	unsigned char hash[ARC_HASHLEN];
	struct mv_arc_sets found;
	struct mv_msg *m = NULL;
	unsigned n, j;
	size_t off;

	assert_int_equal(mv_msg_parse(text, strlen(text), NULL, &m, NULL, 0), MV_OK);
	assert_int_equal(mv_arc_collect(m, &found), MV_OK);
	assert_true(found.count == 0 || found.single);
	n = found.count + 1;
	mv_buf_printf(&aar, "ARC-Authentication-Results: i=%u; " SERV_ID "; arc=%s\r\n", n,
	              n == 1 ? "none" : "pass");
	mv_buf_printf(&aug, "%s%s", aar.data, text);
	make_ams(aug.data, n, key, sel, &ams);
	memset(sets, 0, sizeof sets);
	for (j = 1; j < n; j++) {
		raw_of(m, found.aar[j], &sets[j - 1].aar, &sets[j - 1].aar_len);
		raw_of(m, found.chain[0].ams[j], &sets[j - 1].ams, &sets[j - 1].ams_len);
		raw_of(m, found.chain[0].as[j], &sets[j - 1].as, &sets[j - 1].as_len);
	}
	sets[n - 1].aar = aar.data;
	sets[n - 1].aar_len = aar.len;
	sets[n - 1].ams = ams.data;
	sets[n - 1].ams_len = ams.len;
	mv_buf_printf(&as, "ARC-Seal: a=%s; b=", mv_dkim_alg_str(key->alg));
	off = as.len;
	mv_buf_printf(&as, "; cv=%s; d=" DOMAIN "; i=%u; s=%s; t=%d", n == 1 ? "none" : "pass", n,
	              sel, NOW);
	assert_int_equal(mv_arc_seal_hash(sets, n, as.data, as.len, off, 0, &scratch, hash), MV_OK);
	put_b(key, hash, &as, off);
	mv_buf_printf(&as, "\r\n%s%s%s", ams.data, aar.data, text);
	assert_int_equal(mv_buf_status(&as), MV_OK);
	mv_msg_free(m);
	mv_buf_free(&aar);
	mv_buf_free(&aug);
	mv_buf_free(&ams);
	mv_buf_free(&scratch);
	free(text);
	return mv_buf_steal(&as, NULL);
}

/* One chain of n sets that passes; its sets' seals use algs[0..n) in order. */
static void assert_one_chain_passes(const char *text, unsigned n, const char *const *algs,
                                    unsigned oldest_pass)
{
	const struct mv_arc_chain_result *c;
	struct mv_arc_validator *v;
	struct mv_msg *m = NULL;
	const char *reason;
	unsigned i;
	size_t idx;

	v = kit_validate(text, &m);
	if (mv_arc_validator_cv(v, &reason) != MV_ARC_PASS)
		print_error("i=%u: %s\n", n, reason);
	assert_int_equal(mv_arc_validator_cv(v, NULL), MV_ARC_PASS);
	assert_int_equal(mv_arc_validator_count(v), n);
	assert_int_equal(mv_arc_validator_nchains(v), 1);
	c = mv_arc_validator_chosen(v);
	assert_string_equal(c->alg, algs[n - 1]); /* the newest seal's */
	assert_int_equal(c->nhops, n);
	assert_int_equal(c->oldest_pass, oldest_pass);
	for (i = 0, idx = mv_msg_find(m, "ARC-Seal", 0); i < n; i++) { /* newest first */
		const struct mv_msg_field *f = mv_msg_field(m, idx);
		char want[64];
		snprintf(want, sizeof want, "ARC-Seal: a=%s;", algs[n - 1 - i]);
		assert_memory_equal(f->raw, want, strlen(want));
		assert_int_equal(c->hop[i].cv, i == 0 ? MV_ARC_NONE : MV_ARC_PASS);
		idx = mv_msg_find(m, "ARC-Seal", idx + 1);
	}
	mv_arc_validator_free(v);
	mv_msg_free(m);
}

/* One chain that fails: its reason holds why; ended: its newest seal says cv=fail. */
static void assert_one_chain_fails(const char *text, const char *why, int ended)
{
	const struct mv_arc_chain_result *c;
	struct mv_arc_validator *v;
	struct mv_msg *m = NULL;

	v = kit_validate(text, &m);
	assert_int_equal(mv_arc_validator_cv(v, NULL), MV_ARC_FAIL);
	assert_int_equal(mv_arc_validator_nchains(v), 1);
	c = mv_arc_validator_chain(v, 0);
	if (strstr(c->reason, why) == NULL)
		print_error("reason: %s\n", c->reason);
	assert_non_null(strstr(c->reason, why));
	assert_int_equal(c->ended, ended);
	mv_arc_validator_free(v);
	mv_msg_free(m);
}

/*
 * Our sealer, given both keys, extends a passing single chain with one set
 * in the algorithm of its newest seal, cv=pass (two sets at one instance
 * would split the chain into per-algorithm chains with gaps); that passes.
 */
static char *library_extends(char *text, const char *const *algs, unsigned n)
{
	const struct mv_dkim_signkey *newest =
	        strcmp(algs[n - 1], "rsa-sha256") == 0 ? kit_rsa_key : kit_ed_key;
	char *next, want[96];
	size_t nsets;

	next = kit_seal(text, NULL, &nsets, kit_rsa_key, kit_ed_key);
	assert_int_equal(nsets, 1);
	snprintf(want, sizeof want, "ARC-Seal: a=%s; b=", mv_dkim_alg_str(newest->alg));
	assert_memory_equal(next, want, strlen(want));
	snprintf(want, sizeof want, "cv=pass; d=" DOMAIN "; i=%u;", n + 1);
	assert_non_null(strstr(next, want));
	free(text);
	return next;
}

/*
 * Our sealer seals i=1 with `first`, an RFC 8617 sealer i=2 with `second`
 * (tagging the subject first when tag), our sealer i=3: one chain that
 * passes throughout. oldest: header.oldest-pass at i=2 and i=3.
 */
static void switch_at_second_hop(const struct mv_dkim_signkey *first,
                                 const struct mv_dkim_signkey *second, int tag, unsigned oldest)
{
	const char *a1 = mv_dkim_alg_str(first->alg), *a2 = mv_dkim_alg_str(second->alg);
	const char *const algs[] = {a1, a2, a2};
	size_t nsets;
	char *text;

	text = kit_seal(kit_original, NULL, &nsets, first, NULL);
	if (tag)
		text = kit_edit(text, "Subject: hello", "Subject: [list] hello");
	text = rfc8617_seal(text, second, second == kit_rsa_key ? "rsa" : "ed");
	assert_one_chain_passes(text, 2, algs, oldest);
	text = library_extends(text, algs, 2);
	assert_one_chain_passes(text, 3, algs, oldest);
	free(text);
}

/* Stalwart with an ed25519 key, then one with an RSA key: one chain. */
static void ed25519_then_rsa_is_one_chain_that_passes(void **state)
{
	(void)state;
	switch_at_second_hop(kit_ed_key, kit_rsa_key, 1, 2);
}

static void rsa_then_ed25519_is_one_chain_that_passes(void **state)
{
	(void)state;
	switch_at_second_hop(kit_rsa_key, kit_ed_key, 0, 0);
}

/* Three hops that switch each time, changing the message as lists do. */
static void rsa_ed25519_rsa_chain_of_three_hops_passes(void **state)
{
	static const char *const algs[] = {"rsa-sha256", "ed25519-sha256", "rsa-sha256"};
	size_t nsets;
	char *text;

	(void)state;
	text = kit_seal(kit_original, NULL, &nsets, kit_rsa_key, NULL);
	text = kit_edit(text, "Subject: hello", "Subject: [list] hello");
	text = rfc8617_seal(text, kit_ed_key, "ed");
	assert_one_chain_passes(text, 2, algs, 2);
	text = kit_edit(text, "Hi all.\r\n", "Hi all.\r\n-- \r\nlist footer\r\n");
	text = rfc8617_seal(text, kit_rsa_key, "rsa");
	assert_one_chain_passes(text, 3, algs, 3);
	free(text);
}

/*
 * The ed25519 seal at i=1 does not verify (the rsa hop at i=2 sealed it
 * with cv=pass all the same): the chain fails at i=1, and our sealer ends
 * it with cv=fail.
 */
static void mixed_chain_with_broken_seal_at_i1_fails(void **state)
{
	size_t nsets;
	char *text, *next;

	(void)state;
	text = kit_seal(kit_original, NULL, &nsets, kit_ed_key, NULL);
	text = kit_break_b(text, "ARC-Seal: a=ed25519-sha256");
	text = rfc8617_seal(text, kit_rsa_key, "rsa");
	assert_one_chain_fails(text, "ARC-Seal i=1: signature did not verify", 0);
	next = kit_seal(text, NULL, &nsets, kit_rsa_key, kit_ed_key);
	assert_int_equal(nsets, 1);
	assert_non_null(strstr(next, "cv=fail; d=" DOMAIN "; i=3;"));
	assert_one_chain_fails(next, "i=3 seal says cv=fail", 1);
	free(next);
	free(text);
}

/* One set per instance but one of them in an algorithm we cannot verify: fail, nothing sealed. */
static void single_chain_with_unsupported_algorithm_fails(void **state)
{
	size_t nsets;
	char *text, *next;

	(void)state;
	text = kit_seal(kit_original, NULL, &nsets, kit_rsa_key, NULL);
	text = kit_add_unknown_set(text, 2, 1);
	assert_one_chain_fails(text, "unsupported algorithm a=ed448-sha512", 0);
	next = kit_seal(text, NULL, &nsets, kit_rsa_key, kit_ed_key);
	assert_int_equal(nsets, 0);
	free(next);
	free(text);
}

/*
 * Where an instance has two sets, arc-multi rules: i=1 rsa and ed25519,
 * i=2 rsa only. The rsa chain (1-2) is the longest and passes; the ed25519
 * chain is shorter and does not count; the next seal continues rsa only.
 */
static void dual_first_hop_then_rsa_follows_arc_multi(void **state)
{
	struct mv_arc_validator *v;
	struct mv_msg *m = NULL;
	size_t nsets;
	char *text, *next;

	(void)state;
	text = kit_seal(kit_original, NULL, &nsets, kit_rsa_key, kit_ed_key);
	assert_int_equal(nsets, 2);
	next = kit_seal(text, NULL, &nsets, kit_rsa_key, NULL);
	free(text);
	text = next;
	v = kit_validate(text, &m);
	assert_int_equal(mv_arc_validator_cv(v, NULL), MV_ARC_PASS);
	assert_int_equal(mv_arc_validator_nchains(v), 2);
	assert_int_equal(kit_chain_cv(v, "rsa-sha256"), MV_ARC_PASS);
	assert_int_equal(kit_chain_cv(v, "ed25519-sha256"), MV_ARC_FAIL);
	assert_string_equal(mv_arc_validator_chosen(v)->alg, "rsa-sha256");
	mv_arc_validator_free(v);
	mv_msg_free(m);
	next = kit_seal(text, NULL, &nsets, kit_rsa_key, kit_ed_key);
	assert_int_equal(nsets, 1);
	assert_memory_equal(next, "ARC-Seal: a=rsa-sha256; b=", 26);
	free(next);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(ed25519_then_rsa_is_one_chain_that_passes),
	        cmocka_unit_test(rsa_then_ed25519_is_one_chain_that_passes),
	        cmocka_unit_test(rsa_ed25519_rsa_chain_of_three_hops_passes),
	        cmocka_unit_test(mixed_chain_with_broken_seal_at_i1_fails),
	        cmocka_unit_test(single_chain_with_unsupported_algorithm_fails),
	        cmocka_unit_test(dual_first_hop_then_rsa_follows_arc_multi),
	};
	return cmocka_run_group_tests(tests, kit_setup, kit_teardown);
}
