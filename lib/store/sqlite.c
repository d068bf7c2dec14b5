/* lib/store/sqlite.c — the SQLite store back end: one file, WAL, created on first use. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mailvet/util.h>

#include "store/sqlite_int.h"
#include "store/store_int.h"

#define BUSY_TIMEOUT_MS 5000

struct sqlite_store {
	struct mv_store base; /* first: a struct mv_store * points here */
	sqlite3 *db;
	sqlite3_stmt *insert; /* the record insert, prepared once */
	int in_tx;
};

static struct sqlite_store *SQ(struct mv_store *s)
{
	return (struct sqlite_store *)s;
}

/* Note the database's error in s->err; returns MV_EIO. */
static enum mv_status db_error(struct sqlite_store *q, const char *what)
{
	mv_errf(q->base.err, sizeof q->base.err, "%s: %s", what, sqlite3_errmsg(q->db));
	return MV_EIO;
}

static enum mv_status exec(struct sqlite_store *q, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(q->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		mv_errf(q->base.err, sizeof q->base.err, "%s", msg ? msg : sqlite3_errmsg(q->db));
		sqlite3_free(msg);
		return MV_EIO;
	}
	return MV_OK;
}

static void sq_close(struct mv_store *s)
{
	struct sqlite_store *q = SQ(s);

	sqlite3_finalize(q->insert);
	sqlite3_close(q->db);
	free(q);
}

static enum mv_status sq_open(const char *path, struct mv_store **out, char *err, size_t errlen)
{
	struct sqlite_store *q;
	enum mv_status st = MV_OK;

	*out = NULL;
	if (path[0] == '\0') {
		mv_errf(err, errlen, "sqlite: no file name");
		return MV_EINVAL;
	}
	if ((q = calloc(1, sizeof *q)) == NULL)
		return MV_ENOMEM;
	q->base.ops = &mv_store_sqlite_ops;
	if (sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		mv_errf(err, errlen, "%s: %s", path, q->db ? sqlite3_errmsg(q->db) : "cannot open");
		st = MV_EIO;
		goto out;
	}
	sqlite3_busy_timeout(q->db, BUSY_TIMEOUT_MS);
	if (exec(q, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON") !=
	    MV_OK) {
		mv_errf(err, errlen, "%s: %s", path, q->base.err);
		st = MV_EIO;
	}
out:
	if (st != MV_OK)
		sq_close(&q->base);
	else
		*out = &q->base;
	return st;
}

static enum mv_status sq_version(struct mv_store *s, int *version)
{
	struct sqlite_store *q = SQ(s);
	sqlite3_stmt *stmt = NULL;
	enum mv_status st = MV_OK;

	*version = 0;
	if (sqlite3_prepare_v2(q->db,
	                       "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = "
	                       "'schema_migrations'",
	                       -1, &stmt, NULL) != SQLITE_OK ||
	    sqlite3_step(stmt) != SQLITE_ROW) {
		st = db_error(q, "schema version");
		goto out;
	}
	if (sqlite3_column_int(stmt, 0) == 0)
		goto out;
	sqlite3_finalize(stmt);
	stmt = NULL;
	if (sqlite3_prepare_v2(q->db, "SELECT coalesce(max(version), 0) FROM schema_migrations", -1,
	                       &stmt, NULL) != SQLITE_OK ||
	    sqlite3_step(stmt) != SQLITE_ROW) {
		st = db_error(q, "schema version");
		goto out;
	}
	*version = sqlite3_column_int(stmt, 0);
out:
	sqlite3_finalize(stmt);
	return st;
}

static enum mv_status sq_migrate(struct mv_store *s, int from)
{
	struct sqlite_store *q = SQ(s);
	struct mv_buf sql = MV_BUF_INIT;
	const char *m;
	enum mv_status st;
	int v;

	if ((st = exec(q, "BEGIN IMMEDIATE")) != MV_OK)
		return st;
	for (v = from + 1; st == MV_OK && (m = mv_store_sqlite_migration(v)) != NULL; v++) {
		mv_buf_reset(&sql);
		mv_buf_printf(&sql, "%s; INSERT INTO schema_migrations VALUES (%d, %lld)", m, v,
		              (long long)time(NULL));
		if ((st = mv_buf_status(&sql)) == MV_OK)
			st = exec(q, sql.data);
	}
	mv_buf_free(&sql);
	if (st == MV_OK)
		return exec(q, "COMMIT");
	exec(q, "ROLLBACK");
	return st;
}

static enum mv_status sq_begin(struct mv_store *s)
{
	enum mv_status st = exec(SQ(s), "BEGIN IMMEDIATE");

	SQ(s)->in_tx = st == MV_OK;
	return st;
}

static enum mv_status sq_commit(struct mv_store *s)
{
	SQ(s)->in_tx = 0;
	return exec(SQ(s), "COMMIT");
}

static enum mv_status sq_rollback(struct mv_store *s)
{
	SQ(s)->in_tx = 0;
	return exec(SQ(s), "ROLLBACK");
}

/* Prepare sql (a buffer) into *stmt, or note why. */
static enum mv_status prepare(struct sqlite_store *q, struct mv_buf *sql, sqlite3_stmt **stmt)
{
	*stmt = NULL;
	if (mv_buf_status(sql) != MV_OK)
		return mv_buf_status(sql);
	if (sqlite3_prepare_v2(q->db, sql->data, (int)sql->len, stmt, NULL) != SQLITE_OK)
		return db_error(q, "prepare");
	return MV_OK;
}

/* "INSERT INTO dmarc_record (time, <cols>, dkim) VALUES (?, ...)", prepared once. */
static enum mv_status insert_stmt(struct sqlite_store *q)
{
	struct mv_buf sql = MV_BUF_INIT;
	const struct mv_store_col *c;
	enum mv_status st;
	size_t n, i;

	if (q->insert)
		return MV_OK;
	c = mv_store_cols(&n);
	mv_buf_puts(&sql, "INSERT INTO dmarc_record (time");
	for (i = 0; i < n; i++)
		mv_buf_printf(&sql, ", %s", c[i].name);
	mv_buf_puts(&sql, ", dkim) VALUES (?");
	for (i = 0; i <= n; i++)
		mv_buf_puts(&sql, ", ?");
	mv_buf_puts(&sql, ")");
	st = prepare(q, &sql, &q->insert);
	mv_buf_free(&sql);
	return st;
}

static enum mv_status sq_add_record(struct mv_store *s, const struct mv_report_record *r)
{
	struct sqlite_store *q = SQ(s);
	struct mv_buf dkim = MV_BUF_INIT;
	const struct mv_store_col *c;
	enum mv_status st;
	size_t n, i;
	int k = 1;

	if ((st = insert_stmt(q)) != MV_OK)
		return st;
	mv_store_dkim_format(r, &dkim);
	if ((st = mv_buf_status(&dkim)) != MV_OK)
		goto out;
	c = mv_store_cols(&n);
	sqlite3_reset(q->insert);
	sqlite3_bind_int64(q->insert, k++, r->time);
	for (i = 0; i < n; i++)
		sqlite3_bind_text(q->insert, k++, mv_store_col_cptr(r, &c[i]), -1, SQLITE_STATIC);
	sqlite3_bind_text(q->insert, k, dkim.data, (int)dkim.len, SQLITE_STATIC);
	if (sqlite3_step(q->insert) != SQLITE_DONE)
		st = db_error(q, "add record");
	sqlite3_reset(q->insert);
	sqlite3_clear_bindings(q->insert);
out:
	mv_buf_free(&dkim);
	return st;
}

/* Column i of stmt into dst[n] ("" for NULL). */
static void column_text(sqlite3_stmt *stmt, int i, char *dst, size_t n)
{
	mv_report_field_set(dst, n, (const char *)sqlite3_column_text(stmt, i));
}

/* One result row into r (and m for received rows). */
static void read_row(sqlite3_stmt *stmt, const struct mv_store_query *q, struct mv_report_record *r,
                     struct mv_report_meta *m)
{
	const struct mv_store_col *c;
	size_t n, i;
	int k = 0;

	memset(r, 0, sizeof *r);
	c = mv_store_cols(&n);
	r->time = sqlite3_column_int64(stmt, k++);
	r->count = (uint64_t)sqlite3_column_int64(stmt, k++);
	for (i = 0; i < n; i++, k++)
		column_text(stmt, k, mv_store_col_ptr(r, &c[i]), c[i].size);
	mv_store_dkim_parse((const char *)sqlite3_column_text(stmt, k++), r);
	if (q->source != MV_STORE_RECEIVED)
		return;
	memset(m, 0, sizeof *m);
	column_text(stmt, k++, m->org_name, sizeof m->org_name);
	column_text(stmt, k++, m->email, sizeof m->email);
	column_text(stmt, k++, m->report_id, sizeof m->report_id);
	m->begin = r->time;
	m->end = sqlite3_column_int64(stmt, k++);
	m->version = sqlite3_column_int(stmt, k);
}

static enum mv_status sq_query(struct mv_store *s, const struct mv_store_query *q,
                               mv_store_row_fn fn, void *arg)
{
	struct sqlite_store *sq = SQ(s);
	struct mv_buf sql = MV_BUF_INIT;
	struct mv_report_record *r = NULL;
	struct mv_report_meta m;
	sqlite3_stmt *stmt = NULL;
	enum mv_status st;
	int rc;

	mv_store_query_sql(q, MV_STORE_SQLITE, &sql);
	if ((st = prepare(sq, &sql, &stmt)) != MV_OK)
		goto out;
	if ((r = malloc(sizeof *r)) == NULL) {
		st = MV_ENOMEM;
		goto out;
	}
	sqlite3_bind_int64(stmt, 1, q->begin);
	sqlite3_bind_int64(stmt, 2, q->end);
	if (q->source == MV_STORE_RECORDED)
		sqlite3_bind_int64(stmt, 3, q->bucket > 0 ? q->bucket : q->end - q->begin + 1);
	if (q->domain)
		sqlite3_bind_text(stmt, q->source == MV_STORE_RECORDED ? 4 : 3, q->domain, -1,
		                  SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		read_row(stmt, q, r, &m);
		if (fn(arg, q->source == MV_STORE_RECEIVED ? &m : NULL, r) != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		st = db_error(sq, "query");
out:
	sqlite3_finalize(stmt);
	mv_buf_free(&sql);
	free(r);
	return st;
}

/* Run a statement with text and integer parameters; *changes gets sqlite3_changes(). */
static enum mv_status run(struct sqlite_store *q, const char *sql, const char *t1, const char *t2,
                          int64_t i3, int *result)
{
	sqlite3_stmt *stmt = NULL;
	enum mv_status st = MV_OK;
	int rc;

	if (sqlite3_prepare_v2(q->db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return db_error(q, "prepare");
	sqlite3_bind_text(stmt, 1, t1, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, t2, -1, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(stmt) >= 3)
		sqlite3_bind_int64(stmt, 3, i3);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*result = sqlite3_column_int(stmt, 0);
	else if (rc == SQLITE_DONE)
		*result = sqlite3_changes(q->db);
	else
		st = db_error(q, "statement");
	sqlite3_finalize(stmt);
	return st;
}

static enum mv_status sq_mark_sent(struct mv_store *s, const char *report_id, const char *dest,
                                   int64_t when, int *already)
{
	int changes = 0;
	enum mv_status st = run(SQ(s),
	                        "INSERT OR IGNORE INTO sent_report (report_id, destination, time) "
	                        "VALUES (?1, ?2, ?3)",
	                        report_id, dest, when, &changes);

	*already = changes == 0;
	return st;
}

static enum mv_status sq_is_sent(struct mv_store *s, const char *report_id, const char *dest,
                                 int *sent)
{
	*sent = 0;
	return run(SQ(s),
	           "SELECT count(*) FROM sent_report WHERE report_id = ?1 AND destination = ?2",
	           report_id, dest, 0, sent);
}

static enum mv_status sq_add_received_report(struct mv_store *s, const struct mv_report_meta *m,
                                             const struct mv_report_record *pol, int64_t *id,
                                             int *duplicate)
{
	struct sqlite_store *q = SQ(s);
	struct mv_buf sql = MV_BUF_INIT;
	const struct mv_store_col *c;
	sqlite3_stmt *stmt = NULL;
	enum mv_status st;
	size_t n, i;
	int k = 1, found = 0;

	*duplicate = 0;
	if ((st = run(q,
	              "SELECT count(*) FROM received_report WHERE org_name = ?1 AND "
	              "report_id = ?2",
	              m->org_name, m->report_id, 0, &found)) != MV_OK)
		return st;
	if (found) {
		*duplicate = 1;
		return MV_OK;
	}
	c = mv_store_cols(&n);
	mv_buf_puts(&sql, "INSERT INTO received_report (org_name, email, report_id, period_begin,"
	                  " period_end, version, imported");
	for (i = 0; i < n; i++)
		if (c[i].policy)
			mv_buf_printf(&sql, ", %s", c[i].name);
	mv_buf_puts(&sql, ") VALUES (?, ?, ?, ?, ?, ?, ?");
	for (i = 0; i < n; i++)
		if (c[i].policy)
			mv_buf_puts(&sql, ", ?");
	mv_buf_puts(&sql, ")");
	if ((st = prepare(q, &sql, &stmt)) != MV_OK)
		goto out;
	sqlite3_bind_text(stmt, k++, m->org_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, k++, m->email, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, k++, m->report_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, k++, m->begin);
	sqlite3_bind_int64(stmt, k++, m->end);
	sqlite3_bind_int(stmt, k++, m->version);
	sqlite3_bind_int64(stmt, k++, (int64_t)time(NULL));
	for (i = 0; i < n; i++)
		if (c[i].policy)
			sqlite3_bind_text(stmt, k++, mv_store_col_cptr(pol, &c[i]), -1,
			                  SQLITE_STATIC);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		st = db_error(q, "add received report");
	else
		*id = sqlite3_last_insert_rowid(q->db);
out:
	sqlite3_finalize(stmt);
	mv_buf_free(&sql);
	return st;
}

static enum mv_status sq_add_received_row(struct mv_store *s, int64_t id,
                                          const struct mv_report_record *r)
{
	struct sqlite_store *q = SQ(s);
	struct mv_buf sql = MV_BUF_INIT, dkim = MV_BUF_INIT;
	const struct mv_store_col *c;
	sqlite3_stmt *stmt = NULL;
	enum mv_status st;
	size_t n, i;
	int k = 1;

	c = mv_store_cols(&n);
	mv_buf_puts(&sql, "INSERT INTO received_row (report, count, dkim");
	for (i = 0; i < n; i++)
		if (!c[i].policy)
			mv_buf_printf(&sql, ", %s", c[i].name);
	mv_buf_puts(&sql, ") VALUES (?, ?, ?");
	for (i = 0; i < n; i++)
		if (!c[i].policy)
			mv_buf_puts(&sql, ", ?");
	mv_buf_puts(&sql, ")");
	mv_store_dkim_format(r, &dkim);
	if ((st = mv_buf_status(&dkim)) != MV_OK || (st = prepare(q, &sql, &stmt)) != MV_OK)
		goto out;
	sqlite3_bind_int64(stmt, k++, id);
	sqlite3_bind_int64(stmt, k++, (int64_t)r->count);
	sqlite3_bind_text(stmt, k++, dkim.data, (int)dkim.len, SQLITE_STATIC);
	for (i = 0; i < n; i++)
		if (!c[i].policy)
			sqlite3_bind_text(stmt, k++, mv_store_col_cptr(r, &c[i]), -1,
			                  SQLITE_STATIC);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		st = db_error(q, "add received row");
out:
	sqlite3_finalize(stmt);
	mv_buf_free(&sql);
	mv_buf_free(&dkim);
	return st;
}

static enum mv_status sq_add_trace(struct mv_store *s, const struct mv_trace_record *t)
{
	struct sqlite_store *q = SQ(s);
	sqlite3_stmt *stmt = NULL;
	enum mv_status st = MV_OK;
	int k = 1;

	/* OR IGNORE: a trace id already stored (a replayed spool) is not added twice */
	if (sqlite3_prepare_v2(q->db,
	                       "INSERT OR IGNORE INTO trace_record (" MV_STORE_TRACE_COLUMNS
	                       ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	                       -1, &stmt, NULL) != SQLITE_OK)
		return db_error(q, "prepare");
	sqlite3_bind_int64(stmt, k++, t->time);
	sqlite3_bind_text(stmt, k++, t->trace_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, k++, t->login, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, k++, t->client_ip, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, k++, t->message_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, k++, t->envelope_from, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, k++, t->rcpt_count);
	sqlite3_bind_text(stmt, k++, t->dkim_domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, k, t->dkim_selector, -1, SQLITE_STATIC);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		st = db_error(q, "add trace");
	sqlite3_finalize(stmt);
	return st;
}

static void read_trace(sqlite3_stmt *stmt, struct mv_trace_record *t)
{
	int k = 0;

	memset(t, 0, sizeof *t);
	t->time = sqlite3_column_int64(stmt, k++);
	column_text(stmt, k++, t->trace_id, sizeof t->trace_id);
	column_text(stmt, k++, t->login, sizeof t->login);
	column_text(stmt, k++, t->client_ip, sizeof t->client_ip);
	column_text(stmt, k++, t->message_id, sizeof t->message_id);
	column_text(stmt, k++, t->envelope_from, sizeof t->envelope_from);
	t->rcpt_count = (uint32_t)sqlite3_column_int64(stmt, k++);
	column_text(stmt, k++, t->dkim_domain, sizeof t->dkim_domain);
	column_text(stmt, k, t->dkim_selector, sizeof t->dkim_selector);
}

static enum mv_status sq_find_traces(struct mv_store *s, const struct mv_trace_query *tq,
                                     mv_trace_fn fn, void *arg)
{
	struct sqlite_store *q = SQ(s);
	struct mv_buf sql = MV_BUF_INIT;
	struct mv_store_trace_params p;
	struct mv_trace_record *t = NULL;
	sqlite3_stmt *stmt = NULL;
	enum mv_status st;
	size_t i;
	int rc;

	if ((st = mv_store_trace_sql(tq, MV_STORE_SQLITE, &sql, &p)) != MV_OK ||
	    (st = prepare(q, &sql, &stmt)) != MV_OK)
		goto out;
	if ((t = malloc(sizeof *t)) == NULL) {
		st = MV_ENOMEM;
		goto out;
	}
	for (i = 0; i < p.n; i++)
		if (p.is_num[i])
			sqlite3_bind_int64(stmt, (int)i + 1, strtoll(p.v[i], NULL, 10));
		else
			sqlite3_bind_text(stmt, (int)i + 1, p.v[i], -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		read_trace(stmt, t);
		if (fn(arg, t) != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		st = db_error(q, "find traces");
out:
	sqlite3_finalize(stmt);
	mv_store_trace_params_free(&p);
	mv_buf_free(&sql);
	free(t);
	return st;
}

static enum mv_status sq_purge_traces(struct mv_store *s, int64_t before, uint64_t *removed)
{
	struct sqlite_store *q = SQ(s);
	sqlite3_stmt *stmt = NULL;
	enum mv_status st = MV_OK;

	if (sqlite3_prepare_v2(q->db, "DELETE FROM trace_record WHERE time < ?1", -1, &stmt,
	                       NULL) != SQLITE_OK)
		return db_error(q, "prepare");
	sqlite3_bind_int64(stmt, 1, before);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		st = db_error(q, "purge traces");
	else
		*removed = (uint64_t)sqlite3_changes(q->db);
	sqlite3_finalize(stmt);
	return st;
}

const struct mv_store_ops mv_store_sqlite_ops = {
        .scheme = "sqlite",
        .open = sq_open,
        .close = sq_close,
        .version = sq_version,
        .migrate = sq_migrate,
        .begin = sq_begin,
        .commit = sq_commit,
        .rollback = sq_rollback,
        .add_record = sq_add_record,
        .query = sq_query,
        .mark_sent = sq_mark_sent,
        .is_sent = sq_is_sent,
        .add_received_report = sq_add_received_report,
        .add_received_row = sq_add_received_row,
        .add_trace = sq_add_trace,
        .find_traces = sq_find_traces,
        .purge_traces = sq_purge_traces,
};
