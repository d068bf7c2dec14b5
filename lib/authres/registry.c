/* lib/authres/registry.c — the IANA Email Authentication Parameters registries and RFC 8601 §4.1. */
#include <string.h>

#include <mailvet/authres.h>
#include <mailvet/msg.h>

/*
 * The "Email Authentication Parameters" registries as IANA lists them
 * (last updated 2025-04-04): RFC 8601 §6 and the other registrations, RFC
 * 8617 (arc), RFC 7489 then DMARCbis (dmarc; the registry cites
 * draft-ietf-dmarc-dmarcbis-41, RFC 9989 in DESIGN.md), RFC 6541
 * (dkim-atps), RFC 6212 (vbr), RFC 7293 (rrvs), RFC 7281 (smime), RFC 8904
 * (dnswl). dkim-adsp, domainkeys and sender-id and all their result names are
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
        /* The registry lists "temperror" twice and no "fail" for domainkeys. §6.6
           forbids a repeated method/code pair and both rows cite RFC 7601 §2.7.1,
           whose (DKIM) result set has "fail": the first row is read as "fail". */
        {"domainkeys", MV_AUTHRES_DEPRECATED, "none pass fail policy neutral temperror permerror"},
        {"iprev", MV_AUTHRES_ACTIVE, "pass fail temperror permerror"},
        {"rrvs", MV_AUTHRES_ACTIVE, "none unknown temperror pass fail permerror"},
        {"sender-id", MV_AUTHRES_DEPRECATED,
         "none pass fail softfail neutral policy temperror permerror hardfail"},
        {"smime", MV_AUTHRES_ACTIVE, "none pass fail policy neutral temperror permerror"},
        /* "hardfail" (RFC 5451 §2.4.2) is registered with status deprecated. */
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
        "sender-id header.*", /* "name of header field used by PRA" */
        "smime body.smime-part",
        "smime body.smime-identifer",  /* sic: the registered spelling */
        "smime body.smime-identifier", /* the spelling in use */
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
		if (mv_ascii_ieq_mem(list, l, word, n))
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

/* Does the entry "method ptype.property" ("*" = any property) name this one? */
static int entry_is(const char *e, const char *method, const char *ptype, const char *property)
{
	const char *sp = strchr(e, ' '), *dot = strchr(sp, '.');

	if (!mv_ascii_ieq_mem(e, (size_t)(sp - e), method, strlen(method)) ||
	    !mv_ascii_ieq_mem(sp + 1, (size_t)(dot - sp - 1), ptype, strlen(ptype)))
		return 0;
	return strcmp(dot + 1, "*") == 0 || ieq(property, dot + 1);
}

int mv_authres_known_property(const char *method, const char *ptype, const char *property)
{
	size_t i;

	for (i = 0; i < sizeof properties / sizeof properties[0]; i++)
		if (entry_is(properties[i], method, ptype, property))
			return 1;
	return 0;
}

/*
 * The registered properties whose value the registry (and the RFC it
 * cites) says is a domain name, with the fewest labels that name may have:
 * DKIM's d= is domain-name (RFC 6376 §3.5: two labels at least); the others
 * are RFC 5321 Domains. Properties whose value is "the contents of the From
 * field", an address or an identity are not here.
 */
static const struct {
	const char *entry;
	size_t min_labels;
} domain_properties[] = {
        {"dkim header.d", 2},       /* value of signature "d" tag */
        {"domainkeys header.d", 2}, /* the same, historic */
        {"dmarc header.from", 1},   /* RFC 7489 §11.2: the domain of the RFC5322.From */
        {"dnswl dns.zone", 1},      /* RFC 8904: the DNSWL zone */
        {"vbr header.md", 1},       /* RFC 6212: the domain in the md= tag */
        {"vbr header.mv", 1},       /* RFC 6212: the domain of the voucher */
};

enum mv_status mv_authres_valid_value(const char *method, const char *ptype, const char *property,
                                      const char *value)
{
	size_t i;

	for (i = 0; i < sizeof domain_properties / sizeof domain_properties[0]; i++)
		if (entry_is(domain_properties[i].entry, method, ptype, property))
			return mv_addr_domain_valid(value, strlen(value),
			                            domain_properties[i].min_labels);
	return MV_OK;
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

const char *mv_authres_unusable(const struct mv_authres_filter_opts *o, const struct mv_result *r)
{
	size_t i;

	if (mv_authres_known_method(r->method) == MV_AUTHRES_EXPERIMENTAL)
		return o && (o->experimental || (o->methods && supported(o, r->method)))
		               ? NULL
		               : "experimental method not asked for (RFC 8601 §2.7.6)";
	if (!supported(o, r->method))
		return "method not supported (RFC 8601 §4.1)";
	if (r->version != 0 && r->version != 1)
		return "method version not supported (RFC 8601 §4.1)";
	if (!mv_authres_known_result(r->method, r->result))
		return "result not registered for the method (RFC 8601 §4.1)";
	for (i = 0; i < r->nprops; i++)
		if (!mv_authres_known_ptype(r->props[i].ptype))
			return "property type not registered (RFC 8601 §4.1)";
	return NULL;
}

enum mv_status mv_authres_filter(struct mv_authres *ar, const struct mv_authres_filter_opts *o,
                                 size_t *dropped)
{
	size_t i = 0, n = ar->results.count;
	int whole = ar->version != 0 && ar->version != 1;

	while (i < ar->results.count) {
		if (whole || mv_authres_unusable(o, ar->results.item[i]))
			mv_result_list_remove(&ar->results, i);
		else
			i++;
	}
	if (dropped)
		*dropped = n - ar->results.count;
	return whole ? MV_EUNSUPPORTED : MV_OK;
}
