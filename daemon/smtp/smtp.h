/* daemon/smtp/smtp.h — the SMTP front end: its sockets, and its event loop in the worker. */
#ifndef MAILVETD_SMTP_H
#define MAILVETD_SMTP_H

#include <stddef.h>

#include "config.h"
#include "runtime.h"

/*
 * Bind every [listener] of c, and load their TLS certificates and keys
 * (as root, before the privilege drop; the worker inherits both). 0, or
 * -1 with the reason in err.
 */
int mvd_smtp_bind(const struct mvd_config *c, char *err, size_t errlen);

/* Listeners bound by mvd_smtp_bind(). */
size_t mvd_smtp_count(void);

/*
 * In the worker: serve the bound listeners on one event loop in a thread
 * of its own. 0, or -1 with the reason in err.
 */
int mvd_smtp_start(char *err, size_t errlen);

/*
 * After a configuration reload (any thread): the loop reads each
 * listener's tls_cert and tls_key again for new STARTTLS sessions; a pair
 * that cannot be read (the worker runs unprivileged) is logged and the
 * running one kept.
 */
void mvd_smtp_reload(void);

/* 1 while the loop runs (0 before the start and after it stopped). */
int mvd_smtp_running(void);

/*
 * Stop: refuse new connections and messages, wait up to timeout seconds
 * for messages in flight, close what is left, join the thread.
 */
void mvd_smtp_stop(unsigned timeout);

#endif
