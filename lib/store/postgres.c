/*
 * lib/store/postgres.c — the PostgreSQL store back end (libpq), for sites
 * where several mailvetd nodes write one store. Every statement goes through
 * PQexecParams or a prepared statement: data is never part of the SQL text.
 * Races between writers are settled by the database: the schema is created
 * under an advisory lock, and "once" (a report marked sent, a report imported,
 * a trace id) is a unique constraint met with INSERT ... ON CONFLICT.
 */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mailvet/util.h>

#include "store/pg_int.h"
#include "store/store_int.h"

#define CONNECT_TIMEOUT "10"               /* seconds, unless the location says otherwise */
#define MIGRATE_LOCK "7308604897068083505" /* pg_advisory_xact_lock key: "mailvet1" */
#define MAX_PARAMS 48

struct pg_store {
	struct mv_store base; /* first: a struct mv_store * points here */
	PGconn *conn;
	int insert_prepared; /* "mv_add_record" exists on this connection */
};

/*
 * The parameters of one statement, as text. A string that is not valid
 * UTF-8 (a hostile header can hold anything; PostgreSQL refuses such text)
 * is sent as a copy with each bad byte replaced by '?'.
 */
struct params {
	const char *v[MAX_PARAMS];
	char *owned[MAX_PARAMS];
	char num[MAX_PARAMS][24];
	int n;
};

static struct pg_store *PG(struct mv_store *s)
{
	return (struct pg_store *)s;
}

/* Length of the valid UTF-8 sequence at p (RFC 3629), 0 when it is not one. */
static size_t utf8_len(const unsigned char *p)
{
	unsigned char c = p[0];
	size_t n, i;
	unsigned char lo = 0x80, hi = 0xBF;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4;
	else
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return n;
}

static void text(struct params *pp, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t k, len;
	char *copy;

	pp->v[pp->n] = s;
	pp->owned[pp->n] = NULL;
	for (; *p; p += k)
		if ((k = utf8_len(p)) == 0)
			break;
	if (*p != '\0') {
		len = strlen(s);
		if ((copy = malloc(len + 1)) != NULL) {
			for (p = (const unsigned char *)s, len = 0; *p; p += k) {
				if ((k = utf8_len(p)) == 0) {
					copy[len++] = '?';
					k = 1;
					continue;
				}
				memcpy(copy + len, p, k);
				len += k;
			}
			copy[len] = '\0';
			pp->v[pp->n] = pp->owned[pp->n] = copy;
		}
	}
	pp->n++;
}

static void number(struct params *pp, int64_t v)
{
	snprintf(pp->num[pp->n], sizeof pp->num[pp->n], "%" PRId64, v);
	pp->v[pp->n] = pp->num[pp->n];
	pp->owned[pp->n] = NULL;
	pp->n++;
}

static void params_free(struct params *pp)
{
	int i;

	for (i = 0; i < pp->n; i++)
		free(pp->owned[i]);
	pp->n = 0;
}

/* libpq's message for s->err, without its trailing newline. */
static enum mv_status pg_error(struct pg_store *p, const char *what, const PGresult *res)
{
	const char *msg = res ? PQresultErrorMessage(res) : "";
	size_t len;

	if (msg[0] == '\0')
		msg = PQerrorMessage(p->conn);
	len = strlen(msg);
	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		len--;
	mv_errf(p->base.err, sizeof p->base.err, "%s: %.*s", what, (int)len, msg);
	return MV_EIO;
}

/*
 * Run sql with pp's parameters; *out (may be NULL) gets the result, which
 * the caller PQclear()s. want: PGRES_COMMAND_OK or PGRES_TUPLES_OK.
 */
static enum mv_status run(struct pg_store *p, const char *what, const char *sql,
                          const struct params *pp, ExecStatusType want, PGresult **out)
{
	PGresult *res =
	        PQexecParams(p->conn, sql, pp ? pp->n : 0, NULL, pp ? pp->v : NULL, NULL, NULL, 0);
	enum mv_status st = MV_OK;

	if (out)
		*out = NULL;
	if (!res || PQresultStatus(res) != want)
		st = pg_error(p, what, res);
	if (st == MV_OK && out)
		*out = res;
	else
		PQclear(res);
	return st;
}

/* Constant SQL without parameters (a migration may hold several statements). */
static enum mv_status exec(struct pg_store *p, const char *what, const char *sql)
{
	PGresult *res = PQexec(p->conn, sql);
	enum mv_status st = MV_OK;

	if (!res || PQresultStatus(res) != PGRES_COMMAND_OK)
		st = pg_error(p, what, res);
	PQclear(res);
	return st;
}

static int64_t int_at(const PGresult *res, int row, int col)
{
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static void text_at(const PGresult *res, int row, int col, char *dst, size_t n)
{
	mv_report_field_set(dst, n, PQgetvalue(res, row, col));
}

static void quiet(void *arg, const char *message)
{
	(void)arg; /* NOTICEs ("relation exists") are not errors; stderr is not ours */
	(void)message;
}

static void pg_close(struct mv_store *s)
{
	struct pg_store *p = PG(s);

	PQfinish(p->conn);
	free(p);
}

static enum mv_status pg_open(const char *conninfo, struct mv_store **out, char *err, size_t errlen)
{
	/* the location's own connect_timeout, if any, comes later and wins */
	const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
	const char *const values[] = {CONNECT_TIMEOUT, "mailvet", conninfo, NULL};
	struct pg_store *p;
	enum mv_status st = MV_OK;

	*out = NULL;
	if (conninfo[0] == '\0') {
		mv_errf(err, errlen, "pg: no connection string");
		return MV_EINVAL;
	}
	if ((p = calloc(1, sizeof *p)) == NULL)
		return MV_ENOMEM;
	p->base.ops = &mv_store_pg_ops;
	p->conn = PQconnectdbParams(keys, values, 1);
	if (!p->conn) {
		st = MV_ENOMEM;
		goto out;
	}
	if (PQstatus(p->conn) != CONNECTION_OK) {
		pg_error(p, "connect", NULL);
		mv_errf(err, errlen, "%s", p->base.err);
		st = MV_EIO;
		goto out;
	}
	PQsetNoticeProcessor(p->conn, quiet, NULL);
	if (PQsetClientEncoding(p->conn, "UTF8") != 0 ||
	    exec(p, "connect", "SET client_min_messages = warning") != MV_OK) {
		mv_errf(err, errlen, "%s", p->base.err[0] ? p->base.err : "client encoding");
		st = MV_EIO;
	}
out:
	if (st != MV_OK)
		pg_close(&p->base);
	else
		*out = &p->base;
	return st;
}

static enum mv_status pg_version(struct mv_store *s, int *version)
{
	struct pg_store *p = PG(s);
	PGresult *res = NULL;
	enum mv_status st;

	*version = 0;
	/*
	 * pg_class through a query, not to_regclass(): a query sees what other
	 * sessions committed before it began (the catalog cache may not yet,
	 * which matters right after pg_migrate's lock).
	 */
	if ((st = run(p, "schema version",
	              "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = "
	              "current_schema() AND tablename = 'schema_migrations'",
	              NULL, PGRES_TUPLES_OK, &res)) != MV_OK)
		return st;
	if (int_at(res, 0, 0) == 0)
		goto out;
	PQclear(res);
	if ((st = run(p, "schema version",
	              "SELECT coalesce(max(version), 0) FROM schema_migrations", NULL,
	              PGRES_TUPLES_OK, &res)) != MV_OK)
		return st;
	*version = (int)int_at(res, 0, 0);
out:
	PQclear(res);
	return st;
}

/*
 * Under an advisory lock, so that nodes started together create the schema
 * once: the version is read again inside the lock, and only what is still
 * missing is applied.
 */
static enum mv_status pg_migrate(struct mv_store *s, int from)
{
	struct pg_store *p = PG(s);
	struct params pp = {.n = 0};
	const char *m;
	enum mv_status st;
	int v;

	(void)from;
	if ((st = exec(p, "begin", "BEGIN")) != MV_OK)
		return st;
	if ((st = run(p, "migrate", "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")", NULL,
	              PGRES_TUPLES_OK, NULL)) != MV_OK ||
	    (st = pg_version(s, &v)) != MV_OK)
		goto out;
	for (v++; st == MV_OK && (m = mv_store_pg_migration(v)) != NULL; v++) {
		if ((st = exec(p, "migrate", m)) != MV_OK)
			break;
		pp.n = 0;
		number(&pp, v);
		number(&pp, (int64_t)time(NULL));
		st = run(p, "migrate",
		         "INSERT INTO schema_migrations VALUES ($1::integer, $2::bigint)", &pp,
		         PGRES_COMMAND_OK, NULL);
	}
out:
	if (st == MV_OK)
		return exec(p, "commit", "COMMIT");
	exec(p, "rollback", "ROLLBACK");
	return st;
}

static enum mv_status pg_begin(struct mv_store *s)
{
	return exec(PG(s), "begin", "BEGIN");
}

static enum mv_status pg_commit(struct mv_store *s)
{
	return exec(PG(s), "commit", "COMMIT");
}

static enum mv_status pg_rollback(struct mv_store *s)
{
	return exec(PG(s), "rollback", "ROLLBACK");
}

/* "INSERT INTO dmarc_record (time, <cols>, dkim) VALUES ($1, ...)", prepared once a connection. */
static enum mv_status insert_prepare(struct pg_store *p)
{
	struct mv_buf sql = MV_BUF_INIT;
	const struct mv_store_col *c;
	PGresult *res;
	enum mv_status st;
	size_t n, i;

	if (p->insert_prepared)
		return MV_OK;
	c = mv_store_cols(&n);
	mv_buf_puts(&sql, "INSERT INTO dmarc_record (time");
	for (i = 0; i < n; i++)
		mv_buf_printf(&sql, ", %s", c[i].name);
	mv_buf_puts(&sql, ", dkim) VALUES ($1::bigint");
	for (i = 0; i <= n; i++)
		mv_buf_printf(&sql, ", $%zu", i + 2);
	mv_buf_puts(&sql, ")");
	if ((st = mv_buf_status(&sql)) != MV_OK)
		goto out;
	res = PQprepare(p->conn, "mv_add_record", sql.data, 0, NULL);
	if (!res || PQresultStatus(res) != PGRES_COMMAND_OK)
		st = pg_error(p, "prepare", res);
	else
		p->insert_prepared = 1;
	PQclear(res);
out:
	mv_buf_free(&sql);
	return st;
}

static enum mv_status pg_add_record(struct mv_store *s, const struct mv_report_record *r)
{
	struct pg_store *p = PG(s);
	struct mv_buf dkim = MV_BUF_INIT;
	const struct mv_store_col *c;
	struct params pp = {.n = 0};
	PGresult *res;
	enum mv_status st;
	size_t n, i;

	if ((st = insert_prepare(p)) != MV_OK)
		return st;
	mv_store_dkim_format(r, &dkim);
	if ((st = mv_buf_status(&dkim)) != MV_OK)
		goto out;
	c = mv_store_cols(&n);
	number(&pp, r->time);
	for (i = 0; i < n; i++)
		text(&pp, mv_store_col_cptr(r, &c[i]));
	text(&pp, dkim.data);
	res = PQexecPrepared(p->conn, "mv_add_record", pp.n, pp.v, NULL, NULL, 0);
	if (!res || PQresultStatus(res) != PGRES_COMMAND_OK)
		st = pg_error(p, "add record", res);
	PQclear(res);
out:
	params_free(&pp);
	mv_buf_free(&dkim);
	return st;
}

/* Result row i into r (and m for received rows); the columns of mv_store_query_sql(). */
static void read_row(const PGresult *res, int row, const struct mv_store_query *q,
                     struct mv_report_record *r, struct mv_report_meta *m)
{
	const struct mv_store_col *c;
	size_t n, i;
	int k = 0;

	memset(r, 0, sizeof *r);
	c = mv_store_cols(&n);
	r->time = int_at(res, row, k++);
	r->count = (uint64_t)int_at(res, row, k++);
	for (i = 0; i < n; i++, k++)
		text_at(res, row, k, mv_store_col_ptr(r, &c[i]), c[i].size);
	mv_store_dkim_parse(PQgetvalue(res, row, k++), r);
	if (q->source != MV_STORE_RECEIVED)
		return;
	memset(m, 0, sizeof *m);
	text_at(res, row, k++, m->org_name, sizeof m->org_name);
	text_at(res, row, k++, m->email, sizeof m->email);
	text_at(res, row, k++, m->report_id, sizeof m->report_id);
	m->begin = r->time;
	m->end = int_at(res, row, k++);
	m->version = (int)int_at(res, row, k);
}

static enum mv_status pg_query(struct mv_store *s, const struct mv_store_query *q,
                               mv_store_row_fn fn, void *arg)
{
	struct pg_store *p = PG(s);
	struct mv_buf sql = MV_BUF_INIT;
	struct mv_report_record *r = NULL;
	struct mv_report_meta m;
	struct params pp = {.n = 0};
	PGresult *res = NULL;
	enum mv_status st;
	int i;

	mv_store_query_sql(q, MV_STORE_PG, &sql);
	if ((st = mv_buf_status(&sql)) != MV_OK)
		goto out;
	if ((r = malloc(sizeof *r)) == NULL) {
		st = MV_ENOMEM;
		goto out;
	}
	number(&pp, q->begin);
	number(&pp, q->end);
	if (q->source == MV_STORE_RECORDED)
		number(&pp, q->bucket > 0 ? q->bucket : q->end - q->begin + 1);
	if (q->domain)
		text(&pp, q->domain);
	if ((st = run(p, "query", sql.data, &pp, PGRES_TUPLES_OK, &res)) != MV_OK)
		goto out;
	for (i = 0; i < PQntuples(res); i++) {
		read_row(res, i, q, r, &m);
		if (fn(arg, q->source == MV_STORE_RECEIVED ? &m : NULL, r) != 0)
			break;
	}
out:
	PQclear(res);
	params_free(&pp);
	mv_buf_free(&sql);
	free(r);
	return st;
}

/* A statement on sent_report with (report_id, destination[, when]); *n: its count or its rows. */
static enum mv_status sent_stmt(struct pg_store *p, const char *what, const char *sql,
                                const char *report_id, const char *dest, int64_t when,
                                ExecStatusType want, int64_t *n)
{
	struct params pp = {.n = 0};
	PGresult *res = NULL;
	enum mv_status st;

	text(&pp, report_id);
	text(&pp, dest);
	if (want == PGRES_COMMAND_OK)
		number(&pp, when);
	if ((st = run(p, what, sql, &pp, want, &res)) == MV_OK)
		*n = want == PGRES_COMMAND_OK ? strtoll(PQcmdTuples(res), NULL, 10)
		                              : int_at(res, 0, 0);
	PQclear(res);
	params_free(&pp);
	return st;
}

static enum mv_status pg_mark_sent(struct mv_store *s, const char *report_id, const char *dest,
                                   int64_t when, int *already)
{
	int64_t n = 0;
	/* two senders at once: the primary key lets one insert through, the other sees 0 rows */
	enum mv_status st = sent_stmt(
	        PG(s), "mark sent",
	        "INSERT INTO sent_report (report_id, destination, time) VALUES ($1, $2, $3::bigint)"
	        " ON CONFLICT (report_id, destination) DO NOTHING",
	        report_id, dest, when, PGRES_COMMAND_OK, &n);

	*already = st == MV_OK && n == 0;
	return st;
}

static enum mv_status pg_is_sent(struct mv_store *s, const char *report_id, const char *dest,
                                 int *sent)
{
	int64_t n = 0;
	enum mv_status st = sent_stmt(
	        PG(s), "is sent",
	        "SELECT count(*) FROM sent_report WHERE report_id = $1 AND destination = $2",
	        report_id, dest, 0, PGRES_TUPLES_OK, &n);

	*sent = n > 0;
	return st;
}

static enum mv_status pg_add_received_report(struct mv_store *s, const struct mv_report_meta *m,
                                             const struct mv_report_record *pol, int64_t *id,
                                             int *duplicate)
{
	struct pg_store *p = PG(s);
	struct mv_buf sql = MV_BUF_INIT;
	const struct mv_store_col *c;
	struct params pp = {.n = 0};
	PGresult *res = NULL;
	enum mv_status st;
	size_t n, i;

	*duplicate = 0;
	c = mv_store_cols(&n);
	mv_buf_puts(&sql, "INSERT INTO received_report (org_name, email, report_id, period_begin,"
	                  " period_end, version, imported");
	for (i = 0; i < n; i++)
		if (c[i].policy)
			mv_buf_printf(&sql, ", %s", c[i].name);
	mv_buf_puts(&sql, ") VALUES ($1, $2, $3, $4::bigint, $5::bigint, $6::integer, $7::bigint");
	text(&pp, m->org_name);
	text(&pp, m->email);
	text(&pp, m->report_id);
	number(&pp, m->begin);
	number(&pp, m->end);
	number(&pp, m->version);
	number(&pp, (int64_t)time(NULL));
	for (i = 0; i < n; i++)
		if (c[i].policy) {
			text(&pp, mv_store_col_cptr(pol, &c[i]));
			mv_buf_printf(&sql, ", $%d", pp.n);
		}
	/* the same report imported by two nodes at once: one row, the other a duplicate */
	mv_buf_puts(&sql, ") ON CONFLICT (org_name, report_id) DO NOTHING RETURNING id");
	if ((st = mv_buf_status(&sql)) != MV_OK ||
	    (st = run(p, "add received report", sql.data, &pp, PGRES_TUPLES_OK, &res)) != MV_OK)
		goto out;
	if (PQntuples(res) == 0)
		*duplicate = 1;
	else
		*id = int_at(res, 0, 0);
out:
	PQclear(res);
	params_free(&pp);
	mv_buf_free(&sql);
	return st;
}

static enum mv_status pg_add_received_row(struct mv_store *s, int64_t id,
                                          const struct mv_report_record *r)
{
	struct pg_store *p = PG(s);
	struct mv_buf sql = MV_BUF_INIT, dkim = MV_BUF_INIT;
	const struct mv_store_col *c;
	struct params pp = {.n = 0};
	enum mv_status st;
	size_t n, i;

	c = mv_store_cols(&n);
	mv_store_dkim_format(r, &dkim);
	if ((st = mv_buf_status(&dkim)) != MV_OK)
		goto out;
	mv_buf_puts(&sql, "INSERT INTO received_row (report, count, dkim");
	for (i = 0; i < n; i++)
		if (!c[i].policy)
			mv_buf_printf(&sql, ", %s", c[i].name);
	mv_buf_puts(&sql, ") VALUES ($1::bigint, $2::bigint, $3");
	number(&pp, id);
	number(&pp, (int64_t)r->count);
	text(&pp, dkim.data);
	for (i = 0; i < n; i++)
		if (!c[i].policy) {
			text(&pp, mv_store_col_cptr(r, &c[i]));
			mv_buf_printf(&sql, ", $%d", pp.n);
		}
	mv_buf_puts(&sql, ")");
	if ((st = mv_buf_status(&sql)) == MV_OK)
		st = run(p, "add received row", sql.data, &pp, PGRES_COMMAND_OK, NULL);
out:
	params_free(&pp);
	mv_buf_free(&sql);
	mv_buf_free(&dkim);
	return st;
}

static enum mv_status pg_add_trace(struct mv_store *s, const struct mv_trace_record *t)
{
	struct params pp = {.n = 0};
	enum mv_status st;

	number(&pp, t->time);
	text(&pp, t->trace_id);
	text(&pp, t->login);
	text(&pp, t->client_ip);
	text(&pp, t->message_id);
	text(&pp, t->envelope_from);
	number(&pp, t->rcpt_count);
	text(&pp, t->dkim_domain);
	text(&pp, t->dkim_selector);
	/* a trace id stored already (a replayed spool, another node) is not added twice */
	st = run(PG(s), "add trace",
	         "INSERT INTO trace_record (" MV_STORE_TRACE_COLUMNS
	         ") VALUES ($1::bigint, $2, $3, $4, $5, $6, $7::bigint, $8, $9)"
	         " ON CONFLICT DO NOTHING",
	         &pp, PGRES_COMMAND_OK, NULL);
	params_free(&pp);
	return st;
}

static void read_trace(const PGresult *res, int row, struct mv_trace_record *t)
{
	int k = 0;

	memset(t, 0, sizeof *t);
	t->time = int_at(res, row, k++);
	text_at(res, row, k++, t->trace_id, sizeof t->trace_id);
	text_at(res, row, k++, t->login, sizeof t->login);
	text_at(res, row, k++, t->client_ip, sizeof t->client_ip);
	text_at(res, row, k++, t->message_id, sizeof t->message_id);
	text_at(res, row, k++, t->envelope_from, sizeof t->envelope_from);
	t->rcpt_count = (uint32_t)int_at(res, row, k++);
	text_at(res, row, k++, t->dkim_domain, sizeof t->dkim_domain);
	text_at(res, row, k, t->dkim_selector, sizeof t->dkim_selector);
}

static enum mv_status pg_find_traces(struct mv_store *s, const struct mv_trace_query *q,
                                     mv_trace_fn fn, void *arg)
{
	struct mv_buf sql = MV_BUF_INIT;
	struct mv_store_trace_params tp;
	struct mv_trace_record *t = NULL;
	struct params pp = {.n = 0};
	PGresult *res = NULL;
	enum mv_status st;
	size_t i;
	int row;

	if ((st = mv_store_trace_sql(q, MV_STORE_PG, &sql, &tp)) != MV_OK)
		goto out;
	if ((t = malloc(sizeof *t)) == NULL) {
		st = MV_ENOMEM;
		goto out;
	}
	for (i = 0; i < tp.n; i++)
		text(&pp, tp.v[i]);
	if ((st = run(PG(s), "find traces", sql.data, &pp, PGRES_TUPLES_OK, &res)) != MV_OK)
		goto out;
	for (row = 0; row < PQntuples(res); row++) {
		read_trace(res, row, t);
		if (fn(arg, t) != 0)
			break;
	}
out:
	PQclear(res);
	params_free(&pp);
	mv_store_trace_params_free(&tp);
	mv_buf_free(&sql);
	free(t);
	return st;
}

static enum mv_status pg_purge_traces(struct mv_store *s, int64_t before, uint64_t *removed)
{
	struct params pp = {.n = 0};
	PGresult *res = NULL;
	enum mv_status st;

	number(&pp, before);
	st = run(PG(s), "purge traces", "DELETE FROM trace_record WHERE time < $1::bigint", &pp,
	         PGRES_COMMAND_OK, &res);
	if (st == MV_OK)
		*removed = strtoull(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return st;
}

const struct mv_store_ops mv_store_pg_ops = {
        .scheme = "pg",
        .open = pg_open,
        .close = pg_close,
        .version = pg_version,
        .migrate = pg_migrate,
        .begin = pg_begin,
        .commit = pg_commit,
        .rollback = pg_rollback,
        .add_record = pg_add_record,
        .query = pg_query,
        .mark_sent = pg_mark_sent,
        .is_sent = pg_is_sent,
        .add_received_report = pg_add_received_report,
        .add_received_row = pg_add_received_row,
        .add_trace = pg_add_trace,
        .find_traces = pg_find_traces,
        .purge_traces = pg_purge_traces,
};
