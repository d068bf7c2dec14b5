/* lib/verify/verify_int.h — the state of one verification, shared by the files of lib/verify. */
#ifndef MAILVET_VERIFY_INT_H
#define MAILVET_VERIFY_INT_H

#include <stdint.h>

#include <mailvet/arc.h>
#include <mailvet/dkim.h>
#include <mailvet/dmarc.h>
#include <mailvet/iprev.h>
#include <mailvet/spf.h>
#include <mailvet/verify.h>

enum verify_state {
	VERIFY_HEADER, /* taking header fields */
	VERIFY_BODY,   /* header ended: taking body chunks */
	VERIFY_DONE,   /* mv_verify_end ran: results available */
};

/*
 * Where the message's checks are, for the budget (lib/verify/budget.c):
 * everything before DMARC shares budget_ms less DMARC's reserve; DMARC has
 * its reserve of its own; what comes after may use what is left.
 */
enum mv_verify_budget_phase {
	MV_VERIFY_BUDGET_BEFORE_DMARC, /* prefetch, DKIM, ARC, SPF */
	MV_VERIFY_BUDGET_DMARC,        /* mv_dmarc_check() */
	MV_VERIFY_BUDGET_AFTER_DMARC,  /* iprev */
};

/* Microseconds of a monotonic clock (the budget's; tests inject their own). */
typedef uint64_t (*mv_verify_clock_fn)(void *arg);

/*
 * The DNS account of one message (lib/verify/budget.c): time waited for
 * DNS, against cfg->budget_ms and cfg->dmarc_reserve_pct. inner is the
 * caller's resolver, borrowed.
 */
struct mv_verify_budget {
	struct mv_resolver *inner;
	unsigned budget_ms;
	unsigned reserve_pct; /* DMARC's share of budget_ms, percent (at most 100) */
	enum mv_verify_budget_phase phase;
	uint64_t spent_us;        /* time spent in the real resolver */
	uint64_t dmarc_spent_us;  /* the part of it spent by DMARC */
	unsigned queries;         /* questions forwarded */
	unsigned prefetches;      /* prefetch batches forwarded */
	unsigned refused;         /* questions answered MV_DNS_TIMEOUT unasked */
	unsigned cached;          /* questions past their limit served from the cache */
	mv_verify_clock_fn clock; /* NULL: CLOCK_MONOTONIC */
	void *clock_arg;
};

/*
 * Start the account in *b (zeroed; b must outlive *out) and make the
 * resolver every check of the message uses. It forwards a question to
 * inner while the current phase has time left (docs/internals/verify.md
 * "DNS time budget"):
 *   before DMARC  spent < budget - reserve
 *   DMARC         spent < budget, or DMARC's own spending < reserve
 *   after DMARC   spent < budget
 * where reserve = budget_ms * reserve_pct / 100 (reserve_pct over 100 is
 * 100). Past its limit a question that inner's answer cache can answer is
 * served from it (no wait, mv_dns_query_cached()); any other is answered
 * MV_DNS_TIMEOUT unasked. *out is freed with mv_dns_free() (inner is not).
 * MV_ENOMEM.
 */
enum mv_status mv_verify_budget_open(struct mv_verify_budget *b, struct mv_resolver *inner,
                                     unsigned budget_ms, unsigned reserve_pct,
                                     struct mv_resolver **out);

/* Enter a phase (lib/verify/verify.c, around the DMARC check). */
void mv_verify_budget_phase(struct mv_verify_budget *b, enum mv_verify_budget_phase phase);

/* Replace the clock (for tests), before the first question is asked. */
void mv_verify_budget_set_clock(struct mv_verify_budget *b, mv_verify_clock_fn fn, void *arg);

struct mv_verify {
	const struct mv_verify_config *cfg;
	struct mv_resolver *res; /* the budget's resolver (owned), forwarding to the caller's */
	struct mv_verify_budget budget;
	time_t now;
	enum verify_state state;
	int prefetch_deferred; /* mv_verify_defer_prefetch(): ask at end of message */
	/* the envelope, copied: each string owned (NULL stays NULL) */
	struct mv_envelope env;
	struct mv_msg *msg;
	char *author;         /* Author Domain, or NULL */
	char author_err[160]; /* why there is none */
	struct mv_dkim_verifier *dkim;
	struct mv_arc_validator *arc; /* NULL when cfg->arc is 0 */
	char *arc_override;           /* the trusted sealer that overrode DMARC, or NULL */
	struct mv_spf_verdict spf;
	int spf_done;
	struct mv_dmarc_verdict dmarc;
	struct mv_iprev_verdict iprev;
	int iprev_done;
	struct mv_authres *ar;
	char *field; /* "Authentication-Results: ..." */
	enum mv_verify_action action;
	char *reply;
	struct mv_verify_verdict verdict;
	int decided;   /* mv_verify_decide() ran: action and reply are final */
	int explained; /* explain is built (lazily, by mv_verify_explain()) */
	struct mv_buf explain;
};

/*
 * Give the header to the DKIM verifier (made with no_prefetch), then
 * prefetch in one batch the questions each check publishes
 * (lib/verify/prefetch.c): mv_spf_questions(), mv_dkim_questions(),
 * mv_dmarc_questions(), mv_iprev_questions(), mv_arc_questions(), at most
 * MV_DNS_QUESTIONS_MAX. The ARC validator has taken the header already.
 * Returns mv_dkim_verifier_headers()'s status (MV_ENOMEM only); the
 * prefetch itself never fails.
 */
enum mv_status mv_verify_prefetch(struct mv_verify *v);
/* The prefetch's DNS part: both rounds (mv_verify_end runs it when deferred). */
void mv_verify_prefetch_ask(struct mv_verify *v);

/*
 * The request run_spf() gives mv_spf_check() (lib/verify/verify.c), into
 * *req (strings borrowed from v); 0 when SPF is not run (no MAIL FROM or no
 * client address: spf=none).
 */
int mv_verify_spf_request(const struct mv_verify *v, struct mv_spf_request *req);

/*
 * The trusted-sealer override (lib/verify/arcpolicy.c, draft-ietf-dmarc-arc-usage-06):
 * after DMARC and ARC, set v->arc_override and the disposition to none when
 * it applies. MV_ENOMEM only.
 */
enum mv_status mv_verify_arc_policy(struct mv_verify *v);

/*
 * Decide the action and the SMTP reply from the DMARC verdict (lib/verify/policy.c).
 * The --explain text is built later, when mv_verify_explain() is first called.
 */
enum mv_status mv_verify_decide(struct mv_verify *v);
/*
 * After mv_verify_decide(): the dmarc result record as mv_dmarc_authres_result()
 * makes it, but saying what was done: for a failure under a real record,
 * policy.dmarc is the action taken (reject, quarantine, else none) and the
 * comment gives the verdict's note (or report-only) when that is not what
 * the record asks. On MV_OK *out is new (mv_result_free()).
 */
enum mv_status mv_verify_dmarc_authres(const struct mv_verify *v, struct mv_result **out);

#endif
