/*
 * lib/auth/senders.c — the sender login map (sender_login_map): which
 * addresses a login may use as envelope sender and in From/Sender
 * (spamops §3.1, Submission Authorization).
 */
#include <stdlib.h>
#include <string.h>

#include <mailvet/auth.h>
#include <mailvet/msg.h>
#include <mailvet/util.h>

#include "auth/auth_int.h"

#define SENDERS_FILE_MAX ((size_t)16 << 20)
#define SENDERS_LINE_MAX 8192

enum pat_kind { PAT_ANY, PAT_DOMAIN, PAT_EXACT };

struct rule {
	char *login;
	enum pat_kind kind;
	char *local;  /* PAT_EXACT */
	char *domain; /* PAT_DOMAIN, PAT_EXACT: lowercase A-label */
};

struct mv_auth_senders {
	struct rule *r; /* sorted by login */
	size_t n, cap;
};

void mv_auth_senders_free(struct mv_auth_senders *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++) {
		free(m->r[i].login);
		free(m->r[i].local);
		free(m->r[i].domain);
	}
	free(m->r);
	free(m);
}

static int rule_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rule *)a)->login, ((const struct rule *)b)->login);
}

/* Parse one pattern p[0..n) into r (login already set). NULL, or why not. */
static const char *parse_pattern(const char *p, size_t n, struct rule *r)
{
	char *uni = NULL;
	enum mv_status st;

	if (n == 1 && p[0] == '*') {
		r->kind = PAT_ANY;
		return NULL;
	}
	if (p[0] == '@') {
		r->kind = PAT_DOMAIN;
		st = mv_addr_domain_forms(p + 1, n - 1, &r->domain, &uni);
		free(uni);
		return st == MV_OK ? NULL : st == MV_ENOMEM ? "out of memory" : "bad domain";
	}
	r->kind = PAT_EXACT;
	if (memchr(p, '@', n) == NULL)
		return "a pattern is an address, @domain or *";
	st = mv_auth_addr_split(p, n, &r->local, &r->domain);
	return st == MV_OK ? NULL : st == MV_ENOMEM ? "out of memory" : "bad address";
}

static struct rule *new_rule(struct mv_auth_senders *m, const char *login, size_t llen)
{
	struct rule *nr;

	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		if ((nr = realloc(m->r, m->cap * sizeof *nr)) == NULL)
			return NULL;
		m->r = nr;
	}
	nr = &m->r[m->n];
	memset(nr, 0, sizeof *nr);
	if ((nr->login = mv_strndup(login, llen)) == NULL)
		return NULL;
	m->n++;
	return nr;
}

static int is_sep(char c)
{
	return c == ',' || mv_ascii_is_wsp(c);
}

/* One line "login pattern[, pattern...]" (comment and blank lines are skipped before). */
static const char *parse_line(struct mv_auth_senders *m, const char *p, size_t n)
{
	const char *end = p + n, *ls = p, *ps, *why;
	size_t llen, npat = 0;
	struct rule *r;
	int quoted;

	while (p < end && !mv_ascii_is_wsp(*p))
		p++;
	llen = (size_t)(p - ls);
	if (llen == 1 && ls[0] == '*')
		return "a '*' login (a default for everyone) is not allowed";
	if (!mv_auth_text_valid(ls, llen) || memchr(ls, ',', llen))
		return "login is not printable UTF-8";
	for (;;) {
		while (p < end && is_sep(*p))
			p++;
		if (p == end)
			break;
		for (ps = p, quoted = 0; p < end && (quoted || !is_sep(*p)); p++) {
			if (*p == '\\' && quoted && p + 1 < end)
				p++;
			else if (*p == '"')
				quoted =
				        !quoted; /* a quoted local part may hold spaces and commas */
		}
		if ((r = new_rule(m, ls, llen)) == NULL)
			return "out of memory";
		if ((why = parse_pattern(ps, (size_t)(p - ps), r)) != NULL)
			return why;
		npat++;
	}
	return npat ? NULL : "login without a pattern";
}

enum mv_status mv_auth_senders_parse(const char *text, size_t len, const char *name,
                                     struct mv_auth_senders **out, char *err, size_t errlen)
{
	struct mv_auth_senders *m = calloc(1, sizeof *m);
	const char *p = text, *end = text + len, *nl, *why;
	size_t lineno = 0, n;
	enum mv_status st = MV_ENOMEM;

	*out = NULL;
	if (m == NULL)
		goto out;
	st = MV_ETOOBIG;
	if (len > SENDERS_FILE_MAX) {
		mv_errf(err, errlen, "%s: larger than 16 MiB", name);
		goto out;
	}
	for (st = MV_ESYNTAX; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		n = (size_t)(nl - p);
		lineno++;
		if (n > SENDERS_LINE_MAX) {
			mv_errf(err, errlen, "%s:%zu: line longer than %d bytes", name, lineno,
			        SENDERS_LINE_MAX);
			goto out;
		}
		if (n && p[n - 1] == '\r')
			n--;
		while (n && mv_ascii_is_wsp(*p)) {
			p++;
			n--;
		}
		while (n && mv_ascii_is_wsp(p[n - 1]))
			n--;
		if (n == 0 || p[0] == '#')
			continue;
		if ((why = parse_line(m, p, n)) != NULL) {
			mv_errf(err, errlen, "%s:%zu: %s", name, lineno, why);
			goto out;
		}
	}
	if (m->n)
		qsort(m->r, m->n, sizeof m->r[0], rule_cmp);
	st = MV_OK;
out:
	if (st != MV_OK)
		mv_auth_senders_free(m);
	else
		*out = m;
	return st;
}

enum mv_status mv_auth_senders_load(const char *path, struct mv_auth_senders **out, char *err,
                                    size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	enum mv_status st;

	*out = NULL;
	st = mv_read_regular_file(path, SENDERS_FILE_MAX, &text, &len, NULL);
	if (st != MV_OK) {
		mv_errf(err, errlen, "%s: cannot read: %s", path, mv_status_str(st));
		return st;
	}
	st = mv_auth_senders_parse(text, len, path, out, err, errlen);
	free(text);
	return st;
}

/* Whether login may use local@domain (domain: lowercase A-label). */
static int match(const struct mv_auth_senders *m, const char *login, const char *local,
                 const char *domain)
{
	size_t lo = 0, hi = m->n, mid, i;
	const struct rule *r;

	while (lo < hi) { /* the first rule of login */
		mid = lo + (hi - lo) / 2;
		if (strcmp(m->r[mid].login, login) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < m->n && strcmp(m->r[i].login, login) == 0; i++) {
		r = &m->r[i];
		if (r->kind == PAT_ANY)
			return 1;
		if (strcmp(r->domain, domain) != 0)
			continue;
		if (r->kind == PAT_DOMAIN ||
		    mv_ascii_ieq_mem(r->local, strlen(r->local), local, strlen(local)))
			return 1;
	}
	return 0;
}

int mv_auth_senders_allowed(const struct mv_auth_senders *m, const char *login, const char *address)
{
	char *local = NULL, *domain = NULL;
	int ok = 0;

	if (m == NULL || login == NULL || address == NULL)
		return 0;
	if (mv_auth_addr_split(address, strlen(address), &local, &domain) == MV_OK)
		ok = match(m, login, local, domain);
	free(local);
	free(domain);
	return ok;
}

/* The first address of one field value that login may not use: *bad set, or left NULL. */
static enum mv_status check_value(const struct mv_auth_senders *m, const char *login, const char *v,
                                  size_t len, char **bad, char *err, size_t errlen)
{
	struct mv_addr_list *l = NULL;
	struct mv_buf b = MV_BUF_INIT;
	char perr[160];
	enum mv_status st;
	size_t i;

	if ((st = mv_addr_parse(v, len, &l, perr, sizeof perr)) != MV_OK) {
		mv_errf(err, errlen, "unreadable address field: %s", perr);
		return st == MV_ENOMEM ? st : MV_ESYNTAX;
	}
	if (l->count == 0) {
		mv_errf(err, errlen, "address field without a mailbox");
		st = MV_ESYNTAX;
	}
	for (i = 0; st == MV_OK && i < l->count; i++) {
		if (match(m, login, l->addr[i].local, l->addr[i].domain_ascii))
			continue;
		mv_buf_printf(&b, "%s@%s", l->addr[i].local, l->addr[i].domain);
		if ((st = mv_buf_status(&b)) == MV_OK)
			*bad = mv_buf_steal(&b, NULL);
		break;
	}
	mv_buf_free(&b);
	mv_addr_list_free(l);
	return st;
}

enum mv_status mv_auth_senders_check_header(const struct mv_auth_senders *m, const char *login,
                                            const char *const *values, const size_t *lens, size_t n,
                                            char **bad, char *err, size_t errlen)
{
	enum mv_status st = MV_OK;
	size_t i;

	*bad = NULL;
	for (i = 0; i < n && st == MV_OK && *bad == NULL; i++)
		st = check_value(m, login, values[i], lens[i], bad, err, errlen);
	return st;
}
