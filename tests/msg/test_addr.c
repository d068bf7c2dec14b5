/* tests/msg/test_addr.c — RFC 5322 address lists: modern, obsolete, UTF-8 and hostile forms. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mailvet/msg.h>

/*
 * An address list written as one line per mailbox, ";" between them:
 * "display|local|domain|domain_ascii|domain_unicode|group", NULL as "-".
 */
static char *describe(const struct mv_addr_list *l)
{
	struct mv_buf b = MV_BUF_INIT;
	size_t i;

	mv_buf_append(&b, "", 0);
	for (i = 0; i < l->count; i++) {
		const struct mv_addr *a = &l->addr[i];
		mv_buf_printf(&b, "%s%s|%s|%s|%s|%s|%s", i ? "; " : "",
		              a->display ? a->display : "-", a->local, a->domain, a->domain_ascii,
		              a->domain_unicode, a->group ? a->group : "-");
	}
	return mv_buf_steal(&b, NULL);
}

struct good_case {
	const char *what;
	const char *value;
	const char *want;
	size_t groups;
};

static const struct good_case good_cases[] = {
        /* RFC 5322 §3.4 and Appendix A.1 */
        {"addr-spec", "a@example.com", "-|a|example.com|example.com|example.com|-", 0},
        {"name-addr", "John Doe <jdoe@machine.example>",
         "John Doe|jdoe|machine.example|machine.example|machine.example|-", 0},
        {"angle without display", " <jdoe@machine.example> ",
         "-|jdoe|machine.example|machine.example|machine.example|-", 0},
        {"quoted display", "\"Joe Q. Public\" <john.q.public@example.com>",
         "Joe Q. Public|john.q.public|example.com|example.com|example.com|-", 0},
        {"list of three", "Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>",
         "Mary Smith|mary|x.test|x.test|x.test|-; -|jdoe|example.org|example.org|example.org|-; "
         "Who?|one|y.test|y.test|y.test|-",
         0},
        /* RFC 5322 §3.2.4: FWS in a quoted string is unfolded (CRLF removed, WSP kept) */
        {"folded quoted strings", "\"John\r\n Doe\" <\"a\r\n b\"@example.com>",
         "John Doe|a b|example.com|example.com|example.com|-", 0},
        {"folded quoted string, bare LF", "\"John\n\tDoe\" <a@example.com>",
         "John\tDoe|a|example.com|example.com|example.com|-", 0},
        {"quoted display with comma",
         "<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>",
         "-|boss|nil.test|nil.test|nil.test|-; Giant; \"Big\" Box|sysservices|example.net|"
         "example.net|example.net|-",
         0},
        /* RFC 5322 Appendix A.1.3: groups */
        {"group", "A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
         "Ed Jones|c|a.test|a.test|a.test|A Group; -|joe|where.test|where.test|where.test|A Group; "
         "John|jdoe|one.test|one.test|one.test|A Group",
         1},
        {"empty group", "Undisclosed recipients:;", "", 1},
        {"undisclosed-recipients", "undisclosed-recipients:;", "", 1},
        {"empty group with cfws", "undisclosed-recipients: (none) ;", "", 1},
        {"group then mailbox", "g: a@b.test;, c@d.test",
         "-|a|b.test|b.test|b.test|g; -|c|d.test|d.test|d.test|-", 1},
        /* RFC 5322 Appendix A.5: white space, comments */
        {"comments everywhere", "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
         "Pete|pete|silly.test|silly.test|silly.test|-", 0},
        {"nested comments", "a@b.test (one (two (three)) one)", "-|a|b.test|b.test|b.test|-", 0},
        {"folded value", "John\r\n Doe <j@x.test>,\n\tk@y.test",
         "John Doe|j|x.test|x.test|x.test|-; -|k|y.test|y.test|y.test|-", 0},
        /* RFC 5322 Appendix A.6: obsolete forms */
        {"obs-phrase with dot", "Joe Q. Public <john.q.public@example.com>",
         "Joe Q. Public|john.q.public|example.com|example.com|example.com|-", 0},
        {"obs-route", "<@machine.tld,@other.tld:mary@example.net>",
         "-|mary|example.net|example.net|example.net|-", 0},
        {"obs-route with empty elements", "<,@a.test,,@b.test:m@c.test>",
         "-|m|c.test|c.test|c.test|-", 0},
        {"obs-local-part with cfws", "john (x) . \"q\" . public @ example . com",
         "-|john.q.public|example.com|example.com|example.com|-", 0},
        {"obs empty list elements", ", ,a@b.test,, c@d.test ,",
         "-|a|b.test|b.test|b.test|-; -|c|d.test|d.test|d.test|-", 0},
        {"obs empty elements in group", "g:, a@b.test,,;", "-|a|b.test|b.test|b.test|g", 1},
        /* quoted local parts */
        {"quoted local part", "\"john doe\"@example.com",
         "-|john doe|example.com|example.com|example.com|-", 0},
        {"quoted-pair in local part", "\"a\\\"b\\\\c\"@example.com",
         "-|a\"b\\c|example.com|example.com|example.com|-", 0},
        {"empty quoted local part", "\"\"@example.com", "-||example.com|example.com|example.com|-",
         0},
        /* domains */
        {"domain lowercased", "A@EXAMPLE.Com", "-|A|example.com|example.com|example.com|-", 0},
        {"domain literal", "a@[192.0.2.1]", "-|a|[192.0.2.1]|[192.0.2.1]|[192.0.2.1]|-", 0},
        {"domain literal ipv6 with fws", "a@[ IPv6:2001:DB8::1 ]",
         "-|a|[ipv6:2001:db8::1]|[ipv6:2001:db8::1]|[ipv6:2001:db8::1]|-", 0},
        {"hyphen-rich ascii label", "a@r3---sn-abc.example.com",
         "-|a|r3---sn-abc.example.com|r3---sn-abc.example.com|r3---sn-abc.example.com|-", 0},
        /* RFC 6532: UTF-8 */
        {"utf-8 domain",
         "a@B\xc3\x9c"
         "cher.example",
         "-|a|b\xc3\x9c"
         "cher.example|xn--bcher-kva.example|b\xc3\xbc"
         "cher.example|-",
         0},
        {"a-label domain", "a@XN--BCHER-KVA.example",
         "-|a|xn--bcher-kva.example|xn--bcher-kva.example|b\xc3\xbc"
         "cher.example|-",
         0},
        {"utf-8 local part and display",
         "J\xc3\xb6rg <j\xc3\xb6rg@b\xc3\xbc"
         "cher.example>",
         "J\xc3\xb6rg|j\xc3\xb6rg|b\xc3\xbc"
         "cher.example|xn--bcher-kva.example|b\xc3\xbc"
         "cher.example|-",
         0},
        {"nontransitional sharp s", "a@fa\xc3\x9f.de",
         "-|a|fa\xc3\x9f.de|xn--fa-hia.de|fa\xc3\x9f.de|-", 0},
        /* hostile but valid: the answer is what RFC 5322 says, nothing guessed */
        {"quoted local part with at", "\"a@evil.com\"@good.com",
         "-|a@evil.com|good.com|good.com|good.com|-", 0},
        {"comment holding an address", "a@good.com (b@evil.com)",
         "-|a|good.com|good.com|good.com|-", 0},
        {"display name holding an address", "\"x@evil.com\" <a@good.com>",
         "x@evil.com|a|good.com|good.com|good.com|-", 0},
        {"two addresses", "a@good.com, b@evil.com",
         "-|a|good.com|good.com|good.com|-; -|b|evil.com|evil.com|evil.com|-", 0},
        {"encoded-word display not decoded", "=?utf-8?q?Evil?= <a@good.com>",
         "=?utf-8?q?Evil?=|a|good.com|good.com|good.com|-", 0},
        {"quoted encoded-word display", "\"=?utf-8?b?eEBldmlsLmNvbQ==?=\" <a@good.com>",
         "=?utf-8?b?eEBldmlsLmNvbQ==?=|a|good.com|good.com|good.com|-", 0},
        {"comment display spacing", "Joe(c)Bloggs <j@x.test>",
         "Joe Bloggs|j|x.test|x.test|x.test|-", 0},
        {"empty quoted display", "\"\" <j@x.test>", "|j|x.test|x.test|x.test|-", 0},
};

static void valid_address_lists(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
		const struct good_case *c = &good_cases[i];
		struct mv_addr_list *l = NULL;
		char err[160] = "";
		char *got;
		enum mv_status st = mv_addr_parse(c->value, strlen(c->value), &l, err, sizeof(err));

		if (st != MV_OK)
			fail_msg("%s: %s (%s)", c->what, mv_status_str(st), err);
		got = describe(l);
		if (strcmp(got, c->want) != 0)
			fail_msg("%s:\n got  %s\n want %s", c->what, got, c->want);
		if (l->groups != c->groups)
			fail_msg("%s: %zu groups, want %zu", c->what, l->groups, c->groups);
		free(got);
		mv_addr_list_free(l);
	}
}

struct bad_case {
	const char *what;
	const char *value;
	size_t len; /* 0: strlen */
	const char *err_has;
};

static const struct bad_case bad_cases[] = {
        {"empty value", "", 0, "no address"},
        {"only cfws", "  (nothing) ", 0, "no address"},
        {"only commas", ",,", 0, "no address"},
        {"missing domain", "a@", 0, "missing domain"},
        {"no at sign", "alice", 0, "missing '@'"},
        {"no at in angle", "Alice <alice>", 0, "missing '@'"},
        {"missing local part", "@example.com", 0, "missing local part"},
        {"two at signs", "a@good.com@evil.com", 0, "expected ',' after address"},
        {"unquoted at in display", "a@evil.com <b@good.com>", 0, "expected ',' after address"},
        {"two angle addrs", "<a@good.com> <b@evil.com>", 0, "expected ',' after address"},
        {"space separated addresses", "a@good.com b@evil.com", 0, "expected ','"},
        {"words before at", "John Smith@example.com", 0, "missing '@'"},
        {"trailing dot in domain", "a@example.com.", 0, "empty label in domain"},
        {"double dot in domain", "a@example..com", 0, "empty label in domain"},
        {"trailing dot in local part", "a.@example.com", 0, "empty word in local part"},
        {"double dot in local part", "a..b@example.com", 0, "empty word"},
        {"unterminated angle", "John <a@example.com", 0, "missing '>'"},
        {"stray closing angle", "a@example.com>", 0, "expected ','"},
        {"empty angle", "<>", 0, "empty address <>"},
        {"unterminated quote", "\"John <a@example.com>", 0, "unterminated quoted string"},
        {"unterminated comment", "a@example.com (oops", 0, "unterminated comment"},
        {"unbalanced paren", "a@example.com)", 0, "unbalanced ')'"},
        {"unterminated domain literal", "a@[1.2.3.4", 0, "unterminated domain literal"},
        {"stray bracket", "a@example.com]", 0, "unbalanced ']'"},
        {"backslash outside quotes", "a\\b@example.com", 0, "backslash"},
        {"nul byte", "a@exa\0mple.com", 14, "NUL byte"},
        {"nul byte in quotes", "\"a\0\"@example.com", 16, "NUL byte"},
        {"nul in comment", "a@b.test (\0)", 12, "NUL byte"},
        {"control character", "a\x01@example.com", 0, "control character"},
        {"invalid utf-8 latin-1", "J\xf6rg <j@example.com>", 0, "invalid UTF-8"},
        {"invalid utf-8 overlong", "\xc0\xaf@example.com", 0, "invalid UTF-8"},
        {"invalid utf-8 surrogate", "\xed\xa0\x80@example.com", 0, "invalid UTF-8"},
        {"truncated utf-8", "a@example.\xc3", 0, "invalid UTF-8"},
        {"invalid utf-8 in quotes", "\"\xff\"@example.com", 0, "invalid UTF-8"},
        {"bare cr", "a@example.com\r, b@example.com", 0, "line break"},
        {"line break not folding", "a@example.com\r\nb@example.com", 0, "line break"},
        {"unterminated group", "g: a@b.test", 0, "unterminated group"},
        {"nested group", "g: h: a@b.test;;", 0, "group inside a group"},
        {"group without name", ": a@b.test;", 0, "expected an address"},
        {"malformed route", "<@a.test b@c.test>", 0, "malformed route"},
        {"disallowed idna", "a@\xe2\x98\x83.net", 0, "invalid internationalized domain"},
        {"bad punycode", "a@xn--zz.example", 0, "invalid internationalized domain"},
        {"ideographic full stop label", "a@evil\xe3\x80\x82good.com", 0,
         "invalid internationalized domain"},
        {"encoded-word with at", "=?utf-8?q?x@evil.com?= <a@good.com>", 0, "expected ','"},
};

static void malformed_address_lists(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct mv_addr_list *l = (struct mv_addr_list *)&l;
		char err[160] = "";
		size_t n = c->len ? c->len : strlen(c->value);
		enum mv_status st = mv_addr_parse(c->value, n, &l, err, sizeof(err));

		if (st != MV_ESYNTAX)
			fail_msg("%s: status %s, want syntax error", c->what, mv_status_str(st));
		assert_null(l);
		if (!strstr(err, c->err_has))
			fail_msg("%s: reason \"%s\" lacks \"%s\"", c->what, err, c->err_has);
	}
}

/* Deep nesting is refused quickly, not recursed into; a bounded depth is fine. */
static void comment_depth_is_bounded(void **state)
{
	size_t depth, n, i;
	char *s;
	struct mv_addr_list *l = NULL;
	char err[160];

	(void)state;
	for (depth = 1; depth <= 40; depth++) {
		n = strlen("a@b.test ") + 2 * depth;
		s = malloc(n + 1);
		memcpy(s, "a@b.test ", 9);
		for (i = 0; i < depth; i++) {
			s[9 + i] = '(';
			s[9 + depth + i] = ')';
		}
		s[n] = '\0';
		if (depth <= 32) {
			assert_int_equal(mv_addr_parse(s, n, &l, err, sizeof(err)), MV_OK);
			assert_int_equal(l->count, 1);
			mv_addr_list_free(l);
		} else {
			assert_int_equal(mv_addr_parse(s, n, &l, err, sizeof(err)), MV_ESYNTAX);
			assert_non_null(strstr(err, "nested too deeply"));
		}
		free(s);
	}
	/* 60,000 '(' */
	n = 60000;
	s = malloc(n);
	memset(s, '(', n);
	assert_int_equal(mv_addr_parse(s, n, &l, err, sizeof(err)), MV_ESYNTAX);
	free(s);
}

static void size_limit(void **state)
{
	size_t n = MV_ADDR_MAX + 1;
	char *s = malloc(n);
	struct mv_addr_list *l = NULL;
	char err[160];

	(void)state;
	memset(s, 'a', n);
	memcpy(s + n - 7, "@b.test", 7);
	assert_int_equal(mv_addr_parse(s, n, &l, err, sizeof(err)), MV_ETOOBIG);
	assert_null(l);
	/* just under the limit: one long local part is fine */
	assert_int_equal(mv_addr_parse(s + 1, n - 1, &l, err, sizeof(err)), MV_OK);
	assert_int_equal(strlen(l->addr[0].local), n - 8);
	mv_addr_list_free(l);
	free(s);
}

static void many_addresses(void **state)
{
	struct mv_buf b = MV_BUF_INIT;
	struct mv_addr_list *l = NULL;
	int i;

	(void)state;
	for (i = 0; i < 2000; i++)
		mv_buf_printf(&b, "%sU%d <u%d@d%d.test>", i ? ", " : "", i, i, i % 7);
	assert_int_equal(mv_addr_parse(b.data, b.len, &l, NULL, 0), MV_OK);
	assert_int_equal(l->count, 2000);
	assert_string_equal(l->addr[1999].local, "u1999");
	assert_string_equal(l->addr[1999].domain, "d4.test");
	assert_string_equal(l->addr[1999].display, "U1999");
	mv_addr_list_free(l);
	mv_buf_free(&b);
}

static void arguments(void **state)
{
	struct mv_addr_list *l = NULL;

	(void)state;
	assert_int_equal(mv_addr_parse(NULL, 3, &l, NULL, 0), MV_EINVAL);
	assert_int_equal(mv_addr_parse("a@b", 3, NULL, NULL, 0), MV_EINVAL);
	assert_int_equal(mv_addr_parse(NULL, 0, &l, NULL, 0), MV_ESYNTAX);
	mv_addr_list_free(NULL);
}

/* mv_addr_domain_forms on its own */
struct domain_case {
	const char *in;
	enum mv_status st;
	const char *ascii, *unicode;
};

static const struct domain_case domain_cases[] = {
        {"Example.COM", MV_OK, "example.com", "example.com"},
        {"b\xc3\xbc"
         "cher.de",
         MV_OK, "xn--bcher-kva.de",
         "b\xc3\xbc"
         "cher.de"},
        {"B\xc3\x9c"
         "CHER.DE",
         MV_OK, "xn--bcher-kva.de",
         "b\xc3\xbc"
         "cher.de"},
        {"xn--bcher-kva.DE", MV_OK, "xn--bcher-kva.de",
         "b\xc3\xbc"
         "cher.de"},
        {"b\xc3\xbc"
         "cher.ab--c.de",
         MV_OK, "xn--bcher-kva.ab--c.de",
         "b\xc3\xbc"
         "cher.ab--c.de"},
        {"_dmarc.example.com", MV_OK, "_dmarc.example.com", "_dmarc.example.com"},
        {"", MV_ESYNTAX, NULL, NULL},
        {".", MV_ESYNTAX, NULL, NULL},
        {"example.com.", MV_ESYNTAX, NULL, NULL},
        {"a..b", MV_ESYNTAX, NULL, NULL},
        {"ex ample.com", MV_ESYNTAX, NULL, NULL},
        {"xn--zz.com", MV_ESYNTAX, NULL, NULL},
        {"\xe2\x98\x83.net", MV_ESYNTAX, NULL, NULL},
        {"a\xff.com", MV_ESYNTAX, NULL, NULL},
        /* UTS #46 maps U+00A0 (no-break space) to a space: not a host name */
        {"x\xc2\xa0y.com", MV_ESYNTAX, NULL, NULL},
        /* a non-ASCII label must become an LDH A-label (STD3 rules) */
        {"=b\xc3\xbc%.com", MV_ESYNTAX, NULL, NULL},
};

static void domain_forms(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(domain_cases) / sizeof(domain_cases[0]); i++) {
		const struct domain_case *c = &domain_cases[i];
		char *a = (char *)"x", *u = (char *)"x";
		enum mv_status st = mv_addr_domain_forms(c->in, strlen(c->in), &a, &u);

		if (st != c->st)
			fail_msg("%s: %s, want %s", c->in, mv_status_str(st), mv_status_str(c->st));
		if (st == MV_OK) {
			assert_string_equal(a, c->ascii);
			assert_string_equal(u, c->unicode);
		} else {
			assert_null(a);
			assert_null(u);
		}
		free(a);
		free(u);
	}
	assert_int_equal(mv_addr_domain_forms("a", 1, NULL, NULL), MV_EINVAL);
}

/* mv_addr_domain_valid: the RFC 5321 / RFC 6376 §3.5 domain-name grammar. */
struct valid_case {
	const char *in;
	size_t min_labels;
	enum mv_status st;
};

#define L63 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"

static const struct valid_case valid_cases[] = {
        {"example.com", 2, MV_OK},
        {"Mail-1.Example.COM", 2, MV_OK},
        {"r3---sn-abc.example", 2, MV_OK}, /* hyphens inside a label are Ldh-str */
        {"0.example", 2, MV_OK},           /* Let-dig: a digit may start a label */
        {"xn--bcher-kva.example", 2, MV_OK},
        {"xn--zz.example", 2, MV_OK}, /* LDH; whether it decodes is not grammar */
        {"b\xc3\xbc"
         "cher.example",
         2, MV_OK},
        {"localhost", 1, MV_OK},
        {"localhost", 2, MV_ESYNTAX},
        {L63 ".example", 2, MV_OK},
        {L63 "l.example", 2, MV_ESYNTAX},                        /* a 64-byte label */
        {L63 "." L63 "." L63 "." L63 ".example", 2, MV_ESYNTAX}, /* 264 bytes */
        {"bank.example(.attacker.example", 2, MV_ESYNTAX},
        {".net", 1, MV_ESYNTAX},
        {"example.com.", 2, MV_ESYNTAX},
        {"a..example", 2, MV_ESYNTAX},
        {"-a.example", 2, MV_ESYNTAX},
        {"a-.example", 2, MV_ESYNTAX},
        {"_dmarc.example", 2, MV_ESYNTAX},
        {"a b.example", 2, MV_ESYNTAX},
        {"a;b.example", 2, MV_ESYNTAX},
        {"[192.0.2.1]", 1, MV_ESYNTAX},
        {"", 1, MV_ESYNTAX},
        {"a\xff.example", 2, MV_ESYNTAX},
        {"x\xc2\xa0y.example", 2, MV_ESYNTAX},   /* U+00A0 maps to a space */
        {"\xe2\x98\x83.example", 2, MV_ESYNTAX}, /* U+2603 is DISALLOWED */
};

static void domain_valid(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
		const struct valid_case *c = &valid_cases[i];
		enum mv_status st = mv_addr_domain_valid(c->in, strlen(c->in), c->min_labels);
		if (st != c->st)
			fail_msg("%s (%zu labels): %s, want %s", c->in, c->min_labels,
			         mv_status_str(st), mv_status_str(c->st));
	}
	assert_int_equal(mv_addr_domain_valid("a.example\0x", 11, 2), MV_ESYNTAX);
	assert_int_equal(mv_addr_domain_valid(NULL, 0, 1), MV_ESYNTAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(valid_address_lists),
	        cmocka_unit_test(malformed_address_lists),
	        cmocka_unit_test(comment_depth_is_bounded),
	        cmocka_unit_test(size_limit),
	        cmocka_unit_test(many_addresses),
	        cmocka_unit_test(arguments),
	        cmocka_unit_test(domain_forms),
	        cmocka_unit_test(domain_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
