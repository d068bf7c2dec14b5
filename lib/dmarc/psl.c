/*
 * lib/dmarc/psl.c — the Public Suffix List through libpsl, for the RFC 7489 mode (§3.2).
 *
 * libpsl is loaded at run time (dlopen of Debian's libpsl5) so that the
 * default build, which walks the DNS tree (RFC 9989) and needs no list,
 * neither links nor requires it: without libpsl the RFC 7489 mode answers
 * MV_EUNSUPPORTED. The few entry points used are declared here with the
 * types of libpsl's public header (libpsl.h, 0.21).
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mailvet/dmarc.h>

#define SYSTEM_PSL "/usr/share/publicsuffix/public_suffix_list.dat"

typedef struct psl_ctx_st psl_ctx_t;

struct mv_dmarc_psl {
	void *lib;
	psl_ctx_t *ctx;
	void (*psl_free)(psl_ctx_t *);
	const char *(*registrable)(const psl_ctx_t *, const char *);
};

void mv_dmarc_psl_free(struct mv_dmarc_psl *psl)
{
	if (psl == NULL)
		return;
	if (psl->ctx && psl->psl_free)
		psl->psl_free(psl->ctx);
	if (psl->lib)
		dlclose(psl->lib);
	free(psl);
}

/* Look up a symbol as a function pointer (POSIX guarantees the conversion works). */
static void *sym(void *lib, const char *name)
{
	return dlsym(lib, name);
}

enum mv_status mv_dmarc_psl_open(const char *path, struct mv_dmarc_psl **out)
{
	struct mv_dmarc_psl *psl;
	psl_ctx_t *(*load_file)(const char *);
	psl_ctx_t *(*builtin)(void);
	enum mv_status st = MV_EUNSUPPORTED;

	*out = NULL;
	if ((psl = calloc(1, sizeof *psl)) == NULL)
		return MV_ENOMEM;
	if ((psl->lib = dlopen("libpsl.so.5", RTLD_NOW | RTLD_LOCAL)) == NULL)
		goto out;
	*(void **)&load_file = sym(psl->lib, "psl_load_file");
	*(void **)&builtin = sym(psl->lib, "psl_builtin");
	*(void **)&psl->psl_free = sym(psl->lib, "psl_free");
	*(void **)&psl->registrable = sym(psl->lib, "psl_registrable_domain");
	if (!load_file || !builtin || !psl->psl_free || !psl->registrable)
		goto out;
	if (path == NULL && access(SYSTEM_PSL, R_OK) == 0)
		path = SYSTEM_PSL;
	if (path) {
		psl->ctx = load_file(path);
		st = MV_EIO;
	} else {
		psl->ctx = (psl_ctx_t *)builtin(); /* static: never freed by psl_free */
		psl->psl_free = NULL;
	}
	if (psl->ctx)
		st = MV_OK;
out:
	if (st != MV_OK) {
		mv_dmarc_psl_free(psl);
		return st;
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
	reg = psl->registrable(psl->ctx, lower);
	if (reg)
		res = strdup(reg);
	free(lower);
	return res;
}
