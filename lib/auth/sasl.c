/*
 * lib/auth/sasl.c — the server side of an SMTP AUTH exchange (RFC 4954) for
 * PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login): a state machine
 * fed with lines, doing no I/O. It decodes and checks what the client sends
 * and says what to reply; checking the password is the back end's job.
 */
#include <stdlib.h>
#include <string.h>

#include <mailvet/auth.h>
#include <mailvet/util.h>

#include "auth/auth_int.h"

enum sasl_state {
	SASL_NEW,        /* waiting for mv_sasl_start() */
	SASL_PLAIN_WAIT, /* sent "334 ", waiting for the PLAIN message */
	SASL_LOGIN_USER, /* sent "334 VXNlcm5hbWU6" (Username:) */
	SASL_LOGIN_PASS, /* sent "334 UGFzc3dvcmQ6" (Password:) */
	SASL_DONE,       /* credentials complete */
	SASL_OVER,       /* cancelled or failed: nothing more is accepted */
};

enum sasl_mech { MECH_PLAIN, MECH_LOGIN };

struct mv_sasl {
	unsigned flags;
	enum sasl_state state;
	enum sasl_mech mech;
	const char *reply; /* static text */
	char *authzid, *login, *password;
	size_t password_len;
	struct mv_sasl_cred cred;
};

#define R_TOO_LONG "500 5.5.6 Authentication exchange line is too long"
#define R_SYNTAX "501 5.5.4 Syntax: AUTH mechanism [initial-response]"
#define R_UNKNOWN "504 5.5.4 Unrecognized authentication type"
#define R_BASE64 "501 5.5.2 Cannot decode response"
#define R_PLAIN "501 5.5.2 Malformed PLAIN response"
#define R_TEXT "501 5.5.2 Invalid characters in login or password"
#define R_EMPTY "501 5.5.2 Empty login"
#define R_AUTHZ "535 5.7.8 Authorization identity not allowed"
#define R_CANCEL "501 5.0.0 Authentication cancelled"
#define R_SEQUENCE "503 5.5.1 Bad sequence of commands"
#define R_NOMEM "454 4.7.0 Temporary authentication failure"
#define C_EMPTY "334 "
#define C_USER "334 VXNlcm5hbWU6"
#define C_PASS "334 UGFzc3dvcmQ6"

enum mv_status mv_sasl_new(unsigned flags, struct mv_sasl **out)
{
	if ((*out = calloc(1, sizeof **out)) == NULL)
		return MV_ENOMEM;
	(*out)->flags = flags;
	(*out)->state = SASL_NEW;
	(*out)->reply = "";
	return MV_OK;
}

void mv_sasl_free(struct mv_sasl *s)
{
	if (s == NULL)
		return;
	mv_auth_free_secret_str(s->authzid);
	mv_auth_free_secret_str(s->login);
	mv_auth_free_secret(s->password, s->password_len);
	free(s);
}

const char *mv_sasl_reply(const struct mv_sasl *s)
{
	return s->reply;
}

const struct mv_sasl_cred *mv_sasl_cred(const struct mv_sasl *s)
{
	return s->state == SASL_DONE ? &s->cred : NULL;
}

static enum mv_sasl_step fail(struct mv_sasl *s, const char *reply)
{
	s->state = SASL_OVER;
	s->reply = reply;
	return MV_SASL_ERROR;
}

/*
 * AUTH again, or a line with no challenge pending: 503. A finished exchange
 * keeps its credentials (the caller may still be checking them).
 */
static enum mv_sasl_step out_of_sequence(struct mv_sasl *s)
{
	if (s->state == SASL_DONE) {
		s->reply = R_SEQUENCE;
		return MV_SASL_ERROR;
	}
	return fail(s, R_SEQUENCE);
}

static enum mv_sasl_step challenge(struct mv_sasl *s, enum sasl_state next, const char *reply)
{
	s->state = next;
	s->reply = reply;
	return MV_SASL_CHALLENGE;
}

static enum mv_sasl_step done(struct mv_sasl *s)
{
	s->state = SASL_DONE;
	s->reply = "";
	s->cred.mech = s->mech == MECH_PLAIN ? "PLAIN" : "LOGIN";
	s->cred.authzid = s->authzid ? s->authzid : "";
	s->cred.login = s->login;
	s->cred.password = s->password;
	s->cred.password_len = s->password_len;
	return MV_SASL_DONE;
}

/* A copy of one decoded field, when it is text a login or password may be. */
static const char *take_field(const unsigned char *p, size_t n, char **dst, size_t *dstlen)
{
	if (n > MV_SASL_FIELD_MAX || memchr(p, '\0', n) || !mv_auth_text_valid((const char *)p, n))
		return R_TEXT;
	if ((*dst = mv_strndup((const char *)p, n)) == NULL)
		return R_NOMEM;
	if (dstlen)
		*dstlen = n;
	return NULL;
}

/* RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd. */
static enum mv_sasl_step plain_message(struct mv_sasl *s, const unsigned char *m, size_t n)
{
	const unsigned char *nul1, *nul2, *end = m + n;
	const char *why;

	if ((nul1 = memchr(m, '\0', n)) == NULL ||
	    (nul2 = memchr(nul1 + 1, '\0', (size_t)(end - nul1 - 1))) == NULL)
		return fail(s, R_PLAIN);
	if (nul2 == nul1 + 1)
		return fail(s, R_EMPTY);
	/* a third NUL lands inside the password: take_field refuses it */
	if ((why = take_field(m, (size_t)(nul1 - m), &s->authzid, NULL)) ||
	    (why = take_field(nul1 + 1, (size_t)(nul2 - nul1 - 1), &s->login, NULL)) ||
	    (why = take_field(nul2 + 1, (size_t)(end - nul2 - 1), &s->password, &s->password_len)))
		return fail(s, why);
	if (s->authzid[0] != '\0' && strcmp(s->authzid, s->login) != 0 &&
	    !(s->flags & MV_SASL_ALLOW_AUTHZID))
		return fail(s, R_AUTHZ);
	return done(s);
}

/* One LOGIN answer: the user name, then the password. */
static enum mv_sasl_step login_answer(struct mv_sasl *s, const unsigned char *m, size_t n)
{
	const char *why;

	if (s->state == SASL_LOGIN_USER) {
		if (n == 0)
			return fail(s, R_EMPTY);
		if ((why = take_field(m, n, &s->login, NULL)) != NULL)
			return fail(s, why);
		return challenge(s, SASL_LOGIN_PASS, C_PASS);
	}
	if ((why = take_field(m, n, &s->password, &s->password_len)) != NULL)
		return fail(s, why);
	return done(s);
}

/* Decode a client response (base64 text) and hand it to the current step. */
static enum mv_sasl_step answer(struct mv_sasl *s, const char *b64, size_t len)
{
	unsigned char *m = NULL;
	size_t n = 0;
	enum mv_sasl_step step;
	enum mv_status st;

	if ((st = mv_base64_decode_strict(b64, len, &m, &n)) != MV_OK)
		return fail(s, st == MV_ENOMEM ? R_NOMEM : R_BASE64);
	if (s->state == SASL_PLAIN_WAIT)
		step = plain_message(s, m, n);
	else
		step = login_answer(s, m, n);
	mv_auth_free_secret(m, n + 1);
	return step;
}

/* The mechanism name, case-insensitive. */
static int mech_of(const char *p, size_t n, enum sasl_mech *m)
{
	if (mv_ascii_ieq(p, n, "PLAIN"))
		*m = MECH_PLAIN;
	else if (mv_ascii_ieq(p, n, "LOGIN"))
		*m = MECH_LOGIN;
	else
		return 0;
	return 1;
}

enum mv_sasl_step mv_sasl_start(struct mv_sasl *s, const char *args, size_t len)
{
	const char *sp, *ir;
	size_t mlen, irlen;

	if (s->state != SASL_NEW)
		return out_of_sequence(s);
	if (len > MV_SASL_LINE_MAX - 5) /* "AUTH " + args */
		return fail(s, R_TOO_LONG);
	sp = memchr(args, ' ', len);
	mlen = sp ? (size_t)(sp - args) : len;
	if (mlen == 0)
		return fail(s, R_SYNTAX);
	if (!mech_of(args, mlen, &s->mech))
		return fail(s, R_UNKNOWN);
	if (sp == NULL)
		return s->mech == MECH_PLAIN ? challenge(s, SASL_PLAIN_WAIT, C_EMPTY)
		                             : challenge(s, SASL_LOGIN_USER, C_USER);
	ir = sp + 1;
	irlen = len - mlen - 1;
	if (irlen == 0 || memchr(ir, ' ', irlen))
		return fail(s, R_SYNTAX);
	s->state = s->mech == MECH_PLAIN ? SASL_PLAIN_WAIT : SASL_LOGIN_USER;
	if (irlen == 1 && ir[0] == '=') /* RFC 4954 §4: "=" is an empty initial response */
		irlen = 0;
	else if (irlen == 1 && ir[0] == '*')
		return mv_sasl_feed(s, ir, irlen);
	return answer(s, ir, irlen);
}

enum mv_sasl_step mv_sasl_feed(struct mv_sasl *s, const char *line, size_t len)
{
	if (s->state != SASL_PLAIN_WAIT && s->state != SASL_LOGIN_USER &&
	    s->state != SASL_LOGIN_PASS)
		return out_of_sequence(s);
	if (len > MV_SASL_LINE_MAX)
		return fail(s, R_TOO_LONG);
	if (len == 1 && line[0] == '*') {
		s->state = SASL_OVER;
		s->reply = R_CANCEL;
		return MV_SASL_CANCEL;
	}
	return answer(s, line, len);
}
