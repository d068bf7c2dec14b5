/*
 * tests/arc/test_suite.c — the public ARC test suite (conformance/arc/):
 * every validation case must give its cv, every signing case its AS, AMS
 * and AAR (compared as the suite's README says: whitespace removed, as sets
 * of tag=value; b= exactly, RSA PKCS#1 v1.5 being deterministic).
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

#include "arc_yaml.h"

#define VALIDATION_NOW 1700000000 /* any time after the suite's t= values */

/*
 * Cases where RFC 8617 decides against the suite. Each must still give the
 * RFC's answer, and is printed with the text that decides it.
 */
static const struct {
	const char *name;
	enum mv_arc_cv rfc;
	const char *text;
} exceptions[] = {
        {"ams_fields_c_na", MV_ARC_FAIL,
         "RFC 8617 §4.1.2: the AMS is a DKIM-Signature in syntax and semantics but for "
         "i= and v=; RFC 6376 §3.5 c=: \"If no canonicalization algorithm is specified by "
         "the Signer, the 'simple' algorithm defaults for both header and body.\" The AMS "
         "has no c= and was signed relaxed/relaxed (dkimpy's ARC default), so it does not "
         "verify as simple/simple"},
};

/* The RFC's answer for a case named in exceptions[], or -1. */
static int exception_for(const char *name, const char **text)
{
	size_t k;

	for (k = 0; k < sizeof exceptions / sizeof exceptions[0]; k++)
		if (strcmp(exceptions[k].name, name) == 0) {
			*text = exceptions[k].text;
			return (int)exceptions[k].rfc;
		}
	return -1;
}

static const char *shared(void)
{
	return getenv("MV_SHARED_DIR");
}

static int load(const char *file, struct suite *s)
{
	char path[1024];

	snprintf(path, sizeof path, "%s/conformance/arc/%s", shared(), file);
	return suite_load(path, s);
}

/* The cv one validation case expects: "" is the suite's slip for fail (README). */
static enum mv_arc_cv expected_cv(const char *cv)
{
	if (cv == NULL || cv[0] == '\0' || strncasecmp(cv, "fail", 4) == 0)
		return MV_ARC_FAIL;
	return strncasecmp(cv, "pass", 4) == 0 ? MV_ARC_PASS : MV_ARC_NONE;
}

/* Validate one message; returns its cv and fills why. */
static enum mv_arc_cv validate(const char *message, struct mv_resolver *r, char *why, size_t whylen)
{
	struct mv_arc_validator *v = NULL;
	struct mv_msg *m = NULL;
	enum mv_arc_cv cv = MV_ARC_FAIL;
	const char *reason = "";
	size_t len;
	char *data = crlf(message, &len);

	snprintf(why, whylen, "unparsable message");
	if (mv_msg_parse(data, len, NULL, &m, NULL, 0) != MV_OK)
		goto out;
	assert_int_equal(mv_arc_validator_new(NULL, r, VALIDATION_NOW, &v), MV_OK);
	assert_int_equal(mv_arc_validator_message(v, m), MV_OK);
	cv = mv_arc_validator_cv(v, &reason);
	snprintf(why, whylen, "%s", reason);
out:
	mv_arc_validator_free(v);
	mv_msg_free(m);
	free(data);
	return cv;
}

static void validation_suite(void **state)
{
	struct suite s;
	size_t k, runs = 0, passed = 0, names = 0, names_passed = 0, excepted = 0;

	(void)state;
	if (shared() == NULL) {
		printf("SKIP: MV_SHARED_DIR is not set (no ARC suite)\n");
		skip();
	}
	assert_int_equal(load("arc-draft-validation-tests.yml", &s), 0);
	for (k = 0; k < s.ndocs; k++) {
		yaml_document_t *d = &s.doc[k];
		yaml_node_t *root = yaml_document_get_root_node(d);
		yaml_node_t *tests = ymap_get(d, root, "tests");
		struct mv_resolver *r = suite_zone(d, root);
		yaml_node_pair_t *pr;
		assert_non_null(r);
		assert_non_null(tests);
		for (pr = tests->data.mapping.pairs.start; pr < tests->data.mapping.pairs.top;
		     pr++) {
			const char *name = yscalar(yaml_document_get_node(d, pr->key));
			yaml_node_t *t = yaml_document_get_node(d, pr->value);
			const char *msg = yscalar(ymap_get(d, t, "message"));
			enum mv_arc_cv want = expected_cv(yscalar(ymap_get(d, t, "cv")));
			enum mv_arc_cv got;
			yaml_node_pair_t *later;
			int shadowed = 0, ok, rfc;
			const char *text = NULL;
			char why[200];
			for (later = pr + 1; later < tests->data.mapping.pairs.top; later++)
				shadowed |= strcmp(yscalar(yaml_document_get_node(d, later->key)),
				                   name) == 0;
			assert_non_null(msg);
			got = validate(msg, r, why, sizeof why);
			ok = got == want;
			if (!ok && (rfc = exception_for(name, &text)) >= 0) {
				assert_int_equal(got, rfc); /* the RFC's answer, not any other */
				printf("EXCEPTION validation %s: suite wants cv=%s, RFC gives "
				       "cv=%s "
				       "(%s). %s\n",
				       name, mv_arc_cv_str(want), mv_arc_cv_str(got), why, text);
				excepted++;
				runs--;
				names -= !shadowed;
			}
			runs++;
			passed += ok;
			if (!shadowed) { /* a YAML mapping keeps the last of a repeated key */
				names++;
				names_passed += ok;
			}
			if (!ok && text == NULL)
				printf("FAIL validation %s%s: want cv=%s, got cv=%s (%s)\n", name,
				       shadowed ? " (first of two)" : "", mv_arc_cv_str(want),
				       mv_arc_cv_str(got), why);
		}
		mv_dns_free(r);
	}
	suite_free(&s);
	printf("ARC validation suite: %zu/%zu cases pass, %zu decided by RFC 8617 against the "
	       "suite (%zu/%zu entries pass counting the 4 names the file repeats)\n",
	       names_passed, names + excepted, excepted, passed, runs + excepted);
	assert_int_equal(names + excepted, 171);
	assert_int_equal(passed, runs);
}

/* Whitespace removed; then, for tag-lists, the tags sorted so order does not count. */
static char *normalize(const char *s, int as_set)
{
	struct mv_buf b = MV_BUF_INIT;
	char *parts[64], *out, *p;
	size_t n = 0, k, j;

	for (; s && *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			mv_buf_putc(&b, *s);
	mv_buf_putc(&b, '\0');
	out = mv_buf_steal(&b, NULL);
	if (!as_set || out == NULL)
		return out;
	for (p = out; *p && n < 64;) {
		parts[n++] = p;
		p += strcspn(p, ";");
		if (*p)
			*p++ = '\0';
	}
	for (k = 1; k < n; k++) /* insertion sort */
		for (j = k; j > 0 && strcmp(parts[j - 1], parts[j]) > 0; j--) {
			char *t = parts[j];
			parts[j] = parts[j - 1];
			parts[j - 1] = t;
		}
	for (k = 0; k < n; k++) {
		if (parts[k][0] == '\0')
			continue;
		mv_buf_puts(&b, parts[k]);
		mv_buf_putc(&b, ';');
	}
	mv_buf_putc(&b, '\0');
	free(out);
	return mv_buf_steal(&b, NULL);
}

/* The value of the first field named name in the sealed fields, or "" when absent. */
static const char *field_value(const struct mv_msg *m, const char *name)
{
	size_t i = m ? mv_msg_find(m, name, 0) : (size_t)-1;

	return i == (size_t)-1 ? "" : mv_msg_field(m, i)->unfolded;
}

/* Compare one of AS / AMS / AAR; returns 1 when equal. */
static int same(const char *what, const char *name, const char *want, const char *got, int as_set)
{
	char *w = normalize(want, as_set), *g = normalize(got, as_set);
	int eq = w && g && strcmp(w, g) == 0;

	if (!eq)
		printf("FAIL signing %s %s:\n  want %s\n  got  %s\n", name, what, w, g);
	free(w);
	free(g);
	return eq;
}

struct sign_case {
	const char *name, *message, *headers, *srv_id, *t, *as, *ams, *aar;
};

static int sign_one(const struct sign_case *c, const char *domain, const char *sel,
                    const struct mv_dkim_signkey *key, struct mv_resolver *r)
{
	struct mv_arc_seal_opts o;
	struct mv_buf out = MV_BUF_INIT;
	struct mv_msg *m = NULL, *sealed = NULL;
	const char *body;
	size_t len, blen, n = 0;
	char *data = crlf(c->message, &len);
	int ok;

	assert_int_equal(mv_msg_parse(data, len, NULL, &m, NULL, 0), MV_OK);
	mv_msg_body(m, &body, &blen, NULL);
	mv_arc_seal_opts_default(&o);
	o.domain = domain;
	o.selector = sel;
	o.authserv_id = c->srv_id;
	o.headers = c->headers;
	o.now = strtoll(c->t, NULL, 10);
	assert_int_equal(mv_arc_seal(&o, &key, NULL, 1, m, body, blen, NULL, r, &out, &n), MV_OK);
	if (n > 0)
		assert_int_equal(mv_msg_parse(out.data, out.len, NULL, &sealed, NULL, 0), MV_OK);
	ok = same("AS", c->name, c->as, field_value(sealed, "ARC-Seal"), 1);
	ok &= same("AMS", c->name, c->ams, field_value(sealed, "ARC-Message-Signature"), 1);
	ok &= same("AAR", c->name, c->aar, field_value(sealed, "ARC-Authentication-Results"), 0);
	mv_msg_free(sealed);
	mv_msg_free(m);
	mv_buf_free(&out);
	free(data);
	return ok;
}

static void signing_suite(void **state)
{
	struct suite s;
	size_t k, runs = 0, passed = 0;

	(void)state;
	if (shared() == NULL) {
		printf("SKIP: MV_SHARED_DIR is not set (no ARC suite)\n");
		skip();
	}
	assert_int_equal(load("arc-draft-sign-tests.yml", &s), 0);
	for (k = 0; k < s.ndocs; k++) {
		yaml_document_t *d = &s.doc[k];
		yaml_node_t *root = yaml_document_get_root_node(d);
		yaml_node_t *tests = ymap_get(d, root, "tests");
		const char *pem = yscalar(ymap_get(d, root, "privatekey"));
		const char *domain = yscalar(ymap_get(d, root, "domain"));
		const char *sel = yscalar(ymap_get(d, root, "sel"));
		struct mv_resolver *r = suite_zone(d, root);
		struct mv_dkim_signkey *key = NULL;
		yaml_node_pair_t *pr;
		char err[160];
		assert_non_null(r);
		assert_non_null(tests);
		assert_non_null(pem);
		assert_int_equal(mv_dkim_signkey_pem(pem, strlen(pem), &key, err, sizeof err),
		                 MV_OK);
		for (pr = tests->data.mapping.pairs.start; pr < tests->data.mapping.pairs.top;
		     pr++) {
			yaml_node_t *t = yaml_document_get_node(d, pr->value);
			struct sign_case c = {
			        yscalar(yaml_document_get_node(d, pr->key)),
			        yscalar(ymap_get(d, t, "message")),
			        yscalar(ymap_get(d, t, "sig-headers")),
			        yscalar(ymap_get(d, t, "srv-id")),
			        yscalar(ymap_get(d, t, "t")),
			        yscalar(ymap_get(d, t, "AS")),
			        yscalar(ymap_get(d, t, "AMS")),
			        yscalar(ymap_get(d, t, "AAR")),
			};
			assert_non_null(c.message);
			assert_non_null(c.t);
			runs++;
			passed += sign_one(&c, domain, sel, key, r);
		}
		mv_dkim_signkey_free(key);
		mv_dns_free(r);
	}
	suite_free(&s);
	printf("ARC signing suite: %zu/%zu cases pass\n", passed, runs);
	assert_int_equal(runs, 17);
	assert_int_equal(passed, runs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(validation_suite),
	        cmocka_unit_test(signing_suite),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
