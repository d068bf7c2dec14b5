/* lib/store/store.c — open a store by its location, and the calls every back end answers. */
#include <string.h>

#include <mailvet/util.h>

#include "store/store_int.h"

static const struct mv_store_ops *const backends[] = {&mv_store_sqlite_ops, &mv_store_pg_ops};

/*
 * The back end a location names and the rest of it: "sqlite:/x" or a bare
 * path; "pg:KEYWORDS"; a libpq URI, which PostgreSQL gets whole.
 */
static const struct mv_store_ops *backend(const char *location, const char **rest)
{
	size_t i, n;
	const char *colon = strchr(location, ':'), *slash = strchr(location, '/');

	*rest = location;
	if (strncmp(location, "postgresql://", 13) == 0 ||
	    strncmp(location, "postgres://", 11) == 0)
		return &mv_store_pg_ops;
	if (colon == NULL || colon == location || (slash && slash < colon))
		return &mv_store_sqlite_ops; /* a bare path */
	n = (size_t)(colon - location);
	for (i = 0; i < sizeof backends / sizeof backends[0]; i++)
		if (strlen(backends[i]->scheme) == n &&
		    memcmp(backends[i]->scheme, location, n) == 0) {
			*rest = colon + 1;
			return backends[i];
		}
	return NULL;
}

/* Append src[0..len) to out at *k, within n. */
static void put(char *out, size_t n, size_t *k, const char *src, size_t len)
{
	while (len-- > 0 && *k + 1 < n)
		out[(*k)++] = *src++;
}

/* The end of a "password=" value at p: a quoted '...' or up to a blank or '&'. */
static const char *value_end(const char *p)
{
	if (*p == '\'') {
		for (p++; *p && *p != '\''; p++)
			if (*p == '\\' && p[1])
				p++;
		return *p ? p + 1 : p;
	}
	return p + strcspn(p, " \t\n&");
}

void mv_store_location_shown(const char *location, char *out, size_t n)
{
	const char *p = location, *auth_end = NULL, *at = NULL, *colon;
	const char *scheme_end = strstr(location, "://");
	size_t k = 0;

	if (n == 0)
		return;
	if (scheme_end && memchr(location, '/', (size_t)(scheme_end - location)) == NULL) {
		p = scheme_end + 3; /* any URI: its userinfo is user[:password] */
		auth_end = p + strcspn(p, "/?");
		for (const char *x = p; x < auth_end; x++)
			if (*x == '@')
				at = x;
		colon = at ? memchr(p, ':', (size_t)(at - p)) : NULL;
		if (colon) { /* user:PASSWORD@host */
			put(out, n, &k, location, (size_t)(colon + 1 - location));
			put(out, n, &k, "***", 3);
			p = at;
		} else {
			p = location;
		}
	}
	while (*p) {
		const char *hit = strstr(p, "password");
		const char *v;

		if (!hit) {
			put(out, n, &k, p, strlen(p));
			break;
		}
		v = hit + 8;
		v += strspn(v, " \t");
		if (*v != '=') {
			put(out, n, &k, p, (size_t)(v - p));
			p = v;
			continue;
		}
		v++;
		v += strspn(v, " \t");
		put(out, n, &k, p, (size_t)(v - p));
		put(out, n, &k, "***", 3);
		p = value_end(v);
	}
	out[k] = '\0';
}

enum mv_status mv_store_open(const char *location, int migrate_ok, struct mv_store **out, char *err,
                             size_t errlen)
{
	const struct mv_store_ops *ops;
	struct mv_store *s = NULL;
	const char *path;
	char shown[512];
	enum mv_status st;
	int version = 0;

	*out = NULL;
	mv_store_location_shown(location, shown, sizeof shown);
	if ((ops = backend(location, &path)) == NULL) {
		mv_errf(err, errlen,
		        "%s: unknown store type (sqlite:PATH, postgresql://..., pg:KEYWORDS)",
		        shown);
		return MV_EINVAL;
	}
	if ((st = ops->open(path, &s, err, errlen)) != MV_OK)
		return st;
	if ((st = ops->version(s, &version)) != MV_OK) {
		mv_errf(err, errlen, "%s: %s", shown, s->err);
		goto out;
	}
	if (version == 0) { /* created on first use */
		st = ops->migrate(s, 0);
	} else if (version > MV_STORE_SCHEMA_VERSION) {
		mv_errf(err, errlen, "%s: schema version %d is newer than this mailvet's (%d)",
		        shown, version, MV_STORE_SCHEMA_VERSION);
		st = MV_EUNSUPPORTED;
	} else if (version < MV_STORE_SCHEMA_VERSION && !migrate_ok) {
		mv_errf(err, errlen,
		        "%s: schema version %d, this mailvet needs %d: run mailvet "
		        "report migrate",
		        shown, version, MV_STORE_SCHEMA_VERSION);
		st = MV_EUNSUPPORTED;
	}
	if (st != MV_OK && version == 0)
		mv_errf(err, errlen, "%s: creating the schema: %s", shown, s->err);
out:
	if (st != MV_OK)
		ops->close(s);
	else
		*out = s;
	return st;
}

void mv_store_close(struct mv_store *s)
{
	if (s)
		s->ops->close(s);
}

const char *mv_store_error(const struct mv_store *s)
{
	return s->err;
}

enum mv_status mv_store_version(struct mv_store *s, int *version)
{
	s->err[0] = '\0';
	return s->ops->version(s, version);
}

enum mv_status mv_store_migrate(struct mv_store *s, int *from, int *to)
{
	enum mv_status st;

	s->err[0] = '\0';
	if ((st = s->ops->version(s, from)) != MV_OK)
		return st;
	*to = *from;
	if (*from > MV_STORE_SCHEMA_VERSION) {
		mv_errf(s->err, sizeof s->err, "schema version %d is newer than this mailvet's",
		        *from);
		return MV_EUNSUPPORTED;
	}
	if (*from == MV_STORE_SCHEMA_VERSION)
		return MV_OK;
	if ((st = s->ops->migrate(s, *from)) == MV_OK)
		*to = MV_STORE_SCHEMA_VERSION;
	return st;
}

enum mv_status mv_store_begin(struct mv_store *s)
{
	s->err[0] = '\0';
	return s->ops->begin(s);
}

enum mv_status mv_store_commit(struct mv_store *s)
{
	s->err[0] = '\0';
	return s->ops->commit(s);
}

enum mv_status mv_store_rollback(struct mv_store *s)
{
	return s->ops->rollback(s);
}

enum mv_status mv_store_add_record(struct mv_store *s, const struct mv_report_record *r)
{
	s->err[0] = '\0';
	return s->ops->add_record(s, r);
}

enum mv_status mv_store_query(struct mv_store *s, const struct mv_store_query *q,
                              mv_store_row_fn fn, void *arg)
{
	s->err[0] = '\0';
	if (q->end < q->begin) {
		mv_errf(s->err, sizeof s->err, "query: end before begin");
		return MV_EINVAL;
	}
	return s->ops->query(s, q, fn, arg);
}

enum mv_status mv_store_mark_sent(struct mv_store *s, const char *report_id,
                                  const char *destination, int64_t when, int *already)
{
	s->err[0] = '\0';
	return s->ops->mark_sent(s, report_id, destination, when, already);
}

enum mv_status mv_store_is_sent(struct mv_store *s, const char *report_id, const char *destination,
                                int *sent)
{
	s->err[0] = '\0';
	return s->ops->is_sent(s, report_id, destination, sent);
}

enum mv_status mv_store_add_received(struct mv_store *s, const struct mv_report_meta *m,
                                     const struct mv_report_record *rows, size_t nrows,
                                     int *duplicate)
{
	struct mv_report_record none;
	enum mv_status st;
	int64_t id = 0;
	size_t i;

	s->err[0] = '\0';
	*duplicate = 0;
	if (nrows == 0)
		memset(&none, 0, sizeof none);
	if ((st = s->ops->begin(s)) != MV_OK)
		return st;
	st = s->ops->add_received_report(s, m, nrows ? &rows[0] : &none, &id, duplicate);
	for (i = 0; st == MV_OK && !*duplicate && i < nrows; i++)
		st = s->ops->add_received_row(s, id, &rows[i]);
	if (st == MV_OK)
		st = s->ops->commit(s);
	else
		s->ops->rollback(s);
	return st;
}

enum mv_status mv_store_add_trace(struct mv_store *s, const struct mv_trace_record *t)
{
	s->err[0] = '\0';
	return s->ops->add_trace(s, t);
}

enum mv_status mv_store_find_traces(struct mv_store *s, const struct mv_trace_query *q,
                                    mv_trace_fn fn, void *arg)
{
	s->err[0] = '\0';
	if (q->end != 0 && q->end < q->begin) {
		mv_errf(s->err, sizeof s->err, "trace search: end before begin");
		return MV_EINVAL;
	}
	return s->ops->find_traces(s, q, fn, arg);
}

enum mv_status mv_store_purge_traces(struct mv_store *s, int64_t before, uint64_t *removed)
{
	uint64_t n = 0;
	enum mv_status st;

	s->err[0] = '\0';
	st = s->ops->purge_traces(s, before, &n);
	if (removed)
		*removed = n;
	return st;
}
