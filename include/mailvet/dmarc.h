/* include/mailvet/dmarc.h — DMARC (RFC 9989; RFC 7489 as a mode) with virtual DMARC. */
#ifndef MAILVET_DMARC_H
#define MAILVET_DMARC_H

#include <stddef.h>

#include <mailvet/authres.h>
#include <mailvet/dns.h>
#include <mailvet/msg.h>
#include <mailvet/spf.h>
#include <mailvet/status.h>
#include <mailvet/util.h>

/* ---- Policy record (RFC 9989 §4.7) ---------------------------------------- */

enum mv_dmarc_policy {
	MV_DMARC_P_ABSENT = 0, /* tag not in the record */
	MV_DMARC_P_NONE,
	MV_DMARC_P_QUARANTINE,
	MV_DMARC_P_REJECT,
	MV_DMARC_P_INVALID, /* tag present with a value outside the grammar */
};
/* "none", "quarantine", "reject"; "absent" / "invalid" for the others. */
const char *mv_dmarc_policy_str(enum mv_dmarc_policy p);

enum mv_dmarc_align {
	MV_DMARC_RELAXED = 0,
	MV_DMARC_STRICT,
};

enum mv_dmarc_psd {
	MV_DMARC_PSD_U = 0, /* absent, or psd=u */
	MV_DMARC_PSD_Y,
	MV_DMARC_PSD_N,
};

#define MV_DMARC_RECORD_MAX 4096 /* longer TXT records are not DMARC records we read */

/*
 * A parsed record. Strings are owned (mv_dmarc_record_clear frees them) and
 * NULL when the tag is absent. Tags RFC 9989 removed or does not define (pct,
 * rf, ri, and any unknown tag) are accepted and ignored. A known tag with a
 * value outside its grammar is ignored (its default holds), except p, sp and
 * np, which say MV_DMARC_P_INVALID so that §4.7's rule for them can apply.
 */
struct mv_dmarc_record {
	enum mv_dmarc_policy p, sp, np;
	enum mv_dmarc_align adkim, aspf; /* default relaxed */
	enum mv_dmarc_psd psd;
	int testing;   /* t=y */
	int rua_valid; /* rua= holds at least one syntactically valid URI */
	char *rua, *ruf, *fo;
};

/*
 * Parse one TXT string as a DMARC record. The record must start with
 * "v=DMARC1" (WSP allowed around '='); tags are "name=value" separated by
 * ';' (a trailing ';' and WSP are fine). MV_ENOTFOUND: the text does not
 * start with v=DMARC1, so it is not a DMARC record at all (RFC 9989 §4.10
 * step 2 discards it); MV_ESYNTAX: it is one, but a tag is not name=value
 * or a tag appears twice (err says which); MV_ETOOBIG over
 * MV_DMARC_RECORD_MAX. On every status *out is initialised (and must be
 * cleared); on MV_OK it holds the record.
 */
enum mv_status mv_dmarc_record_parse(const char *txt, size_t len, struct mv_dmarc_record *out,
                                     char *err, size_t errlen);
void mv_dmarc_record_clear(struct mv_dmarc_record *rec);
/* The record as the comment summarises it ("p=reject sp=none adkim=s"), appended to out. */
enum mv_status mv_dmarc_record_summary(const struct mv_dmarc_record *rec, struct mv_buf *out);

/* ---- Author Domain (RFC 9989 §4.4; RFC 5322 §3.6.2) ------------------------ */

/*
 * The Author Domain of a message: the domain of its From field, which must
 * be exactly one field with one or more mailboxes, all in one domain
 * (compared as A-labels). Every other case is MV_ESYNTAX with err saying
 * which ("no From field", "2 From fields", "From addresses in 2 domains",
 * "From: <parser reason>", "From domain is an address literal"), never a
 * guess: a quoted local part holding '@', encoded-words, comments and
 * groups are read by the RFC 5322 parser (mv_addr_parse) and cannot move
 * the domain. On MV_OK *domain is a new lowercase A-label string (free()).
 */
enum mv_status mv_dmarc_author_domain(const struct mv_msg *m, char **domain, char *err,
                                      size_t errlen);

/*
 * Every domain that can be read from the From field(s), for a message
 * without an Author Domain (several From fields, several domains, an
 * unparsable From): the domain of each address of each field that parses,
 * and, for a field that does not, the text after each '@' up to a byte no
 * domain holds, without leading or trailing dots, when it is a valid
 * domain name ("ceo@bank.example.", "CEO <ceo@bank.example" and
 * "<ceo@bank.example>;" all give bank.example). Lowercase A-labels, each
 * once, at most MV_DMARC_FROM_DOMAINS_MAX; address literals are left out.
 * This reading guesses on purpose: it finds the domains a mail reader might
 * show, to look up their policy, never an Author Domain. *out is
 * initialised in every case; clear it with mv_dmarc_from_domains_clear().
 * MV_ENOMEM only.
 */
#define MV_DMARC_FROM_DOMAINS_MAX 8
struct mv_dmarc_from_domains {
	char *domain[MV_DMARC_FROM_DOMAINS_MAX]; /* owned */
	size_t n;
};
enum mv_status mv_dmarc_from_domains(const struct mv_msg *m, struct mv_dmarc_from_domains *out);
void mv_dmarc_from_domains_clear(struct mv_dmarc_from_domains *d);

/* ---- DNS tree walk (RFC 9989 §4.10) ---------------------------------------- */

#define MV_DMARC_MAX_WALK 8 /* queries of one tree walk */

/* One step of a walk: a name queried and what it held. */
struct mv_dmarc_step {
	char *domain;  /* the name under _dmarc. */
	int found;     /* exactly one DMARC record (record is valid) */
	int discarded; /* several DMARC records: all discarded */
	int failed;    /* SERVFAIL or timeout */
	int toolong;   /* _dmarc.<domain> is over 253 octets: not asked, no record there */
	struct mv_dmarc_record record;
};

struct mv_dmarc_walk {
	struct mv_dmarc_step step[MV_DMARC_MAX_WALK];
	size_t nsteps;
	int failed;    /* a query failed (temperror) */
	size_t policy; /* index of the first step with a record; nsteps = none */
	char *org;     /* the Organizational Domain (§4.10.2) */
};

/*
 * Walk from `domain` (a lowercase A-label name without trailing dot) up to
 * the root, at most MV_DMARC_MAX_WALK queries of _dmarc.<name> TXT: the name
 * itself, then (past 7 labels) its last 7 labels, then one label less each
 * time. `full` = 0 stops at the first record (policy discovery, §4.10.1);
 * `full` = 1 walks on until a psd=n or psd=y record or the top (§4.10.2) and
 * sets org. A failed query stops the walk with failed = 1. A name whose
 * _dmarc.<name> would pass 253 octets cannot be asked: its step says
 * toolong, holds no record, and the walk goes on to the shorter names.
 * *w is initialised in every case; clear it with mv_dmarc_walk_clear().
 * MV_EINVAL: domain is not a DNS name; MV_ENOMEM.
 */
enum mv_status mv_dmarc_walk(struct mv_resolver *r, const char *domain, int full,
                             struct mv_dmarc_walk *w);
void mv_dmarc_walk_clear(struct mv_dmarc_walk *w);

/* ---- Public Suffix List (RFC 7489 mode) ------------------------------------ */

struct mv_dmarc_psl; /* a loaded list; opaque */

/*
 * Load the Public Suffix List with libpsl (Debian: libpsl5 and publicsuffix).
 * path NULL = the system list (/usr/share/publicsuffix/public_suffix_list.dat,
 * else libpsl's built-in one). MV_EUNSUPPORTED when there is no list at all;
 * MV_EIO when the file cannot be read. On MV_OK free with mv_dmarc_psl_free().
 */
enum mv_status mv_dmarc_psl_open(const char *path, struct mv_dmarc_psl **out);
void mv_dmarc_psl_free(struct mv_dmarc_psl *psl); /* NULL is fine */
/*
 * The registrable domain (RFC 7489 §3.2 Organizational Domain) of domain, a
 * new string (free()), or NULL when domain is itself a public suffix (or
 * memory runs out). Case is folded; a leading dot gives NULL.
 */
char *mv_dmarc_psl_org(const struct mv_dmarc_psl *psl, const char *domain);

/* ---- Evaluation ------------------------------------------------------------ */

enum mv_dmarc_mode {
	MV_DMARC_MODE_9989 = 0, /* DNS tree walk */
	MV_DMARC_MODE_7489,     /* Public Suffix List */
};

struct mv_dmarc_config {
	enum mv_dmarc_mode mode;
	const struct mv_dmarc_psl *psl; /* RFC 7489 mode: required; borrowed */
	int virtual_enabled;            /* draft-akagiri virtual record (1) */
	int virtual_bestguess;          /* report dmarc=bestguesspass, not pass (0) */
	enum mv_dmarc_align virtual_adkim, virtual_aspf; /* strict, strict */
	int use_np;                                      /* query A/AAAA/MX to apply np= (1) */
};
void mv_dmarc_config_default(struct mv_dmarc_config *c);

enum mv_dmarc_result {
	MV_DMARC_NONE,
	MV_DMARC_PASS,
	MV_DMARC_FAIL,
	MV_DMARC_TEMPERROR,
	MV_DMARC_PERMERROR,
};
const char *mv_dmarc_result_str(enum mv_dmarc_result r);

/* What the other checks found. Strings borrowed for the call. */
struct mv_dmarc_input {
	const char *author_domain;       /* from mv_dmarc_author_domain; NULL: permerror */
	const char *author_problem;      /* why there is none (the permerror reason) */
	enum mv_spf_result spf;          /* SPF of the MAIL FROM identity only */
	const char *spf_domain;          /* its domain (NULL: no MAIL FROM identity) */
	const char *const *dkim_domains; /* d= of each passing DKIM signature */
	size_t ndkim;
	/*
	 * d= of each DKIM signature whose result is temperror (its key could
	 * not be fetched). With spf = MV_SPF_TEMPERROR they are the identifiers
	 * a DNS failure kept from being checked: when one of them aligns and
	 * nothing aligned passed, the result is temperror, not fail.
	 */
	const char *const *dkim_temperror_domains;
	size_t ndkim_temperror;
};

/* The outcome. Strings owned; mv_dmarc_verdict_clear() frees them. */
struct mv_dmarc_verdict {
	enum mv_dmarc_result result;
	int virtual_record;            /* evaluated with the virtual record */
	int bestguess;                 /* report as bestguesspass */
	int have_record;               /* a (real) record applies */
	struct mv_dmarc_record record; /* the record applied (copy) */
	char *record_domain;           /* where it was found */
	char *author_domain;
	char *org_domain;                 /* of the author domain, when computed */
	const char *applied_tag;          /* "p", "sp", "np" (static) or NULL */
	enum mv_dmarc_policy policy;      /* the policy that applies: none/quarantine/reject */
	enum mv_dmarc_policy disposition; /* what to do with this message; for
	                                   * temperror with a record: what a
	                                   * failure would get (not applied) */
	int testing;                      /* t=y: the policy applied one level below */
	int nonexistent;                  /* author domain has no A, AAAA, MX */
	int spf_aligned;
	char *dkim_aligned;    /* the d= that aligned, or NULL */
	char *problem;         /* for temperror/permerror/none: why */
	struct mv_buf explain; /* the walk and the alignment, one line each */
};

/*
 * RFC 9989 §4.8 (RFC 7489 §6.6 in that mode): discover the policy, check
 * identifier alignment, decide the result and the disposition. A message
 * that would fail while an aligned SPF identity or DKIM signature is
 * temperror is temperror (RFC 9989 §5.3.6: a DNS query that did not
 * complete means it can neither pass nor fail); one aligned pass is still
 * a pass. DNS only
 * through r. Results (temperror and permerror included) are in *out with
 * MV_OK; MV_EINVAL for a bad config (7489 mode without psl), MV_ENOMEM.
 * *out is always initialised; clear it with mv_dmarc_verdict_clear().
 */
enum mv_status mv_dmarc_check(struct mv_resolver *r, const struct mv_dmarc_config *c,
                              const struct mv_dmarc_input *in, struct mv_dmarc_verdict *out);
void mv_dmarc_verdict_clear(struct mv_dmarc_verdict *v);

/*
 * The DNS questions mv_dmarc_check() will ask to discover the policy of
 * author_domain under config c, appended to l (include/mailvet/dns.h), for
 * a caller's prefetch: RFC 9989 mode, _dmarc.<name> TXT for every name the
 * tree walk can reach (at most MV_DMARC_MAX_WALK; the walk may stop sooner
 * on an answer); RFC 7489 mode, the Author Domain's and its PSL
 * Organizational Domain's. Names the walk cannot ask are left out, and so
 * is everything for no author domain or a bad config. The questions that
 * depend on answers (organizational domains of the identifiers for relaxed
 * alignment, A/AAAA/MX for np=) are not in it. Made with the walk's own
 * steps (lib/dmarc/walk.c). MV_ENOMEM, MV_ETOOBIG (l is full): what was
 * added stays.
 */
enum mv_status mv_dmarc_questions(const struct mv_dmarc_config *c, const char *author_domain,
                                  struct mv_dns_questions *l);

/*
 * The policy `domain` (a lowercase A-label) asks for failing mail, found as
 * mv_dmarc_check finds it (tree walk or PSL, then p, sp or np, and t=y one
 * level below): MV_DMARC_P_NONE, _QUARANTINE or _REJECT in *policy, or
 * MV_DMARC_P_ABSENT when no usable record applies. *failed = 1 when a DNS
 * query failed first (then *policy is ABSENT). One line per query and the
 * outcome go to explain. MV_EINVAL for a bad config (7489 mode without
 * psl), MV_ENOMEM; a name DNS cannot ask has no record.
 */
enum mv_status mv_dmarc_domain_policy(struct mv_resolver *r, const struct mv_dmarc_config *c,
                                      const char *domain, enum mv_dmarc_policy *policy, int *failed,
                                      struct mv_buf *explain);

/*
 * The verdict as a result record: dmarc=<result> (or bestguesspass) with a
 * comment naming the record's policy ("p=reject"), for a failure what was
 * done ("sp applied"), and "virtual" for the virtual record;
 * header.from=<author domain>; policy.dmarc=<disposition> (none for a
 * pass) when a real record applies (RFC 9989 §10 registers policy.dmarc),
 * except for temperror. The problem is the reason for temperror and
 * permerror. MV_OK and *out new (mv_result_free()), or MV_ENOMEM /
 * MV_EINVAL.
 */
enum mv_status mv_dmarc_authres_result(const struct mv_dmarc_verdict *v, struct mv_result **out);
/*
 * The same for a receiver whose local policy did otherwise than the Domain
 * Owner asks: policy.dmarc=<applied> (none, quarantine or reject: what was
 * actually done), and a failure's comment says "p applied as quarantine:
 * why" or "p not applied: why" (why may be NULL) when applied is not what
 * the record asks (the policy, or one level below it with t=y).
 */
enum mv_status mv_dmarc_authres_result_applied(const struct mv_dmarc_verdict *v,
                                               enum mv_dmarc_policy applied, const char *why,
                                               struct mv_result **out);

#endif
