/* lib/auth/backend.h — the table of functions every credential back end fills in. */
#ifndef MAILVET_AUTH_BACKEND_H
#define MAILVET_AUTH_BACKEND_H

#include <mailvet/auth.h>

struct mv_auth_backend_ops {
	const char *name;
	enum mv_auth_verdict (*check)(void *self, const struct mv_auth_request *req,
	                              unsigned timeout_ms, char **ok_login, char *err,
	                              size_t errlen);
	enum mv_status (*reload)(void *self, char *err, size_t errlen);
	void (*free)(void *self);
};

/* lib/auth/passwd_file.c: open the password file at path (read it now). */
enum mv_status mv_auth_passwd_file_open(const char *path, void **self, char *err, size_t errlen);
extern const struct mv_auth_backend_ops mv_auth_passwd_file_ops;

/* lib/auth/dovecot.c: "PATH" (unix socket) or "inet:HOST:PORT"; no connection yet. */
enum mv_status mv_auth_dovecot_open(const char *where, void **self, char *err, size_t errlen);
extern const struct mv_auth_backend_ops mv_auth_dovecot_ops;

#endif
