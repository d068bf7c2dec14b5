/* lib/auth/backend.c — picking a credential back end from its configuration string. */
#include <stdlib.h>
#include <string.h>

#include <mailvet/auth.h>
#include <mailvet/util.h>

#include "auth/backend.h"

struct mv_auth_backend {
	const struct mv_auth_backend_ops *ops;
	void *self;
};

enum mv_status mv_auth_backend_open(const char *spec, struct mv_auth_backend **out, char *err,
                                    size_t errlen)
{
	struct mv_auth_backend *b;
	enum mv_status st;

	*out = NULL;
	if (spec == NULL) {
		mv_errf(err, errlen, "no back end given");
		return MV_EINVAL;
	}
	if ((b = calloc(1, sizeof *b)) == NULL)
		return MV_ENOMEM;
	if (strncmp(spec, "passwd-file:", 12) == 0 && spec[12] != '\0') {
		b->ops = &mv_auth_passwd_file_ops;
		st = mv_auth_passwd_file_open(spec + 12, &b->self, err, errlen);
	} else if (strncmp(spec, "dovecot:", 8) == 0 && spec[8] != '\0') {
		b->ops = &mv_auth_dovecot_ops;
		st = mv_auth_dovecot_open(spec + 8, &b->self, err, errlen);
	} else {
		mv_errf(err, errlen, "unknown back end (want passwd-file:PATH or dovecot:...)");
		st = MV_EINVAL;
	}
	if (st != MV_OK) {
		free(b);
		return st;
	}
	*out = b;
	return MV_OK;
}

enum mv_auth_verdict mv_auth_check(struct mv_auth_backend *b, const struct mv_auth_request *req,
                                   unsigned timeout_ms, char **ok_login, char *err, size_t errlen)
{
	if (ok_login)
		*ok_login = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (req->login == NULL || req->password == NULL || req->login[0] == '\0') {
		mv_errf(err, errlen, "empty login");
		return MV_AUTH_FAIL;
	}
	if (strlen(req->login) > MV_SASL_FIELD_MAX || req->password_len > MV_SASL_FIELD_MAX ||
	    (req->authzid && strlen(req->authzid) > MV_SASL_FIELD_MAX)) {
		mv_errf(err, errlen, "login or password too long");
		return MV_AUTH_FAIL;
	}
	return b->ops->check(b->self, req, timeout_ms, ok_login, err, errlen);
}

enum mv_status mv_auth_backend_reload(struct mv_auth_backend *b, char *err, size_t errlen)
{
	return b->ops->reload ? b->ops->reload(b->self, err, errlen) : MV_OK;
}

void mv_auth_backend_free(struct mv_auth_backend *b)
{
	if (b == NULL)
		return;
	b->ops->free(b->self);
	free(b);
}
