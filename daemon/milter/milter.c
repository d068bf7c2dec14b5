/* daemon/milter/milter.c — libmilter callbacks: what the MTA says, streamed into the pipeline. */
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <mailvet/util.h>
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
	s->tcp_fd = -1;
	pthread_mutex_lock(&sessions_lock);
	s->next = sessions;
	if (sessions)
		sessions->prev = s;
	sessions = s;
	pthread_mutex_unlock(&sessions_lock);
	mvd_metrics_session(MVD_FRONT_MILTER, 1);
	smfi_setpriv(ctx, s);
	return s;
}

static void session_free(struct mvd_session *s)
{
	mvd_metrics_session(MVD_FRONT_MILTER, -1);
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
	mvd_pipeline_free(m->p);
	free(m->mail_from);
	free(m->auth_id);
	free(m->queue_id);
	memset(m, 0, sizeof *m);
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
	unsigned long skip = SMFIP_NOUNKNOWN | SMFIP_NODATA;
	unsigned long noreply = SMFIP_NR_HDR | SMFIP_NR_RCPT;

	struct mvd_session *s = session(ctx);
	struct mvd_runtime *rt = mvd_runtime_acquire();

	(void)f2;
	(void)f3;
	*pf0 = want & f0;
	if (!s && !(s = session_new(ctx))) {
		mvd_runtime_release(rt);
		return SMFIS_REJECT; /* libmilter then falls back to the defaults */
	}
	s->tcp_fd = -1;
	if (rt && strncmp(rt->cfg.socket, "inet", 4) == 0 &&
	    (s->tcp_fd = mvd_milter_tcp_fd(ctx, rt->cfg.socket)) < 0) {
		/*
		 * Over TCP every packet the MTA writes without waiting for our reply
		 * (the macros of a skipped DATA, a header or a RCPT without reply)
		 * holds its next write under Nagle until our delayed ACK: 40 ms a
		 * message (bench/mta/README.md). When we cannot ACK at once
		 * (quickack.c), a reply each costs far less. A unix socket has no
		 * Nagle: there the fewer round trips, the better.
		 */
		skip = SMFIP_NOUNKNOWN;
		noreply = 0;
	} else if (s->tcp_fd >= 0) {
		/* No-reply headers and RCPT, each ACKed at once; DATA's macros have no
		 * callback to ACK them from, so DATA keeps its reply. */
		skip = SMFIP_NOUNKNOWN;
	}
	mvd_runtime_release(rt);
	/* Values with their leading space: needed to see a header as it was written. */
	*pf1 = (skip | SMFIP_HDR_LEADSPC | noreply) & f1;
	*pf2 = 0;
	*pf3 = 0;
	s->leadspc = (*pf1 & SMFIP_HDR_LEADSPC) != 0;
	/* No reply per header field: one round trip less per field. */
	s->nr_hdr = (*pf1 & SMFIP_NR_HDR) != 0;
	s->nr_rcpt = (*pf1 & SMFIP_NR_RCPT) != 0;
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
		inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)sa)->sin_addr, s->client.ip,
		          sizeof s->client.ip);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)sa)->sin6_addr, s->client.ip,
		          sizeof s->client.ip);
	if (!s->client.ip[0]) /* a local (non-IP) submission: the host itself */
		memcpy(s->client.ip, "127.0.0.1", sizeof "127.0.0.1");
	/* Postfix and Sendmail write an unnamed client as "[addr]". */
	if (hostname && hostname[0] && hostname[0] != '[')
		s->client.name = s->client_name = strdup(hostname);
	s->client.internal = mv_cidr_list_match(&rt->cfg.internal_hosts, s->client.ip);
	return SMFIS_CONTINUE;
}

static sfsistat cb_helo(SMFICTX *ctx, char *helo)
{
	struct mvd_session *s = ready(ctx);

	if (!s)
		return SMFIS_TEMPFAIL;
	free(s->helo);
	s->client.helo = s->helo = helo ? strdup(helo) : NULL;
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
	m->mail_from = strip_brackets(argv && argv[0] ? argv[0] : "");
	m->auth_id = macro(ctx, "{auth_authen}");
	m->queue_id = macro(ctx, "i");
	if (!m->mail_from)
		m->nomem = 1;
	return SMFIS_CONTINUE;
}

/*
 * The first recipient's domain is the DMARC record's envelope_to (no reply when the MTA
 * allows); every recipient is counted for [policy] skip_recipient_domains.
 */
static sfsistat cb_envrcpt(SMFICTX *ctx, char **argv)
{
	struct mvd_session *s = ready(ctx);

	if (!s)
		return SMFIS_TEMPFAIL;
	if (s->nr_rcpt)
		mvd_milter_quickack(s); /* first: the MTA's next write waits for it */
	if (argv && argv[0] && s->m.active) {
		s->m.env.nrcpt++;
		s->m.env.nrcpt_skip +=
		        (unsigned)mvd_localpolicy_skip_rcpt(s->rt->localpolicy, argv[0]);
	}
	if (argv && argv[0] && !s->m.env.rcpt_domain[0]) {
		char *to = strip_brackets(argv[0]);
		mvd_envelope_rcpt(&s->m.env, to, 0);
		free(to);
	}
	return s->nr_rcpt ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* Start the message's pipeline once the queue id is known (first header or eoh); NULL if none. */
static struct mvd_pipeline *start(SMFICTX *ctx, struct mvd_session *s)
{
	struct mvd_message *m = &s->m;

	if (m->p || m->nomem)
		return m->p;
	if (!m->queue_id)
		m->queue_id = macro(ctx, "i");
	m->env.mail_from = m->mail_from ? m->mail_from : "";
	m->env.auth_id = m->auth_id;
	m->env.queue_id = m->queue_id;
	if (mvd_pipeline_new(s->rt, &s->client, &m->env, &m->p) != MV_OK)
		m->nomem = 1;
	return m->p;
}

static sfsistat cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct mvd_session *s = ready(ctx);
	struct mvd_pipeline *p;
	struct mv_buf full = MV_BUF_INIT;
	sfsistat r;

	if (!s)
		return SMFIS_TEMPFAIL;
	r = s->nr_hdr ? SMFIS_NOREPLY : SMFIS_CONTINUE;
	if (s->nr_hdr)
		mvd_milter_quickack(s); /* first: the MTA's next write waits for it */
	if (!(p = start(ctx, s)) || !name || !value)
		return r;
	/* Without SMFIP_HDR_LEADSPC the MTA dropped the space after the colon: put it back. */
	if (!s->leadspc && value[0] != ' ' && value[0] != '\t')
		mv_buf_putc(&full, ' ');
	mv_buf_puts(&full, value);
	if (mv_buf_status(&full) == MV_OK)
		mvd_pipeline_header(p, name, full.data);
	else
		s->m.nomem = 1;
	mv_buf_free(&full);
	return r;
}

static sfsistat cb_eoh(SMFICTX *ctx)
{
	struct mvd_session *s = ready(ctx);
	struct mvd_pipeline *p;

	if (!s)
		return SMFIS_TEMPFAIL;
	if ((p = start(ctx, s)))
		mvd_pipeline_header_end(p);
	return SMFIS_CONTINUE;
}

static sfsistat cb_body(SMFICTX *ctx, unsigned char *data, size_t n)
{
	struct mvd_session *s = ready(ctx);
	struct mvd_pipeline *p;

	if (!s)
		return SMFIS_TEMPFAIL;
	if ((p = start(ctx, s)))
		mvd_pipeline_body(p, data, n);
	return SMFIS_CONTINUE;
}

static sfsistat cb_eom(SMFICTX *ctx)
{
	struct mvd_session *s = ready(ctx);
	sfsistat r;

	if (!s)
		return SMFIS_TEMPFAIL;
	start(ctx, s); /* a message with neither header nor eoh */
	r = mvd_milter_apply(ctx, s);
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
	        .xxfi_envrcpt = cb_envrcpt,
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
