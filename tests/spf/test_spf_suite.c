/*
 * tests/spf/test_spf_suite.c — the OpenSPF test suites (RFC 7208 and RFC 4408 releases) and
 * our own cases in the same format (spf-cases.yml), run through mv_spf_check().
 *
 * Each YAML document holds `zonedata` (turned into the zone-file format of DESIGN.md in
 * memory and served by mv_dns_zone_parse) and `tests`. `SPF` records are served as TXT when
 * the name has no TXT entries of its own (RFC 7208 dropped the SPF RR type); `TXT: NONE`
 * stops that. Our own cases may also use the pseudo-type SERVFAIL and the fields
 * `identity` (helo or mailfrom, default mailfrom) and `receiver` (%{r}). Strings hold raw bytes written as \xNN in the YAML: libyaml hands them over as
 * U+0080..U+00FF, which go back to single bytes here.
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

#include <mailvet/dns.h>
#include <mailvet/spf.h>
#include <mailvet/util.h>

/*
 * Cases whose expected result is not ours, each with the rule that decides it. Only the
 * RFC 4408 suite may have any: where RFC 7208 changed the rule.
 */
struct deviation {
	const char *suite, *name, *why;
};

static const struct deviation deviations[] = {
        {NULL, NULL, NULL},
};

/* A YAML scalar as bytes: UTF-8 code points U+0080..U+00FF become the raw byte. */
static char *scalar_bytes(const yaml_node_t *n, size_t *lenp)
{
	const unsigned char *s = n->data.scalar.value;
	size_t len = n->data.scalar.length, i, o = 0;
	char *out = malloc(len + 1);

	assert_non_null(out);
	for (i = 0; i < len; i++) {
		if ((s[i] == 0xc2 || s[i] == 0xc3) && i + 1 < len && (s[i + 1] & 0xc0) == 0x80) {
			out[o++] = (char)(((s[i] & 0x03) << 6) | (s[i + 1] & 0x3f));
			i++;
		} else {
			out[o++] = (char)s[i];
		}
	}
	out[o] = '\0';
	if (lenp)
		*lenp = o;
	return out;
}

static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		if (k && k->type == YAML_SCALAR_NODE && k->data.scalar.length == strlen(key) &&
		    memcmp(k->data.scalar.value, key, strlen(key)) == 0)
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

static int scalar_is(const yaml_node_t *n, const char *s)
{
	return n && n->type == YAML_SCALAR_NODE && n->data.scalar.length == strlen(s) &&
	       memcmp(n->data.scalar.value, s, strlen(s)) == 0;
}

/* A name or word for the zone file: bytes that cannot stand plainly become \DDD. */
static void put_name(struct mv_buf *z, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f || c == ';' || c == '\\' || c == '"')
			mv_buf_printf(z, "\\%03u", c);
		else
			mv_buf_putc(z, (char)c);
	}
}

/* One TXT character-string, quoted, split every 255 bytes as DNS would hold it. */
static void put_txt_string(struct mv_buf *z, const char *s, size_t n)
{
	size_t i;

	mv_buf_puts(z, " \"");
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (i > 0 && i % 255 == 0)
			mv_buf_puts(z, "\" \"");
		if (c == '"' || c == '\\')
			mv_buf_printf(z, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			mv_buf_printf(z, "\\%03u", c);
		else
			mv_buf_putc(z, (char)c);
	}
	mv_buf_putc(z, '"');
}

/* A TXT (or SPF-as-TXT) record: a string, or a list of strings forming one record. */
static void put_txt(yaml_document_t *doc, struct mv_buf *z, const char *owner, size_t olen,
                    yaml_node_t *v)
{
	yaml_node_item_t *it;
	size_t n;
	char *s;

	put_name(z, owner, olen);
	mv_buf_puts(z, " TXT");
	if (v->type == YAML_SCALAR_NODE) {
		s = scalar_bytes(v, &n);
		put_txt_string(z, s, n);
		free(s);
	} else if (v->type == YAML_SEQUENCE_NODE) {
		if (v->data.sequence.items.start == v->data.sequence.items.top)
			mv_buf_puts(z, " \"\""); /* "null text": no strings; served as one empty */
		for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
			s = scalar_bytes(yaml_document_get_node(doc, *it), &n);
			put_txt_string(z, s, n);
			free(s);
		}
	}
	mv_buf_putc(z, '\n');
}

/* Whether the owner lists any TXT entry (TXT: NONE included). */
static int has_txt(yaml_document_t *doc, yaml_node_t *list)
{
	yaml_node_item_t *it;

	for (it = list->data.sequence.items.start; it < list->data.sequence.items.top; it++)
		if (map_get(doc, yaml_document_get_node(doc, *it), "TXT"))
			return 1;
	return 0;
}

/* One record of an owner in the zone format. */
static void put_entry(yaml_document_t *doc, struct mv_buf *z, const char *owner, size_t olen,
                      yaml_node_t *e, int txt_of_own)
{
	yaml_node_pair_t *p;
	char *s;

	if (scalar_is(e, "TIMEOUT") || scalar_is(e, "SERVFAIL")) { /* pseudo-types */
		put_name(z, owner, olen);
		mv_buf_printf(z, " %s\n", (const char *)e->data.scalar.value);
		return;
	}
	assert_int_equal(e->type, YAML_MAPPING_NODE);
	for (p = e->data.mapping.pairs.start; p < e->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		yaml_node_t *v = yaml_document_get_node(doc, p->value);
		if (scalar_is(k, "SPF")) {
			if (!txt_of_own)
				put_txt(doc, z, owner, olen, v);
		} else if (scalar_is(k, "TXT")) {
			if (!scalar_is(v, "NONE"))
				put_txt(doc, z, owner, olen, v);
		} else if (scalar_is(k, "MX")) {
			yaml_node_t *pref =
			        yaml_document_get_node(doc, v->data.sequence.items.start[0]);
			yaml_node_t *host =
			        yaml_document_get_node(doc, v->data.sequence.items.start[1]);
			size_t n;
			put_name(z, owner, olen);
			s = scalar_bytes(pref, NULL);
			mv_buf_printf(z, " MX %s ", s);
			free(s);
			s = scalar_bytes(host, &n);
			if (n == 0)
				mv_buf_putc(z, '.');
			put_name(z, s, n);
			free(s);
			mv_buf_putc(z, '\n');
		} else {
			size_t n;
			char *type = scalar_bytes(k, NULL);
			put_name(z, owner, olen);
			mv_buf_printf(z, " %s ", type);
			s = scalar_bytes(v, &n);
			put_name(z, s, n);
			mv_buf_putc(z, '\n');
			free(s);
			free(type);
		}
	}
}

/* The zonedata mapping as zone-file text. */
static char *zone_text(yaml_document_t *doc, yaml_node_t *zd, size_t *len)
{
	struct mv_buf z = MV_BUF_INIT;
	yaml_node_pair_t *p;
	yaml_node_item_t *it;

	mv_buf_puts(&z, "; generated from the suite's zonedata\n");
	for (p = zd ? zd->data.mapping.pairs.start : NULL; zd && p < zd->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		yaml_node_t *list = yaml_document_get_node(doc, p->value);
		size_t olen;
		char *owner = scalar_bytes(k, &olen);
		int own = has_txt(doc, list);
		for (it = list->data.sequence.items.start; it < list->data.sequence.items.top; it++)
			put_entry(doc, &z, owner, olen, yaml_document_get_node(doc, *it), own);
		free(owner);
	}
	assert_int_equal(mv_buf_status(&z), MV_OK);
	return mv_buf_steal(&z, len);
}

struct tally {
	const char *suite;
	unsigned total, passed, deviated, failed;
};

static const struct deviation *find_deviation(const char *suite, const char *name)
{
	const struct deviation *d;

	for (d = deviations; d->suite; d++)
		if (strcmp(d->suite, suite) == 0 && strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

/* Whether our result is one the case accepts. */
static int result_accepted(yaml_document_t *doc, yaml_node_t *want, enum mv_spf_result got)
{
	yaml_node_item_t *it;

	if (want->type == YAML_SCALAR_NODE)
		return scalar_is(want, mv_spf_result_str(got));
	for (it = want->data.sequence.items.start; it < want->data.sequence.items.top; it++)
		if (scalar_is(yaml_document_get_node(doc, *it), mv_spf_result_str(got)))
			return 1;
	return 0;
}

static char *field(yaml_document_t *doc, yaml_node_t *t, const char *key)
{
	yaml_node_t *n = map_get(doc, t, key);

	return n && n->type == YAML_SCALAR_NODE ? scalar_bytes(n, NULL) : NULL;
}

/*
 * Run one case; 1 if it passes. An explanation is compared where the case gives one:
 * "DEFAULT" means ours; otherwise exactly, and a difference in letter case only is a
 * note (the suite writes %{i} of IPv6 with upper-case nibbles, RFC 7208 §7.4 lower case).
 */
static int run_case(struct mv_resolver *r, yaml_document_t *doc, const char *name, yaml_node_t *t,
                    struct mv_buf *why)
{
	struct mv_spf_request req = {0};
	struct mv_spf_verdict v;
	char *helo = field(doc, t, "helo"), *host = field(doc, t, "host");
	char *mailfrom = field(doc, t, "mailfrom"), *exp = field(doc, t, "explanation");
	char *identity = field(doc, t, "identity"), *receiver = field(doc, t, "receiver");
	int ok = 1;

	req.ip = host;
	req.helo = helo;
	req.mail_from = mailfrom;
	req.identity =
	        identity && strcmp(identity, "helo") == 0 ? MV_SPF_ID_HELO : MV_SPF_ID_MAILFROM;
	req.receiver = receiver;
	req.now = 1400000000;
	if (mv_spf_check(r, &req, &v) != MV_OK) {
		mv_buf_printf(why, "%s: mv_spf_check failed", name);
		ok = 0;
		goto out;
	}
	if (!result_accepted(doc, map_get(doc, t, "result"), v.result)) {
		mv_buf_printf(why, "%s: got %s (%s)", name, mv_spf_result_str(v.result),
		              v.problem     ? v.problem
		              : v.mechanism ? v.mechanism
		                            : "");
		ok = 0;
	} else if (exp && v.result == MV_SPF_FAIL) {
		if (strcmp(exp, "DEFAULT") == 0
		            ? !v.explanation_default
		            : !v.explanation || !mv_ascii_ieq(exp, strlen(exp), v.explanation)) {
			mv_buf_printf(why, "%s: explanation '%s', want '%s'", name,
			              v.explanation ? v.explanation : "(none)", exp);
			ok = 0;
		} else if (strcmp(exp, "DEFAULT") != 0 && strcmp(exp, v.explanation) != 0) {
			printf("note: %s: explanation differs in letter case only: '%s'\n", name,
			       v.explanation);
		}
	}
	mv_spf_verdict_clear(&v);
out:
	free(helo);
	free(host);
	free(mailfrom);
	free(exp);
	free(identity);
	free(receiver);
	return ok;
}

/* One YAML document: build its zone, run its tests. */
static void run_document(yaml_document_t *doc, struct tally *tl)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);
	yaml_node_t *tests = map_get(doc, root, "tests");
	struct mv_resolver *r = NULL;
	struct mv_buf why = MV_BUF_INIT;
	yaml_node_pair_t *p;
	char err[160];
	size_t zlen;
	char *zone;

	if (!tests)
		return;
	zone = zone_text(doc, map_get(doc, root, "zonedata"), &zlen);
	if (mv_dns_zone_parse(zone, zlen, &r, err, sizeof err) != MV_OK)
		fail_msg("%s: zone does not parse: %s\n%s", tl->suite, err, zone);
	for (p = tests->data.mapping.pairs.start; p < tests->data.mapping.pairs.top; p++) {
		char *name = scalar_bytes(yaml_document_get_node(doc, p->key), NULL);
		const struct deviation *d = find_deviation(tl->suite, name);
		tl->total++;
		mv_buf_reset(&why);
		if (run_case(r, doc, name, yaml_document_get_node(doc, p->value), &why)) {
			tl->passed++;
			if (d)
				printf("%s: %s passes but is listed as a deviation\n", tl->suite,
				       name);
		} else if (d) {
			tl->deviated++;
			printf("%s: DEVIATION %s — %s\n    (%s)\n", tl->suite, why.data, d->why,
			       name);
		} else {
			tl->failed++;
			printf("%s: FAIL %s\n", tl->suite, why.data);
		}
		free(name);
	}
	mv_buf_free(&why);
	mv_dns_free(r);
	free(zone);
}

static void run_file(const char *path, struct tally *tl)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	FILE *f = fopen(path, "rb");
	int done = 0;

	assert_non_null(f);
	assert_true(yaml_parser_initialize(&parser));
	yaml_parser_set_input_file(&parser, f);
	while (!done) {
		if (!yaml_parser_load(&parser, &doc))
			fail_msg("%s: YAML error: %s", path, parser.problem);
		if (!yaml_document_get_root_node(&doc))
			done = 1;
		else
			run_document(&doc, tl);
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	fclose(f);
	printf("%s: %u/%u cases pass, %u listed deviations, %u failures\n", tl->suite, tl->passed,
	       tl->total, tl->deviated, tl->failed);
}

static void run_suite(const char *file, int shared)
{
	char path[4096];
	const char *dir = shared ? getenv("MV_SHARED_DIR") : ".";
	struct tally tl = {0};

	if (shared && (!dir || !*dir)) {
		printf("MV_SHARED_DIR is not set: skipping %s\n", file);
		skip();
	}
	snprintf(path, sizeof path, shared ? "%s/conformance/spf/%s" : "%s/%s", dir, file);
	{
		FILE *f = fopen(path, "rb");
		if (!f) {
			printf("%s is absent: skipping\n", path);
			skip();
		}
		fclose(f);
	}
	tl.suite = file;
	run_file(path, &tl);
	assert_true(tl.total > 0);
	assert_int_equal(tl.failed, 0);
}

static void rfc7208_suite(void **state)
{
	(void)state;
	run_suite("rfc7208-tests.yml", 1);
}

static void rfc4408_suite(void **state)
{
	(void)state;
	run_suite("rfc4408-tests.yml", 1);
}

static void mailvet_cases(void **state)
{
	(void)state;
	run_suite("spf-cases.yml", 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(rfc7208_suite),
	        cmocka_unit_test(rfc4408_suite),
	        cmocka_unit_test(mailvet_cases),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
