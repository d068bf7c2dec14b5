/* lib/auth/addr_split.c — an envelope address as (local part, A-label domain), for comparing. */
#include <stdlib.h>
#include <string.h>

#include <mailvet/msg.h>
#include <mailvet/util.h>

#include "auth/auth_int.h"

/* Unquote a quoted-string local part q[0..n) (quotes included) into a new string. */
static char *unquote(const char *q, size_t n)
{
	char *out = malloc(n), *w = out;
	size_t i;

	if (out == NULL)
		return NULL;
	for (i = 1; i + 1 < n; i++) {
		if (q[i] == '"')
			goto bad;
		if (q[i] == '\\') {
			if (++i + 1 >= n)
				goto bad;
		}
		*w++ = q[i];
	}
	*w = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

enum mv_status mv_auth_addr_split(const char *addr, size_t len, char **local, char **domain)
{
	const char *at;
	size_t i, llen;
	char *uni = NULL;
	enum mv_status st;

	*local = *domain = NULL;
	if (len >= 2 && addr[0] == '<' && addr[len - 1] == '>') {
		addr++;
		len -= 2;
	}
	for (i = 0; i < len; i++)
		if ((unsigned char)addr[i] < 0x20 || addr[i] == 0x7f)
			return MV_ESYNTAX;
	at = addr + len;
	while (at > addr && at[-1] != '@')
		at--;
	if (at == addr || at == addr + 1 || at == addr + len)
		return MV_ESYNTAX;
	llen = (size_t)(at - 1 - addr);
	if (addr[0] == '"') {
		if (llen < 2 || addr[llen - 1] != '"' || (*local = unquote(addr, llen)) == NULL)
			return MV_ESYNTAX;
	} else {
		if (memchr(addr, ' ', llen) || memchr(addr, '"', llen))
			return MV_ESYNTAX;
		if ((*local = mv_strndup(addr, llen)) == NULL)
			return MV_ENOMEM;
	}
	if (at[0] == '[') /* an address literal compares as written, lowercased */
		st = (*domain = mv_strndup(at, len - llen - 1)) ? MV_OK : MV_ENOMEM;
	else
		st = mv_addr_domain_forms(at, len - llen - 1, domain, &uni);
	free(uni);
	if (st == MV_OK)
		mv_ascii_lower(*domain, strlen(*domain));
	else {
		free(*local);
		*local = NULL;
		free(*domain);
		*domain = NULL;
	}
	return st;
}
