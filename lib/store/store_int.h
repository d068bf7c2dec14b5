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
};

/* The part every back end's store starts with. */
struct mv_store {
	const struct mv_store_ops *ops;
	char err[256];
};

extern const struct mv_store_ops mv_store_sqlite_ops; /* lib/store/sqlite.c */

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

#endif
