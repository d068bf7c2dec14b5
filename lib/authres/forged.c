/* lib/authres/forged.c — RFC 8601 §5: which existing Authentication-Results fields to delete. */
#include <stdlib.h>
#include <string.h>

#include <idn2.h>

#include <mailvet/authres.h>

/*
 * The form two authserv-ids are compared in: ASCII lowercase, without one
 * trailing dot, U-labels turned into A-labels (so an A-label and its
 * U-label compare equal, as §5 asks for EAI fields). A name that is not a
 * valid IDNA domain (e.g. "example auth") is compared as lowercased text.
 * Returns a new string (free()), or NULL when memory runs out.
 */
static char *canonical(const char *id)
{
	size_t n = strlen(id);
	char *low, *out;
	uint8_t *a = NULL;

	if (n > 0 && id[n - 1] == '.')
		n--;
	if (!(low = mv_strndup(id, n)))
		return NULL;
	mv_ascii_lower(low, n);
	if (n == 0 || idn2_lookup_u8((const uint8_t *)low, &a,
	                             IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) != IDN2_OK)
		return low;
	out = mv_strndup((const char *)a, strlen((const char *)a));
	idn2_free(a);
	if (out) {
		mv_ascii_lower(out, strlen(out));
		free(low);
		return out;
	}
	return low;
}

/* 1 when name equals base or, with subdomains, ends in "." base. */
static int covers(const char *base, int subdomains, const char *name)
{
	size_t bl = strlen(base), nl = strlen(name);

	if (strcmp(base, name) == 0)
		return 1;
	return subdomains && bl > 0 && nl > bl + 1 && name[nl - bl - 1] == '.' &&
	       strcmp(name + nl - bl, base) == 0;
}

int mv_authres_servid_match(const struct mv_authres_policy *p, const char *id)
{
	char *name, *base;
	size_t i;
	int match = 0;

	if (!id || !(name = canonical(id)))
		return 0;
	for (i = 0; i < p->nids && !match; i++) {
		if (!p->ids[i].id || !(base = canonical(p->ids[i].id)))
			continue;
		match = covers(base, p->ids[i].subdomains, name);
		free(base);
	}
	free(name);
	return match;
}

enum mv_authres_verdict mv_authres_judge(const struct mv_authres_policy *p, const char *value,
                                         size_t len, int trusted, const char **why)
{
	enum mv_authres_verdict v = MV_AUTHRES_KEEP;
	const char *w;
	char *id = NULL;
	unsigned version = 0;

	if (mv_authres_peek(value, len, &id, &version) != MV_OK) {
		/* No memory to read it: deleting is the safe side. */
		v = MV_AUTHRES_DELETE;
		w = "out of memory while reading the field";
	} else if (version != 0 && version != 1 && (!trusted || !p->trust_versions)) {
		v = MV_AUTHRES_DELETE;
		w = "version not supported";
	} else if (trusted) {
		w = "from a trusted internal host";
	} else if (!id) {
		v = MV_AUTHRES_DELETE;
		w = "no authserv-id, from an untrusted host";
	} else if (mv_authres_servid_match(p, id)) {
		v = MV_AUTHRES_DELETE;
		w = "our authserv-id, from an untrusted host";
	} else if (p->delete_foreign) {
		v = MV_AUTHRES_DELETE;
		w = "another ADMD's field, from an untrusted host";
	} else {
		w = "another ADMD's field";
	}
	free(id);
	if (why)
		*why = w;
	return v;
}
