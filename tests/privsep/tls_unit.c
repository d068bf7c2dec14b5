/* tests/privsep/tls_unit.c — the key process's TLS operations: right answers, and each key set kept to its own ops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "keyd.h"

static char dir[] = "/tmp/mailvet-tlsunit-XXXXXX";
static char rsa_path[256], ec_path[256], dkim_path[256], conf_path[256];
static struct mvd_keyd_keys *keys;

static void write_key(const char *path, EVP_PKEY *pk)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	EVP_PKEY_free(pk);
}

static int setup(void **state)
{
	FILE *f;

	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(rsa_path, sizeof rsa_path, "%s/tls-rsa.pem", dir);
	snprintf(ec_path, sizeof ec_path, "%s/tls-ec.pem", dir);
	snprintf(dkim_path, sizeof dkim_path, "%s/rsa1.pem", DATA_DIR);
	snprintf(conf_path, sizeof conf_path, "%s/mailvet.conf", dir);
	write_key(rsa_path, EVP_RSA_gen(2048));
	write_key(ec_path, EVP_EC_gen("P-384"));
	if (!(f = fopen(conf_path, "w")))
		return -1;
	fprintf(f,
	        "[milter]\nsocket =\nuser =\n[domain sign.example]\nkey = rsa1 %s\n"
	        "[listener mx]\nlisten = 127.0.0.1:2525\nnext_hop = inet:127.0.0.1:2526\n"
	        "tls_cert = %s/cert.pem\ntls_key = %s\n"
	        "[listener imaps]\nrole = imap\nlisten = 127.0.0.1:9993\n"
	        "upstream = inet:127.0.0.1:143\ntls = implicit\ntls_cert = %s/cert2.pem\n"
	        "tls_key = %s\n",
	        dkim_path, dir, rsa_path, dir, ec_path);
	fclose(f);
	return (keys = mvd_keyd_keys_load(conf_path)) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	mvd_keyd_keys_free(keys);
	unlink(rsa_path);
	unlink(ec_path);
	unlink(conf_path);
	rmdir(dir);
	return 0;
}

/* The SHA-256 of TLS key id's public key, as TLS_SIGN names it. */
static unsigned char spki_of[2][32]; /* [0] rsa_path, [1] ec_path, set by public_of */

static const unsigned char *spki_for(const char *id)
{
	static const unsigned char none[32];

	return !strcmp(id, rsa_path) ? spki_of[0] : !strcmp(id, ec_path) ? spki_of[1] : none;
}

static struct mvd_keyd_rep ask_with(const struct mvd_keyd_keys *k, uint8_t op, uint8_t alg,
                                    const char *id, const unsigned char *spki,
                                    const unsigned char *in, size_t inlen)
{
	struct mvd_keyd_req r;
	struct mvd_keyd_rep rep;
	unsigned char req[MVD_KEYD_MAX_REQ], out[MVD_KEYD_MAX_REP];
	size_t n;

	memset(&r, 0, sizeof r);
	r.op = op;
	r.seq = 42;
	r.alg = alg;
	r.idlen = strlen(id);
	memcpy(r.id, id, r.idlen);
	if (op == MVD_KEYD_SIGN)
		memset(r.digest, 0x5a, sizeof r.digest);
	if (op == MVD_KEYD_TLS_SIGN)
		memcpy(r.digest, spki, 32);
	if (inlen)
		memcpy(r.in, in, inlen);
	r.inlen = inlen;
	n = mvd_keyd_req_encode(&r, req);
	assert_int_not_equal(n, 0);
	n = mvd_keyd_answer(k, req, n, out);
	assert_int_equal(mvd_keyd_rep_parse(out, n, &rep), MV_OK);
	assert_int_equal(rep.seq, 42);
	return rep;
}

static struct mvd_keyd_rep ask(uint8_t op, uint8_t alg, const char *id, const unsigned char *in,
                               size_t inlen)
{
	return ask_with(keys, op, alg, id, spki_for(id), in, inlen);
}

static EVP_PKEY *public_of(const char *id, uint8_t kind)
{
	struct mvd_keyd_rep rep = ask(MVD_KEYD_TLS_INFO, 0, id, NULL, 0);
	const unsigned char *p = rep.sig;

	assert_int_equal(rep.status, MVD_KEYD_OK);
	assert_int_equal(rep.alg, kind);
	assert_int_equal(EVP_Digest(rep.sig, rep.siglen, spki_of[kind == MVD_KEYD_TLS_EC], NULL,
	                            EVP_sha256(), NULL),
	                 1);
	return d2i_PUBKEY(NULL, &p, (long)rep.siglen);
}

/* An EMSA-PKCS1-v1_5 block of 256 bytes: 00 01 FF.. 00, SHA-256's DigestInfo, a digest. */
static void pkcs1_block(unsigned char in[256])
{
	/* DER DigestInfo of SHA-256 (RFC 8017 9.2 note 1), then the digest */
	static const unsigned char di[19] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
	                                     0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
	                                     0x01, 0x05, 0x00, 0x04, 0x20};

	in[0] = 0x00;
	in[1] = 0x01;
	memset(in + 2, 0xff, 256 - 2 - 52);
	in[256 - 52] = 0x00;
	memcpy(in + 256 - 51, di, sizeof di);
	memset(in + 256 - 32, 0x11, 32);
}

/*
 * The raw RSA operation on a signature's block: its result raised to e
 * gives back the input. A block that is no signature's encoding (a
 * ciphertext: the decryption oracle) is refused.
 */
static void rsa_raw_signs(void **state)
{
	EVP_PKEY *pub = public_of(rsa_path, MVD_KEYD_TLS_RSA);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pub, NULL);
	unsigned char in[256], back[256];
	size_t backlen = sizeof back;
	struct mvd_keyd_rep rep;

	(void)state;
	assert_int_equal(EVP_PKEY_get_size(pub), 256);
	/* a ciphertext's shape (PKCS#1 v1.5 type 2, random bytes), below the modulus */
	memset(in, 0x5a, sizeof in);
	in[0] = 0x00;
	in[1] = 0x02;
	assert_int_equal(ask(MVD_KEYD_TLS_SIGN, MVD_KEYD_TLS_RSA, rsa_path, in, sizeof in).status,
	                 MVD_KEYD_FAILED);
	in[1] = 0x01; /* type 1 but no 00 before a DigestInfo: refused too */
	memset(in + 2, 0xff, sizeof in - 2);
	assert_int_equal(ask(MVD_KEYD_TLS_SIGN, MVD_KEYD_TLS_RSA, rsa_path, in, sizeof in).status,
	                 MVD_KEYD_FAILED);
	pkcs1_block(in); /* EMSA-PKCS1-v1_5: 00 01 FF.. 00 DigestInfo digest */
	rep = ask(MVD_KEYD_TLS_SIGN, MVD_KEYD_TLS_RSA, rsa_path, in, sizeof in);
	assert_int_equal(rep.status, MVD_KEYD_OK);
	assert_int_equal(rep.siglen, 256);
	assert_int_equal(EVP_PKEY_verify_recover_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING), 1);
	assert_int_equal(EVP_PKEY_verify_recover(ctx, back, &backlen, rep.sig, rep.siglen), 1);
	assert_int_equal(backlen, sizeof in);
	assert_memory_equal(back, in, sizeof in);
	/* Not the modulus's size, or not below the modulus: refused. */
	assert_int_equal(ask(MVD_KEYD_TLS_SIGN, MVD_KEYD_TLS_RSA, rsa_path, in, 255).status,
	                 MVD_KEYD_FAILED);
	memset(in, 0xff, sizeof in);
	assert_int_equal(ask(MVD_KEYD_TLS_SIGN, MVD_KEYD_TLS_RSA, rsa_path, in, 256).status,
	                 MVD_KEYD_FAILED);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pub);
}

/*
 * An EMSA-PSS block (as TLS 1.3 signs: SHA-256, MGF1-SHA-256, salt of 32)
 * is signed: made here with the private key (PSS padding) and opened with
 * the public one, then handed to the key process, whose answer must be
 * that signature. The same block with one bit of its masked DB flipped is not.
 */
static void rsa_pss_block_signs(void **state)
{
	FILE *f = fopen(rsa_path, "r");
	EVP_PKEY *priv = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	EVP_PKEY_CTX *ctx;
	unsigned char digest[32], sig[256], em[256];
	size_t siglen = sizeof sig, emlen = sizeof em;
	struct mvd_keyd_rep rep;

	(void)state;
	if (f)
		fclose(f);
	assert_non_null(priv);
	memset(digest, 0x42, sizeof digest);
	assert_non_null(ctx = EVP_PKEY_CTX_new(priv, NULL));
	assert_int_equal(EVP_PKEY_sign_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST), 1);
	assert_int_equal(EVP_PKEY_sign(ctx, sig, &siglen, digest, sizeof digest), 1);
	EVP_PKEY_CTX_free(ctx);
	assert_non_null(ctx = EVP_PKEY_CTX_new(priv, NULL));
	assert_int_equal(EVP_PKEY_verify_recover_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING), 1);
	assert_int_equal(EVP_PKEY_verify_recover(ctx, em, &emlen, sig, siglen), 1);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(priv);
	assert_int_equal(emlen, sizeof em);
	rep = ask(MVD_KEYD_TLS_SIGN, MVD_KEYD_TLS_RSA, rsa_path, em, sizeof em);
	assert_int_equal(rep.status, MVD_KEYD_OK);
	assert_int_equal(rep.siglen, siglen);
	assert_memory_equal(rep.sig, sig, siglen);
	em[100] ^= 0x01; /* in the masked DB's zeros: it no longer unmasks to 00..01 salt */
	assert_int_equal(ask(MVD_KEYD_TLS_SIGN, MVD_KEYD_TLS_RSA, rsa_path, em, sizeof em).status,
	                 MVD_KEYD_FAILED);
}

static void ecdsa_signs(void **state)
{
	EVP_PKEY *pub = public_of(ec_path, MVD_KEYD_TLS_EC);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pub, NULL);
	unsigned char digest[48];
	struct mvd_keyd_rep rep;

	(void)state;
	memset(digest, 0x33, sizeof digest);
	rep = ask(MVD_KEYD_TLS_SIGN, MVD_KEYD_TLS_EC, ec_path, digest, sizeof digest);
	assert_int_equal(rep.status, MVD_KEYD_OK);
	assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
	assert_int_equal(EVP_PKEY_verify(ctx, rep.sig, rep.siglen, digest, sizeof digest), 1);
	digest[0] ^= 1;
	assert_int_not_equal(EVP_PKEY_verify(ctx, rep.sig, rep.siglen, digest, sizeof digest), 1);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pub);
}

/* A DKIM key never answers a TLS op, a TLS key never a DKIM one; kinds are checked. */
static void each_set_keeps_to_its_ops(void **state)
{
	unsigned char in[256];

	(void)state;
	memset(in, 0, sizeof in);
	in[1] = 1;
	assert_int_equal(ask(MVD_KEYD_INFO, 0, dkim_path, NULL, 0).status, MVD_KEYD_OK);
	assert_int_equal(ask(MVD_KEYD_TLS_INFO, 0, dkim_path, NULL, 0).status,
	                 MVD_KEYD_UNKNOWN_KEY);
	assert_int_equal(ask(MVD_KEYD_TLS_SIGN, MVD_KEYD_TLS_RSA, dkim_path, in, 256).status,
	                 MVD_KEYD_UNKNOWN_KEY);
	assert_int_equal(ask(MVD_KEYD_INFO, 0, rsa_path, NULL, 0).status, MVD_KEYD_UNKNOWN_KEY);
	assert_int_equal(ask(MVD_KEYD_SIGN, MV_DKIM_RSA_SHA256, rsa_path, NULL, 0).status,
	                 MVD_KEYD_UNKNOWN_KEY);
	assert_int_equal(ask(MVD_KEYD_TLS_SIGN, MVD_KEYD_TLS_EC, rsa_path, in, 32).status,
	                 MVD_KEYD_WRONG_ALG);
	assert_int_equal(ask(MVD_KEYD_TLS_SIGN, MVD_KEYD_TLS_RSA, ec_path, in, 256).status,
	                 MVD_KEYD_WRONG_ALG);
}

/*
 * A reload with a new key in the same file: TLS_SIGN names the key by its
 * public half, so the worker's contexts of before the reload still get
 * their key's signatures until the worker has reloaded too; any other
 * public half is unknown.
 */
static void the_key_of_before_answers_after_a_reload(void **state)
{
	struct mvd_keyd_keys *next;
	unsigned char in[256], old[32], bogus[32];
	EVP_PKEY *pub;

	(void)state;
	EVP_PKEY_free(public_of(rsa_path, MVD_KEYD_TLS_RSA));
	memcpy(old, spki_of[0], 32);
	write_key(rsa_path, EVP_RSA_gen(2048));
	assert_non_null(next = mvd_keyd_keys_load(conf_path));
	mvd_keyd_keys_carry(next, keys);
	/* The set of before is left as it was: threads may still be signing with it. */
	pkcs1_block(in);
	assert_int_equal(
	        ask_with(keys, MVD_KEYD_TLS_SIGN, MVD_KEYD_TLS_RSA, rsa_path, old, in, 256).status,
	        MVD_KEYD_OK);
	mvd_keyd_keys_free(keys);
	keys = next;
	pub = public_of(rsa_path, MVD_KEYD_TLS_RSA);
	assert_memory_not_equal(old, spki_of[0], 32);
	assert_int_equal(ask(MVD_KEYD_TLS_SIGN, MVD_KEYD_TLS_RSA, rsa_path, in, 256).status,
	                 MVD_KEYD_OK);
	assert_int_equal(
	        ask_with(keys, MVD_KEYD_TLS_SIGN, MVD_KEYD_TLS_RSA, rsa_path, old, in, 256).status,
	        MVD_KEYD_OK);
	memset(bogus, 0x11, sizeof bogus);
	assert_int_equal(
	        ask_with(keys, MVD_KEYD_TLS_SIGN, MVD_KEYD_TLS_RSA, rsa_path, bogus, in, 256)
	                .status,
	        MVD_KEYD_UNKNOWN_KEY);
	EVP_PKEY_free(pub);
}

/* Two reloads later, the key of two loads ago is gone: two generations at most. */
static void two_generations_at_most(void **state)
{
	unsigned char in[256], first[32], second[32];
	struct mvd_keyd_keys *next;

	(void)state;
	EVP_PKEY_free(public_of(rsa_path, MVD_KEYD_TLS_RSA));
	memcpy(first, spki_of[0], 32);
	for (int i = 0; i < 2; i++) {
		write_key(rsa_path, EVP_RSA_gen(2048));
		assert_non_null(next = mvd_keyd_keys_load(conf_path));
		mvd_keyd_keys_carry(next, keys);
		mvd_keyd_keys_free(keys);
		keys = next;
		if (i == 0) {
			EVP_PKEY_free(public_of(rsa_path, MVD_KEYD_TLS_RSA));
			memcpy(second, spki_of[0], 32);
		}
	}
	EVP_PKEY_free(public_of(rsa_path, MVD_KEYD_TLS_RSA));
	pkcs1_block(in);
	assert_int_equal(ask(MVD_KEYD_TLS_SIGN, MVD_KEYD_TLS_RSA, rsa_path, in, 256).status,
	                 MVD_KEYD_OK);
	assert_int_equal(
	        ask_with(keys, MVD_KEYD_TLS_SIGN, MVD_KEYD_TLS_RSA, rsa_path, second, in, 256)
	                .status,
	        MVD_KEYD_OK);
	assert_int_equal(
	        ask_with(keys, MVD_KEYD_TLS_SIGN, MVD_KEYD_TLS_RSA, rsa_path, first, in, 256)
	                .status,
	        MVD_KEYD_UNKNOWN_KEY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(rsa_raw_signs),
	        cmocka_unit_test(rsa_pss_block_signs),
	        cmocka_unit_test(ecdsa_signs),
	        cmocka_unit_test(each_set_keeps_to_its_ops),
	        cmocka_unit_test(the_key_of_before_answers_after_a_reload),
	        cmocka_unit_test(two_generations_at_most),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
