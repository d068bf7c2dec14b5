/* daemon/smtp/command.c — the SMTP commands of RFC 5321 and its extensions, as the server answers them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>

#include "log.h"
#include "smtp_int.h"

static void ehlo_reply(struct smtp_session *s)
{
	const struct mvd_listener_conf *lc = s->lc;

	/* The keywords in draft-kucherawy-sender-auth-caps Appendix B.1's order. */
	smtp_reply(s, "250-%s", smtp_hostname(s));
	smtp_reply(s, "250-ENHANCEDSTATUSCODES");
	smtp_reply(s, "250-PIPELINING");
	smtp_reply(s, "250-8BITMIME");
	smtp_reply(s, "250-SIZE %zu", lc->max_message_size);
	smtp_reply(s, "250-SMTPUTF8");
	if (s->lst->tls && !s->tls)
		smtp_reply(s, "250-STARTTLS");
	if (smtp_auth_offered(s) && s->tls && !s->login) /* RFC 4954 §4 via RFC 3207 */
		smtp_reply(s, "250-AUTH PLAIN LOGIN");
	if (lc->authserv_adv == MVD_AUTHSERV_ID)
		smtp_reply(s, "250-AUTHSERV=%s", s->rt->cfg.authserv_id);
	else if (lc->authserv_adv == MVD_AUTHSERV_BARE)
		smtp_reply(s, "250-AUTHSERV");
	smtp_reply(s, "250 HELP");
}

static void cmd_helo(struct smtp_session *s, const struct smtp_cmd *c, int esmtp)
{
	char *helo;

	if (c->arglen == 0) {
		smtp_error_reply(s, "501 5.5.4 Syntax: EHLO hostname");
		return;
	}
	if (!(helo = mv_strndup(c->arg, c->arglen))) {
		smtp_reply(s, "451 4.3.0 Out of memory");
		return;
	}
	smtp_txn_reset(s);
	free(s->helo);
	s->client.helo = s->helo = helo;
	s->esmtp = esmtp;
	s->helo_seen = 1;
	if (esmtp)
		ehlo_reply(s);
	else
		smtp_reply(s, "250 %s", smtp_hostname(s));
}

/* The next hop's reply goes to the client as it is; 0 = it could not be reached. */
static void forward(struct smtp_session *s, int code, const char *reply, const char *fallback)
{
	if (code == 0)
		smtp_reply(s, "%s", fallback);
	else
		evbuffer_add(bufferevent_get_output(s->bev), reply, strlen(reply));
}

static void mail_done(struct smtp_session *s, int code, const char *reply)
{
	if (code >= 200 && code < 300) {
		s->in_mail = 1;
		s->loop->in_flight++;
	}
	forward(s, code, reply, "451 4.4.0 Next hop not available, try again later");
	smtp_resume(s);
}

/* RFC 1870 SIZE, RFC 6152 BODY, RFC 6531 SMTPUTF8; anything else is refused. */
static const char *mail_params_check(const struct smtp_session *s, const struct smtp_path *p)
{
	for (size_t i = 0; i < p->nparams; i++) {
		const char *k = p->param[i].key, *v = p->param[i].value;
		char *end;

		if (strcasecmp(k, "SIZE") == 0) {
			unsigned long long n = strtoull(v, &end, 10);
			if (!*v || *end)
				return "501 5.5.4 Bad SIZE value";
			if (n > s->lc->max_message_size)
				return "552 5.3.4 Message size exceeds fixed limit";
		} else if (strcasecmp(k, "BODY") == 0) {
			if (strcasecmp(v, "7BIT") != 0 && strcasecmp(v, "8BITMIME") != 0)
				return "501 5.5.4 Bad BODY value";
		} else if (strcasecmp(k, "SMTPUTF8") != 0 || *v) {
			return "555 5.5.4 Unsupported MAIL parameter";
		}
	}
	return NULL;
}

/*
 * RFC 5321 §4.1.4 command order for MAIL, RCPT and DATA, and a next hop
 * lost during the transaction. 1 when the command may go on, else 0 with
 * the reply sent.
 */
static int in_sequence(struct smtp_session *s, enum smtp_verb v)
{
	const char *why = NULL;

	if (v == SMTP_MAIL && !s->helo_seen)
		why = "503 5.5.1 Error: send HELO/EHLO first";
	else if (v == SMTP_MAIL && s->in_mail)
		why = "503 5.5.1 Error: nested MAIL command";
	else if (v != SMTP_MAIL && !s->in_mail)
		why = "503 5.5.1 Error: need MAIL command";
	if (why) {
		smtp_error_reply(s, why);
		return 0;
	}
	if (v != SMTP_MAIL && s->relay_lost) {
		smtp_reply(s, "451 4.4.2 Next hop connection lost, try again later");
		return 0;
	}
	return 1;
}

/*
 * RFC 6409 and spamops §3.1: a submission listener serves only logged-in
 * users, each within its messages per hour, each sending as itself.
 */
static const char *submission_check(struct smtp_session *s, const char *from)
{
	static char why[600];
	const struct mvd_submission_conf *c = &s->rt->cfg.submission;

	if (!s->login)
		return s->lc->role == MVD_ROLE_SUBMISSION ? "530 5.7.0 Authentication required"
		                                          : NULL;
	if (!mvd_submit_sender_ok(&s->rt->submit, s->login, from)) {
		mvd_log(MVD_LOG_INFO, "submit", "id=%lu client=%s login=%s sender <%s> not allowed",
		        s->id, s->client.ip, s->login, from);
		snprintf(why, sizeof why,
		         "550 5.7.1 <%.300s>: sender address not allowed for this "
		         "login",
		         from);
		return why;
	}
	if (!mvd_submit_take_message(c, s->login)) {
		mvd_log(MVD_LOG_WARNING, "submit",
		        "id=%lu client=%s login=%s over %u messages an hour", s->id, s->client.ip,
		        s->login, c->messages_per_hour);
		snprintf(why, sizeof why,
		         "421 4.7.0 %s Message limit reached for this login, try "
		         "again later",
		         smtp_hostname(s));
		s->state = SMTP_ST_CLOSING;
		return why;
	}
	return NULL;
}

static void cmd_mail(struct smtp_session *s, const struct smtp_cmd *c)
{
	const char *why;

	if (!in_sequence(s, SMTP_MAIL))
		return;
	if (s->loop->draining) {
		smtp_reply(s, "421 4.3.2 %s Shutting down, try again later", smtp_hostname(s));
		s->state = SMTP_ST_CLOSING;
		return;
	}
	if (!(s->mail = malloc(sizeof *s->mail))) {
		smtp_reply(s, "451 4.3.0 Out of memory");
		return;
	}
	if (smtp_path_parse("FROM:", c->arg, c->arglen, s->mail, &why) != 0 ||
	    (why = mail_params_check(s, s->mail)) || (why = submission_check(s, s->mail->addr))) {
		free(s->mail);
		s->mail = NULL;
		if (s->state != SMTP_ST_CLOSING)
			smtp_error_reply(s, why);
		else
			smtp_reply(s, "%s", why);
		return;
	}
	smtp_wait(s);
	smtp_relay_mail(s, mail_done);
}

static void rcpt_done(struct smtp_session *s, int code, const char *reply)
{
	if (code >= 200 && code < 300) {
		s->nrcpt++;
		/* of the recipients (data.c: env.nrcpt), those in [policy] skip_recipient_domains */
		s->env.nrcpt_skip += (unsigned)s->rcpt_skip;
	}
	if (code == 0)
		s->relay_lost = 1;
	forward(s, code, reply, "451 4.4.2 Next hop connection lost, try again later");
	smtp_resume(s);
}

/*
 * spamops §3.2 and §4.1: no relay for a client that did not log in (when
 * [submission] local_domains says which domains are ours), no routing
 * tricks from anyone, and a login's recipients per message.
 */
static const char *rcpt_check(struct smtp_session *s, const struct smtp_path *to)
{
	static char why[300];
	const struct mvd_submission_conf *c = &s->rt->cfg.submission;
	const char *reason = NULL;
	enum mv_auth_rcpt kind;

	if (s->login && c->recipients_per_message && s->nrcpt_tried >= c->recipients_per_message)
		return "452 4.5.3 Error: too many recipients for this login";
	if (!s->login && c->nlocal_domains == 0)
		return NULL; /* relay control stays with the next hop */
	kind = mv_auth_rcpt_classify(to->addr, strlen(to->addr),
	                             (const char *const *)c->local_domains, c->nlocal_domains,
	                             &reason);
	if (kind == MV_AUTH_RCPT_LOCAL || (kind == MV_AUTH_RCPT_REMOTE && s->login))
		return NULL;
	mvd_log(MVD_LOG_INFO, "submit", "id=%lu client=%s login=%s rcpt <%s> refused: %s", s->id,
	        s->client.ip, s->login ? s->login : "-", to->addr,
	        kind == MV_AUTH_RCPT_BAD && reason ? reason : "relay");
	if (kind == MV_AUTH_RCPT_BAD && s->login)
		snprintf(why, sizeof why, "553 5.1.3 <%.200s>: %s", to->addr,
		         reason ? reason : "bad recipient address");
	else
		snprintf(why, sizeof why, "554 5.7.1 <%.200s>: Relay access denied", to->addr);
	return why;
}

static void cmd_rcpt(struct smtp_session *s, const struct smtp_cmd *c)
{
	struct smtp_path to;
	const char *why;

	if (!in_sequence(s, SMTP_RCPT))
		return;
	if (s->nrcpt_tried >= s->lc->max_recipients) {
		smtp_reply(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	if (smtp_path_parse("TO:", c->arg, c->arglen, &to, &why) != 0) {
		smtp_error_reply(s, why);
		return;
	}
	if (to.nparams) {
		smtp_error_reply(s, "555 5.5.4 Unsupported RCPT parameter");
		return;
	}
	if (to.addr[0] == '\0') {
		smtp_error_reply(s, "501 5.1.3 Bad recipient address syntax");
		return;
	}
	if ((why = rcpt_check(s, &to)) != NULL) {
		smtp_error_reply(s, why);
		return;
	}
	mvd_envelope_rcpt(&s->env, to.addr, s->nrcpt_tried == 0);
	s->nrcpt_tried++;
	s->rcpt_skip = mvd_localpolicy_skip_rcpt(s->rt->localpolicy, to.addr);
	smtp_wait(s);
	smtp_relay_cmd(s, rcpt_done, "RCPT TO:<%s>", to.addr);
}

static void cmd_data(struct smtp_session *s, const struct smtp_cmd *c)
{
	if (c->arglen) {
		smtp_error_reply(s, "501 5.5.4 Syntax: DATA");
		return;
	}
	if (!in_sequence(s, SMTP_DATA))
		return;
	if (s->nrcpt == 0) {
		smtp_error_reply(s, "554 5.5.1 Error: no valid recipients");
		return;
	}
	smtp_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	smtp_msg_start(s);
	s->state = SMTP_ST_DATA;
	bufferevent_set_timeouts(s->bev, &(struct timeval){s->lc->timeout_data, 0},
	                         &(struct timeval){s->lc->timeout_data, 0});
}

static void rset_done(struct smtp_session *s, int code, const char *reply)
{
	(void)code;
	(void)reply;
	smtp_reply(s, "250 2.0.0 Ok");
	smtp_resume(s);
}

static void cmd_rset(struct smtp_session *s)
{
	int relayed = s->in_mail && !s->relay_lost;

	smtp_txn_reset(s);
	if (!relayed) {
		smtp_reply(s, "250 2.0.0 Ok");
		return;
	}
	smtp_wait(s);
	smtp_relay_cmd(s, rset_done, "RSET");
}

/*
 * RFC 3207: the 220, then TLS on the same socket. Whatever the client sent
 * after STARTTLS in the clear is dropped (CVE-2011-0411), and the session
 * starts again from the greeting state.
 */
static void cmd_starttls(struct smtp_session *s, const struct smtp_cmd *c)
{
	if (!s->lst->tls || s->tls) {
		smtp_error_reply(s, "502 5.5.1 Error: command not implemented");
		return;
	}
	if (c->arglen) {
		smtp_error_reply(s, "501 5.5.4 Syntax: STARTTLS");
		return;
	}
	smtp_reply(s, "220 2.0.0 Ready to start TLS");
	evbuffer_drain(bufferevent_get_input(s->bev), (size_t)-1);
	if (smtp_tls_start(s) != 0) {
		s->state = SMTP_ST_CLOSING;
		return;
	}
	s->helo_seen = s->esmtp = 0;
	smtp_txn_reset(s);
}

int smtp_tls_start(struct smtp_session *s)
{
	struct bufferevent *tls;
	SSL *ssl;

	if (!(ssl = SSL_new(s->lst->tls)))
		return -1;
	tls = bufferevent_openssl_filter_new(s->loop->base, s->bev, ssl, BUFFEREVENT_SSL_ACCEPTING,
	                                     BEV_OPT_CLOSE_ON_FREE);
	if (!tls) {
		SSL_free(ssl);
		return -1;
	}
	s->bev = tls;
	s->tls = 1;
	smtp_session_setcb(s);
	return 0;
}

void smtp_command(struct smtp_session *s, const char *line, size_t len)
{
	struct smtp_cmd c;

	smtp_cmd_parse(line, len, &c);
	switch (c.verb) {
	case SMTP_EHLO:
	case SMTP_HELO:
		cmd_helo(s, &c, c.verb == SMTP_EHLO);
		break;
	case SMTP_MAIL:
		cmd_mail(s, &c);
		break;
	case SMTP_RCPT:
		cmd_rcpt(s, &c);
		break;
	case SMTP_DATA:
		cmd_data(s, &c);
		break;
	case SMTP_RSET:
		cmd_rset(s);
		break;
	case SMTP_NOOP:
		smtp_reply(s, "250 2.0.0 Ok");
		break;
	case SMTP_QUIT:
		smtp_reply(s, "221 2.0.0 Bye");
		s->state = SMTP_ST_CLOSING;
		break;
	case SMTP_VRFY:
		smtp_reply(s, "252 2.5.0 Cannot VRFY user, but will accept message and attempt "
		              "delivery");
		break;
	case SMTP_HELP:
		smtp_reply(s,
		           "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY "
		           "HELP%s%s",
		           s->lst->tls ? " STARTTLS" : "", smtp_auth_offered(s) ? " AUTH" : "");
		break;
	case SMTP_STARTTLS:
		cmd_starttls(s, &c);
		break;
	case SMTP_AUTH:
		smtp_cmd_auth(s, c.arg, c.arglen);
		break;
	case SMTP_UNKNOWN:
		smtp_error_reply(s, "500 5.5.2 Error: command not recognized");
		break;
	}
}
