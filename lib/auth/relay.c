/*
 * lib/auth/relay.c — is a RCPT TO path one of our own addresses? (spamops
 * §3.2 and §4.1: no open relay.) Anything another MTA might route
 * differently from us — '%' hacks, source routes, bang paths, a second '@',
 * a quoted local part hiding one, an address literal — is never local.
 */
#include <stdlib.h>
#include <string.h>

#include <mailvet/auth.h>
#include <mailvet/msg.h>
#include <mailvet/util.h>

#define RCPT_PATH_MAX 512 /* RFC 5321 §4.5.3.1.3: 256 for the path; leave room for brackets */

static enum mv_auth_rcpt bad(const char **reason, const char *why)
{
	if (reason)
		*reason = why;
	return MV_AUTH_RCPT_BAD;
}

/* The end of the quoted local part starting at p ('"'), or NULL when unterminated. */
static const char *quoted_end(const char *p, const char *end, int *routing)
{
	for (p++; p < end; p++) {
		if (*p == '\\' && p + 1 < end)
			p++;
		else if (*p == '"')
			return p + 1;
		if (*p == '@' || *p == '%' || *p == '!')
			*routing = 1;
	}
	return NULL;
}

/* Whether [p, end) holds only atext (RFC 5322 §3.2.3), '.' and UTF-8 bytes (RFC 6531). */
static int dot_atom_bytes(const char *p, const char *end)
{
	for (; p < end; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || (unsigned char)*p >= 0x80 ||
		      (*p != '\0' && strchr(".!#$%&'*+-/=?^_`{|}~", *p))))
			return 0;
	return 1;
}

/* Whether [p, end) holds a space or an angle bracket (outside quotes they end a path). */
static int has_space_or_bracket(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p == ' ' || *p == '<' || *p == '>')
			return 1;
	return 0;
}

/* Whether domain[0..n) (A-label after conversion) is one of ours. */
static int ours(const char *domain, size_t n, const char *const *domains, size_t nd)
{
	char *ascii = NULL, *uni = NULL;
	size_t i, al;
	int found = 0;

	if (n && domain[n - 1] == '.')
		n--; /* a root dot names the same domain */
	if (mv_addr_domain_forms(domain, n, &ascii, &uni) != MV_OK)
		goto out;
	al = strlen(ascii);
	for (i = 0; i < nd && !found; i++)
		found = domains[i] && mv_ascii_ieq_mem(ascii, al, domains[i], strlen(domains[i]));
out:
	free(ascii);
	free(uni);
	return found;
}

enum mv_auth_rcpt mv_auth_rcpt_classify(const char *path, size_t len, const char *const *domains,
                                        size_t ndomains, const char **reason)
{
	const char *p = path, *end = path + len, *at, *lend;
	int routing = 0;
	size_t i;

	if (reason)
		*reason = "local address";
	if (len > RCPT_PATH_MAX)
		return bad(reason, "path too long");
	if (len >= 2 && p[0] == '<' && end[-1] == '>') {
		p++;
		end--;
	}
	for (i = 0; i < (size_t)(end - p); i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return bad(reason, "control byte in path");
	if (p == end)
		return bad(reason, "empty path");
	if (p[0] == '@')
		return bad(reason, "source route");
	if (mv_ascii_ieq(p, (size_t)(end - p), "postmaster"))
		return MV_AUTH_RCPT_LOCAL; /* RFC 5321 §4.1.1.3: always ours */
	if (p[0] == '"') {
		if ((lend = quoted_end(p, end, &routing)) == NULL)
			return bad(reason, "unterminated quoted local part");
		if (routing)
			return bad(reason, "quoted local part holds a routing character");
	} else {
		if ((lend = memchr(p, '@', (size_t)(end - p))) == NULL)
			return bad(reason, "no domain");
		if (memchr(p, '%', (size_t)(lend - p)))
			return bad(reason, "'%' routing in local part");
		if (memchr(p, '!', (size_t)(lend - p)))
			return bad(reason, "bang path in local part");
		if (memchr(p, '"', (size_t)(lend - p)))
			return bad(reason, "stray quote in local part");
		if (!dot_atom_bytes(p, lend))
			return bad(reason, "invalid character in local part");
	}
	if (lend == p || lend >= end || *lend != '@')
		return bad(reason, lend == p ? "empty local part" : "no domain");
	at = lend + 1;
	if (at == end)
		return bad(reason, "empty domain");
	if (memchr(at, '@', (size_t)(end - at)))
		return bad(reason, "more than one '@'");
	if (at[0] == '[')
		return bad(reason, "address literal");
	if (has_space_or_bracket(at, end))
		return bad(reason, "space or bracket in domain");
	if (ours(at, (size_t)(end - at), domains, ndomains))
		return MV_AUTH_RCPT_LOCAL;
	if (mv_addr_domain_valid(at, (size_t)(end - at), 1) != MV_OK)
		return bad(reason, "malformed domain");
	if (reason)
		*reason = "not a local domain";
	return MV_AUTH_RCPT_REMOTE;
}
