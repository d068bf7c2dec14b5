/* lib/store/store_int.h — what a store back end implements, and what the back ends share. */
#ifndef MAILVET_STORE_INT_H
#define MAILVET_STORE_INT_H

#include <mailvet/store.h>
#include <mailvet/util.h>

/*
 * A back end: a table of functions (OpenSMTPD's model). Every function
 * returns a status and, on failure, leaves the reason in s->err. Strings are
 * borrowed for the call.
 */
struct mv_store_ops {
	const char *scheme; /* "sqlite" */
	enum mv_status (*open)(const char *path, struct mv_store **out, char *err, size_t errlen);
	void (*close)(struct mv_store *s);
	enum mv_status (*version)(struct mv_store *s, int *version);
	/* Apply the migrations after version `from` up to MV_STORE_SCHEMA_VERSION, in one transaction. */
	enum mv_status (*migrate)(struct mv_store *s, int from);
	enum mv_status (*begin)(struct mv_store *s);
	enum mv_status (*commit)(struct mv_store *s);
	enum mv_status (*rollback)(struct mv_store *s);
	enum mv_status (*add_record)(struct mv_store *s, const struct mv_report_record *r);
	enum mv_status (*query)(struct mv_store *s, const struct mv_store_query *q,
	                        mv_store_row_fn fn, void *arg);
	enum mv_status (*mark_sent)(struct mv_store *s, const char *report_id, const char *dest,
	                            int64_t when, int *already);
	enum mv_status (*is_sent)(struct mv_store *s, const char *report_id, const char *dest,
	                          int *sent);
	/* The report's row in received_report: *id, or *duplicate = 1 when it is there already. */
	enum mv_status (*add_received_report)(struct mv_store *s, const struct mv_report_meta *m,
	                                      const struct mv_report_record *policy, int64_t *id,
	                                      int *duplicate);
	enum mv_status (*add_received_row)(struct mv_store *s, int64_t id,
	                                   const struct mv_report_record *r);
	enum mv_status (*add_trace)(struct mv_store *s, const struct mv_trace_record *t);
	enum mv_status (*find_traces)(struct mv_store *s, const struct mv_trace_query *q,
	                              mv_trace_fn fn, void *arg);
	enum mv_status (*purge_traces)(struct mv_store *s, int64_t before, uint64_t *removed);
};

/* The part every back end's store starts with. */
struct mv_store {
	const struct mv_store_ops *ops;
	char err[256];
};

extern const struct mv_store_ops mv_store_sqlite_ops; /* lib/store/sqlite.c */
extern const struct mv_store_ops mv_store_pg_ops;     /* lib/store/postgres.c */

/*
 * The text columns of a record (lib/store/columns.c), in one table so that
 * every back end writes and reads the same fields: name, where the field
 * is in struct mv_report_record, its size. `policy` marks the
 * policy_published fields (kept once per received report).
 */
struct mv_store_col {
	const char *name;
	size_t off, size;
	int policy;
};
const struct mv_store_col *mv_store_cols(size_t *n);

/* The field of r a column names. */
static inline char *mv_store_col_ptr(struct mv_report_record *r, const struct mv_store_col *c)
{
	return (char *)r + c->off;
}
static inline const char *mv_store_col_cptr(const struct mv_report_record *r,
                                            const struct mv_store_col *c)
{
	return (const char *)r + c->off;
}

/*
 * The DKIM results of a record as one column: "d/s/result" items separated
 * by spaces, every byte outside [A-Za-z0-9._-] of d and s as %XX. Format
 * appends to out (sticky errors); parse fills r->dkim and r->ndkim (items
 * past MV_REPORT_DKIM_MAX and malformed ones are dropped).
 */
void mv_store_dkim_format(const struct mv_report_record *r, struct mv_buf *out);
void mv_store_dkim_parse(const char *text, struct mv_report_record *r);

/* Migration `version` of a back end's list (version 1 first); NULL outside it. */
static inline const char *mv_store_migration_at(const char *const *list, size_t n, int version)
{
	return version < 1 || (size_t)version > n ? NULL : list[version - 1];
}

/*
 * The SQL both back ends share, with their own parameter markers: "?N"
 * (SQLite) or "$N" ("$N::bigint" for a number; PostgreSQL). Only names and
 * markers are written into the text, never data.
 */
enum mv_store_dialect { MV_STORE_SQLITE, MV_STORE_PG };

/*
 * The grouped query (lib/store/query_sql.c). Parameters: 1 begin, 2 end,
 * then for MV_STORE_RECORDED 3 bucket, 4 domain, for MV_STORE_RECEIVED
 * 3 domain (domain only when q->domain). Result columns: time, count,
 * the columns of mv_store_cols(), dkim, then for MV_STORE_RECEIVED
 * org_name, email, report_id, period_end, version.
 */
void mv_store_query_sql(const struct mv_store_query *q, enum mv_store_dialect d,
                        struct mv_buf *sql);

/*
 * A trace search (lib/store/trace_sql.c): the SQL and its text parameters in
 * order (at most MV_STORE_TRACE_PARAMS; numbers as decimal text in the
 * caller's buffers `num`). Result columns: see MV_STORE_TRACE_COLUMNS.
 */
#define MV_STORE_TRACE_PARAMS 8
#define MV_STORE_TRACE_COLUMNS                                                                     \
	"time, trace_id, login, client_ip, message_id, envelope_from, rcpt_count, dkim_domain, "   \
	"dkim_selector"
struct mv_store_trace_params {
	const char *v[MV_STORE_TRACE_PARAMS];
	int is_num[MV_STORE_TRACE_PARAMS];
	size_t n;
	char num[3][24];
	char *bare, *bracketed; /* message_id variants, owned */
};
enum mv_status mv_store_trace_sql(const struct mv_trace_query *q, enum mv_store_dialect d,
                                  struct mv_buf *sql, struct mv_store_trace_params *p);
void mv_store_trace_params_free(struct mv_store_trace_params *p);

#endif
