/*
 * tests/verify/test_verify_arc.c — ARC in lib/verify (RFC 8617 §10.1: arc= in the
 * Authentication-Results) and the trusted-sealer override (draft-ietf-dmarc-arc-usage-06).
 *
 * Each case builds a message that went through a mailing list: the author's
 * message (From: a@example.com, whose DMARC record the case sets), sealed
 * by one or two intermediaries with their own Ed25519 keys, perhaps changed
 * afterwards, and delivered to us from the list's address with the list's
 * MAIL FROM, so DMARC fails. The message is streamed into lib/verify as a
 * milter would (header fields, then the body in small chunks) and the
 * arc= result, the dmarc record, the action and the reply are checked.
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
#include <mailvet/verify.h>

#define NOW 1700000000
#define CHUNK 7 /* body bytes per mv_verify_body() call */

struct arc_case {
	const char *name;
	const char *dmarc;       /* the author's DMARC record, or NULL for none */
	const char *sealers;     /* sealing domains, oldest first, space-separated; "" none */
	const char *trusted;     /* trusted sealers, space-separated, or NULL */
	int change_after;        /* 1: the body changes after the last seal */
	int arc_off;             /* 1: config arc = 0 */
	const char *arc;         /* expected arc= result, or NULL: no arc= record at all */
	const char *dmarc_res;   /* expected dmarc= result */
	const char *policy;      /* expected policy.dmarc, or NULL: absent */
	const char *action;      /* expected action */
	const char *overridden;  /* expected override sealer, or NULL: none (and no comment) */
	const char *arc_comment; /* expected in the arc= comment, or NULL */
};

static const struct arc_case cases[] = {
        {"no_arc_fields_reports_arc_none", "v=DMARC1; p=reject", "", NULL, 0, 0, "none", "fail",
         "reject", "reject", NULL, NULL},
        {"arc_disabled_reports_no_arc", "v=DMARC1; p=reject", "lists.example.org",
         "lists.example.org", 0, 1, NULL, "fail", "reject", "reject", NULL, NULL},
        {"sealed_chain_passes_and_names_the_sealer", "v=DMARC1; p=reject", "lists.example.org",
         NULL, 0, 0, "pass", "fail", "reject", "reject", NULL,
         "ed25519-sha256: i=1 lists.example.org"},
        {"trusted_newest_sealer_overrides_reject", "v=DMARC1; p=reject", "lists.example.org",
         "other.example lists.example.org", 0, 0, "pass", "fail", "none", "accept",
         "lists.example.org", NULL},
        {"trusted_sealer_overrides_quarantine", "v=DMARC1; p=quarantine", "lists.example.org",
         "lists.example.org", 0, 0, "pass", "fail", "none", "accept", "lists.example.org", NULL},
        {"trusted_sealer_matches_case_insensitively", "v=DMARC1; p=reject", "lists.example.org",
         "LISTS.Example.Org", 0, 0, "pass", "fail", "none", "accept", "lists.example.org", NULL},
        {"untrusted_sealer_keeps_reject", "v=DMARC1; p=reject", "lists.example.org",
         "other.example", 0, 0, "pass", "fail", "reject", "reject", NULL, NULL},
        {"subdomain_of_trusted_sealer_is_not_trusted", "v=DMARC1; p=reject", "lists.example.org",
         "example.org", 0, 0, "pass", "fail", "reject", "reject", NULL, NULL},
        {"broken_chain_keeps_reject_even_if_trusted", "v=DMARC1; p=reject", "lists.example.org",
         "lists.example.org", 1, 0, "fail", "fail", "reject", "reject", NULL, NULL},
        {"trusted_older_sealer_is_not_enough", "v=DMARC1; p=reject",
         "lists.example.org fwd.example.net", "lists.example.org", 0, 0, "pass", "fail", "reject",
         "reject", NULL, "i=1 lists.example.org, i=2 fwd.example.net"},
        {"trusted_newest_of_two_sealers_overrides", "v=DMARC1; p=reject",
         "lists.example.org fwd.example.net", "fwd.example.net", 0, 0, "pass", "fail", "none",
         "accept", "fwd.example.net", NULL},
        {"no_override_when_policy_is_none", "v=DMARC1; p=none", "lists.example.org",
         "lists.example.org", 0, 0, "pass", "fail", "none", "accept", NULL, NULL},
        {"no_override_for_virtual_dmarc", NULL, "lists.example.org", "lists.example.org", 0, 0,
         "pass", NULL, NULL, "accept", NULL, NULL},
};

static struct mv_dkim_signkey *key;

static int setup(void **state)
{
	static const unsigned char seed[32] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
	                                       7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};

	(void)state;
	return mv_dkim_signkey_ed25519_seed(seed, &key) == MV_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	mv_dkim_signkey_free(key);
	return 0;
}

/* msg sealed by domain (validating earlier sets with r); a new string. */
static char *seal(const char *msg, const char *domain, struct mv_resolver *r)
{
	const struct mv_dkim_signkey *keys[1] = {key};
	struct mv_arc_seal_opts o;
	struct mv_buf out = MV_BUF_INIT;
	struct mv_msg *m = NULL;
	const char *body;
	size_t blen, nsets = 0;

	mv_arc_seal_opts_default(&o);
	o.domain = domain;
	o.selector = "arc";
	o.authserv_id = domain;
	o.now = NOW - 60;
	assert_int_equal(mv_msg_parse(msg, strlen(msg), NULL, &m, NULL, 0), MV_OK);
	mv_msg_body(m, &body, &blen, NULL);
	assert_int_equal(mv_arc_seal(&o, keys, NULL, 1, m, body, blen, NULL, r, &out, &nsets),
	                 MV_OK);
	assert_int_equal(nsets, 1);
	mv_buf_puts(&out, msg);
	mv_msg_free(m);
	return mv_buf_steal(&out, NULL);
}

/* Stream msg into a verification as a milter would: fields, end of header, small chunks. */
static struct mv_verify *stream(const struct mv_verify_config *cfg, struct mv_resolver *r,
                                const char *msg)
{
	struct mv_envelope env = {
	        "203.0.113.5", NULL, "lists.example.org", "bounce@lists.example.org", NULL,
	        NULL,          0};
	struct mv_verify *v = NULL;
	struct mv_msg *m = NULL;
	const char *body;
	size_t blen, k;

	assert_int_equal(mv_msg_parse(msg, strlen(msg), NULL, &m, NULL, 0), MV_OK);
	assert_int_equal(mv_verify_new(cfg, r, NOW, &env, &v), MV_OK);
	for (k = 0; k < mv_msg_field_count(m); k++) {
		const struct mv_msg_field *f = mv_msg_field(m, k);
		assert_int_equal(mv_verify_header(v, f->name, f->name_len, f->value, f->value_len),
		                 MV_OK);
	}
	assert_int_equal(mv_verify_header_end(v), MV_OK);
	mv_msg_body(m, &body, &blen, NULL);
	for (k = 0; k < blen; k += CHUNK)
		assert_int_equal(mv_verify_body(v, body + k, blen - k < CHUNK ? blen - k : CHUNK),
		                 MV_OK);
	assert_int_equal(mv_verify_end(v), MV_OK);
	mv_msg_free(m);
	return v;
}

static const struct mv_result *find(const struct mv_authres *ar, const char *method)
{
	size_t k;

	for (k = 0; k < ar->results.count; k++)
		if (strcmp(ar->results.item[k]->method, method) == 0)
			return ar->results.item[k];
	return NULL;
}

/* The zone: the author's record, the keys of every sealer; the list's own SPF. */
static struct mv_resolver *make_zone(const struct arc_case *c)
{
	struct mv_buf z = MV_BUF_INIT;
	struct mv_resolver *r = NULL;
	char *rec = mv_dkim_signkey_record(key);
	char dom[64];
	const char *p;
	int n;

	assert_non_null(rec);
	if (c->dmarc)
		mv_buf_printf(&z, "_dmarc.example.com TXT \"%s\"\n", c->dmarc);
	mv_buf_puts(&z, "lists.example.org TXT \"v=spf1 ip4:203.0.113.0/24 -all\"\n");
	for (p = c->sealers; sscanf(p, " %63s%n", dom, &n) == 1; p += n)
		mv_buf_printf(&z, "arc._domainkey.%s TXT \"%s\"\n", dom, rec);
	free(rec);
	assert_int_equal(mv_dns_zone_parse(z.data ? z.data : "", z.len, &r, NULL, 0), MV_OK);
	mv_buf_free(&z);
	return r;
}

static void run_case(void **state)
{
	const struct arc_case *c = *state;
	const char *trusted[8];
	char dom[64], *msg, *next;
	const char *p, *comment;
	struct mv_resolver *r = make_zone(c);
	struct mv_verify_config cfg;
	struct mv_verify *v;
	const struct mv_result *arc, *dm;
	size_t nt = 0;
	int n;

	msg = strdup("From: a@example.com\r\nTo: list@lists.example.org\r\nSubject: hello\r\n"
	             "Message-ID: <1@example.com>\r\n\r\nhello list\r\n");
	for (p = c->sealers; sscanf(p, " %63s%n", dom, &n) == 1; p += n) {
		next = seal(msg, dom, r);
		free(msg);
		msg = next;
	}
	if (c->change_after)
		msg[strlen(msg) - 3] ^= 1; /* the body's last letter */
	mv_verify_config_default(&cfg);
	cfg.authserv_id = "mx.receiver.example";
	cfg.arc = !c->arc_off;
	for (p = c->trusted; p && nt < 8 && sscanf(p, " %63s%n", dom, &n) == 1; p += n)
		trusted[nt++] = mv_strndup(p + strspn(p, " "), (size_t)n - strspn(p, " "));
	cfg.trusted_arc_sealers = trusted;
	cfg.ntrusted_arc_sealers = nt;

	v = stream(&cfg, r, msg);
	arc = find(mv_verify_results(v), "arc");
	dm = find(mv_verify_results(v), "dmarc");
	assert_non_null(dm);
	if (c->arc == NULL) {
		assert_null(arc);
		assert_null(mv_verify_arc(v));
	} else {
		assert_non_null(arc);
		assert_string_equal(arc->result, c->arc);
		assert_string_equal(mv_result_prop_value(arc, "smtp", "remote-ip"), "203.0.113.5");
		if (strcmp(c->arc, "pass") == 0)
			assert_string_equal(mv_result_prop_value(arc, "header", "oldest-pass"),
			                    "0");
		else
			assert_null(mv_result_prop_value(arc, "header", "oldest-pass"));
	}
	if (c->arc_comment)
		assert_non_null(strstr(arc->comment, c->arc_comment));
	if (c->dmarc_res)
		assert_string_equal(dm->result, c->dmarc_res);
	if (c->policy)
		assert_string_equal(mv_result_prop_value(dm, "policy", "dmarc"), c->policy);
	else
		assert_null(mv_result_prop_value(dm, "policy", "dmarc"));
	assert_string_equal(mv_verify_action_str(mv_verify_action(v)), c->action);
	comment = dm->comment ? dm->comment : "";
	if (c->overridden) {
		char want[128];
		assert_non_null(mv_verify_arc_override(v));
		assert_string_equal(mv_verify_arc_override(v), c->overridden);
		snprintf(want, sizeof want, "overridden by trusted ARC sealer %s", c->overridden);
		assert_non_null(strstr(comment, want));
		assert_non_null(strstr(mv_verify_explain(v), "DMARC policy overridden"));
		assert_null(mv_verify_reply(v));
	} else {
		assert_null(mv_verify_arc_override(v));
		assert_null(strstr(comment, "overridden"));
	}
	/* The arc= record sits between the dkim and the dmarc records. */
	if (arc != NULL)
		assert_true(strstr(mv_verify_header_field(v), "dkim=") <
		                    strstr(mv_verify_header_field(v), "arc=") &&
		            strstr(mv_verify_header_field(v), " arc=") <
		                    strstr(mv_verify_header_field(v), "dmarc="));
	mv_verify_free(v);
	while (nt > 0)
		free((char *)trusted[--nt]);
	free(msg);
	mv_dns_free(r);
}

/* mv_verify_message (bytes at once) gives the same arc= as the streamed path. */
static void test_whole_message_same_as_streamed(void **state)
{
	const struct arc_case *c = &cases[2];
	struct mv_resolver *r = make_zone(c);
	struct mv_envelope env = {"203.0.113.5", NULL, NULL, "bounce@lists.example.org",
	                          NULL,          NULL, 0};
	struct mv_verify_config cfg;
	struct mv_verify *a, *b = NULL;
	char *msg;

	(void)state;
	msg = seal("From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n", "lists.example.org", r);
	mv_verify_config_default(&cfg);
	cfg.authserv_id = "mx.receiver.example";
	a = stream(&cfg, r, msg);
	assert_int_equal(mv_verify_message(&cfg, r, NOW, &env, msg, strlen(msg), &b), MV_OK);
	assert_string_equal(mv_verify_header_field(a), mv_verify_header_field(b));
	assert_non_null(strstr(mv_verify_header_field(b), "arc=pass"));
	assert_int_equal(mv_arc_validator_cv(mv_verify_arc(b), NULL), MV_ARC_PASS);
	mv_verify_free(a);
	mv_verify_free(b);
	free(msg);
	mv_dns_free(r);
}

int main(void)
{
	struct CMUnitTest tests[sizeof cases / sizeof cases[0] + 1];
	size_t k;

	for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		memset(&tests[k], 0, sizeof tests[k]);
		tests[k].name = cases[k].name;
		tests[k].test_func = run_case;
		tests[k].initial_state = (void *)&cases[k];
	}
	memset(&tests[k], 0, sizeof tests[k]);
	tests[k].name = "whole_message_same_as_streamed";
	tests[k].test_func = test_whole_message_same_as_streamed;
	k++;
	return _cmocka_run_group_tests("verify arc", tests, k, setup, teardown);
}
