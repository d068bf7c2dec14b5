/* include/mailvet/verify.h — one call: message + envelope -> results, header field, policy verdict. */
#ifndef MAILVET_VERIFY_H
#define MAILVET_VERIFY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <mailvet/authres.h>
#include <mailvet/dkim.h>
#include <mailvet/dmarc.h>
#include <mailvet/dns.h>
#include <mailvet/status.h>

/* What the MTA knows about the SMTP session. Strings are borrowed for the call. */
struct mv_envelope {
	const char *client_ip; /* textual IPv4 or IPv6 address; NULL = unknown (no SPF, no iprev) */
	const char *client_name; /* the MTA's own reverse name for it, or NULL */
	const char *helo;        /* HELO/EHLO argument, or NULL */
	const char *mail_from;   /* MAIL FROM without <>; "" = null sender; NULL = unknown */
	const char *auth_id;     /* SMTP AUTH identity ({auth_authen}), or NULL */
	const char *queue_id;    /* the MTA's queue id, for logs, or NULL */
	/*
	 * Mail leaving the domain (an authenticated client, an internal host):
	 * checked and reported, but no Domain Owner's policy refuses or
	 * quarantines it (the verdict's note says so).
	 */
	int outbound;
};

/* What to do with the message. */
enum mv_verify_action {
	MV_VERIFY_ACCEPT,
	MV_VERIFY_REJECT,     /* 550 5.7.1 ... */
	MV_VERIFY_QUARANTINE, /* deliver to quarantine */
	MV_VERIFY_TEMPFAIL,   /* 451 4.7.x ... */
};
const char *mv_verify_action_str(enum mv_verify_action a); /* "accept", ... */

/*
 * Configuration. mv_verify_config_default() fills every field with its
 * default; callers then change what they need. Strings and arrays are
 * borrowed and must outlive every verification that uses the config.
 * (The DMARC/verify module owns the exact set of fields; it may add more.)
 */
struct mv_verify_config {
	const char *authserv_id;  /* required: our authserv-id */
	unsigned dkim_max_sigs;   /* signatures evaluated per message (5) */
	int dkim_allow_l;         /* accept signatures with l= (1) */
	unsigned iprev_max_names; /* PTR names checked (10) */
	/*
	 * Time for all the DNS of one message (20000): the time spent waiting
	 * for the resolver, prefetch included, is added up; once a check's
	 * limit is reached (below) every further query that would need a real
	 * wait answers MV_DNS_TIMEOUT at once (the checks give temperror, DMARC
	 * temperror takes dmarc_temperror_action). An answer the resolver's
	 * answer cache holds (the prefetch put it there) needs no wait and is
	 * always served. A query already running is not cut. 0: no DNS at all
	 * (but cached answers).
	 */
	unsigned budget_ms;
	/*
	 * DMARC's reserve, percent of budget_ms (25; over 100 counts as 100;
	 * 0: none). The checks before DMARC (prefetch, DKIM, ARC, SPF) stop
	 * asking at budget_ms minus the reserve; DMARC asks while the budget
	 * lasts or while it has spent less than the reserve itself, whatever
	 * the checks before it spent, so a slow SPF include chain cannot
	 * starve the From domain's policy lookup; iprev, after DMARC, asks
	 * while the budget lasts. The DNS time of a message is at most
	 * budget_ms plus one resolver timeout, or plus two when a query before
	 * DMARC ran past the others' share and DMARC then used its reserve.
	 */
	unsigned dmarc_reserve_pct;
	/* Policy for a DMARC failure and temperror, and the other knobs, are
	 * fields the DMARC module defines. */
	struct mv_dmarc_config dmarc; /* mode, PSL, virtual DMARC (mv_dmarc_config_default) */
	int dmarc_enforce;            /* act on p=reject / p=quarantine (1); 0: report only */
	/* What to do when DMARC is temperror (MV_VERIFY_TEMPFAIL). */
	enum mv_verify_action dmarc_temperror_action;
	/*
	 * What a failure under p=reject becomes (MV_VERIFY_REJECT): REJECT,
	 * QUARANTINE, or ACCEPT (only the Authentication-Results field tells).
	 */
	enum mv_verify_action dmarc_reject_action;
	/*
	 * The reply texts of a refusal and a temporary failure instead of
	 * ours: "550 5.7.1 text", "5.7.1 text" or "text" (codes that are
	 * missing, or of the wrong class, are ours). NULL or "": ours.
	 */
	const char *reject_text;
	const char *tempfail_text;
	/*
	 * A message with no usable Author Domain (no From, several From fields,
	 * several domains, an unparsable From) is dmarc=permerror, and then:
	 * - from_permerror_action MV_VERIFY_REJECT: refused, 550 5.7.1;
	 * - MV_VERIFY_ACCEPT (the default) with from_permerror_protect = 1 (the
	 *   default), "reject if protected": refused (550 5.7.1) when a domain
	 *   read from the From field(s) (mv_dmarc_from_domains: leniently, so
	 *   "ceo@bank.example." counts) asks p=quarantine or p=reject of
	 *   failing mail (mv_dmarc_domain_policy, through the same resolver),
	 *   dmarc_temperror_action when such a lookup failed, else accepted;
	 * - MV_VERIFY_ACCEPT with from_permerror_protect = 0: accepted.
	 * from_permerror_protect only matters with MV_VERIFY_ACCEPT and
	 * dmarc_enforce = 1 (report-only applies no Domain Owner's policy).
	 */
	enum mv_verify_action from_permerror_action;
	int from_permerror_protect;
	int iprev;            /* run iprev (1) */
	const char *receiver; /* SPF %{r}; NULL = authserv_id */
	struct mv_dkim_keycache
	        *dkim_keycache; /* parsed DKIM keys, shared, borrowed; NULL = none */
	int arc;                /* validate ARC chains and report arc= (1) */
	/*
	 * Trusted ARC sealers (draft-ietf-dmarc-arc-usage-06 §3.2, §3.5, §3.6):
	 * when DMARC fails, the ARC chain passes and the d= of the newest
	 * ARC-Seal is one of these domains (case-insensitive, exact), the
	 * Domain Owner's policy is not applied: the disposition becomes none
	 * (policy.dmarc=none), the action accept, and the dmarc comment says
	 * "overridden by trusted ARC sealer D". NULL / 0: none trusted.
	 */
	const char *const *trusted_arc_sealers;
	size_t ntrusted_arc_sealers;
	/*
	 * The Public Suffix List file for RFC 7489 mode (the "psl" setting;
	 * NULL: the system's list). lib/verify does not read it: the caller
	 * opens it into dmarc.psl with mv_verify_config_open_psl().
	 */
	const char *psl_file;
};
void mv_verify_config_default(struct mv_verify_config *c);

/* ---- Settings: one table for mailvet.conf [verify] and `mailvet verify` ------ */

/*
 * Every scalar setting of struct mv_verify_config has one entry
 * (lib/verify/settings.c), by the name mailvet.conf(5) gives it in
 * [verify]; `mailvet verify` takes it as --NAME with '-' for '_'. Not in
 * the table: authserv_id (each front end owns, defaults and checks its
 * own), trusted_arc_sealers (a list: mailvetd's [policy]
 * trusted_arc_sealers, the CLI's repeated --trusted-arc-sealer),
 * dkim_keycache and dmarc.psl (objects the caller makes; psl_file names the
 * latter's file).
 */
enum mv_verify_setting_type {
	MV_VERIFY_SETTING_BOOL,   /* yes/no, true/false, on/off, 1/0 (any case) */
	MV_VERIFY_SETTING_UINT,   /* decimal, within [min, max] */
	MV_VERIFY_SETTING_ENUM,   /* one of names[] */
	MV_VERIFY_SETTING_STRING, /* any text; "" = unset (NULL) */
};

struct mv_verify_setting {
	const char *name; /* "dmarc_mode": the config key; CLI --dmarc-mode */
	enum mv_verify_setting_type type;
	const char *value_name;   /* the value in usage lines: "MS", "FILE", "rfc9989|rfc7489" */
	unsigned min, max;        /* MV_VERIFY_SETTING_UINT */
	const char *const *names; /* MV_VERIFY_SETTING_ENUM: the values, NULL-terminated */
	const char *def;          /* the default as text: what mv_verify_config_default() sets */
	const char *help;         /* one or two sentences */
	/* Where the parsed value goes: n (bool 0/1, the number, the index in names) or text. */
	void (*store)(struct mv_verify_config *c, unsigned n, const char *text);
};

/* The table, in the order the manuals list it; *n entries. Static. */
const struct mv_verify_setting *mv_verify_settings(size_t *n);

/* The entry named `name` (exactly, '_' not '-'), or NULL. */
const struct mv_verify_setting *mv_verify_setting_find(const char *name);

/*
 * The setter: apply `text` to c as setting s says. A string setting keeps
 * the pointer `text` itself (not a copy): the caller keeps that storage
 * alive as long as c is used. MV_OK; MV_EINVAL with the reason in err (at
 * most errlen-1 bytes, without the setting's name, which callers spell
 * their own way: "[verify] x" or "--x"), and c unchanged.
 */
enum mv_status mv_verify_setting_set(const struct mv_verify_setting *s, struct mv_verify_config *c,
                                     const char *text, char *err, size_t errlen);

/* A boolean as the table reads it: MV_OK and *out 0 or 1, or MV_EINVAL. */
enum mv_status mv_verify_setting_bool(const char *text, int *out);

/*
 * The Public Suffix List c asks for: in RFC 7489 mode with no dmarc.psl
 * yet, open psl_file (NULL: the system's list) into *out and point
 * c->dmarc.psl at it; the caller frees *out (mv_dmarc_psl_free) after the
 * last use of c. Otherwise *out = NULL and MV_OK. MV_EUNSUPPORTED (no list
 * at all: libpsl without data) or MV_EIO (the file), with why in err.
 */
enum mv_status mv_verify_config_open_psl(struct mv_verify_config *c, struct mv_dmarc_psl **out,
                                         char *err, size_t errlen);

struct mv_verify; /* one message being verified; opaque */

/*
 * Start a verification. `r` and `c` are borrowed until mv_verify_free();
 * env is copied. `now` is the clock for DKIM x=/t= and ARC.
 * On MV_OK *out is freed with mv_verify_free().
 */
enum mv_status mv_verify_new(const struct mv_verify_config *c, struct mv_resolver *r, time_t now,
                             const struct mv_envelope *env, struct mv_verify **out);

/* Stream the message as a milter sees it: each header field, end of header, body chunks. */
enum mv_status mv_verify_header(struct mv_verify *v, const char *name, size_t name_len,
                                const char *value, size_t value_len);
/* End of header: the prefetch of every foreseeable DNS query starts here. */
enum mv_status mv_verify_header_end(struct mv_verify *v);
/*
 * Before the end of header: its prefetch does not wait for DNS there but at
 * the start of mv_verify_end() (still one batch and its second round). For a
 * caller that must not block at end of header (an event loop feeding many
 * messages, as mailvetd's SMTP front end is); a thread per message, as in
 * the milter, keeps the default and overlaps the DNS with the body.
 */
void mv_verify_defer_prefetch(struct mv_verify *v);
enum mv_status mv_verify_body(struct mv_verify *v, const void *p, size_t n);
/* End of message: run the checks; afterwards the accessors below answer. */
enum mv_status mv_verify_end(struct mv_verify *v);

/* Or the whole message at once (CRLF or LF): new + header + body + end. */
enum mv_status mv_verify_message(const struct mv_verify_config *c, struct mv_resolver *r,
                                 time_t now, const struct mv_envelope *env, const char *data,
                                 size_t len, struct mv_verify **out);

/* After mv_verify_end(). Borrowed until mv_verify_free(). */
const struct mv_authres *mv_verify_results(const struct mv_verify *v);
/* "Authentication-Results: ..." folded, without the final CRLF. */
const char *mv_verify_header_field(const struct mv_verify *v);
enum mv_verify_action mv_verify_action(const struct mv_verify *v);
/* SMTP reply for reject/quarantine/tempfail ("550 5.7.1 ..."), NULL for accept. */
const char *mv_verify_reply(const struct mv_verify *v);

/*
 * The verdict as data, final after mv_verify_end(): the action and, unless
 * it is accept, the SMTP reply in parts (quarantine: 250 2.7.0). text is
 * one line of printable ASCII. note says why the action is not what the
 * DMARC result alone would give (outbound mail, dmarc_reject_action,
 * dmarc_temperror_action accept, a trusted ARC sealer), or is "".
 * mv_verify_reply() is the same reply as one string.
 */
struct mv_verify_verdict {
	enum mv_verify_action action;
	char code[4];
	char xcode[16];
	char text[400];
	char note[200];
};
const struct mv_verify_verdict *mv_verify_verdict(const struct mv_verify *v);

/*
 * Why each result came out as it did, one line per fact ("dmarc: _dmarc.example.com
 * TXT: record p=reject"), for `mailvet verify --explain`. Borrowed until
 * mv_verify_free(); "" before mv_verify_end().
 */
const char *mv_verify_explain(const struct mv_verify *v);

/*
 * The DMARC verdict (record, alignment, disposition) after mv_verify_end(),
 * or NULL. Borrowed until mv_verify_free().
 */
const struct mv_dmarc_verdict *mv_verify_dmarc(const struct mv_verify *v);

/*
 * The ARC validation of the message as received, after mv_verify_end(), or
 * NULL (config arc = 0, or before the end). For a sealer (RFC 8617 §5.1:
 * cv= of the new set comes from it). Borrowed until mv_verify_free().
 */
struct mv_arc_validator;
const struct mv_arc_validator *mv_verify_arc(const struct mv_verify *v);

/*
 * The trusted ARC sealer whose passing chain overrode a DMARC failure
 * (see trusted_arc_sealers), or NULL when there was no override. Borrowed
 * until mv_verify_free().
 */
const char *mv_verify_arc_override(const struct mv_verify *v);

/*
 * `auth=pass smtp.auth=<identity>` (RFC 8601 §2.7.4) for an SMTP AUTH
 * identity the MTA accepted. On MV_OK *out is new (mv_result_free());
 * MV_EINVAL when the identity holds a control character.
 */
enum mv_status mv_verify_auth_result(const char *identity, struct mv_result **out);

/* The DNS of one message so far (budget_ms, dmarc_reserve_pct), for logs; valid at any time. */
struct mv_verify_dns_stats {
	unsigned budget_ms;           /* the configured budget */
	unsigned dmarc_reserve_ms;    /* DMARC's reserve of it */
	unsigned long spent_ms;       /* time spent waiting for the resolver */
	unsigned long dmarc_spent_ms; /* the part of it DMARC spent */
	unsigned queries;             /* queries forwarded to the resolver */
	unsigned prefetches;          /* prefetch batches forwarded */
	unsigned refused;    /* queries answered MV_DNS_TIMEOUT unasked: no time left for them */
	unsigned cached;     /* queries past their limit answered from the resolver's cache */
	int exhausted;       /* 1 when the whole budget is spent */
	int share_exhausted; /* 1 when the checks before DMARC have spent their share */
};
void mv_verify_dns_stats(const struct mv_verify *v, struct mv_verify_dns_stats *out);

/* ---- For DMARC reports (lib/verify/report.c) --------------------------------- */

/* The envelope as copied by mv_verify_new(). Borrowed until mv_verify_free(). */
const struct mv_envelope *mv_verify_envelope(const struct mv_verify *v);

/*
 * The header fields as given to mv_verify_header() (a DMARC failure report
 * quotes them), or NULL before the first. Borrowed until mv_verify_free().
 */
const struct mv_msg *mv_verify_msg(const struct mv_verify *v);

/* The configuration the verification runs with (borrowed from the caller of mv_verify_new()). */
const struct mv_verify_config *mv_verify_get_config(const struct mv_verify *v);

/*
 * The SPF verdict after mv_verify_end(), or NULL when SPF was not run (no
 * MAIL FROM or no client address). Borrowed until mv_verify_free().
 */
struct mv_spf_verdict;
const struct mv_spf_verdict *mv_verify_spf(const struct mv_verify *v);

/* The DKIM results after mv_verify_end(), one per signature; 0 / NULL before. Borrowed. */
size_t mv_verify_dkim_count(const struct mv_verify *v);
const struct mv_dkim_result *mv_verify_dkim_result(const struct mv_verify *v, size_t i);

void mv_verify_free(struct mv_verify *v); /* NULL is fine */

#endif
