/*
 * lib/dmarc/psl.c — the Public Suffix List through libpsl, for the RFC 7489 mode (§3.2).
 *
 * The list is Debian's publicsuffix data file when it is installed (kept
 * current by the package), else libpsl's built-in copy.
 */
#include <libpsl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mailvet/dmarc.h>

#define SYSTEM_PSL "/usr/share/publicsuffix/public_suffix_list.dat"

struct mv_dmarc_psl {
	psl_ctx_t *ctx;
	int owned; /* 0 for libpsl's static built-in list, never freed */
};

void mv_dmarc_psl_free(struct mv_dmarc_psl *psl)
{
	if (psl == NULL)
		return;
	if (psl->ctx && psl->owned)
		psl_free(psl->ctx);
	free(psl);
}

enum mv_status mv_dmarc_psl_open(const char *path, struct mv_dmarc_psl **out)
{
	struct mv_dmarc_psl *psl;

	*out = NULL;
	if ((psl = calloc(1, sizeof *psl)) == NULL)
		return MV_ENOMEM;
	if (path == NULL && access(SYSTEM_PSL, R_OK) == 0)
		path = SYSTEM_PSL;
	if (path) {
		psl->ctx = psl_load_file(path);
		psl->owned = 1;
	} else {
		psl->ctx = (psl_ctx_t *)psl_builtin();
	}
	if (psl->ctx == NULL) {
		mv_dmarc_psl_free(psl);
		return path ? MV_EIO : MV_EUNSUPPORTED;
	}
	*out = psl;
	return MV_OK;
}

char *mv_dmarc_psl_org(const struct mv_dmarc_psl *psl, const char *domain)
{
	const char *reg;
	char *lower, *res = NULL;
	size_t n = strlen(domain);

	if (n == 0 || domain[0] == '.')
		return NULL;
	if ((lower = mv_strndup(domain, n)) == NULL)
		return NULL;
	mv_ascii_lower(lower, n);
	if (lower[n - 1] == '.')
		lower[--n] = '\0';
	reg = psl_registrable_domain(psl->ctx, lower);
	if (reg)
		res = strdup(reg);
	free(lower);
	return res;
}
