/*
 * tests/dmarc/test_dmarc_scenarios.c — the data-driven DMARC scenario suite (scenarios.yml).
 *
 * Each case: a zone (docs/zone-file.md format), a message, an envelope, optionally
 * DKIM signatures to add (made here with a fixed Ed25519 key whose record
 * is appended to the zone as <s>._domainkey.<d>), a configuration, and the
 * expected results. The whole of lib/verify runs on it (mv_verify_message),
 * so each case checks what an MTA would get: the dmarc result, the
 * disposition (policy.dmarc), the action, the comment and the header field.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <yaml.h>

#include <mailvet/dkim.h>
#include <mailvet/dns.h>
#include <mailvet/verify.h>

#define NOW 1700000000

static const unsigned char seed[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                       12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                       23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

struct scenario {
	yaml_document_t *doc;
	yaml_node_t *node;
	const char *name;
};

static yaml_node_t *get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		if (k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

static const char *str(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	yaml_node_t *n = get(doc, map, key);

	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int on(const char *v)
{
	return v && (strcmp(v, "on") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0);
}

/* Sign `msg` once per entry of the sign list; returns the signed message and extends zone. */
static char *sign_message(yaml_document_t *doc, yaml_node_t *list, const char *msg,
                          struct mv_buf *zone)
{
	struct mv_dkim_signkey *key = NULL;
	struct mv_buf out = MV_BUF_INIT;
	yaml_node_item_t *it;
	char *signed_msg, *rec;
	const char *body;
	size_t blen;

	assert_int_equal(mv_dkim_signkey_ed25519_seed(seed, &key), MV_OK);
	rec = mv_dkim_signkey_record(key);
	assert_non_null(rec);
	for (it = list->data.sequence.items.start; it < list->data.sequence.items.top; it++) {
		yaml_node_t *s = yaml_document_get_node(doc, *it);
		struct mv_dkim_sign_opts o;
		const struct mv_dkim_signkey *keys[1] = {key};
		struct mv_msg *m = NULL;
		const char *cur = out.len ? out.data : msg;
		struct mv_buf sig = MV_BUF_INIT;

		mv_dkim_sign_opts_default(&o);
		o.domain = str(doc, s, "d");
		o.selector = str(doc, s, "s") ? str(doc, s, "s") : "sel";
		o.now = NOW - 60;
		assert_int_equal(mv_msg_parse(cur, strlen(cur), NULL, &m, NULL, 0), MV_OK);
		mv_msg_body(m, &body, &blen, NULL);
		assert_int_equal(mv_dkim_sign(&o, keys, NULL, 1, m, body, blen, &sig), MV_OK);
		mv_buf_puts(&sig, cur);
		mv_msg_free(m);
		mv_buf_free(&out);
		out = sig;
		if (!on(str(doc, s, "no_key")))
			mv_buf_printf(zone, "\n%s._domainkey.%s TXT \"%s\"\n", o.selector, o.domain,
			              rec);
	}
	free(rec);
	mv_dkim_signkey_free(key);
	signed_msg = mv_buf_steal(&out, NULL);
	assert_non_null(signed_msg);
	return signed_msg;
}

static void apply_config(yaml_document_t *doc, yaml_node_t *c, struct mv_verify_config *cfg)
{
	const char *v;

	if (c == NULL)
		return;
	if ((v = str(doc, c, "virtual")))
		cfg->dmarc.virtual_enabled = on(v);
	if ((v = str(doc, c, "bestguess")))
		cfg->dmarc.virtual_bestguess = on(v);
	if (on(str(doc, c, "virtual_relaxed"))) {
		cfg->dmarc.virtual_adkim = MV_DMARC_RELAXED;
		cfg->dmarc.virtual_aspf = MV_DMARC_RELAXED;
	}
	if ((v = str(doc, c, "enforce")))
		cfg->dmarc_enforce = on(v);
	if ((v = str(doc, c, "np")))
		cfg->dmarc.use_np = on(v);
	if (on(str(doc, c, "reject_bad_from")))
		cfg->from_permerror_action = MV_VERIFY_REJECT;
	if ((v = str(doc, c, "bad_from"))) { /* accept, reject, reject-if-protected */
		cfg->from_permerror_action =
		        strcmp(v, "reject") == 0 ? MV_VERIFY_REJECT : MV_VERIFY_ACCEPT;
		cfg->from_permerror_protect = strcmp(v, "reject-if-protected") == 0;
	}
	if ((v = str(doc, c, "temperror")) && strcmp(v, "accept") == 0)
		cfg->dmarc_temperror_action = MV_VERIFY_ACCEPT;
}

static const struct mv_result *find(const struct mv_authres *ar, const char *method)
{
	size_t k;

	for (k = 0; k < ar->results.count; k++)
		if (strcmp(ar->results.item[k]->method, method) == 0)
			return ar->results.item[k];
	return NULL;
}

/* Check the expectations; on a mismatch print the case and fail. */
static void check(const struct scenario *sc, const struct mv_verify *v)
{
	yaml_document_t *doc = sc->doc;
	yaml_node_t *e = get(doc, sc->node, "expect");
	const struct mv_authres *ar = mv_verify_results(v);
	const struct mv_result *d = find(ar, "dmarc");
	const char *want, *got, *field = mv_verify_header_field(v);
	static const char *const methods[] = {"spf", "iprev", "auth", "dkim"};
	size_t k;

	assert_non_null(e);
	assert_non_null(d);
#define EXPECT(cond, what, exp, act)                                                               \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			print_error("%s: %s: expected '%s', got '%s'\n%s\n%s", sc->name, what,     \
			            exp, act ? act : "(null)", field, mv_verify_explain(v));       \
			fail();                                                                    \
		}                                                                                  \
	} while (0)
	if ((want = str(doc, e, "dmarc")))
		EXPECT(strcmp(want, d->result) == 0, "dmarc", want, d->result);
	if ((want = str(doc, e, "action"))) {
		got = mv_verify_action_str(mv_verify_action(v));
		EXPECT(strcmp(want, got) == 0, "action", want, got);
	}
	if ((want = str(doc, e, "policy"))) {
		got = mv_result_prop_value(d, "policy", "dmarc");
		EXPECT(strcmp(want, "absent") == 0 ? got == NULL : got && strcmp(want, got) == 0,
		       "policy.dmarc", want, got);
	}
	if ((want = str(doc, e, "from"))) {
		got = mv_result_prop_value(d, "header", "from");
		EXPECT(got && strcmp(want, got) == 0, "header.from", want, got);
	}
	if ((want = str(doc, e, "comment")))
		EXPECT(d->comment && strstr(d->comment, want), "dmarc comment", want, d->comment);
	if ((want = str(doc, e, "reason")))
		EXPECT(d->reason && strstr(d->reason, want), "dmarc reason", want, d->reason);
	if ((want = str(doc, e, "header")))
		EXPECT(strstr(field, want) != NULL, "header field", want, field);
	if ((want = str(doc, e, "reply"))) {
		got = mv_verify_reply(v);
		EXPECT(got && strstr(got, want), "reply", want, got);
	}
	if ((want = str(doc, e, "org"))) {
		got = mv_verify_dmarc(v)->org_domain;
		EXPECT(got && strcmp(want, got) == 0, "organizational domain", want, got);
	}
	if ((want = str(doc, e, "explain")))
		EXPECT(strstr(mv_verify_explain(v), want) != NULL, "explain", want, "");
	for (k = 0; k < sizeof methods / sizeof methods[0]; k++) {
		const struct mv_result *r;
		if ((want = str(doc, e, methods[k])) == NULL)
			continue;
		r = find(ar, methods[k]);
		EXPECT(r && strcmp(r->result, want) == 0, methods[k], want, r ? r->result : NULL);
	}
#undef EXPECT
}

static void run_scenario(void **state)
{
	const struct scenario *sc = *state;
	yaml_document_t *doc = sc->doc;
	yaml_node_t *envn = get(doc, sc->node, "envelope"), *signs = get(doc, sc->node, "sign");
	struct mv_buf zone = MV_BUF_INIT;
	struct mv_resolver *r = NULL;
	struct mv_verify_config cfg;
	struct mv_envelope env;
	struct mv_verify *v = NULL;
	struct mv_dmarc_psl *psl = NULL;
	const char *msg = str(doc, sc->node, "message");
	char *signed_msg = NULL, err[200];

	assert_non_null(msg);
	mv_buf_puts(&zone, str(doc, sc->node, "zone") ? str(doc, sc->node, "zone") : "");
	if (signs && signs->type == YAML_SEQUENCE_NODE)
		msg = signed_msg = sign_message(doc, signs, msg, &zone);
	if (on(str(doc, sc->node, "tamper"))) /* change the last byte of the body */
		signed_msg[strlen(signed_msg) - 2] ^= 1;
	if (mv_dns_zone_parse(zone.data ? zone.data : "", zone.len, &r, err, sizeof err) != MV_OK) {
		print_error("%s: zone: %s\n", sc->name, err);
		fail();
	}
	memset(&env, 0, sizeof env);
	env.client_ip = str(doc, envn, "ip") ? str(doc, envn, "ip") : "192.0.2.1";
	env.helo = str(doc, envn, "helo");
	env.mail_from = str(doc, envn, "mail_from");
	env.auth_id = str(doc, envn, "auth");
	mv_verify_config_default(&cfg);
	cfg.authserv_id = "mx.receiver.example";
	apply_config(doc, get(doc, sc->node, "config"), &cfg);
	if (str(doc, get(doc, sc->node, "config"), "mode") &&
	    strcmp(str(doc, get(doc, sc->node, "config"), "mode"), "7489") == 0) {
		if (mv_dmarc_psl_open(NULL, &psl) != MV_OK) {
			mv_dns_free(r);
			mv_buf_free(&zone);
			free(signed_msg);
			fail_msg("%s: no public suffix list (publicsuffix, libpsl5: "
			         "scripts/install-deps)",
			         sc->name);
		}
		cfg.dmarc.mode = MV_DMARC_MODE_7489;
		cfg.dmarc.psl = psl;
	}
	assert_int_equal(mv_verify_message(&cfg, r, NOW, &env, msg, strlen(msg), &v), MV_OK);
	check(sc, v);
	mv_verify_free(v);
	mv_dmarc_psl_free(psl);
	mv_dns_free(r);
	mv_buf_free(&zone);
	free(signed_msg);
}

int main(void)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	yaml_node_item_t *it;
	struct CMUnitTest *tests;
	struct scenario *sc;
	FILE *f = fopen("scenarios.yml", "rb");
	size_t n = 0;
	int rc;

	if (f == NULL) {
		fprintf(stderr, "scenarios.yml: cannot open\n");
		return 1;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		fprintf(stderr, "scenarios.yml: line %zu: %s\n", parser.problem_mark.line + 1,
		        parser.problem);
		return 1;
	}
	root = yaml_document_get_root_node(&doc);
	if (root == NULL || root->type != YAML_SEQUENCE_NODE)
		return 1;
	n = (size_t)(root->data.sequence.items.top - root->data.sequence.items.start);
	tests = calloc(n, sizeof *tests);
	sc = calloc(n, sizeof *sc);
	n = 0;
	for (it = root->data.sequence.items.start; it < root->data.sequence.items.top; it++, n++) {
		sc[n].doc = &doc;
		sc[n].node = yaml_document_get_node(&doc, *it);
		sc[n].name = str(&doc, sc[n].node, "name");
		tests[n].name = sc[n].name ? sc[n].name : "unnamed";
		tests[n].test_func = run_scenario;
		tests[n].initial_state = &sc[n];
	}
	rc = _cmocka_run_group_tests("dmarc scenarios", tests, n, NULL, NULL);
	free(tests);
	free(sc);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(f);
	return rc;
}
