/* daemon/core/submission_config.h — the [submission] section of mailvet.conf: SMTP AUTH and its rules. */
#ifndef MAILVETD_CORE_SUBMISSION_CONFIG_H
#define MAILVETD_CORE_SUBMISSION_CONFIG_H

#include <stddef.h>

#define MVD_SUBMIT_FAILURES_DEFAULT 5      /* failed logins per client IP ... */
#define MVD_SUBMIT_FAILURE_WINDOW 600      /* ... in this many seconds */
#define MVD_SUBMIT_MESSAGES_DEFAULT 200    /* messages per login and hour */
#define MVD_SUBMIT_RECIPIENTS_DEFAULT 100  /* recipients per message of a login */
#define MVD_SUBMIT_AUTH_TIMEOUT_DEFAULT 10 /* seconds the credential back end may take */

/*
 * [submission]: the rules for authenticated mail (RFC 6409, RFC 5068 /
 * draft-hutzler-spamops), shared by the SMTP listeners and the milter.
 * Strings are owned, freed by mvd_submission_conf_free().
 */
struct mvd_submission_conf {
	char *sasl;             /* "passwd-file:/path" or "dovecot:/socket"; "" = no AUTH */
	char *sender_login_map; /* "" = any authenticated login may use any address */
	int allow_authzid;      /* PLAIN with an authorization identity other than the login */
	char **local_domains;   /* RCPT domains an unauthenticated client may use; none = any */
	size_t nlocal_domains;
	unsigned auth_failures;          /* failed logins per client IP in auth_failure_window */
	unsigned auth_failure_window;    /* seconds */
	unsigned messages_per_hour;      /* per login; 0 = no limit */
	unsigned recipients_per_message; /* per message of a login; 0 = the listener's limit */
	unsigned auth_timeout;           /* seconds */
	int received_login; /* our Received field names the login (else only the trace id) */
};

/* Defaults (no allocation). */
void mvd_submission_conf_init(struct mvd_submission_conf *c);

/*
 * One "key = value" line of [submission]. 0, or -1 with the reason in why
 * (at most whylen-1 bytes).
 */
int mvd_submission_conf_set(struct mvd_submission_conf *c, const char *key, const char *value,
                            char *why, size_t whylen);

/* 1 when domain (ASCII case ignored, a trailing dot too) is one of local_domains. */
int mvd_submission_local_domain(const struct mvd_submission_conf *c, const char *domain);

void mvd_submission_conf_free(struct mvd_submission_conf *c);

#endif
