/* daemon/smtp/data.c — DATA: the header held, the body spooled, both fed to the pipeline; the verdict. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "anonfile.h"
#include "log.h"
#include "smtp_int.h"

/*
 * The body's spool. glibc's tmpfile() falls back to a named file where /tmp
 * has no O_TMPFILE, which the worker's filter refuses: every DATA would
 * fail. mvd_anon_file falls back to memory instead, said once in the log.
 */
static FILE *spool_open(void)
{
	static atomic_int told_memory, told_failure;
	int mem = 0;
	FILE *f = mvd_anon_file(NULL, &mem);

	if (f && mem && !atomic_exchange(&told_memory, 1))
		mvd_log(MVD_LOG_WARNING, "smtp",
		        "the temporary directory cannot make files without a name (O_TMPFILE): "
		        "message bodies are spooled in memory, up to the largest message size "
		        "each; set TMPDIR to a local file system (tmpfs, ext4, xfs)");
	if (!f && !atomic_exchange(&told_failure, 1))
		mvd_log(MVD_LOG_ERR, "smtp", "cannot make a spool file for message bodies: %s",
		        strerror(errno));
	return f;
}

void smtp_msg_start(struct smtp_session *s)
{
	struct smtp_msg *m = &s->msg;

	smtp_msg_free(m);
	m->in_header = 1;
	m->after_crlf = 1; /* the DATA command's line end */
	mv_buf_init(&m->head);
	if (!(m->spool = spool_open())) /* no name: nothing stays behind */
		m->io_error = 1;
	s->env.mail_from = s->mail->addr;
	s->env.auth_id = s->login;
	s->env.limits_counted = 1; /* messages_per_hour at MAIL, recipients at RCPT */
	s->env.nrcpt = s->nrcpt;
	s->env.trace_id = NULL;
	if (s->login && smtp_trace_id(s->trace_id, sizeof s->trace_id) == 0)
		s->env.trace_id = s->trace_id;
	s->env.front_end = MVD_FRONT_SMTP;
	snprintf(s->qid, sizeof s->qid, "S%lu.%u", s->id, ++s->nmsg);
	s->env.queue_id = s->qid;
	if (mvd_pipeline_new(s->rt, &s->client, &s->env, &s->p) != MV_OK)
		m->io_error = 1;
	else /* the loop serves every session: the DNS waits in the verdict thread */
		mvd_pipeline_defer_prefetch(s->p);
}

void smtp_msg_free(struct smtp_msg *m)
{
	mv_buf_free(&m->head);
	free(m->fields);
	if (m->spool)
		fclose(m->spool);
	memset(m, 0, sizeof *m);
}

/* 1 when line starts a header field: a name of printable ASCII, then a colon. */
static size_t field_name_len(const char *t, size_t len)
{
	size_t i = 0;

	while (i < len && t[i] > ' ' && t[i] < 127 && t[i] != ':')
		i++;
	return i > 0 && i < len && t[i] == ':' ? i : 0;
}

/* Hand the fields not yet given to the pipeline (the last one is complete). */
static void fields_feed(struct smtp_session *s, size_t *fed)
{
	struct smtp_msg *m = &s->msg;

	for (; *fed < m->nfields; (*fed)++) {
		const struct smtp_field *f = &m->fields[*fed];
		const char *t = m->head.data + f->off;
		char *name = mv_strndup(t, f->namelen);
		char *value = mv_strndup(t + f->namelen + 1, f->len - f->namelen - 3);

		if (name && value)
			mvd_pipeline_header(s->p, name, value);
		else
			m->io_error = 1;
		free(name);
		free(value);
	}
}

static void header_end(struct smtp_session *s)
{
	s->msg.in_header = 0;
	fields_feed(s, &s->msg.fed);
	mvd_pipeline_header_end(s->p);
}

/* One header line (unstuffed text, CRLF included); 0 when it belongs to the body. */
static int header_line(struct smtp_session *s, const char *t, size_t len)
{
	struct smtp_msg *m = &s->msg;
	size_t nl;

	if (len == 2) { /* the blank line */
		m->has_sep = 1;
		header_end(s);
		return 1;
	}
	if ((t[0] == ' ' || t[0] == '\t') && m->nfields > m->fed) {
		m->fields[m->nfields - 1].len += len; /* a fold of the open field */
	} else if ((nl = field_name_len(t, len))) {
		fields_feed(s, &m->fed);
		if (m->nfields == m->cap) {
			size_t cap = m->cap ? m->cap * 2 : 32;
			struct smtp_field *g = realloc(m->fields, cap * sizeof *g);
			if (!g) {
				m->io_error = 1;
				return 1;
			}
			m->fields = g;
			m->cap = cap;
		}
		m->fields[m->nfields++] = (struct smtp_field){m->head.len, len, nl};
	} else {
		header_end(s); /* not a field: the body starts without a blank line */
		return 0;
	}
	if (m->head.len + len > s->lc->max_header_size)
		m->header_too_big = 1;
	else if (mv_buf_append(&m->head, t, len) != MV_OK)
		m->io_error = 1;
	return 1;
}

/* One line of the message: raw as received (dot-stuffed), and unstuffed. */
static void msg_line(struct smtp_session *s, const char *raw, size_t rawlen,
                     const struct smtp_data_line *dl)
{
	struct smtp_msg *m = &s->msg;

	if (m->in_header && header_line(s, dl->text, dl->len))
		return;
	if (fwrite(raw, 1, rawlen, m->spool) != rawlen)
		m->io_error = 1;
	mvd_pipeline_body(s->p, dl->text, dl->len);
}

/* Whether the message is already known to be refused (then lines are only counted). */
static int broken(const struct smtp_msg *m)
{
	return m->bad_newline || m->too_long_line || m->too_big || m->header_too_big || m->io_error;
}

/*
 * A line past SMTP_TEXT_MAX is dropped up to its LF; the message will be
 * refused. Returns 1 when its LF was found.
 */
static int skip_long_line(struct smtp_msg *m, struct evbuffer *in)
{
	struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
	size_t n = evbuffer_get_length(in);

	if (eol.pos < 0) {
		if (n)
			evbuffer_copyout_from(in, &(struct evbuffer_ptr){0}, &m->last_byte, 1);
		if (n > 1) {
			struct evbuffer_ptr last;
			evbuffer_ptr_set(in, &last, n - 1, EVBUFFER_PTR_SET);
			evbuffer_copyout_from(in, &last, &m->last_byte, 1);
		}
		m->size += n;
		evbuffer_drain(in, n);
		return 0;
	}
	if (eol.pos > 0) {
		struct evbuffer_ptr before;
		evbuffer_ptr_set(in, &before, (size_t)eol.pos - 1, EVBUFFER_PTR_SET);
		evbuffer_copyout_from(in, &before, &m->last_byte, 1);
	}
	m->after_crlf = m->last_byte == '\r';
	m->size += (size_t)eol.pos + 1;
	evbuffer_drain(in, (size_t)eol.pos + 1);
	m->long_line = 0;
	return 1;
}

int smtp_msg_input(struct smtp_session *s, struct evbuffer *in)
{
	struct smtp_msg *m = &s->msg;
	char line[SMTP_TEXT_MAX + 1];

	for (;;) {
		struct evbuffer_ptr eol;
		struct smtp_data_line dl;
		size_t len;

		if (m->long_line && !skip_long_line(m, in))
			return 0;
		eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
		if (eol.pos < 0 || (size_t)eol.pos + 1 > SMTP_TEXT_MAX) {
			if (eol.pos < 0 && evbuffer_get_length(in) <= SMTP_TEXT_MAX)
				return 0;
			m->long_line = m->too_long_line = 1;
			m->last_byte = 0;
			continue;
		}
		len = (size_t)eol.pos + 1;
		evbuffer_remove(in, line, len);
		smtp_data_line(line, len, m->after_crlf, &dl);
		if (dl.end_of_data)
			return 1;
		m->after_crlf = dl.end == SMTP_END_CRLF;
		if (dl.end == SMTP_END_BARE_LF || dl.bare_cr)
			m->bad_newline = 1;
		m->size += len;
		if (m->size > s->lc->max_message_size)
			m->too_big = 1;
		if (!broken(m))
			msg_line(s, line, len, &dl);
	}
}

/* Refused before or after the verdict: the next hop forgets the transaction, then the client is told. */
static void refused_done(struct smtp_session *s, int code, const char *reply)
{
	(void)code;
	(void)reply;
	smtp_reply(s, "%s", s->refusal);
	smtp_txn_reset(s);
	smtp_resume(s);
}

static void refuse(struct smtp_session *s, const char *fmt, ...) MV_PRINTF(2, 3);
static void refuse(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->refusal, sizeof s->refusal, fmt, ap);
	va_end(ap);
	smtp_relay_cmd(s, refused_done, "RSET");
}

static void *verdict_thread(void *arg)
{
	struct smtp_session *s = arg;

	mvd_pipeline_end(s->p, &s->out);
	event_active(s->verdict_ev, EV_READ, 0);
	return NULL;
}

/* Refused before the checks ran: no verdict to log, so the reason is logged here. */
static void refuse_unchecked(struct smtp_session *s, const char *why, const char *reply)
{
	mvd_log(MVD_LOG_INFO, "smtp", "id=%lu queue_id=%s client=%s mail_from=%s refused: %s",
	        s->id, s->qid, s->client.ip, s->env.mail_from ? s->env.mail_from : "", why);
	refuse(s, "%s", reply);
}

void smtp_msg_end(struct smtp_session *s)
{
	struct smtp_msg *m = &s->msg;
	pthread_t tid;

	if (m->bad_newline)
		return refuse_unchecked(s, "bare CR or LF",
		                        "550 5.6.0 Message refused: bare CR or LF in the message "
		                        "(lines must end in CRLF)");
	if (m->too_long_line)
		return refuse_unchecked(s, "line too long",
		                        "500 5.5.2 Message refused: line too long (RFC 5321 limit "
		                        "is 1000 octets)");
	if (m->too_big || m->header_too_big)
		return refuse_unchecked(s, m->too_big ? "message too big" : "header too big",
		                        "552 5.3.4 Message size exceeds fixed limit");
	if (m->io_error || fflush(m->spool) != 0)
		return refuse_unchecked(s, "local I/O error",
		                        "451 4.3.0 Local error, try again later");
	if (m->in_header)
		header_end(s);
	s->worker_busy = 1;
	if (pthread_create(&tid, NULL, verdict_thread, s) != 0) {
		s->worker_busy = 0;
		return refuse(s, "451 4.3.0 Local error, try again later");
	}
	pthread_detach(tid);
}

static void data_done(struct smtp_session *s, int code, const char *reply)
{
	if (code >= 200 && code < 300) {
		const char *q = strstr(reply, "queued as ");
		char qid[64];
		evbuffer_add(bufferevent_get_output(s->bev), reply, strlen(reply));
		/* The log names the next hop's queue id when it says one (Postfix does). */
		if (q && sscanf(q + 10, "%63[A-Za-z0-9]", qid) == 1)
			mvd_pipeline_set_queue_id(s->p, qid);
		mvd_pipeline_log(s->p, &s->out);
	} else {
		if (code == 0)
			smtp_reply(s, "451 4.4.2 Next hop failed, try again later");
		else
			evbuffer_add(bufferevent_get_output(s->bev), reply, strlen(reply));
		mvd_log(MVD_LOG_INFO, "smtp", "id=%lu client=%s next hop refused the message: %.3s",
		        s->id, s->client.ip, code ? reply : "000");
	}
	smtp_txn_reset(s);
	smtp_resume(s);
}

void smtp_verdict_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;
	const struct mvd_verdict *v = &s->out.verdict;

	(void)fd;
	(void)what;
	if (smtp_worker_done(s))
		return;
	if (v->action == MVD_ACTION_REJECT || v->action == MVD_ACTION_TEMPFAIL) {
		mvd_pipeline_log(s->p, &s->out);
		refuse(s, "%s %s %s", v->code, v->xcode, v->text);
		return;
	}
	smtp_relay_data(s, data_done);
}

/* The index-th (1-based) field called name, or nfields. */
static size_t field_find(const struct smtp_msg *m, const char *name, unsigned index)
{
	for (size_t i = 0; i < m->nfields; i++)
		if (m->fields[i].namelen == strlen(name) &&
		    mv_ascii_ieq(m->head.data + m->fields[i].off, m->fields[i].namelen, name) &&
		    --index == 0)
			return i;
	return m->nfields;
}

char *smtp_msg_header_out(const struct smtp_msg *m, const struct mvd_outcome *o, const char *top,
                          const char *extra, size_t *len)
{
	struct mv_buf b = MV_BUF_INIT;
	char *gone = calloc(m->nfields + 1, 1);
	char *out = NULL;

	if (!gone)
		return NULL;
	if (top)
		mv_buf_printf(&b, "%s\r\n", top);
	for (size_t i = 0; i < o->nedits; i++)
		if (o->edits[i].kind == MVD_EDIT_DELETE)
			gone[field_find(m, o->edits[i].name, o->edits[i].index)] = 1;
	/* Insertions: each goes on top, so the last one listed is written first. */
	for (size_t i = o->nedits; i-- > 0;)
		if (o->edits[i].kind == MVD_EDIT_INSERT)
			mv_buf_printf(&b, "%s:%s\r\n", o->edits[i].name, o->edits[i].value);
	if (extra)
		mv_buf_printf(&b, "%s\r\n", extra);
	for (size_t i = 0; i < m->nfields; i++) {
		const char *t = m->head.data + m->fields[i].off;
		if (gone[i])
			continue;
		if (t[0] == '.') /* transparency again for the next hop */
			mv_buf_putc(&b, '.');
		mv_buf_append(&b, t, m->fields[i].len);
	}
	if (m->has_sep)
		mv_buf_append(&b, "\r\n", 2);
	if (mv_buf_status(&b) == MV_OK)
		out = mv_buf_steal(&b, len);
	mv_buf_free(&b);
	free(gone);
	return out;
}
