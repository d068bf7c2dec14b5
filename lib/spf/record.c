/* lib/spf/record.c — the SPF record grammar (RFC 7208 §4.5, §4.6.1, §5, §6, §7.1, §12). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spf/spf_int.h"

/* The mechanisms of §5, with what follows their name. */
enum mech_args {
	ARGS_NONE,        /* all */
	ARGS_DOMAIN,      /* include, exists: ":" domain-spec */
	ARGS_OPT_DOMAIN,  /* ptr: [ ":" domain-spec ] */
	ARGS_DOMAIN_CIDR, /* a, mx: [ ":" domain-spec ] [ dual-cidr-length ] */
	ARGS_IP4,         /* ip4: ":" ip4-network [ ip4-cidr-length ] */
	ARGS_IP6,         /* ip6: ":" ip6-network [ ip6-cidr-length ] */
};

static const struct {
	const char *name;
	enum mv_spf_mech mech;
	enum mech_args args;
} mechanisms[] = {
        {"all", MV_SPF_M_ALL, ARGS_NONE},       {"include", MV_SPF_M_INCLUDE, ARGS_DOMAIN},
        {"a", MV_SPF_M_A, ARGS_DOMAIN_CIDR},    {"mx", MV_SPF_M_MX, ARGS_DOMAIN_CIDR},
        {"ptr", MV_SPF_M_PTR, ARGS_OPT_DOMAIN}, {"ip4", MV_SPF_M_IP4, ARGS_IP4},
        {"ip6", MV_SPF_M_IP6, ARGS_IP6},        {"exists", MV_SPF_M_EXISTS, ARGS_DOMAIN},
};

/* A bounded view of the text being parsed. */
struct span {
	const char *p;
	size_t n;
};

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int mv_spf_record_is_spf1(const char *s, size_t len)
{
	return len >= 6 && mv_ascii_ieq(s, 6, "v=spf1") && (len == 6 || s[6] == ' ');
}

/* §7.1 toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static int toplabel_valid(const char *s, size_t n)
{
	size_t i;
	int alpha = 0, dash = 0;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '-')
			dash = 1;
		else if (is_alpha(s[i]))
			alpha = 1;
		else if (!is_digit(s[i]))
			return 0;
	}
	if (dash)
		return s[0] != '-' && s[n - 1] != '-';
	return alpha;
}

int mv_spf_domain_spec_valid(const char *s, size_t len)
{
	size_t i = 0, tail = 0, end;
	const char *dot;

	if (len == 0 || !mv_spf_macro_valid(s, len, MV_SPF_MACRO_DOMAIN))
		return 0;
	while (i < len) { /* find where the last macro-expand ends */
		if (s[i] != '%') {
			i++;
			continue;
		}
		if (s[i + 1] == '{') {
			const char *close = memchr(s + i, '}', len - i);
			i = (size_t)(close - s) + 1; /* valid grammar: there is one */
		} else {
			i += 2;
		}
		tail = i;
	}
	if (tail == len)
		return 1; /* domain-end = macro-expand */
	end = len;
	if (s[end - 1] == '.')
		end--; /* "." toplabel [ "." ] */
	if (end <= tail)
		return 0;
	dot = NULL;
	for (i = end; i > tail; i--)
		if (s[i - 1] == '.') {
			dot = s + i - 1;
			break;
		}
	if (!dot)
		return 0;
	return toplabel_valid(dot + 1, (size_t)(s + end - dot - 1));
}

/* A CIDR length: "0" or a number without leading zero, at most max (§5.6). */
static int cidr_value(const char *s, size_t n, unsigned max, unsigned *out)
{
	unsigned v = 0;
	size_t i;

	if (n == 0 || n > 3 || (s[0] == '0' && n > 1))
		return 0;
	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return 0;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return 0;
	*out = v;
	return 1;
}

/* Length of the trailing run of digits of s[0..n). */
static size_t trailing_digits(const char *s, size_t n)
{
	size_t k = 0;

	while (k < n && is_digit(s[n - 1 - k]))
		k++;
	return k;
}

/*
 * Take a dual-cidr-length off the end of a/mx arguments (§5.3): "/N",
 * "//M" or "/N//M". The domain-spec may itself hold '/', so this reads from
 * the right. Shrinks *arg; MV_ESYNTAX on a bad length.
 */
static enum mv_status take_dual_cidr(struct span *arg, struct mv_spf_term *t)
{
	size_t k = trailing_digits(arg->p, arg->n);

	if (k == 0 || k == arg->n || arg->p[arg->n - k - 1] != '/')
		return MV_OK; /* no CIDR suffix */
	if (arg->n - k >= 2 && arg->p[arg->n - k - 2] == '/') {
		if (!cidr_value(arg->p + arg->n - k, k, 128, &t->cidr6))
			return MV_ESYNTAX;
		arg->n -= k + 2;
		k = trailing_digits(arg->p, arg->n);
		if (k == 0 || k == arg->n || arg->p[arg->n - k - 1] != '/')
			return MV_OK;
	}
	if (!cidr_value(arg->p + arg->n - k, k, 32, &t->cidr4))
		return MV_ESYNTAX;
	arg->n -= k + 1;
	return MV_OK;
}

/* ":" domain-spec (required or optional) into t->domain. */
static enum mv_status take_domain(struct span arg, int required, struct mv_spf_term *t)
{
	if (arg.n == 0)
		return required ? MV_ESYNTAX : MV_OK;
	if (arg.p[0] != ':' || !mv_spf_domain_spec_valid(arg.p + 1, arg.n - 1))
		return MV_ESYNTAX;
	t->domain = mv_strndup(arg.p + 1, arg.n - 1);
	return t->domain ? MV_OK : MV_ENOMEM;
}

/* ip4/ip6 arguments: ":" network [ "/" length ] (a single slash only). */
static enum mv_status take_network(struct span arg, int v6, struct mv_spf_term *t)
{
	const char *slash;
	size_t netlen;
	char text[64];

	if (arg.n < 2 || arg.p[0] != ':')
		return MV_ESYNTAX;
	arg.p++, arg.n--;
	slash = memchr(arg.p, '/', arg.n);
	netlen = slash ? (size_t)(slash - arg.p) : arg.n;
	if (slash) {
		size_t cl = arg.n - netlen - 1;
		if (!cidr_value(slash + 1, cl, v6 ? 128 : 32, v6 ? &t->cidr6 : &t->cidr4))
			return MV_ESYNTAX;
	}
	if (!v6)
		return mv_cidr_ip4_parse(arg.p, netlen, t->net) ? MV_OK : MV_ESYNTAX;
	if (netlen == 0 || netlen >= sizeof text)
		return MV_ESYNTAX;
	memcpy(text, arg.p, netlen);
	text[netlen] = '\0';
	return inet_pton(AF_INET6, text, t->net) == 1 ? MV_OK : MV_ESYNTAX;
}

/* directive = [ qualifier ] mechanism (§4.6.1, §5). */
static enum mv_status parse_directive(struct span term, struct mv_spf_term *t)
{
	struct span arg;
	size_t i, namelen = 0;
	enum mv_status st;

	t->qualifier = MV_SPF_PASS;
	switch (term.p[0]) {
	case '+':
		term.p++, term.n--;
		break;
	case '-':
		t->qualifier = MV_SPF_FAIL;
		term.p++, term.n--;
		break;
	case '~':
		t->qualifier = MV_SPF_SOFTFAIL;
		term.p++, term.n--;
		break;
	case '?':
		t->qualifier = MV_SPF_NEUTRAL;
		term.p++, term.n--;
		break;
	}
	while (namelen < term.n && term.p[namelen] != ':' && term.p[namelen] != '/')
		namelen++;
	for (i = 0; i < sizeof mechanisms / sizeof mechanisms[0]; i++)
		if (mv_ascii_ieq(term.p, namelen, mechanisms[i].name))
			break;
	if (i == sizeof mechanisms / sizeof mechanisms[0])
		return MV_ESYNTAX; /* unknown mechanism */
	t->mech = mechanisms[i].mech;
	t->cidr4 = 32;
	t->cidr6 = 128;
	arg.p = term.p + namelen;
	arg.n = term.n - namelen;
	switch (mechanisms[i].args) {
	case ARGS_NONE:
		return arg.n == 0 ? MV_OK : MV_ESYNTAX;
	case ARGS_DOMAIN:
		return take_domain(arg, 1, t);
	case ARGS_OPT_DOMAIN:
		return take_domain(arg, 0, t);
	case ARGS_DOMAIN_CIDR:
		if ((st = take_dual_cidr(&arg, t)) != MV_OK)
			return st;
		return take_domain(arg, 0, t);
	case ARGS_IP4:
		return take_network(arg, 0, t);
	case ARGS_IP6:
		return take_network(arg, 1, t);
	}
	return MV_ESYNTAX;
}

/* The length of a modifier name at the start of term (§4.6.1 name), or 0. */
static size_t modifier_name_len(struct span term)
{
	size_t i = 1;

	if (term.n == 0 || !is_alpha(term.p[0]))
		return 0;
	while (i < term.n && (is_alpha(term.p[i]) || is_digit(term.p[i]) || term.p[i] == '-' ||
	                      term.p[i] == '_' || term.p[i] == '.'))
		i++;
	return i < term.n && term.p[i] == '=' ? i : 0;
}

/* modifier = redirect / explanation / unknown-modifier (§6, §12). */
static enum mv_status parse_modifier(struct span term, size_t namelen, struct mv_spf_record *rec,
                                     char *err, size_t errlen)
{
	const char *val = term.p + namelen + 1;
	size_t vlen = term.n - namelen - 1;
	char **slot = NULL;

	if (mv_ascii_ieq(term.p, namelen, "redirect"))
		slot = &rec->redirect;
	else if (mv_ascii_ieq(term.p, namelen, "exp"))
		slot = &rec->exp;
	if (!slot) {
		if (mv_spf_macro_valid(val, vlen, MV_SPF_MACRO_MODIFIER))
			return MV_OK; /* unknown modifiers are ignored (§6) */
		snprintf(err, errlen, "bad macro-string in '%.*s'", (int)term.n, term.p);
		return MV_ESYNTAX;
	}
	if (*slot) {
		snprintf(err, errlen, "'%.*s' appears twice", (int)namelen, term.p);
		return MV_ESYNTAX;
	}
	if (!mv_spf_domain_spec_valid(val, vlen)) {
		snprintf(err, errlen, "bad domain-spec in '%.*s'", (int)term.n, term.p);
		return MV_ESYNTAX;
	}
	*slot = mv_strndup(val, vlen);
	return *slot ? MV_OK : MV_ENOMEM;
}

/* Add one term (a directive or a modifier) to rec. */
static enum mv_status parse_term(struct span term, struct mv_spf_record *rec, char *err,
                                 size_t errlen)
{
	struct mv_spf_term t;
	size_t namelen, i;
	enum mv_status st;
	void *grown;

	for (i = 0; i < term.n; i++)
		if ((unsigned char)term.p[i] < 0x21 || (unsigned char)term.p[i] > 0x7e) {
			snprintf(err, errlen, "byte 0x%02x in a term", (unsigned char)term.p[i]);
			return MV_ESYNTAX; /* §3.1, §4.6.1: visible ASCII separated by spaces */
		}
	if ((namelen = modifier_name_len(term)) > 0)
		return parse_modifier(term, namelen, rec, err, errlen);
	memset(&t, 0, sizeof t);
	if ((st = parse_directive(term, &t)) != MV_OK) {
		free(t.domain);
		if (st == MV_ESYNTAX)
			snprintf(err, errlen, "bad term '%.*s'", (int)term.n, term.p);
		return st;
	}
	grown = realloc(rec->terms, (rec->nterms + 1) * sizeof *rec->terms);
	t.text = mv_strndup(term.p, term.n);
	if (!grown || !t.text) {
		if (grown)
			rec->terms = grown;
		free(t.domain);
		free(t.text);
		return MV_ENOMEM;
	}
	rec->terms = grown;
	if (t.mech == MV_SPF_M_ALL)
		rec->has_all = 1;
	rec->terms[rec->nterms++] = t;
	return MV_OK;
}

enum mv_status mv_spf_record_parse(const char *s, size_t len, struct mv_spf_record **out, char *err,
                                   size_t errlen)
{
	struct mv_spf_record *rec = NULL;
	enum mv_status st = MV_OK;
	char dummy[1];
	size_t i;

	*out = NULL;
	if (!err || errlen == 0) {
		err = dummy;
		errlen = sizeof dummy;
	}
	err[0] = '\0';
	if (len > MV_SPF_RECORD_MAX) {
		snprintf(err, errlen, "record longer than %u bytes", MV_SPF_RECORD_MAX);
		return MV_ETOOBIG;
	}
	if (!mv_spf_record_is_spf1(s, len)) {
		snprintf(err, errlen, "not a v=spf1 record");
		return MV_ESYNTAX;
	}
	if (!(rec = calloc(1, sizeof *rec)))
		return MV_ENOMEM;
	i = 6;
	while (i < len && st == MV_OK) {
		struct span term;
		while (i < len && s[i] == ' ')
			i++; /* terms = *( 1*SP ( directive / modifier ) ), record ends *SP */
		if (i == len)
			break;
		term.p = s + i;
		while (i < len && s[i] != ' ')
			i++;
		term.n = (size_t)(s + i - term.p);
		st = parse_term(term, rec, err, errlen);
	}
	if (st != MV_OK) {
		mv_spf_record_free(rec);
		return st;
	}
	*out = rec;
	return MV_OK;
}

void mv_spf_record_free(struct mv_spf_record *rec)
{
	size_t i;

	if (!rec)
		return;
	for (i = 0; i < rec->nterms; i++) {
		free(rec->terms[i].domain);
		free(rec->terms[i].text);
	}
	free(rec->terms);
	free(rec->redirect);
	free(rec->exp);
	free(rec);
}
