/* lib/msg/addr.c — RFC 5322 §3.4 address lists (with §4.4 obsolete forms) into mailboxes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/msg.h>

#include "msg/addr_priv.h"

/*
 * The grammar, over the tokens of addr_token.c (CFWS already dropped):
 *
 *   list      = *"," address *("," [address])        obs-addr-list: empty elements
 *   address   = group / mailbox
 *   group     = phrase ":" *"," [mailbox *("," [mailbox])] ";"
 *   mailbox   = [phrase] "<" [route ":"] addr-spec ">" / addr-spec
 *   route     = *"," "@" domain *("," ["@" domain])  obs-route, ignored
 *   phrase    = word *(word / ".")                   obs-phrase
 *   addr-spec = word *("." word) "@" domain          obs-local-part
 *   domain    = atom *("." atom) / domain-literal    obs-domain
 *
 * The parser looks at a phrase first and decides by the token after it:
 * ":" a group, "<" a name-addr, "@" an addr-spec (read again as a local part).
 */

struct parser {
	const struct mv_addr_toks *t;
	const char *value;
	size_t k; /* next token */
	struct mv_addr_list *list;
	size_t cap;
	char *err;
	size_t errlen;
};

/* Where the parser stands, for messages: the offset of the next token or the end. */
static size_t here(const struct parser *p)
{
	return p->k < p->t->count ? p->t->tok[p->k].pos : (size_t)-1;
}

static enum mv_status fail(struct parser *p, const char *why)
{
	size_t at = here(p);

	if (p->err && p->errlen) {
		if (at == (size_t)-1)
			snprintf(p->err, p->errlen, "%s at end of value", why);
		else
			snprintf(p->err, p->errlen, "%s at offset %zu", why, at);
	}
	return MV_ESYNTAX;
}

static const struct mv_addr_tok *peek(const struct parser *p)
{
	return p->k < p->t->count ? &p->t->tok[p->k] : NULL;
}

static int at_special(const struct parser *p, char ch)
{
	const struct mv_addr_tok *tok = peek(p);

	return tok && tok->type == MV_ADDR_TOK_SPECIAL && tok->ch == ch;
}

static int is_word(const struct mv_addr_tok *tok)
{
	return tok && (tok->type == MV_ADDR_TOK_ATOM || tok->type == MV_ADDR_TOK_QSTRING);
}

static const char *text(const struct parser *p, const struct mv_addr_tok *tok)
{
	return p->t->text + tok->off;
}

/* The end of the phrase starting at token k: words and (after the first word) dots. */
static size_t phrase_end(const struct parser *p, size_t k)
{
	const struct mv_addr_tok *tok = p->t->tok;
	size_t n = p->t->count, start = k;

	while (k < n && (is_word(&tok[k]) ||
	                 (k > start && tok[k].type == MV_ADDR_TOK_SPECIAL && tok[k].ch == '.')))
		k++;
	return k;
}

/* The display text of tokens [from, to): one SP where CFWS separated them. */
static char *phrase_text(const struct parser *p, size_t from, size_t to)
{
	struct mv_buf b = MV_BUF_INIT;
	size_t k;

	mv_buf_append(&b, "", 0);
	for (k = from; k < to; k++) {
		const struct mv_addr_tok *tok = &p->t->tok[k];
		if (k > from && tok->space_before)
			mv_buf_putc(&b, ' ');
		if (tok->type == MV_ADDR_TOK_SPECIAL)
			mv_buf_putc(&b, tok->ch);
		else
			mv_buf_append(&b, text(p, tok), tok->len);
	}
	return mv_buf_steal(&b, NULL);
}

/* local-part: word *("." word), quoted words decoded, into b. */
static enum mv_status local_part(struct parser *p, struct mv_buf *b)
{
	const struct mv_addr_tok *tok = peek(p);

	if (!is_word(tok))
		return fail(p, at_special(p, '@') ? "missing local part" : "expected an address");
	for (;;) {
		mv_buf_append(b, text(p, tok), tok->len);
		p->k++;
		if (!at_special(p, '.'))
			return MV_OK;
		p->k++;
		mv_buf_putc(b, '.');
		if (!is_word(tok = peek(p)))
			return fail(p, "empty word in local part");
	}
}

/* domain: atom *("." atom) or a domain literal, into b as written. */
static enum mv_status domain(struct parser *p, struct mv_buf *b, int *literal)
{
	const struct mv_addr_tok *tok = peek(p);

	*literal = 0;
	if (tok && tok->type == MV_ADDR_TOK_DLIT) {
		*literal = 1;
		mv_buf_append(b, text(p, tok), tok->len);
		p->k++;
		return MV_OK;
	}
	if (!tok || tok->type != MV_ADDR_TOK_ATOM)
		return fail(p, "missing domain");
	for (;;) {
		mv_buf_append(b, text(p, tok), tok->len);
		p->k++;
		if (!at_special(p, '.'))
			return MV_OK;
		p->k++;
		mv_buf_putc(b, '.');
		tok = peek(p);
		if (!tok || tok->type != MV_ADDR_TOK_ATOM)
			return fail(p, "empty label in domain");
	}
}

/* Append a mailbox to the list; takes display and group (either may be NULL). */
static enum mv_status add_mailbox(struct parser *p, struct mv_buf *local, struct mv_buf *dom,
                                  int literal, char **display, const char *group)
{
	struct mv_addr_list *l = p->list;
	struct mv_addr *a;
	enum mv_status st;

	if ((st = mv_buf_status(local)) != MV_OK || (st = mv_buf_status(dom)) != MV_OK)
		return st;
	if (l->count == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 4;
		if ((a = realloc(l->addr, cap * sizeof(*a))) == NULL)
			return MV_ENOMEM;
		l->addr = a;
		p->cap = cap;
	}
	a = &l->addr[l->count];
	memset(a, 0, sizeof(*a));
	mv_ascii_lower(dom->data, dom->len);
	if (literal) {
		a->domain_ascii = mv_strndup(dom->data, dom->len);
		a->domain_unicode = mv_strndup(dom->data, dom->len);
	} else if ((st = mv_addr_domain_forms(dom->data, dom->len, &a->domain_ascii,
	                                      &a->domain_unicode)) != MV_OK) {
		return st == MV_ESYNTAX ? fail(p, "invalid internationalized domain name") : st;
	}
	l->count++; /* from here mv_addr_list_free releases it */
	a->local = mv_buf_steal(local, NULL);
	a->domain = mv_buf_steal(dom, NULL);
	a->display = *display;
	*display = NULL;
	a->group = group ? strdup(group) : NULL;
	if (!a->local || !a->domain || !a->domain_ascii || !a->domain_unicode ||
	    (group && !a->group))
		return MV_ENOMEM;
	return MV_OK;
}

/* addr-spec at the current token, then the mailbox is added. */
static enum mv_status addr_spec(struct parser *p, char **display, const char *group)
{
	struct mv_buf local = MV_BUF_INIT, dom = MV_BUF_INIT;
	enum mv_status st;
	int literal = 0;

	mv_buf_append(&local, "", 0);
	if ((st = local_part(p, &local)) != MV_OK)
		goto out;
	if (!at_special(p, '@')) {
		st = fail(p, "missing '@' in address");
		goto out;
	}
	p->k++;
	if ((st = domain(p, &dom, &literal)) != MV_OK)
		goto out;
	st = add_mailbox(p, &local, &dom, literal, display, group);
out:
	mv_buf_free(&local);
	mv_buf_free(&dom);
	return st;
}

/* obs-route after "<": *("," / "@" domain) ":" — parsed, then ignored. */
static enum mv_status skip_route(struct parser *p)
{
	struct mv_buf dom = MV_BUF_INIT;
	enum mv_status st = MV_OK;
	int literal;

	while (at_special(p, ',') || at_special(p, '@')) {
		if (at_special(p, ',')) {
			p->k++;
			continue;
		}
		p->k++;
		mv_buf_reset(&dom);
		if ((st = domain(p, &dom, &literal)) != MV_OK)
			goto out;
	}
	if (!at_special(p, ':'))
		st = fail(p, "malformed route");
	else
		p->k++;
out:
	mv_buf_free(&dom);
	return st;
}

/* "<" [route ":"] addr-spec ">" at the current token ("<"). */
static enum mv_status angle_addr(struct parser *p, char **display, const char *group)
{
	enum mv_status st;

	p->k++;
	if (at_special(p, '@') || at_special(p, ','))
		if ((st = skip_route(p)) != MV_OK)
			return st;
	if (at_special(p, '>'))
		return fail(p, "empty address <>");
	if ((st = addr_spec(p, display, group)) != MV_OK)
		return st;
	if (!at_special(p, '>'))
		return fail(p, "missing '>'");
	p->k++;
	return MV_OK;
}

/* A mailbox at the current token: name-addr or addr-spec. */
static enum mv_status mailbox(struct parser *p, const char *group)
{
	size_t end = phrase_end(p, p->k);
	char *display = NULL;
	enum mv_status st;

	if (end < p->t->count && p->t->tok[end].type == MV_ADDR_TOK_SPECIAL &&
	    p->t->tok[end].ch == '<') {
		if (end > p->k && (display = phrase_text(p, p->k, end)) == NULL)
			return MV_ENOMEM;
		p->k = end;
		st = angle_addr(p, &display, group);
	} else {
		st = addr_spec(p, &display, group);
	}
	free(display);
	return st;
}

/* Does a group start at the current token (a phrase, then ":")? */
static int starts_group(const struct parser *p)
{
	size_t end = phrase_end(p, p->k);

	return end > p->k && end < p->t->count && p->t->tok[end].type == MV_ADDR_TOK_SPECIAL &&
	       p->t->tok[end].ch == ':';
}

/* group: phrase ":" [mailbox-list with empty elements] ";" — the phrase ends at k. */
static enum mv_status group(struct parser *p, size_t end)
{
	char *name = phrase_text(p, p->k, end);
	enum mv_status st = MV_OK;

	if (!name)
		return MV_ENOMEM;
	p->list->groups++;
	p->k = end + 1;
	for (;;) {
		while (at_special(p, ','))
			p->k++;
		if (!peek(p)) {
			st = fail(p, "unterminated group (no ';')");
			break;
		}
		if (at_special(p, ';')) {
			p->k++;
			break;
		}
		if (starts_group(p)) {
			st = fail(p, "group inside a group");
			break;
		}
		if ((st = mailbox(p, name)) != MV_OK)
			break;
		if (!at_special(p, ',') && !at_special(p, ';')) {
			st = fail(p, peek(p) ? "expected ',' or ';' in group"
			                     : "unterminated group (no ';')");
			break;
		}
	}
	free(name);
	return st;
}

static enum mv_status address(struct parser *p)
{
	if (starts_group(p))
		return group(p, phrase_end(p, p->k));
	return mailbox(p, NULL);
}

static enum mv_status address_list(struct parser *p)
{
	enum mv_status st;

	for (;;) {
		while (at_special(p, ','))
			p->k++;
		if (!peek(p))
			break;
		if ((st = address(p)) != MV_OK)
			return st;
		if (!peek(p))
			break;
		if (!at_special(p, ','))
			return fail(p, "expected ',' after address");
	}
	if (p->list->count == 0 && p->list->groups == 0)
		return fail(p, "no address");
	return MV_OK;
}

enum mv_status mv_addr_parse(const char *value, size_t len, struct mv_addr_list **out, char *err,
                             size_t errlen)
{
	struct mv_addr_toks toks;
	struct parser p;
	enum mv_status st;

	if (err && errlen)
		err[0] = '\0';
	if (!out || (!value && len))
		return MV_EINVAL;
	*out = NULL;
	memset(&toks, 0, sizeof(toks));
	memset(&p, 0, sizeof(p));
	if (len > MV_ADDR_MAX) {
		if (err && errlen)
			snprintf(err, errlen, "address field longer than %zu bytes", MV_ADDR_MAX);
		return MV_ETOOBIG;
	}
	if ((p.list = calloc(1, sizeof(*p.list))) == NULL)
		return MV_ENOMEM;
	if ((st = mv_addr_tokenize(value ? value : "", len, &toks, err, errlen)) != MV_OK)
		goto out;
	p.t = &toks;
	p.value = value;
	p.err = err;
	p.errlen = errlen;
	if ((st = address_list(&p)) != MV_OK)
		goto out;
	*out = p.list;
	p.list = NULL;
out:
	if (st == MV_ENOMEM && err && errlen)
		snprintf(err, errlen, "out of memory");
	mv_addr_toks_free(&toks);
	mv_addr_list_free(p.list);
	return st;
}

void mv_addr_list_free(struct mv_addr_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->count; i++) {
		struct mv_addr *a = &l->addr[i];
		free(a->display);
		free(a->local);
		free(a->domain);
		free(a->domain_ascii);
		free(a->domain_unicode);
		free(a->group);
	}
	free(l->addr);
	free(l);
}
