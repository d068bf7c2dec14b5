/* tests/outbound/test_outbound.c — lib/outbound: the domain rule, streaming, DKIM and ARC output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mailvet/arc.h>
#include <mailvet/dkim.h>
#include <mailvet/outbound.h>

#define NOW 1700000000

static struct mv_dkim_signkey *rsa, *ed, *news;
static struct mv_resolver *zone;

static void zone_txt(struct mv_buf *z, const char *owner, const struct mv_dkim_signkey *k)
{
	char *rec = mv_dkim_signkey_record(k);

	assert_non_null(rec);
	mv_buf_printf(z, "%s TXT \"%s\"\n", owner, rec);
	free(rec);
}

static int setup(void **state)
{
	struct mv_buf z = MV_BUF_INIT;
	char *pem = NULL, err[128];

	(void)state;
	assert_int_equal(mv_dkim_keygen(MV_DKIM_KEY_RSA, 2048, &rsa, &pem), MV_OK);
	free(pem);
	assert_int_equal(mv_dkim_keygen(MV_DKIM_KEY_ED25519, 0, &ed, &pem), MV_OK);
	free(pem);
	assert_int_equal(mv_dkim_keygen(MV_DKIM_KEY_ED25519, 0, &news, &pem), MV_OK);
	free(pem);
	zone_txt(&z, "rsa._domainkey.example.com", rsa);
	zone_txt(&z, "ed._domainkey.example.com", ed);
	zone_txt(&z, "news._domainkey.news.example.com", news);
	zone_txt(&z, "arc._domainkey.lists.example.net", rsa);
	assert_int_equal(mv_dns_zone_parse(z.data, z.len, &zone, err, sizeof err), MV_OK);
	mv_buf_free(&z);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	mv_dkim_signkey_free(rsa);
	mv_dkim_signkey_free(ed);
	mv_dkim_signkey_free(news);
	mv_dns_free(zone);
	return 0;
}

#define MSG_BODY                                                                                   \
	"\r\n"                                                                                     \
	"Hello Bob,  \r\n"                                                                         \
	"\r\n"                                                                                     \
	"this line has \t tabs and  spaces.\r\n"                                                   \
	"\r\n\r\n"
#define MSG(from)                                                                                  \
	"From: " from "\r\n"                                                                       \
	"To: Bob <bob@example.net>\r\n"                                                            \
	"Subject:  Outbound   test \r\n"                                                           \
	"Message-ID: <ob@example.com>\r\n" MSG_BODY

static const struct mv_outbound_key TABLE[] = {
        {"example.com", "rsa", NULL, 0},
        {"example.com", "ed", NULL, 0},
        {"news.example.com", "news", NULL, 0},
};

/* The key table with the keys filled in; n entries (the subdomain's is the third). */
static void table(struct mv_outbound_key *t, size_t n)
{
	memcpy(t, TABLE, n * sizeof *t);
	t[0].key = rsa;
	t[1].key = ed;
	if (n > 2)
		t[2].key = news;
}

/* A configuration signing with the first n entries of the key table t. */
static void config(struct mv_outbound_config *c, struct mv_outbound_key *t, size_t n)
{
	table(t, 3);
	mv_outbound_config_default(c);
	c->dkim_keys = t;
	c->ndkim_keys = n;
}

/* Run text through a new outbound object in chunks of `chunk` bytes (0: one piece). */
static struct mv_outbound *run(const struct mv_outbound_config *c, const char *text, size_t chunk,
                               const struct mv_outbound_result **res)
{
	struct mv_outbound *o = NULL;
	size_t len = strlen(text), i;

	assert_int_equal(mv_outbound_new(c, &o, NULL, 0), MV_OK);
	if (chunk == 0)
		chunk = len;
	for (i = 0; i < len; i += chunk)
		assert_int_equal(
		        mv_outbound_data(o, text + i, len - i < chunk ? len - i : chunk, NULL),
		        MV_OK);
	assert_int_equal(mv_outbound_end(o, NOW, res), MV_OK);
	return o;
}

/* The DKIM results of text under the test zone: count, and how many passed. */
static size_t dkim_passes(const char *text, size_t *count)
{
	struct mv_dkim_verifier *v = NULL;
	struct mv_msg *m = NULL;
	size_t k, pass = 0;

	assert_int_equal(mv_msg_parse(text, strlen(text), NULL, &m, NULL, 0), MV_OK);
	assert_int_equal(mv_dkim_verifier_new(NULL, zone, NOW, &v), MV_OK);
	assert_int_equal(mv_dkim_verifier_message(v, m), MV_OK);
	*count = mv_dkim_verifier_count(v);
	for (k = 0; k < *count; k++)
		pass += mv_dkim_verifier_result(v, k)->res == MV_DKIM_PASS;
	mv_dkim_verifier_free(v);
	mv_msg_free(m);
	return pass;
}

/* fields + text, a new string. */
static char *prepend(const struct mv_outbound_result *r, const char *text)
{
	struct mv_buf b = MV_BUF_INIT;

	mv_buf_append(&b, r->fields, r->fields_len);
	mv_buf_puts(&b, text);
	return mv_buf_steal(&b, NULL);
}

/* The author domain picks its keys: every key of the domain signs, and each verifies. */
static void author_domain_keys_sign(void **state)
{
	struct mv_outbound_key t[3];
	struct mv_outbound_config c;
	const struct mv_outbound_result *r;
	struct mv_outbound *o;
	const char *text = MSG("Alice <alice@EXAMPLE.com>");
	char *signed_text;
	size_t n;

	(void)state;
	config(&c, t, 3);
	o = run(&c, text, 0, &r);
	assert_int_equal(r->dkim, MV_OUTBOUND_DONE);
	assert_string_equal(r->dkim_domain, "example.com");
	assert_int_equal(r->nsignatures, 2);
	assert_int_equal(r->nfields, 2);
	assert_string_equal(r->field[0].name, "DKIM-Signature");
	assert_non_null(strstr(r->field[0].value, "a=rsa-sha256"));
	assert_non_null(strstr(r->field[1].value, "a=ed25519-sha256"));
	assert_int_equal(r->arc, MV_OUTBOUND_NOT_ASKED);
	signed_text = prepend(r, text);
	assert_int_equal(dkim_passes(signed_text, &n), 2);
	assert_int_equal(n, 2);
	free(signed_text);
	mv_outbound_free(o);
}

/* A subdomain is signed only with keys of its own, never its parent's. */
static void subdomain_needs_its_own_keys(void **state)
{
	struct mv_outbound_key t[3];
	struct mv_outbound_config c;
	const struct mv_outbound_result *r;
	struct mv_outbound *o;

	(void)state;
	table(t, 3);
	mv_outbound_config_default(&c);
	c.dkim_keys = t;
	c.ndkim_keys = 2; /* example.com only */
	o = run(&c, MSG("a@news.example.com"), 0, &r);
	assert_int_equal(r->dkim, MV_OUTBOUND_NO_KEY);
	assert_int_equal(r->fields_len, 0);
	assert_non_null(strstr(r->dkim_reason, "news.example.com"));
	mv_outbound_free(o);
	c.ndkim_keys = 3;
	o = run(&c, MSG("a@news.example.com"), 0, &r);
	assert_int_equal(r->dkim, MV_OUTBOUND_DONE);
	assert_string_equal(r->dkim_domain, "news.example.com");
	assert_int_equal(r->nsignatures, 1);
	mv_outbound_free(o);
}

/* An entry with subdomains set serves names below it that have no entries of their own. */
static void subdomains_entry_serves_names_below_it(void **state)
{
	struct mv_outbound_key t[3];
	struct mv_outbound_config c;
	const struct mv_outbound_result *r;
	struct mv_outbound *o;

	(void)state;
	table(t, 3);
	t[0].subdomains = t[1].subdomains = 1; /* example.com, both keys */
	mv_outbound_config_default(&c);
	c.dkim_keys = t;
	c.ndkim_keys = 2;
	o = run(&c, MSG("a@deep.news.example.com"), 0, &r);
	assert_int_equal(r->dkim, MV_OUTBOUND_DONE);
	assert_string_equal(r->dkim_domain, "example.com");
	assert_int_equal(r->nsignatures, 2);
	mv_outbound_free(o);
	/* news.example.com has its own entry: it wins over the parent's. */
	c.ndkim_keys = 3;
	o = run(&c, MSG("a@news.example.com"), 0, &r);
	assert_string_equal(r->dkim_domain, "news.example.com");
	assert_int_equal(r->nsignatures, 1);
	mv_outbound_free(o);
	/* A name that only ends like the domain is not below it. */
	o = run(&c, MSG("a@badexample.com"), 0, &r);
	assert_int_equal(r->dkim, MV_OUTBOUND_NO_KEY);
	mv_outbound_free(o);
}

/* The messages lib/verify finds no author domain in are not signed, with the reason. */
static void no_single_author_domain_is_not_signed(void **state)
{
	static const struct {
		const char *text, *reason;
	} cases[] = {
	        {"From: a@example.com\r\nFrom: b@example.com\r\nSubject: x\r\n\r\nhi\r\n",
	         "2 From fields"},
	        {"From: a@example.com, b@example.org\r\nSubject: x\r\n\r\nhi\r\n",
	         "several domains"},
	        {"To: b@example.net\r\nSubject: x\r\n\r\nhi\r\n", "no From field"},
	        {"From: undisclosed\r\nSubject: x\r\n\r\nhi\r\n", "From"},
	        {"From: a@[192.0.2.1]\r\nSubject: x\r\n\r\nhi\r\n", "address literal"},
	};
	struct mv_outbound_key t[3];
	struct mv_outbound_config c;
	const struct mv_outbound_result *r;
	struct mv_outbound *o;
	size_t k;

	(void)state;
	config(&c, t, 3);
	for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		o = run(&c, cases[k].text, 0, &r);
		if (r->dkim != MV_OUTBOUND_NO_DOMAIN || !strstr(r->dkim_reason, cases[k].reason))
			fail_msg("case %zu: %s (%s)", k, mv_outbound_outcome_str(r->dkim),
			         r->dkim_reason);
		assert_int_equal(r->fields_len, 0);
		mv_outbound_free(o);
	}
	/* Several mailboxes of one domain have one author domain, as for DMARC: signed. */
	o = run(&c, MSG("a@example.com, b@example.com"), 0, &r);
	assert_int_equal(r->dkim, MV_OUTBOUND_DONE);
	mv_outbound_free(o);
}

/* Split the raw message at every offset: the same fields as in one piece. */
static void every_split_gives_the_same_signatures(void **state)
{
	struct mv_outbound_key t[3];
	struct mv_outbound_config c;
	const struct mv_outbound_result *whole, *r;
	struct mv_outbound *ow, *o;
	const char *text = MSG("alice@example.com");
	size_t len = strlen(text), k, hb, total;

	(void)state;
	config(&c, t, 2);
	ow = run(&c, text, 0, &whole);
	for (k = 1; k < len; k++) {
		assert_int_equal(mv_outbound_new(&c, &o, NULL, 0), MV_OK);
		assert_int_equal(mv_outbound_data(o, text, k, &hb), MV_OK);
		total = hb;
		assert_int_equal(mv_outbound_data(o, text + k, len - k, &hb), MV_OK);
		total += hb;
		assert_int_equal(total, strlen(MSG("alice@example.com")) - strlen(MSG_BODY) + 2);
		assert_int_equal(mv_outbound_end(o, NOW, &r), MV_OK);
		if (r->fields_len != whole->fields_len ||
		    memcmp(r->fields, whole->fields, r->fields_len) != 0)
			fail_msg("split at %zu gives other fields:\n%s", k, r->fields);
		mv_outbound_free(o);
	}
	/* One byte at a time. */
	o = run(&c, text, 1, &r);
	assert_string_equal(r->fields, whole->fields);
	mv_outbound_free(o);
	mv_outbound_free(ow);
}

/* Field by field as a milter gives them, body in chunks: the same as the raw message. */
static void milter_fields_give_the_same_signatures(void **state)
{
	static const char *const f[][2] = {
	        {"From", " alice@example.com"},
	        {"To", " Bob <bob@example.net>"},
	        {"Subject", "  Outbound   test "},
	        {"Message-ID", " <ob@example.com>"},
	};
	struct mv_outbound_key t[3];
	struct mv_outbound_config c;
	const struct mv_outbound_result *whole, *r;
	struct mv_outbound *ow, *o;
	const char *body = MSG_BODY + 2;
	size_t k, i, blen = strlen(body);

	(void)state;
	config(&c, t, 2);
	c.bcanon = MV_CANON_SIMPLE;
	ow = run(&c, MSG("alice@example.com"), 0, &whole);
	for (k = 1; k <= blen; k++) {
		assert_int_equal(mv_outbound_new(&c, &o, NULL, 0), MV_OK);
		for (i = 0; i < 4; i++)
			assert_int_equal(mv_outbound_header(o, f[i][0], strlen(f[i][0]), f[i][1],
			                                    strlen(f[i][1])),
			                 MV_OK);
		assert_int_equal(mv_outbound_body(o, body, k), MV_OK);
		assert_int_equal(mv_outbound_body(o, body + k, blen - k), MV_OK);
		assert_int_equal(mv_outbound_end(o, NOW, &r), MV_OK);
		assert_string_equal(r->fields, whole->fields);
		mv_outbound_free(o);
	}
	mv_outbound_free(ow);
}

/* The fields are byte for byte what mv_dkim_sign writes for the whole message. */
static void output_equals_mv_dkim_sign(void **state)
{
	const struct mv_dkim_signkey *keys[2];
	const char *sels[2] = {"rsa", "ed"}, *text = MSG("alice@example.com"), *body;
	struct mv_outbound_key t[3];
	struct mv_outbound_config c;
	struct mv_dkim_sign_opts so;
	const struct mv_outbound_result *r;
	struct mv_outbound *o;
	struct mv_buf old = MV_BUF_INIT;
	struct mv_msg *m = NULL;
	size_t blen;

	(void)state;
	table(t, 3);
	keys[0] = rsa;
	keys[1] = ed;
	mv_outbound_config_default(&c);
	c.dkim_keys = t;
	c.ndkim_keys = 2;
	c.hcanon = MV_CANON_SIMPLE;
	c.expire = 3600;
	c.identity = "@example.com";
	o = run(&c, text, 7, &r);
	mv_dkim_sign_opts_default(&so);
	so.domain = "example.com";
	so.hcanon = MV_CANON_SIMPLE;
	so.expire = 3600;
	so.identity = "@example.com";
	so.now = NOW;
	assert_int_equal(mv_msg_parse(text, strlen(text), NULL, &m, NULL, 0), MV_OK);
	mv_msg_body(m, &body, &blen, NULL);
	assert_int_equal(mv_dkim_sign(&so, keys, sels, 2, m, body, blen, &old), MV_OK);
	assert_string_equal(r->fields, old.data);
	mv_buf_free(&old);
	mv_msg_free(m);
	mv_outbound_free(o);
}

/* l= past the body is written as the body's canonical length, and verifies. */
static void body_limit_past_the_body_is_clamped(void **state)
{
	struct mv_outbound_key t[3];
	struct mv_outbound_config c;
	const struct mv_outbound_result *r;
	struct mv_outbound *o;
	const char *text = MSG("alice@example.com");
	char *signed_text;
	size_t n;

	(void)state;
	config(&c, t, 1);
	c.body_limit = 100000;
	o = run(&c, text, 0, &r);
	/* relaxed: "Hello Bob,\r\n\r\nthis line has tabs and spaces.\r\n" */
	assert_non_null(strstr(r->fields, " l=46;"));
	signed_text = prepend(r, text);
	assert_int_equal(dkim_passes(signed_text, &n), 1);
	free(signed_text);
	mv_outbound_free(o);
	c.body_limit = 5; /* within the body: as given */
	o = run(&c, text, 0, &r);
	assert_non_null(strstr(r->fields, " l=5;"));
	mv_outbound_free(o);
}

/* RFC 6376 §5.4: h= must name From; the check says so. */
static void headers_without_from_are_refused(void **state)
{
	struct mv_outbound_key t[3];
	struct mv_outbound_config c;
	struct mv_outbound *o = NULL;
	char err[200] = "";

	(void)state;
	config(&c, t, 1);
	c.headers = "to:subject";
	assert_int_equal(mv_outbound_config_check(&c, err, sizeof err), MV_EINVAL);
	assert_non_null(strstr(err, "From"));
	assert_non_null(strstr(err, "RFC 6376"));
	assert_int_equal(mv_outbound_new(&c, &o, NULL, 0), MV_EINVAL);
	assert_null(o);
	c.headers = "to: FROM :subject";
	assert_int_equal(mv_outbound_config_check(&c, err, sizeof err), MV_OK);
}

/* Validate text's ARC chain with the library's validator; its cv= and count. */
static enum mv_arc_cv arc_cv(const char *text, unsigned *count)
{
	struct mv_arc_validator *v = NULL;
	struct mv_msg *m = NULL;
	enum mv_arc_cv cv;

	assert_int_equal(mv_msg_parse(text, strlen(text), NULL, &m, NULL, 0), MV_OK);
	assert_int_equal(mv_arc_validator_new(NULL, zone, NOW, &v), MV_OK);
	assert_int_equal(mv_arc_validator_message(v, m), MV_OK);
	cv = mv_arc_validator_cv(v, NULL);
	*count = mv_arc_validator_count(v);
	mv_arc_validator_free(v);
	mv_msg_free(m);
	return cv;
}

/*
 * A list re-sends a member's message: DKIM by the author rule (no key: not
 * signed), ARC by the envelope domain; the set validates, and so does the
 * next hop's, sealed with the caller's cv=pass and its own AAR text.
 */
static void arc_sets_validate(void **state)
{
	struct mv_outbound_key t[3], arc_t[1] = {{"lists.example.net", "arc", NULL, 0}};
	struct mv_outbound_config c;
	struct mv_outbound_arc a;
	const struct mv_outbound_result *r;
	struct mv_outbound *o;
	const char *text = "Authentication-Results: mx.example.net; spf=pass "
	                   "smtp.mailfrom=a@example.org\r\n" MSG("a@example.org");
	char *hop1, *hop2;
	unsigned n;
	size_t nd;

	(void)state;
	table(t, 3);
	arc_t[0].key = rsa;
	mv_outbound_config_default(&c);
	c.dkim_keys = t;
	c.ndkim_keys = 3;
	c.arc_keys = arc_t;
	c.narc_keys = 1;
	c.authserv_id = "mx.example.net";
	memset(&a, 0, sizeof a);
	a.cv = MV_ARC_NONE;
	a.envelope_domain = "lists.example.net";
	assert_int_equal(mv_outbound_new(&c, &o, NULL, 0), MV_OK);
	assert_int_equal(mv_outbound_data(o, text, strlen(text), NULL), MV_OK);
	assert_int_equal(mv_outbound_seal(o, &a), MV_OK);
	assert_int_equal(mv_outbound_end(o, NOW, &r), MV_OK);
	assert_int_equal(r->dkim, MV_OUTBOUND_NO_KEY);
	assert_int_equal(r->arc, MV_OUTBOUND_DONE);
	assert_string_equal(r->arc_domain, "lists.example.net");
	assert_int_equal(r->nsets, 1);
	assert_int_equal(r->nfields, 3);
	assert_string_equal(r->field[0].name, "ARC-Seal");
	assert_string_equal(r->field[1].name, "ARC-Message-Signature");
	assert_string_equal(r->field[2].name, "ARC-Authentication-Results");
	assert_non_null(strstr(r->field[2].value, "spf=pass smtp.mailfrom=a@example.org"));
	hop1 = prepend(r, text);
	mv_outbound_free(o);
	assert_int_equal(arc_cv(hop1, &n), MV_ARC_PASS);
	assert_int_equal(n, 1);

	/* Hop 2: signed and sealed by example.com, the AMS covering the new DKIM-Signatures. */
	c.ndkim_keys = 2;
	c.dkim_domain = "example.com"; /* a third-party signer, named by the caller */
	c.arc_domain = "example.com";
	arc_t[0].domain = "example.com";
	arc_t[0].selector = "rsa";
	a.cv = MV_ARC_PASS;
	a.aar_results = "arc=pass header.oldest-pass=0";
	o = run(&c, "", 0, &r); /* an empty message: nothing to sign or seal */
	mv_outbound_free(o);
	assert_int_equal(mv_outbound_new(&c, &o, NULL, 0), MV_OK);
	assert_int_equal(mv_outbound_data(o, hop1, strlen(hop1), NULL), MV_OK);
	assert_int_equal(mv_outbound_seal(o, &a), MV_OK);
	assert_int_equal(mv_outbound_end(o, NOW, &r), MV_OK);
	assert_int_equal(r->dkim, MV_OUTBOUND_DONE);
	assert_int_equal(r->arc, MV_OUTBOUND_DONE);
	assert_int_equal(r->nfields, 5);
	assert_string_equal(r->field[3].name, "DKIM-Signature");
	assert_non_null(strstr(r->fields, "cv=pass; d=example.com; i=2"));
	assert_non_null(strstr(r->field[2].value, "i=2; mx.example.net; arc=pass"));
	hop2 = prepend(r, hop1);
	mv_outbound_free(o);
	assert_int_equal(arc_cv(hop2, &n), MV_ARC_PASS);
	assert_int_equal(n, 2);
	assert_int_equal(dkim_passes(hop2, &nd), 2);
	free(hop1);
	free(hop2);
}

/* A header past the limit is refused, not held. */
static void header_past_the_limit_is_refused(void **state)
{
	struct mv_outbound_config c;
	struct mv_outbound *o = NULL;
	const struct mv_outbound_result *r;
	char line[100];
	size_t k;

	(void)state;
	mv_outbound_config_default(&c);
	c.max_header_bytes = 1000;
	assert_int_equal(mv_outbound_new(&c, &o, NULL, 0), MV_OK);
	memset(line, 'x', sizeof line);
	memcpy(line, "X-Pad: ", 7);
	line[98] = '\r';
	line[99] = '\n';
	for (k = 0; k < 10; k++)
		assert_int_equal(mv_outbound_data(o, line, sizeof line, NULL), MV_OK);
	assert_int_equal(mv_outbound_data(o, line, sizeof line, NULL), MV_ETOOBIG);
	assert_int_equal(mv_outbound_body(o, "x", 1), MV_ETOOBIG);
	assert_int_equal(mv_outbound_end(o, NOW, &r), MV_ETOOBIG);
	assert_non_null(strstr(mv_outbound_why(o), "larger than 1000"));
	mv_outbound_free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(author_domain_keys_sign),
	        cmocka_unit_test(subdomain_needs_its_own_keys),
	        cmocka_unit_test(subdomains_entry_serves_names_below_it),
	        cmocka_unit_test(no_single_author_domain_is_not_signed),
	        cmocka_unit_test(every_split_gives_the_same_signatures),
	        cmocka_unit_test(milter_fields_give_the_same_signatures),
	        cmocka_unit_test(output_equals_mv_dkim_sign),
	        cmocka_unit_test(body_limit_past_the_body_is_clamped),
	        cmocka_unit_test(headers_without_from_are_refused),
	        cmocka_unit_test(arc_sets_validate),
	        cmocka_unit_test(header_past_the_limit_is_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
