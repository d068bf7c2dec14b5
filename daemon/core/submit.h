/* daemon/core/submit.h — the submission rules at run time: credentials, sender map, limits. */
#ifndef MAILVETD_CORE_SUBMIT_H
#define MAILVETD_CORE_SUBMIT_H

#include <stddef.h>

#include <mailvet/auth.h>

#include "submission_config.h"

/*
 * What one loaded configuration checks submissions with (held by the
 * runtime, replaced on reload). The failure and message counters are kept
 * by this module for the whole process, so a reload does not forgive a
 * password-guessing run.
 */
struct mvd_submit {
	int auth;                        /* [submission] sasl is set: AUTH can be offered */
	struct mv_auth_backend *backend; /* [submission] sasl, or NULL (none, or elsewhere) */
	struct mv_auth_senders *senders; /* sender_login_map, or NULL (any address) */
};

/* Open what c names. err says what failed (file:line for the map and the password file). */
enum mv_status mvd_submit_open(const struct mvd_submission_conf *c, struct mvd_submit *out,
                               char *err, size_t errlen);
void mvd_submit_close(struct mvd_submit *s);

/*
 * From now on this process opens no credential back end: mvd_submit_open
 * only notes that one is configured (auth), and the checks go to the auth
 * process (daemon/authd), which alone reads the password file. The worker
 * calls it before its first configuration load.
 */
void mvd_submit_backend_elsewhere(void);

/* Failed logins of a client IP (auth_failures in auth_failure_window). Thread-safe. */
int mvd_submit_blocked(const struct mvd_submission_conf *c, const char *ip);
/* Count a failure; the delay in seconds before the 535 reply. */
unsigned mvd_submit_failed(const struct mvd_submission_conf *c, const char *ip);
void mvd_submit_succeeded(const struct mvd_submission_conf *c, const char *ip);

/* One more message of login this hour: 1 when within messages_per_hour (0 = no limit). */
int mvd_submit_take_message(const struct mvd_submission_conf *c, const char *login);

/*
 * Whether login may use the envelope sender (without <>; "" = the null
 * sender, always allowed: it claims no address). No map: any address.
 */
int mvd_submit_sender_ok(const struct mvd_submit *s, const char *login, const char *mail_from);

#endif
