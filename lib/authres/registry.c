/* lib/authres/registry.c — the IANA Email Authentication Parameters registries and RFC 8601 §4.1. */
#include <string.h>

#include <mailvet/authres.h>

/*
 * The registries as of RFC 8601 §6 and the later registrations: RFC 8617
 * (arc), RFC 7489 and RFC 9989 (dmarc), RFC 6541 (dkim-atps), RFC 6212 (vbr),
 * RFC 7293 (rrvs), RFC 7281 (smime), RFC 8904 (dnswl); historic ones are
 * deprecated. Every method is registered with version 1.
 */
struct method {
	const char *name;
	enum mv_authres_reg status;
	const char *results; /* space-separated registered result names */
};

static const struct method methods[] = {
        {"arc", MV_AUTHRES_ACTIVE, "none pass fail"},
        {"auth", MV_AUTHRES_ACTIVE, "none pass fail temperror permerror"},
        {"dkim", MV_AUTHRES_ACTIVE, "none pass fail policy neutral temperror permerror"},
        {"dkim-adsp", MV_AUTHRES_DEPRECATED,
         "none pass unknown fail discard nxdomain temperror permerror"},
        {"dkim-atps", MV_AUTHRES_ACTIVE, "none pass fail temperror permerror"},
        {"dmarc", MV_AUTHRES_ACTIVE, "none pass fail temperror permerror"},
        {"dnswl", MV_AUTHRES_ACTIVE, "pass none temperror permerror"},
        {"domainkeys", MV_AUTHRES_DEPRECATED, "none pass fail policy neutral temperror permerror"},
        {"iprev", MV_AUTHRES_ACTIVE, "pass fail temperror permerror"},
        {"rrvs", MV_AUTHRES_ACTIVE, "none unknown temperror pass fail permerror"},
        {"sender-id", MV_AUTHRES_DEPRECATED,
         "none pass fail softfail neutral policy temperror permerror"},
        {"smime", MV_AUTHRES_ACTIVE, "none pass fail policy neutral temperror permerror"},
        {"spf", MV_AUTHRES_ACTIVE,
         "none pass fail softfail policy neutral temperror permerror hardfail"},
        {"vbr", MV_AUTHRES_ACTIVE, "none pass fail temperror permerror"},
};

/* "Email Authentication Methods": method ptype.property ("*" = any property). */
static const char *const properties[] = {
        "arc smtp.remote-ip",
        "arc header.oldest-pass",
        "auth smtp.auth",
        "auth smtp.mailfrom",
        "dkim header.d",
        "dkim header.i",
        "dkim header.b",
        "dkim header.a",
        "dkim header.s",
        "dkim-adsp header.from",
        "dkim-atps header.from",
        "dmarc header.from",
        "dmarc policy.dmarc",
        "dnswl dns.zone",
        "dnswl policy.ip",
        "dnswl policy.txt",
        "dnswl dns.sec",
        "domainkeys header.d",
        "domainkeys header.from",
        "domainkeys header.sender",
        "iprev policy.iprev",
        "rrvs smtp.rcptto",
        "sender-id header.*",
        "smime body.smime-part",
        "smime body.smime-identifier",
        "smime body.smime-serial",
        "smime body.smime-issuer",
        "spf smtp.mailfrom",
        "spf smtp.helo",
        "vbr header.md",
        "vbr header.mv",
};

/* "Email Authentication Property Types". */
static const char *const ptypes[] = {"body", "header", "policy", "smtp", "dns"};

static int ieq(const char *a, const char *b)
{
	return mv_ascii_ieq(a, strlen(a), b);
}

/* ASCII case-insensitive equality of a[0..an) and b[0..bn). */
static int ieq_n(const char *a, size_t an, const char *b, size_t bn)
{
	size_t i;

	if (an != bn)
		return 0;
	for (i = 0; i < an; i++) {
		char x = a[i], y = b[i];
		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return 0;
	}
	return 1;
}

static const struct method *find_method(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof methods / sizeof methods[0]; i++)
		if (ieq(name, methods[i].name))
			return &methods[i];
	return NULL;
}

/* 1 when word (case-insensitive) is one of the space-separated words of list. */
static int in_list(const char *list, const char *word)
{
	size_t n = strlen(word);

	while (*list) {
		size_t l = strcspn(list, " ");
		if (ieq_n(list, l, word, n))
			return 1;
		list += l;
		while (*list == ' ')
			list++;
	}
	return 0;
}

enum mv_authres_reg mv_authres_known_method(const char *method)
{
	const struct method *m = find_method(method);

	if (m)
		return m->status;
	if ((method[0] == 'x' || method[0] == 'X') && method[1] == '-' && method[2])
		return MV_AUTHRES_EXPERIMENTAL;
	return MV_AUTHRES_UNREGISTERED;
}

int mv_authres_known_result(const char *method, const char *result)
{
	const struct method *m = find_method(method);

	return m && *result && in_list(m->results, result);
}

int mv_authres_known_ptype(const char *ptype)
{
	size_t i;

	for (i = 0; i < sizeof ptypes / sizeof ptypes[0]; i++)
		if (ieq(ptype, ptypes[i]))
			return 1;
	return 0;
}

int mv_authres_known_property(const char *method, const char *ptype, const char *property)
{
	size_t i;

	for (i = 0; i < sizeof properties / sizeof properties[0]; i++) {
		const char *e = properties[i], *sp = strchr(e, ' '), *dot = strchr(sp, '.');
		if (!ieq_n(e, (size_t)(sp - e), method, strlen(method)) ||
		    !ieq_n(sp + 1, (size_t)(dot - sp - 1), ptype, strlen(ptype)))
			continue;
		if (strcmp(dot + 1, "*") == 0 || ieq(property, dot + 1))
			return 1;
	}
	return 0;
}

/* Is method among those the consumer supports? */
static int supported(const struct mv_authres_filter_opts *o, const char *method)
{
	size_t i;

	if (!o || !o->methods)
		return mv_authres_known_method(method) == MV_AUTHRES_ACTIVE;
	for (i = 0; i < o->nmethods; i++)
		if (ieq(method, o->methods[i]))
			return 1;
	return 0;
}

/* §4.1: may a consumer use this result at all? */
static int usable(const struct mv_authres_filter_opts *o, const struct mv_result *r)
{
	size_t i;

	if (mv_authres_known_method(r->method) == MV_AUTHRES_EXPERIMENTAL)
		return o && (o->experimental || (o->methods && supported(o, r->method)));
	if (!supported(o, r->method) || (r->version != 0 && r->version != 1) ||
	    !mv_authres_known_result(r->method, r->result))
		return 0;
	for (i = 0; i < r->nprops; i++)
		if (!mv_authres_known_ptype(r->props[i].ptype))
			return 0;
	return 1;
}

enum mv_status mv_authres_filter(struct mv_authres *ar, const struct mv_authres_filter_opts *o,
                                 size_t *dropped)
{
	size_t i = 0, n = ar->results.count;
	int whole = ar->version != 0 && ar->version != 1;

	while (i < ar->results.count) {
		if (whole || !usable(o, ar->results.item[i]))
			mv_result_list_remove(&ar->results, i);
		else
			i++;
	}
	if (dropped)
		*dropped = n - ar->results.count;
	return whole ? MV_EUNSUPPORTED : MV_OK;
}
