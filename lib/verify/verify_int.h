/* lib/verify/verify_int.h — the state of one verification, shared by the files of lib/verify. */
#ifndef MAILVET_VERIFY_INT_H
#define MAILVET_VERIFY_INT_H

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

struct mv_verify {
	const struct mv_verify_config *cfg;
	struct mv_resolver *res;
	time_t now;
	enum verify_state state;
	/* the envelope, copied: each string owned (NULL stays NULL) */
	struct mv_envelope env;
	struct mv_msg *msg;
	char *author;         /* Author Domain, or NULL */
	char author_err[160]; /* why there is none */
	struct mv_dkim_verifier *dkim;
	struct mv_spf_verdict spf;
	int spf_done;
	struct mv_dmarc_verdict dmarc;
	struct mv_iprev_verdict iprev;
	int iprev_done;
	struct mv_authres *ar;
	char *field; /* "Authentication-Results: ..." */
	enum mv_verify_action action;
	char *reply;
	struct mv_buf explain;
};

/* Prefetch every foreseeable query (SPF, DKIM keys, DMARC walk, PTR). Never fails. */
void mv_verify_prefetch(struct mv_verify *v);

/* Decide the action and the SMTP reply from the DMARC verdict (lib/verify/policy.c). */
enum mv_status mv_verify_decide(struct mv_verify *v);

#endif
