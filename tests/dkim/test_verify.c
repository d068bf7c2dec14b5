/* tests/dkim/test_verify.c — the verifier end to end: sign with our keys, publish a zone, verify. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <mailvet/dkim.h>

#include "dkim/dkim_int.h"
#include "dkim/signkey.h"

#define NOW 1700000000
#define MSG                                                                                        \
	"From: Alice <alice@example.com>\r\n"                                                      \
	"To: Bob <bob@example.net>\r\n"                                                            \
	"Subject: lunch\r\n"                                                                       \
	"X-Tag: top\r\n"                                                                           \
	"Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"                                                \
	"X-Tag: bottom\r\n"                                                                        \
	"\r\n"                                                                                     \
	"Shall we meet at  noon?  \r\n"                                                            \
	"\r\n"                                                                                     \
	"Alice\r\n"                                                                                \
	"\r\n"                                                                                     \
	"\r\n"

static struct mv_dkim_signkey *rsa, *ed;
static char *rsa_rec, *ed_rec;

/* A zone line with the record split into strings of at most 255 bytes. */
static void zone_txt(struct mv_buf *z, const char *owner, const char *rec)
{
	size_t len = strlen(rec), i;

	mv_buf_printf(z, "%s TXT", owner);
	for (i = 0; i < len; i += 255)
		mv_buf_printf(z, " \"%.*s\"", (int)(len - i < 255 ? len - i : 255), rec + i);
	mv_buf_puts(z, "\n");
}

/* rec with extra tags put in front of p= */
static char *with_tags(const char *rec, const char *tags)
{
	const char *p = strstr(rec, "p=");
	struct mv_buf b = MV_BUF_INIT;

	mv_buf_printf(&b, "%.*s%s %s", (int)(p - rec), rec, tags, p);
	return mv_buf_steal(&b, NULL);
}

/* A 512-bit RSA key record: RFC 8301 says it never passes. */
static char *small_rsa_record(void)
{
	EVP_PKEY *k = EVP_RSA_gen(512);
	unsigned char *der = NULL;
	struct mv_buf b = MV_BUF_INIT;
	int n = i2d_PUBKEY(k, &der);

	mv_buf_puts(&b, "v=DKIM1; p=");
	mv_dkim_b64_encode(der, (size_t)n, &b);
	OPENSSL_free(der);
	EVP_PKEY_free(k);
	return mv_buf_steal(&b, NULL);
}

static struct mv_resolver *zone;

static int setup(void **state)
{
	struct mv_buf z = MV_BUF_INIT;
	char *pem = NULL, *v, errbuf[128];
	struct {
		const char *sel, *tags;
	} variants[] = {
	        {"testing", "t=y;"},       {"strict", "t=s;"},          {"sha1only", "h=sha1;"},
	        {"notemail", "s=tlsrpt;"}, {"wrongtype", "k=ed25519;"},
	};
	size_t i;

	(void)state;
	assert_int_equal(mv_dkim_keygen(MV_DKIM_KEY_RSA, 2048, &rsa, &pem), MV_OK);
	free(pem);
	assert_int_equal(mv_dkim_keygen(MV_DKIM_KEY_ED25519, 0, &ed, &pem), MV_OK);
	free(pem);
	rsa_rec = mv_dkim_signkey_record(rsa);
	ed_rec = mv_dkim_signkey_record(ed);
	zone_txt(&z, "rsa._domainkey.example.com", rsa_rec);
	zone_txt(&z, "ed._domainkey.example.com", ed_rec);
	for (i = 0; i < sizeof variants / sizeof variants[0]; i++) {
		char owner[64];
		snprintf(owner, sizeof owner, "%s._domainkey.example.com", variants[i].sel);
		v = with_tags(rsa_rec, variants[i].tags);
		zone_txt(&z, owner, v);
		free(v);
	}
	/* a key published under the name a d= of "bank.example(.attacker.example" asks for */
	zone_txt(&z, "ed._domainkey.bank.example\\040.attacker.example", ed_rec);
	zone_txt(&z, "revoked._domainkey.example.com", "v=DKIM1; k=rsa; p=");
	zone_txt(&z, "two._domainkey.example.com", rsa_rec);
	zone_txt(&z, "two._domainkey.example.com", rsa_rec);
	zone_txt(&z, "garbage._domainkey.example.com", "v=DKIM1; p=%%%");
	v = small_rsa_record();
	zone_txt(&z, "small._domainkey.example.com", v);
	free(v);
	mv_buf_puts(&z, "broken._domainkey.example.com SERVFAIL\n"
	                "slow._domainkey.example.com TIMEOUT\n");
	assert_int_equal(mv_dns_zone_parse(z.data, z.len, &zone, errbuf, sizeof errbuf), MV_OK);
	mv_buf_free(&z);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	mv_dkim_signkey_free(rsa);
	mv_dkim_signkey_free(ed);
	free(rsa_rec);
	free(ed_rec);
	mv_dns_free(zone);
	return 0;
}

/* The message text with a signature by key under selector prepended. */
static char *sign_with(const char *text, const struct mv_dkim_signkey *key, const char *selector,
                       const struct mv_dkim_sign_opts *given)
{
	struct mv_dkim_sign_opts o;
	struct mv_buf out = MV_BUF_INIT;
	struct mv_msg *m = NULL;
	const char *body;
	size_t blen, off;

	if (given != NULL)
		o = *given;
	else
		mv_dkim_sign_opts_default(&o);
	o.domain = "example.com";
	o.selector = selector;
	o.now = NOW;
	assert_int_equal(mv_msg_parse(text, strlen(text), NULL, &m, NULL, 0), MV_OK);
	mv_msg_body(m, &body, &blen, &off);
	assert_int_equal(mv_dkim_sign(&o, &key, NULL, 1, m, body, blen, &out), MV_OK);
	mv_buf_puts(&out, text);
	mv_msg_free(m);
	return mv_buf_steal(&out, NULL);
}

/* The message signed at NOW by key under selector, with x= an hour later. */
static char *sign_expiring(const struct mv_dkim_signkey *key, const char *selector)
{
	struct mv_dkim_sign_opts o;

	mv_dkim_sign_opts_default(&o);
	o.expire = 3600;
	return sign_with(MSG, key, selector, &o);
}

/*
 * MSG with an ed25519 signature for d=<d>, s=ed made here step by step,
 * for a d= that mv_dkim_sign refuses: relaxed/relaxed, h=from:to:subject.
 */
static char *sign_by_hand(const char *d)
{
	static char *const h[] = {"from", "to", "subject"};
	struct mv_buf field = MV_BUF_INIT, scratch = MV_BUF_INIT;
	struct mv_dkim_bodyhash *bh = NULL;
	struct mv_msg *m = NULL;
	unsigned char hash[MV_DKIM_HASHLEN], *sig = NULL;
	const char *body;
	size_t blen, off, siglen;

	assert_int_equal(mv_msg_parse(MSG, strlen(MSG), NULL, &m, NULL, 0), MV_OK);
	mv_msg_body(m, &body, &blen, &off);
	assert_int_equal(mv_dkim_bodyhash_new(MV_CANON_RELAXED, -1, &bh), MV_OK);
	assert_int_equal(mv_dkim_bodyhash_update(bh, body, blen), MV_OK);
	assert_int_equal(mv_dkim_bodyhash_final(bh), MV_OK);
	mv_buf_printf(&field,
	              "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=%s; s=ed;"
	              " h=from:to:subject; bh=",
	              d);
	mv_dkim_b64_encode(mv_dkim_bodyhash_digest(bh), MV_DKIM_HASHLEN, &field);
	mv_buf_puts(&field, "; b=");
	assert_int_equal(mv_dkim_hash_headers(m, MV_CANON_RELAXED, h, 3, field.data, field.len,
	                                      field.len, 0, &scratch, hash),
	                 MV_OK);
	assert_int_equal(mv_dkim_crypto_sign(ed->pkey, hash, &sig, &siglen), MV_OK);
	mv_dkim_b64_encode(sig, siglen, &field);
	mv_buf_printf(&field, "\r\n%s", MSG);
	free(sig);
	mv_buf_free(&scratch);
	mv_dkim_bodyhash_free(bh);
	mv_msg_free(m);
	return mv_buf_steal(&field, NULL);
}

/* Verify text; the body is fed `chunk` bytes at a time (0: all at once). */
static struct mv_dkim_verifier *verify_ex(const char *text, const struct mv_dkim_verify_opts *o,
                                          int64_t now, size_t chunk)
{
	struct mv_dkim_verifier *v = NULL;
	struct mv_msg *m = NULL;
	const char *body;
	size_t blen, off, i;

	assert_int_equal(mv_msg_parse(text, strlen(text), NULL, &m, NULL, 0), MV_OK);
	assert_int_equal(mv_dkim_verifier_new(o, zone, now, &v), MV_OK);
	assert_int_equal(mv_dkim_verifier_headers(v, m), MV_OK);
	mv_msg_body(m, &body, &blen, &off);
	if (chunk == 0)
		chunk = blen ? blen : 1;
	for (i = 0; i < blen; i += chunk)
		assert_int_equal(
		        mv_dkim_verifier_body(v, body + i, blen - i < chunk ? blen - i : chunk),
		        MV_OK);
	assert_int_equal(mv_dkim_verifier_final(v), MV_OK);
	mv_msg_free(m);
	return v;
}

static const struct mv_dkim_result *verify1(const char *text, struct mv_dkim_verifier **v)
{
	*v = verify_ex(text, NULL, NOW, 0);
	return mv_dkim_verifier_result(*v, 0);
}

static void expect(const char *text, enum mv_dkim_res res, const char *reason_part)
{
	struct mv_dkim_verifier *v;
	const struct mv_dkim_result *r = verify1(text, &v);

	if (r->res != res || (reason_part && !strstr(r->reason, reason_part)))
		fail_msg("got %s (%s), want %s (%s)", mv_dkim_res_str(r->res), r->reason,
		         mv_dkim_res_str(res), reason_part ? reason_part : "");
	mv_dkim_verifier_free(v);
}

/* Replace the first `from` in s by `to` (same length or not), in a new string. */
static char *edit(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	struct mv_buf b = MV_BUF_INIT;

	assert_non_null(p);
	mv_buf_printf(&b, "%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
	return mv_buf_steal(&b, NULL);
}

/* Both algorithms under the four canonicalization pairs; body fed whole and byte by byte. */
static void every_canonicalization_pair_verifies(void **state)
{
	static const enum mv_canon cs[] = {MV_CANON_SIMPLE, MV_CANON_RELAXED};
	struct mv_dkim_sign_opts o;
	struct mv_dkim_verifier *v;
	size_t h, b, chunk;
	char *s;

	(void)state;
	for (h = 0; h < 2; h++) {
		for (b = 0; b < 2; b++) {
			mv_dkim_sign_opts_default(&o);
			o.hcanon = cs[h];
			o.bcanon = cs[b];
			for (chunk = 0; chunk < 2; chunk++) {
				s = sign_with(MSG, chunk ? ed : rsa, chunk ? "ed" : "rsa", &o);
				v = verify_ex(s, NULL, NOW, chunk);
				if (mv_dkim_verifier_result(v, 0)->res != MV_DKIM_PASS)
					fail_msg("c=%zu/%zu: %s", h, b,
					         mv_dkim_verifier_result(v, 0)->reason);
				mv_dkim_verifier_free(v);
				free(s);
			}
		}
	}
}

/* Relaxed tolerates whitespace changes that simple does not (§3.4.2, §3.4.4). */
static void relaxed_tolerates_whitespace_simple_does_not(void **state)
{
	struct mv_dkim_sign_opts o;
	char *s, *t;

	(void)state;
	mv_dkim_sign_opts_default(&o);
	s = sign_with(MSG, rsa, "rsa", &o);
	t = edit(s, "Subject: lunch", "Subject:   lunch ");
	expect(t, MV_DKIM_PASS, NULL);
	free(t);
	free(s);
	o.hcanon = o.bcanon = MV_CANON_SIMPLE;
	s = sign_with(MSG, rsa, "rsa", &o);
	t = edit(s, "Subject: lunch", "Subject:   lunch ");
	expect(t, MV_DKIM_FAIL, "signature did not verify");
	free(t);
	t = edit(s, "at  noon", "at noon");
	expect(t, MV_DKIM_FAIL, "body hash did not verify");
	free(t);
	free(s);
}

/* §5.4.2: "x-tag" once in h= signs the bottom-most X-Tag only. */
static void repeated_fields_are_selected_bottom_up(void **state)
{
	struct mv_dkim_sign_opts o;
	char *s, *t;

	(void)state;
	mv_dkim_sign_opts_default(&o);
	o.headers = "from:x-tag";
	s = sign_with(MSG, rsa, "rsa", &o);
	t = edit(s, "X-Tag: top", "X-Tag: changed");
	expect(t, MV_DKIM_PASS, NULL);
	free(t);
	t = edit(s, "X-Tag: bottom", "X-Tag: changed");
	expect(t, MV_DKIM_FAIL, "signature did not verify");
	free(t);
	free(s);
}

/*
 * RFC 6376 §3.7 / §5.4: the signature being verified enters the hash only
 * once, last and with b= empty. h= may name DKIM-Signature, signing the
 * signatures already there; an occurrence the signer found absent signs
 * that absence (§5.4.2) — it must not select the signature itself.
 */
static void signing_earlier_signatures_verifies(void **state)
{
	struct mv_dkim_sign_opts o;
	struct mv_dkim_verifier *v;
	const struct mv_dkim_result *r;
	char *s, *t;
	size_t i;

	(void)state;
	mv_dkim_sign_opts_default(&o);
	o.headers = "from:to:subject:dkim-signature";
	s = sign_with(MSG, rsa, "rsa", &o); /* no earlier signature: over-signed */
	expect(s, MV_DKIM_PASS, NULL);
	o.headers = "from:dkim-signature:dkim-signature";
	t = sign_with(s, ed, "ed", &o); /* signs the rsa signature, over-signs one more */
	v = verify_ex(t, NULL, NOW, 0);
	assert_int_equal(mv_dkim_verifier_count(v), 2);
	for (i = 0; i < 2; i++) {
		r = mv_dkim_verifier_result(v, i);
		/*
		 * The ed signature covers the rsa one and passes. The rsa one
		 * over-signed DKIM-Signature, so a signature added above it
		 * later breaks it, as an added From breaks an over-signed From.
		 */
		assert_int_equal(r->res, strcmp(r->s, "ed") == 0 ? MV_DKIM_PASS : MV_DKIM_FAIL);
	}
	mv_dkim_verifier_free(v);
	free(t);
	free(s);
}

/* §5.4.2: a name listed more often than it occurs signs its absence (From over-signed). */
static void over_signed_from_refuses_an_added_from(void **state)
{
	char *s, *t;

	(void)state;
	s = sign_with(MSG, rsa, "rsa", NULL); /* the default list over-signs From */
	assert_non_null(strstr(s, "h=from:from:"));
	t = edit(s, "To: Bob", "From: Mallory <m@example.org>\r\nTo: Bob");
	expect(t, MV_DKIM_FAIL, "signature did not verify");
	free(t);
	t = edit(s, "To: Bob", "X-Unsigned: added\r\nTo: Bob");
	expect(t, MV_DKIM_PASS, NULL);
	free(t);
	free(s);
}

/* l=: bytes past the limit may change; the result says how much was signed. */
static void body_length_limit_is_reported_and_can_be_refused(void **state)
{
	struct mv_dkim_verify_opts vo;
	struct mv_dkim_sign_opts o;
	struct mv_dkim_verifier *v;
	const struct mv_dkim_result *r;
	char *s, *t;

	(void)state;
	mv_dkim_sign_opts_default(&o);
	o.body_limit = 10;
	s = sign_with(MSG, ed, "ed", &o);
	t = edit(s, "Alice\r\n\r\n\r\n", "Alice\r\nP.S. click here\r\n");
	r = verify1(t, &v);
	assert_int_equal(r->res, MV_DKIM_PASS);
	assert_int_equal(r->l, 10);
	assert_true(r->body_len > 10);
	assert_non_null(strstr(r->reason, "l=10"));
	mv_dkim_verifier_free(v);
	mv_dkim_verify_opts_default(&vo);
	vo.refuse_l = 1;
	v = verify_ex(t, &vo, NOW, 0);
	assert_int_equal(mv_dkim_verifier_result(v, 0)->res, MV_DKIM_POLICY);
	mv_dkim_verifier_free(v);
	free(t);
	free(s);
	o.body_limit = 100000; /* longer than the body */
	s = sign_with(MSG, ed, "ed", &o);
	expect(s, MV_DKIM_FAIL, "shorter than l=");
	free(s);
}

/* Every signature gets a result; past the limit they are reported, not dropped. */
static void signatures_past_the_limit_are_reported_neutral(void **state)
{
	struct mv_dkim_verify_opts vo;
	struct mv_dkim_verifier *v;
	char *a, *b, *c;

	(void)state;
	a = sign_with(MSG, rsa, "rsa", NULL);
	b = sign_with(a, ed, "ed", NULL);
	c = sign_with(b, rsa, "testing", NULL);
	mv_dkim_verify_opts_default(&vo);
	vo.max_signatures = 2;
	v = verify_ex(c, &vo, NOW, 0);
	assert_int_equal(mv_dkim_verifier_count(v), 3);
	assert_int_equal(mv_dkim_verifier_result(v, 0)->res, MV_DKIM_PASS);
	assert_string_equal(mv_dkim_verifier_result(v, 0)->s, "testing");
	assert_int_equal(mv_dkim_verifier_result(v, 0)->testing, 1);
	assert_int_equal(mv_dkim_verifier_result(v, 1)->res, MV_DKIM_PASS);
	assert_int_equal(mv_dkim_verifier_result(v, 2)->res, MV_DKIM_NEUTRAL);
	assert_string_equal(mv_dkim_verifier_result(v, 2)->reason,
	                    "not evaluated: limit of 2 signatures");
	assert_string_equal(mv_dkim_verifier_result(v, 2)->s, "rsa");
	assert_int_equal(strlen(mv_dkim_verifier_result(v, 2)->b), 8);
	mv_dkim_verifier_free(v);
	free(a);
	free(b);
	free(c);
}

/* RFC 8601 §2.7.1 none: the message is not signed. */
static void unsigned_message_is_none(void **state)
{
	struct mv_dkim_verifier *v;
	const struct mv_dkim_result *r;

	(void)state;
	r = verify1(MSG, &v);
	assert_int_equal(mv_dkim_verifier_count(v), 1);
	assert_int_equal(r->res, MV_DKIM_NONE);
	assert_null(r->d);
	mv_dkim_verifier_free(v);
}

struct key_case {
	const char *selector, *identity;
	enum mv_dkim_res res;
	const char *reason;
};

/* What each published key record makes of a good signature (§3.6.1, §6.1.2, RFC 8301). */
static void key_records_decide_as_the_rfc_says(void **state)
{
	static const struct key_case cases[] = {
	        {"testing", NULL, MV_DKIM_PASS, "testing"},
	        {"strict", "@example.com", MV_DKIM_PASS, NULL},
	        {"strict", "user@mail.example.com", MV_DKIM_PERMERROR, "t=s"},
	        {"rsa", "user@mail.example.com", MV_DKIM_PASS, NULL},
	        {"sha1only", NULL, MV_DKIM_PERMERROR, "sha256"},
	        {"notemail", NULL, MV_DKIM_PERMERROR, "email"},
	        {"wrongtype", NULL, MV_DKIM_PERMERROR, "key"},
	        {"revoked", NULL, MV_DKIM_PERMERROR, "revoked"},
	        {"two", NULL, MV_DKIM_PERMERROR, "2 key records"},
	        {"garbage", NULL, MV_DKIM_PERMERROR, "bad key record"},
	        {"small", NULL, MV_DKIM_PERMERROR, "512 bits"},
	        {"absent", NULL, MV_DKIM_PERMERROR, "no key"},
	        {"broken", NULL, MV_DKIM_TEMPERROR, "servfail"},
	        {"slow", NULL, MV_DKIM_TEMPERROR, "timeout"},
	};
	struct mv_dkim_sign_opts o;
	size_t i;
	char *s;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		mv_dkim_sign_opts_default(&o);
		o.identity = cases[i].identity;
		s = sign_with(MSG, rsa, cases[i].selector, &o);
		print_message("selector %s\n", cases[i].selector);
		expect(s, cases[i].res, cases[i].reason);
		free(s);
	}
}

/* x= and t= against the clock the caller gives (§3.5). */
static void expiry_and_future_timestamps(void **state)
{
	struct mv_dkim_verifier *v;
	char *s;

	(void)state;
	s = sign_expiring(ed, "ed");
	v = verify_ex(s, NULL, NOW + 3599, 0);
	assert_int_equal(mv_dkim_verifier_result(v, 0)->res, MV_DKIM_PASS);
	mv_dkim_verifier_free(v);
	v = verify_ex(s, NULL, NOW + 3600, 0); /* x= is the last second it is good */
	assert_int_equal(mv_dkim_verifier_result(v, 0)->res, MV_DKIM_PASS);
	mv_dkim_verifier_free(v);
	v = verify_ex(s, NULL, NOW - 3600, 0);
	assert_int_equal(mv_dkim_verifier_result(v, 0)->res, MV_DKIM_PERMERROR);
	mv_dkim_verifier_free(v);
	free(s);
}

/*
 * §6.1.1: a signature past its x= is refused before the key is fetched or
 * a hash compared, so it is a permerror (RFC 8601 §2.7.1), never a fail,
 * and a key lookup that would fail temporarily does not make it temperror.
 */
static void expired_signature_is_permerror(void **state)
{
	static const char *const sels[] = {"ed", "broken", "absent"};
	struct mv_dkim_verifier *v;
	struct mv_result *ar;
	size_t i;
	char *s;

	(void)state;
	for (i = 0; i < sizeof sels / sizeof sels[0]; i++) {
		s = sign_expiring(strcmp(sels[i], "ed") == 0 ? ed : rsa, sels[i]);
		v = verify_ex(s, NULL, NOW + 3601, 0);
		assert_int_equal(mv_dkim_verifier_result(v, 0)->res, MV_DKIM_PERMERROR);
		assert_string_equal(mv_dkim_verifier_result(v, 0)->reason,
		                    "signature expired (x=1700003600)");
		assert_int_equal(mv_dkim_result_authres(mv_dkim_verifier_result(v, 0), &ar), MV_OK);
		assert_string_equal(ar->result, "permerror");
		mv_result_free(ar);
		mv_dkim_verifier_free(v);
		free(s);
	}
}

/* x= before t= is malformed whatever the clock says (§3.5): permerror, as before. */
static void expiry_before_timestamp_is_permerror(void **state)
{
	static const int64_t clocks[] = {NOW - 10, NOW, NOW + 7200};
	struct mv_dkim_verifier *v;
	size_t i;
	char *s, *t;

	(void)state;
	s = sign_expiring(ed, "ed");
	t = edit(s, "x=1700003600", "x=1699999999");
	for (i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
		v = verify_ex(t, NULL, clocks[i], 0);
		assert_int_equal(mv_dkim_verifier_result(v, 0)->res, MV_DKIM_PERMERROR);
		assert_string_equal(mv_dkim_verifier_result(v, 0)->reason, "x= is before t=");
		mv_dkim_verifier_free(v);
	}
	free(t);
	free(s);
}

/*
 * §3.5: d= must be a domain-name. A cryptographically good signature for
 * d=bank.example(.attacker.example, its key published under that name, is
 * a permerror: the verifier never asks DNS for a signer outside the grammar.
 */
static void d_outside_the_domain_grammar_is_permerror(void **state)
{
	struct mv_dkim_verifier *v;
	const struct mv_dkim_result *r;
	char *s;

	(void)state;
	s = sign_by_hand("example.com"); /* the helper itself signs correctly */
	expect(s, MV_DKIM_PASS, NULL);
	free(s);
	s = sign_by_hand("bank.example(.attacker.example");
	r = verify1(s, &v);
	assert_int_equal(r->res, MV_DKIM_PERMERROR);
	assert_string_equal(r->reason, "d= is not a domain name");
	assert_string_equal(r->d, "bank.example(.attacker.example"); /* reported as written */
	mv_dkim_verifier_free(v);
	free(s);
}

/* RFC 8301 §3.1: rsa-sha1 never passes, and the result says why. */
static void rsa_sha1_never_passes(void **state)
{
	char *s, *t;

	(void)state;
	s = sign_with(MSG, rsa, "rsa", NULL);
	t = edit(s, "a=rsa-sha256", "a=rsa-sha1");
	expect(t, MV_DKIM_PERMERROR, "RFC 8301");
	free(t);
	free(s);
}

/* A duplicated tag makes the signature a permerror, and it is still named. */
static void duplicate_tag_is_permerror(void **state)
{
	struct mv_dkim_verifier *v;
	const struct mv_dkim_result *r;
	char *s, *t;

	(void)state;
	s = sign_with(MSG, rsa, "rsa", NULL);
	t = edit(s, "s=rsa;", "s=rsa; s=ed;");
	r = verify1(t, &v);
	assert_int_equal(r->res, MV_DKIM_PERMERROR);
	assert_string_equal(r->reason, "duplicate tag 's'");
	mv_dkim_verifier_free(v);
	free(t);
	free(s);
}

/* A cache (small enough to evict) changes nothing in the verdicts. */
static void key_cache_gives_the_same_verdicts(void **state)
{
	static const char *const sels[] = {"rsa", "revoked", "testing", "rsa", "small", "testing"};
	struct mv_dkim_verify_opts vo;
	struct mv_dkim_verifier *plain, *cached;
	size_t i, round;
	char *s;

	(void)state;
	mv_dkim_verify_opts_default(&vo);
	assert_int_equal(mv_dkim_keycache_new(2, &vo.keycache), MV_OK);
	for (round = 0; round < 2; round++) {
		for (i = 0; i < sizeof sels / sizeof sels[0]; i++) {
			s = sign_with(MSG, rsa, sels[i], NULL);
			plain = verify_ex(s, NULL, NOW, 0);
			cached = verify_ex(s, &vo, NOW, 0);
			assert_int_equal(mv_dkim_verifier_result(cached, 0)->res,
			                 mv_dkim_verifier_result(plain, 0)->res);
			assert_string_equal(mv_dkim_verifier_result(cached, 0)->reason,
			                    mv_dkim_verifier_result(plain, 0)->reason);
			mv_dkim_verifier_free(plain);
			mv_dkim_verifier_free(cached);
			free(s);
		}
	}
	mv_dkim_keycache_free(vo.keycache);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(every_canonicalization_pair_verifies),
	        cmocka_unit_test(relaxed_tolerates_whitespace_simple_does_not),
	        cmocka_unit_test(repeated_fields_are_selected_bottom_up),
	        cmocka_unit_test(over_signed_from_refuses_an_added_from),
	        cmocka_unit_test(signing_earlier_signatures_verifies),
	        cmocka_unit_test(body_length_limit_is_reported_and_can_be_refused),
	        cmocka_unit_test(signatures_past_the_limit_are_reported_neutral),
	        cmocka_unit_test(unsigned_message_is_none),
	        cmocka_unit_test(key_records_decide_as_the_rfc_says),
	        cmocka_unit_test(expiry_and_future_timestamps),
	        cmocka_unit_test(expired_signature_is_permerror),
	        cmocka_unit_test(expiry_before_timestamp_is_permerror),
	        cmocka_unit_test(rsa_sha1_never_passes),
	        cmocka_unit_test(d_outside_the_domain_grammar_is_permerror),
	        cmocka_unit_test(duplicate_tag_is_permerror),
	        cmocka_unit_test(key_cache_gives_the_same_verdicts),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
