/* tests/dkim/test_rfc8463.c — RFC 8463 Appendix A: both signatures verify; signing reproduces them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mailvet/dkim.h>

#include "dkim/dkim_int.h"

#define T_SIGNED 1528637909 /* t= of both signatures */

struct vectors {
	char *signed_msg, *unsigned_msg, *records, *seed_b64, *rsa_pem;
	size_t signed_len, unsigned_len, records_len, seed_len, rsa_len;
	struct mv_resolver *zone;
};

static char *slurp(const char *dir, const char *name, size_t *len)
{
	char path[1024];
	char *data = NULL;

	snprintf(path, sizeof path, "%s/conformance/dkim/%s", dir, name);
	if (mv_read_file(path, 1 << 20, &data, len) != MV_OK)
		fail_msg("cannot read %s", path);
	return data;
}

/* dns-txt-records.txt is "name value" a line; our zone wants name TXT "value". */
static struct mv_resolver *zone_from_records(const char *rec)
{
	struct mv_buf z = MV_BUF_INIT;
	struct mv_resolver *r = NULL;
	char err[128];
	const char *p = rec;

	while (*p != '\0') {
		size_t n = strcspn(p, "\n"), sp = strcspn(p, " ");
		if (sp < n)
			mv_buf_printf(&z, "%.*s TXT \"%.*s\"\n", (int)sp, p, (int)(n - sp - 1),
			              p + sp + 1);
		p += n + (p[n] == '\n');
	}
	assert_int_equal(mv_dns_zone_parse(z.data, z.len, &r, err, sizeof err), MV_OK);
	mv_buf_free(&z);
	return r;
}

static int setup(void **state)
{
	const char *dir = getenv("MV_SHARED_DIR");
	struct vectors *v;
	char path[1024];
	FILE *f;

	snprintf(path, sizeof path, "%s/conformance/dkim/message-signed.eml", dir ? dir : "");
	if (dir == NULL || (f = fopen(path, "r")) == NULL) {
		*state = NULL;
		return 0;
	}
	fclose(f);
	v = calloc(1, sizeof *v);
	v->signed_msg = slurp(dir, "message-signed.eml", &v->signed_len);
	v->unsigned_msg = slurp(dir, "message-unsigned.eml", &v->unsigned_len);
	v->records = slurp(dir, "dns-txt-records.txt", &v->records_len);
	v->seed_b64 = slurp(dir, "ed25519-private-key.b64", &v->seed_len);
	v->rsa_pem = slurp(dir, "rsa-private-key.pem", &v->rsa_len);
	v->zone = zone_from_records(v->records);
	*state = v;
	return 0;
}

static int teardown(void **state)
{
	struct vectors *v = *state;

	if (v == NULL)
		return 0;
	free(v->signed_msg);
	free(v->unsigned_msg);
	free(v->records);
	free(v->seed_b64);
	free(v->rsa_pem);
	mv_dns_free(v->zone);
	free(v);
	return 0;
}

#define NEED_VECTORS(v)                                                                            \
	do {                                                                                       \
		if ((v) == NULL) {                                                                 \
			print_message("MV_SHARED_DIR/conformance/dkim absent: skipped\n");         \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

static struct mv_msg *parse(const char *data, size_t len)
{
	struct mv_msg *m = NULL;
	char err[128];

	assert_int_equal(mv_msg_parse(data, len, NULL, &m, err, sizeof err), MV_OK);
	return m;
}

static struct mv_dkim_verifier *verify_at(struct vectors *v, const char *data, size_t len,
                                          int64_t now)
{
	struct mv_dkim_verifier *ver = NULL;
	struct mv_msg *m = parse(data, len);

	assert_int_equal(mv_dkim_verifier_new(NULL, v->zone, now, &ver), MV_OK);
	assert_int_equal(mv_dkim_verifier_message(ver, m), MV_OK);
	mv_msg_free(m);
	return ver;
}

static void assert_passes(const struct mv_dkim_result *r, const char *s, const char *a,
                          const char *b)
{
	assert_non_null(r);
	if (r->res != MV_DKIM_PASS)
		fail_msg("s=%s: %s (%s)", s, mv_dkim_res_str(r->res), r->reason);
	assert_string_equal(r->d, "football.example.com");
	assert_string_equal(r->i, "@football.example.com");
	assert_string_equal(r->s, s);
	assert_string_equal(r->a, a);
	assert_string_equal(r->b, b);
}

/* RFC 8463 Appendix A.3: the ed25519 and the rsa signature both verify. */
static void both_signatures_verify(void **state)
{
	struct vectors *v = *state;
	struct mv_dkim_verifier *ver;

	NEED_VECTORS(v);
	ver = verify_at(v, v->signed_msg, v->signed_len, T_SIGNED);
	assert_int_equal(mv_dkim_verifier_count(ver), 2);
	assert_passes(mv_dkim_verifier_result(ver, 0), "brisbane", "ed25519-sha256", "/gCrinpc");
	assert_passes(mv_dkim_verifier_result(ver, 1), "test", "rsa-sha256", "F45dVWDf");
	assert_int_equal(mv_dkim_verifier_result(ver, 1)->key_bits, 1024);
	mv_dkim_verifier_free(ver);
}

/* One changed byte in the body: both body hashes fail. */
static void tampered_body_fails_both(void **state)
{
	struct vectors *v = *state;
	struct mv_dkim_verifier *ver;
	char *copy, *p;

	NEED_VECTORS(v);
	copy = mv_strndup(v->signed_msg, v->signed_len);
	p = strstr(copy, "hungry");
	p[0] = 'H';
	ver = verify_at(v, copy, v->signed_len, T_SIGNED);
	assert_int_equal(mv_dkim_verifier_result(ver, 0)->res, MV_DKIM_FAIL);
	assert_int_equal(mv_dkim_verifier_result(ver, 1)->res, MV_DKIM_FAIL);
	assert_string_equal(mv_dkim_verifier_result(ver, 0)->reason, "body hash did not verify");
	mv_dkim_verifier_free(ver);
	free(copy);
}

/* One changed byte in a signed header field: the signatures fail, the body hash holds. */
static void tampered_subject_fails_both(void **state)
{
	struct vectors *v = *state;
	struct mv_dkim_verifier *ver;
	char *copy, *p;

	NEED_VECTORS(v);
	copy = mv_strndup(v->signed_msg, v->signed_len);
	p = strstr(copy, "dinner");
	p[0] = 'D';
	ver = verify_at(v, copy, v->signed_len, T_SIGNED);
	assert_int_equal(mv_dkim_verifier_result(ver, 0)->res, MV_DKIM_FAIL);
	assert_string_equal(mv_dkim_verifier_result(ver, 1)->reason, "signature did not verify");
	mv_dkim_verifier_free(ver);
	free(copy);
}

/* The signature's tag-list with the values of bh= and b= taken out. */
static char *template_of(const struct mv_msg_field *f)
{
	struct mv_taglist tl;
	const struct mv_tag *bh, *b, *first, *second;
	struct mv_buf out = MV_BUF_INIT;
	const char *v = f->value;

	assert_int_equal(mv_taglist_parse(v, f->value_len, &tl, NULL, 0), MV_OK);
	bh = mv_taglist_get(&tl, "bh");
	b = mv_taglist_get(&tl, "b");
	first = bh->raw_value < b->raw_value ? bh : b;
	second = first == bh ? b : bh;
	mv_buf_append(&out, v, (size_t)(first->raw_value - v));
	mv_buf_append(&out, first->raw_value + first->raw_len,
	              (size_t)(second->raw_value - (first->raw_value + first->raw_len)));
	mv_buf_append(&out, second->raw_value + second->raw_len,
	              (size_t)(v + f->value_len - (second->raw_value + second->raw_len)));
	return mv_buf_steal(&out, NULL);
}

static char *no_ws(const char *s, size_t n)
{
	char *o = malloc(n + 1);
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			o[k++] = s[i];
	o[k] = '\0';
	return o;
}

/* Sign the unsigned message with field `which`'s tags; compare with the published field. */
static void reproduce(struct vectors *v, size_t which, const struct mv_dkim_signkey *key)
{
	struct mv_msg *sm = parse(v->signed_msg, v->signed_len);
	struct mv_msg *um = parse(v->unsigned_msg, v->unsigned_len);
	const struct mv_msg_field *f =
	        mv_msg_field(sm, mv_msg_find(sm, "DKIM-Signature", 0) + which);
	struct mv_dkim_sign_opts o;
	struct mv_buf out = MV_BUF_INIT;
	const char *body;
	size_t blen, off, prefix = strlen("DKIM-Signature:");
	char *want, *got;

	mv_dkim_sign_opts_default(&o);
	o.tmpl = template_of(f);
	mv_msg_body(um, &body, &blen, &off);
	assert_int_equal(mv_dkim_sign(&o, &key, NULL, 1, um, body, blen, &out), MV_OK);
	assert_true(out.len > prefix && memcmp(out.data, "DKIM-Signature:", prefix) == 0);
	want = no_ws(f->value, f->value_len);
	got = no_ws(out.data + prefix, out.len - prefix);
	assert_string_equal(got, want);
	free(want);
	free(got);
	free((char *)o.tmpl);
	mv_buf_free(&out);
	mv_msg_free(sm);
	mv_msg_free(um);
}

/* Ed25519 is deterministic (RFC 8032): the same tags give the same b=. */
static void ed25519_signature_reproduced(void **state)
{
	struct vectors *v = *state;
	struct mv_dkim_signkey *key = NULL;
	unsigned char *seed;
	enum mv_status st;
	size_t n, slen = 0;

	NEED_VECTORS(v);
	n = strcspn(v->seed_b64, "\r\n");
	seed = mv_dkim_b64_decode(v->seed_b64, n, &slen, &st);
	assert_int_equal(st, MV_OK);
	assert_int_equal(slen, 32);
	assert_int_equal(mv_dkim_signkey_ed25519_seed(seed, &key), MV_OK);
	reproduce(v, 0, key);
	mv_dkim_signkey_free(key);
	free(seed);
}

/* RSASSA-PKCS1-v1_5 is deterministic too. */
static void rsa_signature_reproduced(void **state)
{
	struct vectors *v = *state;
	struct mv_dkim_signkey *key = NULL;
	char err[128];

	NEED_VECTORS(v);
	assert_int_equal(mv_dkim_signkey_pem(v->rsa_pem, v->rsa_len, &key, err, sizeof err), MV_OK);
	reproduce(v, 1, key);
	mv_dkim_signkey_free(key);
}

/* x= in the past: RFC 6376 §3.5 says the signature is not valid. */
static void timestamp_checked_against_the_given_clock(void **state)
{
	struct vectors *v = *state;
	struct mv_dkim_verifier *ver;

	NEED_VECTORS(v);
	/* The vectors carry no x=, so they still pass ten years later. */
	ver = verify_at(v, v->signed_msg, v->signed_len, T_SIGNED + 315360000);
	assert_int_equal(mv_dkim_verifier_result(ver, 0)->res, MV_DKIM_PASS);
	mv_dkim_verifier_free(ver);
	/* And a verifier whose clock is a day before t= refuses them. */
	ver = verify_at(v, v->signed_msg, v->signed_len, T_SIGNED - 86400);
	assert_int_equal(mv_dkim_verifier_result(ver, 0)->res, MV_DKIM_PERMERROR);
	mv_dkim_verifier_free(ver);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(both_signatures_verify),
	        cmocka_unit_test(tampered_body_fails_both),
	        cmocka_unit_test(tampered_subject_fails_both),
	        cmocka_unit_test(ed25519_signature_reproduced),
	        cmocka_unit_test(rsa_signature_reproduced),
	        cmocka_unit_test(timestamp_checked_against_the_given_clock),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
