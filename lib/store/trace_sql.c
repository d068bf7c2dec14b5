/* lib/store/trace_sql.c — the trace record search, one text for SQLite and PostgreSQL. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

/* Add one parameter and write its marker. */
static void add(struct mv_buf *sql, enum mv_store_dialect d, struct mv_store_trace_params *p,
                const char *v, int num)
{
	p->v[p->n] = v;
	p->is_num[p->n] = num;
	p->n++;
	if (d == MV_STORE_SQLITE)
		mv_buf_printf(sql, "?%zu", p->n);
	else
		mv_buf_printf(sql, "$%zu%s", p->n, num ? "::bigint" : "");
}

/* A number parameter, kept as text in p->num[slot]. */
static void add_num(struct mv_buf *sql, enum mv_store_dialect d, struct mv_store_trace_params *p,
                    int slot, int64_t v)
{
	snprintf(p->num[slot], sizeof p->num[slot], "%" PRId64, v);
	add(sql, d, p, p->num[slot], 1);
}

/* "a@b" and "<a@b>" of a Message-ID as given with or without its brackets. */
static enum mv_status id_variants(const char *id, struct mv_store_trace_params *p)
{
	size_t len = strlen(id);
	const char *b = id;

	if (len >= 2 && id[0] == '<' && id[len - 1] == '>') {
		b = id + 1;
		len -= 2;
	}
	p->bare = malloc(len + 1);
	p->bracketed = malloc(len + 3);
	if (!p->bare || !p->bracketed)
		return MV_ENOMEM;
	memcpy(p->bare, b, len);
	p->bare[len] = '\0';
	p->bracketed[0] = '<';
	memcpy(p->bracketed + 1, b, len);
	p->bracketed[len + 1] = '>';
	p->bracketed[len + 2] = '\0';
	return MV_OK;
}

enum mv_status mv_store_trace_sql(const struct mv_trace_query *q, enum mv_store_dialect d,
                                  struct mv_buf *sql, struct mv_store_trace_params *p)
{
	enum mv_status st;

	memset(p, 0, sizeof *p);
	mv_buf_puts(sql, "SELECT " MV_STORE_TRACE_COLUMNS " FROM trace_record WHERE time >= ");
	add_num(sql, d, p, 0, q->begin);
	if (q->end != 0) {
		mv_buf_puts(sql, " AND time < ");
		add_num(sql, d, p, 1, q->end);
	}
	if (q->message_id) {
		if ((st = id_variants(q->message_id, p)) != MV_OK)
			return st;
		mv_buf_puts(sql, " AND message_id IN (");
		add(sql, d, p, q->message_id, 0);
		mv_buf_puts(sql, ", ");
		add(sql, d, p, p->bare, 0);
		mv_buf_puts(sql, ", ");
		add(sql, d, p, p->bracketed, 0);
		mv_buf_puts(sql, ")");
	}
	if (q->trace_id) {
		mv_buf_puts(sql, " AND trace_id = ");
		add(sql, d, p, q->trace_id, 0);
	}
	if (q->login) {
		mv_buf_puts(sql, " AND login = ");
		add(sql, d, p, q->login, 0);
	}
	mv_buf_puts(sql, " ORDER BY time, id");
	if (q->limit) {
		mv_buf_puts(sql, " LIMIT ");
		add_num(sql, d, p, 2, q->limit > INT64_MAX ? INT64_MAX : (int64_t)q->limit);
	}
	return mv_buf_status(sql);
}

void mv_store_trace_params_free(struct mv_store_trace_params *p)
{
	free(p->bare);
	free(p->bracketed);
	p->bare = p->bracketed = NULL;
}
