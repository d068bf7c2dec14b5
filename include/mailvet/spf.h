/* include/mailvet/spf.h — Sender Policy Framework (RFC 7208): check_host() for HELO and MAIL FROM. */
#ifndef MAILVET_SPF_H
#define MAILVET_SPF_H

#include <stddef.h>

#include <mailvet/dns.h>
#include <mailvet/status.h>
#include <mailvet/util.h>

/* The results of RFC 7208 §2.6. */
enum mv_spf_result {
	MV_SPF_NONE,
	MV_SPF_NEUTRAL,
	MV_SPF_PASS,
	MV_SPF_FAIL,
	MV_SPF_SOFTFAIL,
	MV_SPF_TEMPERROR,
	MV_SPF_PERMERROR,
};

/* Which identity was checked (RFC 7208 §2.3 HELO, §2.4 MAIL FROM). */
enum mv_spf_identity {
	MV_SPF_ID_MAILFROM,
	MV_SPF_ID_HELO,
};

/* The processing limits of RFC 7208 §4.6.4. */
#define MV_SPF_MAX_DNS_TERMS 10 /* include a mx ptr exists redirect, per check */
#define MV_SPF_MAX_VOID 2       /* lookups answering NXDOMAIN or no records */
#define MV_SPF_MAX_NAMES 10     /* MX hosts (more: permerror), PTR names (more: ignored) */
#define MV_SPF_RECORD_MAX 65535 /* longest record accepted (a TXT RRset's limit) */
#define MV_SPF_EXPLAIN_MAX 1024 /* an explanation is cut to this many bytes */
#define MV_SPF_TIMEOUT_MS 20000 /* default elapsed-time limit of one check (§4.6.4: >= 20 s) */

/*
 * What to check. Every pointer is borrowed for the duration of mv_spf_check().
 * - ip: the client address as text: dotted IPv4, IPv6, or IPv4-mapped IPv6
 *   (::ffff:a.b.c.d, evaluated as the IPv4 address, RFC 7208 §5).
 * - helo: the HELO/EHLO argument (may be NULL when unknown; the HELO
 *   identity then gives "none").
 * - mail_from: the MAIL FROM address without angle brackets; NULL or "" is
 *   the null reverse-path, whose identity is postmaster@<helo> (§2.4).
 *   An address without a local part ("@example.com") uses "postmaster" (§4.3).
 * - identity: which one to check. MV_SPF_ID_MAILFROM with a null reverse-path
 *   checks postmaster@<helo> and still reports MV_SPF_ID_MAILFROM.
 * - receiver: the %{r} macro (the checking host's name); NULL = "unknown".
 * - now: the %{t} macro, seconds since the epoch (time is an input).
 * - timeout_ms: the elapsed-time limit of the whole check (RFC 7208 §4.6.4:
 *   "MTAs or other processors SHOULD impose a limit on the maximum amount of
 *   elapsed time to evaluate check_host(). Such a limit SHOULD allow at
 *   least 20 seconds. If such a limit is exceeded, the result of
 *   authorization SHOULD be "temperror"."); 0 = MV_SPF_TIMEOUT_MS. It is
 *   measured on CLOCK_MONOTONIC from the start of mv_spf_check() and checked
 *   before every DNS query: past it no query is asked and the result is
 *   temperror, its problem naming the limit. A query already asked runs to
 *   its own end, so a check can last the limit plus one resolver timeout.
 */
struct mv_spf_request {
	const char *ip;
	const char *helo;
	const char *mail_from;
	enum mv_spf_identity identity;
	const char *receiver;
	long long now;
	unsigned timeout_ms;
};

/*
 * The outcome. Strings are owned by the verdict; mv_spf_verdict_clear()
 * frees them. Any of them may be NULL where it says so.
 * - domain: the domain of the identity checked (lower case as given, no
 *   trailing dot); NULL only if there was no identity at all.
 * - sender: <sender> as evaluated (local@domain; postmaster@... filled in).
 * - explanation: for "fail" only (§6.2): the exp= text, or the default one
 *   when the record has no usable exp=; explanation_default says which.
 * - mechanism: the term that decided ("-all", "include:example.com"),
 *   "default" when none matched, NULL for none/temperror/permerror.
 * - problem: for permerror/temperror (and none), a short reason.
 * - dns_terms, void_lookups: the §4.6.4 counters at the end.
 */
struct mv_spf_verdict {
	enum mv_spf_result result;
	enum mv_spf_identity identity;
	char *domain;
	char *sender;
	char *explanation;
	int explanation_default;
	char *mechanism;
	char *problem;
	unsigned dns_terms;
	unsigned void_lookups;
};

/*
 * RFC 7208 §4 check_host() for the identity req->identity selects.
 * DNS goes through r only (mv_dns_query). The result of SPF — including
 * temperror and permerror — is in *out; the status is MV_OK then.
 * MV_EINVAL: req->ip is not an IP address (or req/out NULL); MV_ENOMEM.
 * On a status other than MV_OK *out holds no strings.
 * Always clears *out first; the caller calls mv_spf_verdict_clear() after.
 */
enum mv_status mv_spf_check(struct mv_resolver *r, const struct mv_spf_request *req,
                            struct mv_spf_verdict *out);

void mv_spf_verdict_clear(struct mv_spf_verdict *v); /* frees the strings, zeroes *v */

/*
 * The DNS question mv_spf_check() with the same req will ask first, the SPF
 * record (TXT) of the identity's <domain>, appended to l for a caller's
 * prefetch; nothing when the check asks nothing (req->ip not an address, a
 * <domain> SPF cannot check). What the record leads to (include:, a, mx,
 * exists:, redirect=, ...) depends on answers and is not in it. Made with
 * the check's own identity rule (lib/spf/identity.c). MV_ENOMEM,
 * MV_ETOOBIG (l is full).
 */
enum mv_status mv_spf_questions(const struct mv_spf_request *req, struct mv_dns_questions *l);

/*
 * The questions the SPF record of the identity's <domain> leads to, once
 * that record is in cache's answer cache (read with mv_dns_query_cached():
 * nothing is asked, nothing counted), appended to l for a caller's second
 * prefetch round: include: and redirect= targets (TXT), a (A or AAAA, the
 * client's family), mx (MX), exists: (A). Only targets written without
 * macros, only the first record's own terms (not what its includes lead
 * to), at most MV_SPF_NEXT_MAX questions: a hostile record cannot make the
 * prefetch fan out. The check itself counts its lookups (RFC 7208 §4.6.4)
 * as it always did; a prefetched answer only saves it the wait. Nothing
 * when the record is not cached, not exactly one v=spf1, or broken.
 * MV_ENOMEM, MV_ETOOBIG (l is full).
 */
#define MV_SPF_NEXT_MAX 10
enum mv_status mv_spf_next_questions(struct mv_resolver *cache, const struct mv_spf_request *req,
                                     struct mv_dns_questions *l);

/* "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror". */
const char *mv_spf_result_str(enum mv_spf_result res);
/* Inverse of mv_spf_result_str (ASCII case-insensitive); MV_EINVAL if unknown. */
enum mv_status mv_spf_result_parse(const char *s, enum mv_spf_result *out);
/* "mailfrom" or "helo". */
const char *mv_spf_identity_str(enum mv_spf_identity id);

/*
 * Append the value of a Received-SPF field (RFC 7208 §9.1) for this
 * verdict to out: result, a comment, and the key=value pairs client-ip,
 * envelope-from, helo, receiver, identity, and mechanism or problem.
 * No field name, no folding, no CRLF. Errors are out's sticky status.
 */
enum mv_status mv_spf_received_spf(const struct mv_spf_request *req, const struct mv_spf_verdict *v,
                                   struct mv_buf *out);

/*
 * The verdict as a result record for Authentication-Results (lib/spf/authres.c):
 * `spf=<result> smtp.mailfrom=<domain>` or `smtp.helo=<name>` (RFC 8601 §2.7.2).
 * SPF does not authenticate the local part, so only the domain is given. The
 * deciding mechanism goes in the comment; for errors the problem is the reason.
 * On MV_OK *out is new (mv_result_free()); MV_EINVAL when the domain holds a
 * control character; MV_ENOMEM.
 */
struct mv_result;
enum mv_status mv_spf_authres_result(const struct mv_spf_verdict *v, struct mv_result **out);

#endif
