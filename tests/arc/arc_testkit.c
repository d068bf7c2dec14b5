/* tests/arc/arc_testkit.c — keys, zone and message helpers of the ARC chain tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arc_testkit.h"

const char kit_original[] =
        "Authentication-Results: " SERV_ID "; spf=pass smtp.mailfrom=a@example.com\r\n"
        "From: Alice <a@example.com>\r\n"
        "To: list@lists.example.org\r\n"
        "Subject: hello\r\n"
        "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
        "\r\n"
        "Hi all.\r\n";

struct mv_dkim_signkey *kit_rsa_key, *kit_ed_key;
struct mv_resolver *kit_zone;

int kit_setup(void **state)
{
	struct mv_buf z = MV_BUF_INIT;
	char *pem = NULL, *rec;

	(void)state;
	if (mv_dkim_keygen(MV_DKIM_KEY_RSA, 1024, &kit_rsa_key, &pem) != MV_OK)
		return -1;
	free(pem);
	if (mv_dkim_keygen(MV_DKIM_KEY_ED25519, 0, &kit_ed_key, &pem) != MV_OK)
		return -1;
	free(pem);
	rec = mv_dkim_signkey_record(kit_rsa_key);
	mv_buf_printf(&z, "rsa._domainkey." DOMAIN " TXT \"%s\"\n", rec);
	free(rec);
	rec = mv_dkim_signkey_record(kit_ed_key);
	mv_buf_printf(&z, "ed._domainkey." DOMAIN " TXT \"%s\"\n", rec);
	free(rec);
	if (mv_dns_zone_parse(z.data, z.len, &kit_zone, NULL, 0) != MV_OK)
		return -1;
	mv_buf_free(&z);
	return 0;
}

int kit_teardown(void **state)
{
	(void)state;
	mv_dkim_signkey_free(kit_rsa_key);
	mv_dkim_signkey_free(kit_ed_key);
	mv_dns_free(kit_zone);
	return 0;
}

char *kit_seal_with(const char *text, const struct mv_arc_validator *v, struct mv_resolver *r,
                    const struct mv_dkim_signkey *k1, const char *s1,
                    const struct mv_dkim_signkey *k2, const char *s2, enum mv_status want,
                    size_t *nsets)
{
	const struct mv_dkim_signkey *keys[2] = {k1, k2};
	const char *sels[2] = {s1, s2};
	struct mv_arc_seal_opts o;
	struct mv_buf out = MV_BUF_INIT;
	struct mv_msg *m = NULL;
	const char *body;
	size_t blen;

	assert_int_equal(mv_msg_parse(text, strlen(text), NULL, &m, NULL, 0), MV_OK);
	mv_msg_body(m, &body, &blen, NULL);
	mv_arc_seal_opts_default(&o);
	o.domain = DOMAIN;
	o.authserv_id = SERV_ID;
	o.now = NOW;
	assert_int_equal(mv_arc_seal(&o, keys, sels, k2 ? 2 : 1, m, body, blen, v, r, &out, nsets),
	                 want);
	mv_msg_free(m);
	if (want != MV_OK) {
		assert_int_equal(out.len, 0);
		assert_int_equal(*nsets, 0);
		mv_buf_free(&out);
		return NULL;
	}
	mv_buf_puts(&out, text);
	return mv_buf_steal(&out, NULL);
}

/* The selector kit_zone publishes key under. */
static const char *selector_of(const struct mv_dkim_signkey *key)
{
	return mv_dkim_signkey_alg(key) == MV_DKIM_RSA_SHA256 ? "rsa" : "ed";
}

char *kit_seal(const char *text, const struct mv_arc_validator *v, size_t *nsets,
               const struct mv_dkim_signkey *k1, const struct mv_dkim_signkey *k2)
{
	return kit_seal_with(text, v, kit_zone, k1, selector_of(k1), k2,
	                     k2 ? selector_of(k2) : NULL, MV_OK, nsets);
}

struct mv_arc_validator *kit_validate(const char *text, struct mv_msg **m)
{
	struct mv_arc_validator *v = NULL;

	assert_int_equal(mv_msg_parse(text, strlen(text), NULL, m, NULL, 0), MV_OK);
	assert_int_equal(mv_arc_validator_new(NULL, kit_zone, NOW, &v), MV_OK);
	assert_int_equal(mv_arc_validator_message(v, *m), MV_OK);
	return v;
}

char *kit_edit(char *text, const char *from, const char *to)
{
	struct mv_buf b = MV_BUF_INIT;
	char *p = strstr(text, from);

	assert_non_null(p);
	mv_buf_append(&b, text, (size_t)(p - text));
	mv_buf_puts(&b, to);
	mv_buf_puts(&b, p + strlen(from));
	free(text);
	return mv_buf_steal(&b, NULL);
}

char *kit_break_b(char *text, const char *field)
{
	char *p = strstr(text, field), *b;

	assert_non_null(p);
	b = strstr(p, "b=");
	assert_non_null(b);
	b[4] = b[4] == 'A' ? 'B' : 'A';
	return text;
}

int kit_chain_cv(const struct mv_arc_validator *v, const char *alg)
{
	size_t k;

	for (k = 0; k < mv_arc_validator_nchains(v); k++)
		if (strcmp(mv_arc_validator_chain(v, k)->alg, alg) == 0)
			return (int)mv_arc_validator_chain(v, k)->cv;
	return -1;
}

char *kit_add_unknown_set(char *text, unsigned i, int with_aar)
{
	struct mv_buf b = MV_BUF_INIT;

	mv_buf_printf(&b,
	              "ARC-Seal: a=ed448-sha512; b=AAAA; cv=%s; d=" DOMAIN "; i=%u; s=x; t=1\r\n"
	              "ARC-Message-Signature: a=ed448-sha512; b=AAAA; bh=AAAA; d=" DOMAIN
	              "; h=from; i=%u; s=x; t=1\r\n",
	              i == 1 ? "none" : "pass", i, i);
	if (with_aar)
		mv_buf_printf(&b, "ARC-Authentication-Results: i=%u; " SERV_ID "; none\r\n", i);
	mv_buf_puts(&b, text);
	free(text);
	return mv_buf_steal(&b, NULL);
}
