/* daemon/milter.c — libmilter callbacks: collect what the MTA says and stream it into lib/verify. */
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "session.h"

static atomic_int in_flight;
static atomic_int draining;

/*
 * Every live session, so that the ones libmilter drops without calling
 * xxfi_close (it does so when it stops) are still owned by someone.
 */
static pthread_mutex_t sessions_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mvd_session *sessions;

static struct mvd_session *session_new(SMFICTX *ctx)
{
	struct mvd_session *s = calloc(1, sizeof *s);

	if (!s)
		return NULL;
	pthread_mutex_lock(&sessions_lock);
	s->next = sessions;
	if (sessions)
		sessions->prev = s;
	sessions = s;
	pthread_mutex_unlock(&sessions_lock);
	smfi_setpriv(ctx, s);
	return s;
}

static void session_free(struct mvd_session *s)
{
	pthread_mutex_lock(&sessions_lock);
	if (s->prev)
		s->prev->next = s->next;
	else
		sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	pthread_mutex_unlock(&sessions_lock);
	mvd_message_reset(&s->m);
	mvd_runtime_release(s->rt);
	free(s->client_name);
	free(s->helo);
	free(s->daemon_name);
	free(s);
}

void mvd_milter_drain(void)
{
	atomic_store(&draining, 1);
}

int mvd_milter_in_flight(void)
{
	return atomic_load(&in_flight);
}

void mvd_message_reset(struct mvd_message *m)
{
	if (m->active)
		atomic_fetch_sub(&in_flight, 1);
	mv_verify_free(m->v);
	mv_msg_free(m->hdr);
	mv_buf_free(&m->body);
	free(m->mail_from);
	free(m->auth_id);
	free(m->queue_id);
	memset(m, 0, sizeof *m);
}

void mvd_message_fail(struct mvd_message *m, enum mv_status st, const char *where)
{
	if (m->failed)
		return;
	m->failed = 1;
	m->fail_st = st;
	m->fail_where = where;
}

static struct mvd_session *session(SMFICTX *ctx)
{
	return smfi_getpriv(ctx);
}

/* The session of a connection that passed xxfi_connect, or NULL. */
static struct mvd_session *ready(SMFICTX *ctx)
{
	struct mvd_session *s = smfi_getpriv(ctx);

	return s && s->rt ? s : NULL;
}

/* A copy of a macro's value, or NULL when the MTA did not send it. */
static char *macro(SMFICTX *ctx, const char *name)
{
	char *v = smfi_getsymval(ctx, (char *)name);

	return v && *v ? strdup(v) : NULL;
}

/* What to answer when the connection cannot be served at all. */
static sfsistat refuse(const struct mvd_runtime *rt)
{
	return rt && rt->cfg.on_error == MVD_FAIL_ACCEPT ? SMFIS_ACCEPT : SMFIS_TEMPFAIL;
}

static sfsistat cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
                             unsigned long f3, unsigned long *pf0, unsigned long *pf1,
                             unsigned long *pf2, unsigned long *pf3)
{
	unsigned long want = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE;
	unsigned long skip = SMFIP_NORCPT | SMFIP_NOUNKNOWN | SMFIP_NODATA;

	struct mvd_session *s = session(ctx);

	(void)f2;
	(void)f3;
	*pf0 = want & f0;
	/* Values with their leading space: needed to see a header as it was written. */
	*pf1 = (skip | SMFIP_HDR_LEADSPC | SMFIP_NR_HDR) & f1;
	*pf2 = 0;
	*pf3 = 0;
	/* The session starts here (xxfi_close frees it, connect or not). */
	if (!s && !(s = session_new(ctx)))
		return SMFIS_REJECT; /* libmilter then falls back to the defaults */
	s->leadspc = (*pf1 & SMFIP_HDR_LEADSPC) != 0;
	/* No reply per header field: one round trip less per field. */
	s->nr_hdr = (*pf1 & SMFIP_NR_HDR) != 0;
	return SMFIS_CONTINUE;
}

static sfsistat cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *sa)
{
	struct mvd_runtime *rt = mvd_runtime_acquire();
	struct mvd_session *s = session(ctx);
	sfsistat r;

	if (!s)
		s = session_new(ctx);
	if (!rt || !s || s->rt || atomic_load(&draining)) {
		if (atomic_load(&draining))
			mvd_log(MVD_LOG_INFO, "connect", "refused: shutting down");
		else
			mvd_log(MVD_LOG_ERR, "connect", "out of memory or no configuration");
		r = refuse(rt);
		mvd_runtime_release(rt);
		return r;
	}
	s->rt = rt;
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)sa)->sin_addr, s->client_ip,
		          sizeof s->client_ip);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)sa)->sin6_addr, s->client_ip,
		          sizeof s->client_ip);
	if (!s->client_ip[0]) /* a local (non-IP) submission: the host itself */
		memcpy(s->client_ip, "127.0.0.1", sizeof "127.0.0.1");
	/* Postfix and Sendmail write an unnamed client as "[addr]". */
	if (hostname && hostname[0] && hostname[0] != '[')
		s->client_name = strdup(hostname);
	s->daemon_name = macro(ctx, "{daemon_name}");
	s->internal = mvd_cidr_match(&rt->cfg.internal_hosts, s->client_ip);
	return SMFIS_CONTINUE;
}

static sfsistat cb_helo(SMFICTX *ctx, char *helo)
{
	struct mvd_session *s = ready(ctx);

	if (!s)
		return SMFIS_TEMPFAIL;
	free(s->helo);
	s->helo = helo ? strdup(helo) : NULL;
	return SMFIS_CONTINUE;
}

/* "<a@b>" -> "a@b"; "<>" -> "". */
static char *strip_brackets(const char *a)
{
	size_t n = strlen(a);

	if (n >= 2 && a[0] == '<' && a[n - 1] == '>')
		return mv_strndup(a + 1, n - 2);
	return strdup(a);
}

static sfsistat cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct mvd_session *s = ready(ctx);
	struct mvd_message *m;

	if (!s)
		return SMFIS_TEMPFAIL;
	m = &s->m;
	mvd_message_reset(m);
	if (atomic_load(&draining)) {
		smfi_setreply(ctx, "421", "4.3.2", "mailvetd is shutting down, try again later");
		return refuse(s->rt);
	}
	m->active = 1;
	atomic_fetch_add(&in_flight, 1);
	clock_gettime(CLOCK_MONOTONIC, &m->start);
	m->mail_from = strip_brackets(argv && argv[0] ? argv[0] : "");
	m->auth_id = macro(ctx, "{auth_authen}");
	m->queue_id = macro(ctx, "i");
	m->outbound = s->internal || m->auth_id != NULL;
	if (!m->mail_from)
		mvd_message_fail(m, MV_ENOMEM, "envfrom");
	if (m->outbound && (s->rt->cfg.sign || s->rt->cfg.arc_seal) && s->rt->cfg.ndomains &&
	    mv_msg_new(NULL, &m->hdr) != MV_OK)
		mvd_message_fail(m, MV_ENOMEM, "envfrom");
	return SMFIS_CONTINUE;
}

/* Start lib/verify for the message once the queue id is known (first header or eoh). */
static void start_verify(SMFICTX *ctx, struct mvd_session *s)
{
	struct mvd_message *m = &s->m;
	struct mv_envelope env;
	enum mv_status st;

	if (m->v || m->failed)
		return;
	if (!m->queue_id)
		m->queue_id = macro(ctx, "i");
	env.client_ip = s->client_ip;
	env.client_name = s->client_name;
	env.helo = s->helo;
	env.mail_from = m->mail_from;
	env.auth_id = m->auth_id;
	env.queue_id = m->queue_id;
	st = mv_verify_new(&s->rt->vcfg, s->rt->resolver, time(NULL), &env, &m->v);
	if (st != MV_OK)
		mvd_message_fail(m, st, "verify_new");
}

/* Judge an Authentication-Results field by RFC 8601 §5; remember it for deletion. */
static void judge_authres(struct mvd_session *s, const char *value)
{
	struct mvd_message *m = &s->m;
	const char *why = NULL;

	m->ar_seen++;
	if (mv_authres_judge(&s->rt->arpolicy, value, strlen(value), s->internal, &why) !=
	    MV_AUTHRES_DELETE)
		return;
	if (m->ndelete == MVD_MAX_AR_DELETE) {
		mvd_message_fail(m, MV_ELIMIT, "too many forged Authentication-Results");
		return;
	}
	m->ar_delete[m->ndelete++] = (unsigned)m->ar_seen;
	mvd_log(MVD_LOG_DEBUG, "authres-delete", "queue_id=%s index=%zu why=%s",
	        m->queue_id ? m->queue_id : "-", m->ar_seen, why ? why : "");
}

static sfsistat cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct mvd_session *s = ready(ctx);
	struct mvd_message *m;
	struct mv_buf full = MV_BUF_INIT;
	enum mv_status st;
	sfsistat r;

	if (!s)
		return SMFIS_TEMPFAIL;
	r = s->nr_hdr ? SMFIS_NOREPLY : SMFIS_CONTINUE;
	m = &s->m;
	start_verify(ctx, s);
	if (!name || !value)
		return r;
	if (mv_ascii_ieq(name, strlen(name), "Authentication-Results"))
		judge_authres(s, value);
	if (m->failed)
		return r;
	/* Without SMFIP_HDR_LEADSPC the MTA dropped the space after the colon: put it back. */
	if (!s->leadspc && value[0] != ' ' && value[0] != '\t')
		mv_buf_putc(&full, ' ');
	mv_buf_puts(&full, value);
	if (mv_buf_status(&full) != MV_OK) {
		mvd_message_fail(m, MV_ENOMEM, "header");
		goto out;
	}
	st = mv_verify_header(m->v, name, strlen(name), full.data, full.len);
	if (st == MV_ESYNTAX || st == MV_ETOOBIG) {
		/* The verdict would miss this field (a From, maybe): eom refuses the message. */
		if (m->nbad_headers++ == 0) {
			m->bad_header_st = st;
			snprintf(m->bad_header_name, sizeof m->bad_header_name, "%s", name);
		}
	} else if (st != MV_OK)
		mvd_message_fail(m, st, "header");
	if (m->hdr) {
		st = mv_msg_add_field(m->hdr, name, strlen(name), full.data, full.len);
		if (st == MV_ENOMEM)
			mvd_message_fail(m, st, "header");
		else if (st != MV_OK) { /* cannot be signed as received: do not sign */
			mv_msg_free(m->hdr);
			m->hdr = NULL;
		}
	}
out:
	mv_buf_free(&full);
	return r;
}

static sfsistat cb_eoh(SMFICTX *ctx)
{
	struct mvd_session *s = ready(ctx);
	enum mv_status st;

	if (!s)
		return SMFIS_TEMPFAIL;
	start_verify(ctx, s);
	if (!s->m.failed && (st = mv_verify_header_end(s->m.v)) != MV_OK)
		mvd_message_fail(&s->m, st, "eoh");
	return SMFIS_CONTINUE;
}

static sfsistat cb_body(SMFICTX *ctx, unsigned char *p, size_t n)
{
	struct mvd_session *s = ready(ctx);
	struct mvd_message *m;
	enum mv_status st;

	if (!s)
		return SMFIS_TEMPFAIL;
	m = &s->m;
	m->body_bytes += n;
	if (!m->failed && (st = mv_verify_body(m->v, p, n)) != MV_OK)
		mvd_message_fail(m, st, "body");
	if (m->hdr && !m->body_too_big) {
		if (m->body.len + n > s->rt->cfg.sign_max_bytes) {
			m->body_too_big = 1;
			mv_buf_free(&m->body);
		} else if (mv_buf_append(&m->body, p, n) != MV_OK) {
			mvd_message_fail(m, MV_ENOMEM, "body");
		}
	}
	return SMFIS_CONTINUE;
}

static sfsistat cb_eom(SMFICTX *ctx)
{
	struct mvd_session *s = ready(ctx);
	sfsistat r;

	if (!s)
		return SMFIS_TEMPFAIL;
	start_verify(ctx, s); /* a message with neither header nor eoh */
	r = mvd_eom(ctx, s);
	mvd_message_reset(&s->m);
	return r;
}

static sfsistat cb_abort(SMFICTX *ctx)
{
	struct mvd_session *s = session(ctx);

	if (s)
		mvd_message_reset(&s->m);
	return SMFIS_CONTINUE;
}

static sfsistat cb_close(SMFICTX *ctx)
{
	struct mvd_session *s = session(ctx);

	if (!s)
		return SMFIS_CONTINUE;
	smfi_setpriv(ctx, NULL);
	session_free(s);
	return SMFIS_CONTINUE;
}

struct smfiDesc *mvd_milter_desc(void)
{
	static struct smfiDesc desc = {
	        .xxfi_name = "mailvetd",
	        .xxfi_version = SMFI_VERSION,
	        .xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE,
	        .xxfi_connect = cb_connect,
	        .xxfi_helo = cb_helo,
	        .xxfi_envfrom = cb_envfrom,
	        .xxfi_header = cb_header,
	        .xxfi_eoh = cb_eoh,
	        .xxfi_body = cb_body,
	        .xxfi_eom = cb_eom,
	        .xxfi_abort = cb_abort,
	        .xxfi_close = cb_close,
	        .xxfi_negotiate = cb_negotiate,
	};
	return &desc;
}
