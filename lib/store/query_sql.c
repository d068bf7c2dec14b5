/* lib/store/query_sql.c — the grouped record query, one text for SQLite and PostgreSQL. */
#include "store/store_int.h"

/* Parameter n: "?n" for SQLite, "$n" (cast to bigint when a number) for PostgreSQL. */
static void param(struct mv_buf *sql, enum mv_store_dialect d, int n, int num)
{
	if (d == MV_STORE_SQLITE)
		mv_buf_printf(sql, "?%d", n);
	else
		mv_buf_printf(sql, "$%d%s", n, num ? "::bigint" : "");
}

/* Our own records grouped by bucket and row; policy columns from the newest of the group. */
static void recorded_sql(const struct mv_store_query *q, enum mv_store_dialect d,
                         struct mv_buf *sql)
{
	const struct mv_store_col *c;
	size_t n, i;

	c = mv_store_cols(&n);
	mv_buf_puts(sql, "SELECT g.b, g.n");
	for (i = 0; i < n; i++)
		mv_buf_printf(sql, ", %s.%s", c[i].policy ? "r" : "g", c[i].name);
	mv_buf_puts(sql, ", g.dkim FROM (SELECT ");
	param(sql, d, 1, 1);
	mv_buf_puts(sql, " + ((time - ");
	param(sql, d, 1, 1);
	mv_buf_puts(sql, ") / ");
	param(sql, d, 3, 1);
	mv_buf_puts(sql, ") * ");
	param(sql, d, 3, 1);
	mv_buf_puts(sql, " AS b, count(*) AS n, max(id) AS maxid, policy_domain, dkim");
	for (i = 0; i < n; i++)
		if (!c[i].policy)
			mv_buf_printf(sql, ", %s", c[i].name);
	mv_buf_puts(sql, " FROM dmarc_record WHERE time >= ");
	param(sql, d, 1, 1);
	mv_buf_puts(sql, " AND time < ");
	param(sql, d, 2, 1);
	if (q->domain) {
		mv_buf_puts(sql, " AND policy_domain = ");
		param(sql, d, 4, 0);
	}
	mv_buf_puts(sql, " GROUP BY b, policy_domain, dkim");
	for (i = 0; i < n; i++)
		if (!c[i].policy)
			mv_buf_printf(sql, ", %s", c[i].name);
	mv_buf_puts(sql, ") g JOIN dmarc_record r ON r.id = g.maxid"
	                 " ORDER BY g.b, g.policy_domain, g.maxid");
}

void mv_store_query_sql(const struct mv_store_query *q, enum mv_store_dialect d, struct mv_buf *sql)
{
	const struct mv_store_col *c;
	size_t n, i;

	if (q->source == MV_STORE_RECORDED) {
		recorded_sql(q, d, sql);
		return;
	}
	c = mv_store_cols(&n);
	mv_buf_puts(sql, "SELECT rr.period_begin, w.count");
	for (i = 0; i < n; i++)
		mv_buf_printf(sql, ", %s.%s", c[i].policy ? "rr" : "w", c[i].name);
	mv_buf_puts(sql, ", w.dkim, rr.org_name, rr.email, rr.report_id, rr.period_end,"
	                 " rr.version FROM received_row w JOIN received_report rr"
	                 " ON rr.id = w.report WHERE rr.period_begin >= ");
	param(sql, d, 1, 1);
	mv_buf_puts(sql, " AND rr.period_begin < ");
	param(sql, d, 2, 1);
	if (q->domain) {
		mv_buf_puts(sql, " AND rr.policy_domain = ");
		param(sql, d, 3, 0); /* no bucket here: PostgreSQL wants every $N used */
	}
	/* SQLite's rowid and PostgreSQL's id are both the order rows came in */
	mv_buf_printf(sql, " ORDER BY rr.policy_domain, rr.id, w.%s",
	              d == MV_STORE_SQLITE ? "rowid" : "id");
}
