/* include/mailvet/store.h — the record store (DMARC records, submission traces): one interface, SQLite and PostgreSQL behind it. */
#ifndef MAILVET_STORE_H
#define MAILVET_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <mailvet/status.h>

/* ---- What one DMARC record row holds (RFC 9990 "record") ------------------ */

#define MV_REPORT_DKIM_MAX 8     /* DKIM results kept per message */
#define MV_REPORT_DOMAIN_MAX 256 /* a domain name and its NUL */
#define MV_REPORT_URI_MAX 1024   /* rua= or ruf= as published */
#define MV_REPORT_TEXT_MAX 256   /* comments, human results */

/* One DKIM signature's result (RFC 9990 "dkim" in auth_results). */
struct mv_report_dkim {
	char domain[MV_REPORT_DOMAIN_MAX];   /* d= */
	char selector[MV_REPORT_DOMAIN_MAX]; /* s= */
	char result[16]; /* none, pass, fail, policy, neutral, temperror, permerror */
};

/*
 * Everything an aggregate report's "record" element and its
 * "policy_published" need about one message (count = 1), or about one row
 * of a received report (count as the report says). Strings are
 * NUL-terminated, "" when absent; policy values are "none", "quarantine",
 * "reject" or "" (absent), alignment modes "r"/"s", testing "y"/"n", psd
 * "y"/"n"/"u". Fixed-size: a record copies by assignment and owns nothing.
 */
struct mv_report_record {
	int64_t time; /* when the message arrived (Unix seconds); received rows: begin */
	uint64_t count;
	char source_ip[64];
	char header_from[MV_REPORT_DOMAIN_MAX];
	char envelope_from[MV_REPORT_DOMAIN_MAX];
	char envelope_to[MV_REPORT_DOMAIN_MAX];
	/* policy_published */
	char policy_domain[MV_REPORT_DOMAIN_MAX]; /* where the DMARC record was found */
	char discovery[12];                       /* "treewalk" or "psl" */
	char p[12], sp[12], np[12];
	char adkim[2], aspf[2], testing[2], psd[2];
	char fo[32];
	char rua[MV_REPORT_URI_MAX], ruf[MV_REPORT_URI_MAX];
	/* policy_evaluated */
	char disposition[12]; /* none, pass, quarantine, reject */
	char dkim_aligned[8]; /* pass or fail */
	char spf_aligned[8];  /* pass or fail */
	char reason
	        [24]; /* local_policy, mailing_list, other, policy_test_mode, trusted_forwarder */
	char reason_comment[MV_REPORT_TEXT_MAX];
	/* auth_results */
	struct mv_report_dkim dkim[MV_REPORT_DKIM_MAX];
	size_t ndkim;
	char spf_domain[MV_REPORT_DOMAIN_MAX];
	char spf_scope[8]; /* "mfrom" or "" */
	char spf_result[16];
};

/* Copy src into a field of n bytes, cut at n-1 bytes, always terminated. */
void mv_report_field_set(char *dst, size_t n, const char *src);
#define MV_REPORT_SET(field, src) mv_report_field_set((field), sizeof(field), (src))

/* What a received report says about itself (RFC 9990 "report_metadata"). */
struct mv_report_meta {
	char org_name[MV_REPORT_TEXT_MAX];
	char email[MV_REPORT_TEXT_MAX];
	char report_id[MV_REPORT_TEXT_MAX];
	int64_t begin, end;
	int version; /* 1: RFC 7489 (no namespace), 2: RFC 9990 */
};

/* ---- The store ----------------------------------------------------------- */

struct mv_store; /* an open store; opaque */

#define MV_STORE_SCHEMA_VERSION 2 /* the schema this library writes (2: trace records) */

/*
 * Open the store `location` names: "sqlite:/path/to/file.db" (or a bare path,
 * read as SQLite), or a PostgreSQL database: a libpq connection URI
 * ("postgresql://user@host:port/db", "postgres://...") or "pg:" and a libpq
 * keyword string ("pg:host=/run/postgresql dbname=mailvet"). A SQLite file
 * that does not exist is created with the current schema (WAL mode); an
 * empty PostgreSQL database gets the schema (the database must exist). An existing store whose schema is older is
 * opened only when `migrate_ok` is 1 (mailvet report migrate); otherwise
 * MV_EUNSUPPORTED with err saying "run mailvet report migrate"; a newer
 * schema is always MV_EUNSUPPORTED. MV_EIO when the file cannot be opened,
 * MV_EINVAL for an unknown scheme. err (at most errlen-1 bytes) says why.
 * On MV_OK *out is closed with mv_store_close().
 */
enum mv_status mv_store_open(const char *location, int migrate_ok, struct mv_store **out, char *err,
                             size_t errlen);
void mv_store_close(struct mv_store *s); /* NULL is fine */

/*
 * location as it may be logged or printed: a password in it (a URI's
 * user:PASSWORD@, a "password=" parameter or keyword) shown as "***".
 * Written to out (at most n-1 bytes, always terminated). mv_store_open()'s
 * messages use it already.
 */
void mv_store_location_shown(const char *location, char *out, size_t n);

/* The last error of a store operation, "" when none. Borrowed until the next call. */
const char *mv_store_error(const struct mv_store *s);

/* The schema version the store holds (0: an empty database). */
enum mv_status mv_store_version(struct mv_store *s, int *version);
/* Apply the migrations the store lacks; *from and *to say which (equal: nothing to do). */
enum mv_status mv_store_migrate(struct mv_store *s, int *from, int *to);

/* A transaction around several writes; without one each write is its own. */
enum mv_status mv_store_begin(struct mv_store *s);
enum mv_status mv_store_commit(struct mv_store *s);
enum mv_status mv_store_rollback(struct mv_store *s);

/* Add the record of one message we evaluated (r->count is ignored: 1). */
enum mv_status mv_store_add_record(struct mv_store *s, const struct mv_report_record *r);

/*
 * Which rows a query reads:
 * - MV_STORE_RECORDED: our own records with time in [begin, end), grouped
 *   by (bucket, policy domain, every row field): count is the number of
 *   messages, time the start of the bucket (time - time % bucket; bucket
 *   0 = one bucket), the policy fields those of the newest message of
 *   the group. Ordered by bucket, policy domain.
 * - MV_STORE_RECEIVED: rows of imported reports whose begin is in
 *   [begin, end), as they came (meta given), ordered by policy domain.
 * domain, when not NULL, keeps the rows of that policy domain only.
 */
enum mv_store_source { MV_STORE_RECORDED, MV_STORE_RECEIVED };
struct mv_store_query {
	enum mv_store_source source;
	int64_t begin, end;
	int64_t bucket;     /* seconds, MV_STORE_RECORDED only */
	const char *domain; /* NULL: all */
};
/* Called once a row; meta is NULL for recorded rows. Nonzero stops the query (MV_OK). */
typedef int (*mv_store_row_fn)(void *arg, const struct mv_report_meta *meta,
                               const struct mv_report_record *r);
enum mv_status mv_store_query(struct mv_store *s, const struct mv_store_query *q,
                              mv_store_row_fn fn, void *arg);

/*
 * Mark report_id as sent to destination at time `when`, once: *already = 1
 * when it was marked before (and nothing changes), else 0.
 * mv_store_is_sent() only asks.
 */
enum mv_status mv_store_mark_sent(struct mv_store *s, const char *report_id,
                                  const char *destination, int64_t when, int *already);
enum mv_status mv_store_is_sent(struct mv_store *s, const char *report_id, const char *destination,
                                int *sent);

/*
 * Import one received report: its metadata and rows, in one transaction.
 * A report already imported (same org_name and report_id) is not imported
 * again: *duplicate = 1 and MV_OK.
 */
enum mv_status mv_store_add_received(struct mv_store *s, const struct mv_report_meta *m,
                                     const struct mv_report_record *rows, size_t nrows,
                                     int *duplicate);

/* ---- Submission trace records (RFC 5068 traceability) --------------------- */

/* One message accepted on the submission port: who sent it, from where, what we signed. */
struct mv_trace_record {
	int64_t time;      /* Unix seconds, when the message was accepted */
	char trace_id[64]; /* our id for the submission, also in our Received field */
	char login[256];   /* the authenticated identity */
	char client_ip[64];
	char message_id[MV_REPORT_URI_MAX]; /* Message-ID field body, "" when none */
	char envelope_from[MV_REPORT_URI_MAX];
	uint32_t rcpt_count;
	char dkim_domain[MV_REPORT_DOMAIN_MAX];   /* d= we signed with, "" when not signed */
	char dkim_selector[MV_REPORT_DOMAIN_MAX]; /* s= */
};

/*
 * Which trace records a search returns: every non-NULL/non-zero member must
 * match. message_id matches exactly and also with or without its angle
 * brackets ("a@b" finds "<a@b>" and the other way round).
 */
struct mv_trace_query {
	const char *message_id, *trace_id, *login;
	int64_t begin, end; /* time in [begin, end); end 0 = no upper bound */
	size_t limit;       /* 0 = no limit */
};

/* Called once a record, oldest first. Nonzero stops the search (MV_OK). */
typedef int (*mv_trace_fn)(void *arg, const struct mv_trace_record *t);

/*
 * Add one trace record. A record whose trace_id (not "") is in the store
 * already is not added twice (MV_OK): a replayed spool cannot double it.
 */
enum mv_status mv_store_add_trace(struct mv_store *s, const struct mv_trace_record *t);
enum mv_status mv_store_find_traces(struct mv_store *s, const struct mv_trace_query *q,
                                    mv_trace_fn fn, void *arg);
/* Delete the trace records older than `before`; *removed (may be NULL) says how many. */
enum mv_status mv_store_purge_traces(struct mv_store *s, int64_t before, uint64_t *removed);

#endif
