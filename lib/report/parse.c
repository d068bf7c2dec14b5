/*
 * lib/report/parse.c — read a received aggregate report (RFC 7489 appendix C,
 * RFC 9990) with libxml2, refusing what could make it expensive or reach
 * out: DTDs and entities, the network, size, depth and record count past
 * their limits.
 */
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/report.h>

#define NS9990 "urn:ietf:params:xml:ns:dmarc-2.0"

/* The first element child of n named name (any namespace), or NULL. */
static xmlNodePtr child(xmlNodePtr n, const char *name)
{
	xmlNodePtr c;

	for (c = n ? n->children : NULL; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
			return c;
	return NULL;
}

/* The next element sibling after c named like it, or NULL. */
static xmlNodePtr next_named(xmlNodePtr c)
{
	const xmlChar *name = c->name;

	for (c = c->next; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, name))
			return c;
	return NULL;
}

/* The text of n's child `name`, without surrounding white space, into dst[size]. */
static void text(xmlNodePtr n, const char *name, char *dst, size_t size)
{
	xmlNodePtr c = child(n, name);
	xmlChar *t = c ? xmlNodeGetContent(c) : NULL;
	const char *s = t ? (const char *)t : "";
	size_t len;

	s += strspn(s, " \t\r\n");
	len = strlen(s);
	while (len && strchr(" \t\r\n", s[len - 1]))
		len--;
	if (len >= size)
		len = size - 1;
	memcpy(dst, s, len);
	dst[len] = '\0';
	xmlFree(t);
}

/* An integer child: 0 and *v, or -1 when absent or not a number. */
static int number(xmlNodePtr n, const char *name, int64_t *v)
{
	char buf[32], *end;
	long long x;

	text(n, name, buf, sizeof buf);
	errno = 0;
	x = strtoll(buf, &end, 10);
	if (buf[0] == '\0' || *end || errno || x < 0)
		return -1;
	*v = x;
	return 0;
}

/* Does xml[0, len) hold needle? */
static int contains(const char *xml, size_t len, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = 0; i + n <= len; i++)
		if (xml[i] == needle[0] && memcmp(xml + i, needle, n) == 0)
			return 1;
	return 0;
}

/* Deeper than MV_REPORT_DEPTH_MAX anywhere? A walk without recursion. */
static int too_deep(xmlNodePtr root)
{
	xmlNodePtr n = root;
	int depth = 0;

	while (n) {
		if (n->children && n->type == XML_ELEMENT_NODE) {
			n = n->children;
			if (++depth > MV_REPORT_DEPTH_MAX)
				return 1;
			continue;
		}
		while (n && n != root && n->next == NULL) {
			n = n->parent;
			depth--;
		}
		if (n == NULL || n == root)
			break;
		n = n->next;
	}
	return 0;
}

static void policy_published(xmlNodePtr pp, struct mv_report_record *r)
{
	text(pp, "domain", r->policy_domain, sizeof r->policy_domain);
	mv_ascii_lower(r->policy_domain, strlen(r->policy_domain));
	text(pp, "discovery_method", r->discovery, sizeof r->discovery);
	text(pp, "p", r->p, sizeof r->p);
	text(pp, "sp", r->sp, sizeof r->sp);
	text(pp, "np", r->np, sizeof r->np);
	text(pp, "adkim", r->adkim, sizeof r->adkim);
	text(pp, "aspf", r->aspf, sizeof r->aspf);
	text(pp, "testing", r->testing, sizeof r->testing);
	text(pp, "fo", r->fo, sizeof r->fo);
}

static int record(xmlNodePtr rec, struct mv_report_record *r)
{
	xmlNodePtr row = child(rec, "row"), pe = child(row, "policy_evaluated");
	xmlNodePtr ids = child(rec, "identifiers"), ar = child(rec, "auth_results"), d, s;
	int64_t count;

	if (row == NULL || ids == NULL || number(row, "count", &count) != 0)
		return -1;
	r->count = (uint64_t)count;
	text(row, "source_ip", r->source_ip, sizeof r->source_ip);
	text(pe, "disposition", r->disposition, sizeof r->disposition);
	text(pe, "dkim", r->dkim_aligned, sizeof r->dkim_aligned);
	text(pe, "spf", r->spf_aligned, sizeof r->spf_aligned);
	text(child(pe, "reason"), "type", r->reason, sizeof r->reason);
	text(child(pe, "reason"), "comment", r->reason_comment, sizeof r->reason_comment);
	text(ids, "header_from", r->header_from, sizeof r->header_from);
	text(ids, "envelope_from", r->envelope_from, sizeof r->envelope_from);
	text(ids, "envelope_to", r->envelope_to, sizeof r->envelope_to);
	for (d = child(ar, "dkim"); d && r->ndkim < MV_REPORT_DKIM_MAX; d = next_named(d)) {
		text(d, "domain", r->dkim[r->ndkim].domain, sizeof r->dkim[0].domain);
		text(d, "selector", r->dkim[r->ndkim].selector, sizeof r->dkim[0].selector);
		text(d, "result", r->dkim[r->ndkim].result, sizeof r->dkim[0].result);
		r->ndkim++;
	}
	if ((s = child(ar, "spf")) != NULL) {
		text(s, "domain", r->spf_domain, sizeof r->spf_domain);
		text(s, "scope", r->spf_scope, sizeof r->spf_scope);
		text(s, "result", r->spf_result, sizeof r->spf_result);
	}
	return 0;
}

/* The metadata and the records of a parsed feedback element. */
static enum mv_status feedback(xmlNodePtr root, struct mv_report_meta *meta,
                               struct mv_report_record **rows, size_t *nrows, char *err,
                               size_t errlen)
{
	xmlNodePtr md = child(root, "report_metadata"), dr = child(md, "date_range");
	xmlNodePtr pp = child(root, "policy_published"), rec;
	struct mv_report_record pol, *out = NULL;
	size_t n = 0, i;

	memset(&pol, 0, sizeof pol);
	text(md, "org_name", meta->org_name, sizeof meta->org_name);
	text(md, "email", meta->email, sizeof meta->email);
	text(md, "report_id", meta->report_id, sizeof meta->report_id);
	if (!meta->org_name[0] || !meta->report_id[0] || number(dr, "begin", &meta->begin) != 0 ||
	    number(dr, "end", &meta->end) != 0) {
		mv_errf(err, errlen, "report_metadata lacks org_name, report_id or date_range");
		return MV_ESYNTAX;
	}
	policy_published(pp, &pol);
	if (pp == NULL || !pol.policy_domain[0]) {
		mv_errf(err, errlen, "no policy_published domain");
		return MV_ESYNTAX;
	}
	for (rec = child(root, "record"); rec; rec = next_named(rec))
		if (++n > MV_REPORT_ROWS_MAX) {
			mv_errf(err, errlen, "more than %d records", MV_REPORT_ROWS_MAX);
			return MV_ELIMIT;
		}
	if (n && (out = calloc(n, sizeof *out)) == NULL)
		return MV_ENOMEM;
	for (i = 0, rec = child(root, "record"); rec; rec = next_named(rec), i++) {
		out[i] = pol;
		out[i].time = meta->begin;
		if (record(rec, &out[i]) != 0) {
			mv_errf(err, errlen, "record %zu: no row, count or identifiers", i + 1);
			free(out);
			return MV_ESYNTAX;
		}
	}
	*rows = out;
	*nrows = n;
	return MV_OK;
}

enum mv_status mv_report_parse(const char *xml, size_t len, struct mv_report_meta *meta,
                               struct mv_report_record **rows, size_t *nrows, char *err,
                               size_t errlen)
{
	xmlParserCtxtPtr ctxt = NULL;
	xmlDocPtr doc = NULL;
	xmlNodePtr root;
	const xmlError *e;
	enum mv_status st = MV_ESYNTAX;

	memset(meta, 0, sizeof *meta);
	*rows = NULL;
	*nrows = 0;
	if (len > MV_REPORT_XML_MAX || len > INT32_MAX) {
		mv_errf(err, errlen, "report larger than %zu bytes", MV_REPORT_XML_MAX);
		return MV_ETOOBIG;
	}
	/* No report needs a DTD; refusing it before parsing means no entity ever expands. */
	if (contains(xml, len, "<!DOCTYPE") || contains(xml, len, "<!ENTITY")) {
		mv_errf(err, errlen, "a DTD or entity declaration: refused");
		return MV_EUNSUPPORTED;
	}
	if ((ctxt = xmlNewParserCtxt()) == NULL)
		return MV_ENOMEM;
	doc = xmlCtxtReadMemory(ctxt, xml, (int)len, "report.xml", NULL,
	                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
	                                XML_PARSE_NOCDATA);
	if (doc == NULL) {
		e = xmlCtxtGetLastError(ctxt);
		mv_errf(err, errlen, "not XML: line %d: %.*s", e ? e->line : 0,
		        e && e->message ? (int)strcspn(e->message, "\n") : 11,
		        e && e->message ? e->message : "parse error");
		goto out;
	}
	if (doc->intSubset || doc->extSubset) {
		mv_errf(err, errlen, "a DTD: refused");
		st = MV_EUNSUPPORTED;
		goto out;
	}
	root = xmlDocGetRootElement(doc);
	if (root == NULL || strcmp((const char *)root->name, "feedback") != 0) {
		mv_errf(err, errlen, "not a DMARC aggregate report (no feedback element)");
		goto out;
	}
	if (too_deep(root)) {
		mv_errf(err, errlen, "elements nested deeper than %d", MV_REPORT_DEPTH_MAX);
		st = MV_ELIMIT;
		goto out;
	}
	meta->version = root->ns && xmlStrEqual(root->ns->href, BAD_CAST NS9990) ? 2 : 1;
	st = feedback(root, meta, rows, nrows, err, errlen);
out:
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return st;
}
