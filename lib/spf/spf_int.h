/* lib/spf/spf_int.h — SPF internals shared by the files of lib/spf (not public). */
#ifndef MAILVET_SPF_INT_H
#define MAILVET_SPF_INT_H

#include <stddef.h>
#include <stdint.h>

#include <mailvet/spf.h>
#include <mailvet/util.h>

/* ---- lib/spf/ip.c: the client address in macros and PTR names ---- */

/* Addresses are lib/util's struct mv_ip (mv_cidr_ip_parse, mv_cidr_prefix_eq). */

/* Append the %{i} form: dotted quad, or 32 dot-separated lowercase nibbles. */
void mv_spf_ip_dotted(const struct mv_ip *ip, struct mv_buf *out);
/* Append the %{c} form: dotted quad, or RFC 5952 text. */
void mv_spf_ip_text(const struct mv_ip *ip, struct mv_buf *out);
/* Append the reverse-lookup name without a trailing dot (x.x.x.x.in-addr.arpa / ip6.arpa). */
void mv_spf_ip_reverse_name(const struct mv_ip *ip, struct mv_buf *out);

/* ---- lib/spf/record.c: the record grammar (RFC 7208 §4.5, §4.6, §5, §6, §12) ---- */

enum mv_spf_mech {
	MV_SPF_M_ALL,
	MV_SPF_M_INCLUDE,
	MV_SPF_M_A,
	MV_SPF_M_MX,
	MV_SPF_M_PTR,
	MV_SPF_M_IP4,
	MV_SPF_M_IP6,
	MV_SPF_M_EXISTS,
};

/*
 * One directive. `domain` is the domain-spec as written (macros not yet
 * expanded), NULL when the mechanism takes the default <domain>. `text` is
 * the directive as written, for reporting. cidr4/cidr6 are the prefix
 * lengths (32/128 when absent); `net` the ip4/ip6 network.
 */
struct mv_spf_term {
	enum mv_spf_mech mech;
	enum mv_spf_result qualifier; /* pass, fail, softfail or neutral */
	char *domain;
	char *text;
	unsigned cidr4;
	unsigned cidr6;
	uint8_t net[16];
};

/* A parsed record; redirect and exp are domain-specs (or NULL when absent). */
struct mv_spf_record {
	struct mv_spf_term *terms;
	size_t nterms;
	char *redirect;
	char *exp;
	int has_all;
};

/*
 * Whether the TXT string s[0..len) is an SPF version 1 record (§4.5): it
 * starts with "v=spf1" (ASCII case-insensitive) followed by a space or its end.
 */
int mv_spf_record_is_spf1(const char *s, size_t len);

/*
 * Parse a whole record s[0..len) (starting with the version) and check the
 * grammar of every term before anything is evaluated (§4.6: a syntax error
 * anywhere is permerror). On MV_OK *out is a new record, freed with
 * mv_spf_record_free(). MV_ESYNTAX (err says which term and why), MV_ETOOBIG
 * (longer than MV_SPF_RECORD_MAX), MV_ENOMEM; *out is NULL then.
 */
enum mv_status mv_spf_record_parse(const char *s, size_t len, struct mv_spf_record **out, char *err,
                                   size_t errlen);
void mv_spf_record_free(struct mv_spf_record *rec); /* NULL is fine */

/*
 * §7.1 domain-spec = macro-string domain-end: the macros are valid for a
 * domain (no c, r, t) and the text ends in a macro or in "." toplabel ["."].
 * 1 if s[0..len) is one, else 0.
 */
int mv_spf_domain_spec_valid(const char *s, size_t len);

/* ---- lib/spf/macro.c: macro expansion (RFC 7208 §7) ---- */

/* Where a macro-string stands, which decides what it may hold. */
enum mv_spf_macro_mode {
	MV_SPF_MACRO_DOMAIN,   /* domain-spec: letters s l o d i p v h only */
	MV_SPF_MACRO_MODIFIER, /* unknown-modifier value: any macro-letter */
	MV_SPF_MACRO_EXPLAIN,  /* explain-string: any letter, and spaces */
};

/*
 * The values macros expand to. Strings are borrowed. validated_name returns
 * the %{p} value (never NULL; "unknown" when there is none) and is called
 * only when %{p} is used, since it costs DNS lookups; it may be NULL, and
 * "unknown" is used then.
 */
struct mv_spf_macro_ctx {
	const char *sender;        /* s */
	const char *local;         /* l */
	const char *sender_domain; /* o */
	const char *domain;        /* d */
	const char *helo;          /* h */
	const struct mv_ip *ip;    /* i, c, v */
	const char *receiver;      /* r */
	long long now;             /* t */
	const char *(*validated_name)(void *arg);
	void *arg;
};

/* Whether s[0..len) follows the macro-string grammar for mode. */
int mv_spf_macro_valid(const char *s, size_t len, enum mv_spf_macro_mode mode);

/*
 * Expand s[0..len) (checked as mv_spf_macro_valid) and append the result to
 * out. MV_ESYNTAX if the text breaks the grammar (nothing is promised about
 * what was appended then); out's sticky errors otherwise.
 */
enum mv_status mv_spf_macro_expand(const struct mv_spf_macro_ctx *ctx, const char *s, size_t len,
                                   enum mv_spf_macro_mode mode, struct mv_buf *out);

/*
 * §7.3: make an expanded domain name queryable. Drops one trailing dot and,
 * if the name is longer than 253 octets, whole labels from the left until it
 * fits. Returns 1 when the result is a name DNS can ask about (non-empty
 * labels of at most 63 octets), else 0. Works in place on b.
 */
int mv_spf_domain_finish(struct mv_buf *b);

/* ---- lib/spf/eval.c, mech.c, ptr.c, explain.c: evaluation (RFC 7208 §4, §5, §6) ---- */

/* One check_host() run: the inputs, the §4.6.4 counters, the first problem. */
struct mv_spf_eval {
	struct mv_resolver *r;
	struct mv_ip ip;
	const char *sender;
	const char *local;
	const char *sender_domain;
	const char *helo;
	const char *receiver;
	long long now;
	unsigned dns_terms;
	unsigned voids;
	uint64_t (*clock_ms)(void *arg); /* monotonic milliseconds (§4.6.4 time limit) */
	void *clock_arg;
	uint64_t deadline_ms; /* no query is asked once clock_ms() reaches it */
	unsigned timeout_ms;  /* the limit, for the problem text */
	int expired;          /* the limit was reached: the result is temperror */
	const char *domain;   /* the current <domain>, for %{d} and %{p} */
	char *pname;          /* the last %{p} value (owned) ... */
	char *pname_domain;   /* ... and the <domain> it was chosen for (owned) */
	char problem[256];
};

/* What evaluating one mechanism came to (§4.6.2, §5). */
enum mv_spf_outcome {
	MV_SPF_O_NOMATCH,
	MV_SPF_O_MATCH,
	MV_SPF_O_TEMPERROR,
	MV_SPF_O_PERMERROR,
};

/* The macro context for <domain> = domain (borrowed by the context). */
void mv_spf_eval_macro_ctx(struct mv_spf_eval *ev, const char *domain,
                           struct mv_spf_macro_ctx *ctx);

/*
 * Expand a domain-spec (or take `domain` when spec is NULL) into out and
 * make it queryable (§7.3). *valid is 0 when the result cannot be a DNS
 * name. MV_ESYNTAX for bad macros, MV_ENOMEM.
 */
enum mv_status mv_spf_eval_target(struct mv_spf_eval *ev, const char *spec, const char *domain,
                                  struct mv_buf *out, int *valid);

/*
 * Every DNS query of a check goes through here: mv_dns_query() unless the
 * elapsed-time limit (§4.6.4) has been reached, checked before each query.
 * Past it: MV_ETIMEOUT, *out NULL, ev->expired set and ev->problem naming
 * the limit (it replaces an earlier problem: the result will be temperror
 * for this reason). Other statuses as mv_dns_query().
 */
enum mv_status mv_spf_eval_query(struct mv_spf_eval *ev, const char *name, enum mv_dns_type type,
                                 struct mv_dns_answer **out);

/*
 * mv_spf_check() with the clock of the time limit given: clock_ms(arg)
 * returns milliseconds from any fixed origin, never decreasing. For tests
 * (a clock that advances by the query); mv_spf_check() uses CLOCK_MONOTONIC.
 */
enum mv_status mv_spf_check_clock(struct mv_resolver *r, const struct mv_spf_request *req,
                                  uint64_t (*clock_ms)(void *arg), void *arg,
                                  struct mv_spf_verdict *out);

/* Set ev->problem (first one wins) and return the outcome given. */
enum mv_spf_outcome mv_spf_eval_fail(struct mv_spf_eval *ev, enum mv_spf_outcome o, const char *fmt,
                                     ...) MV_PRINTF(3, 4);

/*
 * Count a DNS-querying term (§4.6.4). MV_SPF_O_PERMERROR past the limit,
 * else MV_SPF_O_NOMATCH.
 */
enum mv_spf_outcome mv_spf_eval_count_term(struct mv_spf_eval *ev, const char *term);

/*
 * Evaluate one mechanism other than include against <domain> (mech.c).
 * *o is the outcome; the status is MV_OK unless memory ran out.
 */
enum mv_status mv_spf_mech_eval(struct mv_spf_eval *ev, const struct mv_spf_term *t,
                                const char *domain, enum mv_spf_outcome *o);

/*
 * The validated domain names of the client (§5.5): at most MV_SPF_MAX_NAMES
 * PTR names whose A/AAAA records hold the client address. Calls found(name)
 * for each until it returns nonzero. *o: MV_SPF_O_MATCH if found() said so,
 * else NOMATCH (also on DNS errors, §5.5), or PERMERROR at the void limit
 * when count_void is set.
 */
enum mv_status mv_spf_ptr_validated(struct mv_spf_eval *ev, int count_void,
                                    int (*found)(const char *name, void *arg), void *arg,
                                    enum mv_spf_outcome *o);

/*
 * %{p} for <domain> (§7.3): a validated name, preferring <domain> and its subdomains;
 * "unknown" when there is none. Looked up once per <domain> and kept in ev (pname), so
 * a record full of %{p} costs one set of lookups.
 */
const char *mv_spf_ptr_macro(void *ev);

/*
 * §6.2: the explanation for a fail from rec at <domain>: the exp= text
 * expanded, or the default one. *out is new (caller frees), *is_default says
 * which. Only MV_ENOMEM fails.
 */
enum mv_status mv_spf_explain(struct mv_spf_eval *ev, const struct mv_spf_record *rec,
                              const char *domain, char **out, int *is_default);

/* ---- lib/spf/identity.c: <sender> and <domain> of each identity (§2.3, §2.4, §4.3) ---- */

/* The identity to check; strings owned, freed by mv_spf_ident_clear(). */
struct mv_spf_ident {
	char *sender; /* local@domain */
	char *local;
	char *domain; /* as given */
};

/*
 * Build <sender>, its local part and <domain> for req->identity: the HELO
 * name with local part "postmaster"; the MAIL FROM address, with
 * postmaster@<helo> for the null reverse-path and "postmaster" for an empty
 * local part. A missing name gives an empty domain. MV_ENOMEM only.
 */
enum mv_status mv_spf_ident_build(const struct mv_spf_request *req, struct mv_spf_ident *id);
void mv_spf_ident_clear(struct mv_spf_ident *id);

/*
 * §4.3: whether domain can be checked at all: labels of 1..63 octets (a final
 * empty label, the trailing dot, is fine), at most 253 octets, at least two
 * labels, not a domain literal. 0 means the result is "none".
 */
int mv_spf_domain_checkable(const char *domain);

/* Whether name equals suffix or ends in "." suffix (ASCII case-insensitive, no trailing dots). */
int mv_spf_name_within(const char *name, const char *suffix);

#endif
