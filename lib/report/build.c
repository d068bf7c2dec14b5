/* lib/report/build.c — the XML of an aggregate report (RFC 9990 §3, schema dmarc-xml-0.2) with libxml2's writer. */
#include <inttypes.h>
#include <libxml/xmlwriter.h>
#include <stdio.h>
#include <string.h>

#include <mailvet/report.h>

#define NS "urn:ietf:params:xml:ns:dmarc-2.0"

/* The writer and its first error: every write after a failure is skipped. */
struct xw {
	xmlTextWriterPtr w;
	int failed;
};

/* Text as the report may hold it: printable ASCII, anything else '?'. */
static void clean(const char *s, char *dst, size_t n)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < n; i++)
		dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	dst[i] = '\0';
}

static void start(struct xw *x, const char *name)
{
	if (!x->failed && xmlTextWriterStartElement(x->w, BAD_CAST name) < 0)
		x->failed = 1;
}

static void end(struct xw *x)
{
	if (!x->failed && xmlTextWriterEndElement(x->w) < 0)
		x->failed = 1;
}

static void elem(struct xw *x, const char *name, const char *text)
{
	char buf[MV_REPORT_URI_MAX];

	clean(text, buf, sizeof buf);
	if (!x->failed && xmlTextWriterWriteElement(x->w, BAD_CAST name, BAD_CAST buf) < 0)
		x->failed = 1;
}

/* An element only when its text is not empty. */
static void elem_opt(struct xw *x, const char *name, const char *text)
{
	if (text[0])
		elem(x, name, text);
}

static void elem_int(struct xw *x, const char *name, int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof buf, "%" PRId64, v);
	elem(x, name, buf);
}

static void metadata(struct xw *x, const struct mv_report_info *info, const char *id)
{
	char gen[64];

	snprintf(gen, sizeof gen, "mailvet %s", MV_VERSION);
	start(x, "report_metadata");
	elem(x, "org_name", info->org_name);
	elem(x, "email", info->email);
	elem(x, "report_id", id);
	start(x, "date_range");
	elem_int(x, "begin", info->begin);
	elem_int(x, "end", info->end);
	end(x);
	elem(x, "generator", info->generator ? info->generator : gen);
	end(x);
}

static void policy(struct xw *x, const struct mv_report_record *r)
{
	start(x, "policy_published");
	elem(x, "domain", r->policy_domain);
	elem_opt(x, "discovery_method", r->discovery);
	elem(x, "p", r->p[0] ? r->p : "none");
	elem_opt(x, "sp", r->sp);
	elem_opt(x, "np", r->np);
	elem_opt(x, "fo", r->fo);
	elem_opt(x, "adkim", r->adkim);
	elem_opt(x, "aspf", r->aspf);
	elem_opt(x, "testing", r->testing);
	end(x);
}

static void record(struct xw *x, const struct mv_report_record *r)
{
	size_t i;

	start(x, "record");
	start(x, "row");
	elem(x, "source_ip", r->source_ip);
	elem_int(x, "count", (int64_t)r->count);
	start(x, "policy_evaluated");
	elem(x, "disposition", r->disposition);
	elem(x, "dkim", r->dkim_aligned);
	elem(x, "spf", r->spf_aligned);
	if (r->reason[0]) {
		start(x, "reason");
		elem(x, "type", r->reason);
		elem_opt(x, "comment", r->reason_comment);
		end(x);
	}
	end(x);
	end(x);
	start(x, "identifiers");
	elem(x, "header_from", r->header_from);
	elem_opt(x, "envelope_from", r->envelope_from);
	elem_opt(x, "envelope_to", r->envelope_to);
	end(x);
	start(x, "auth_results");
	for (i = 0; i < r->ndkim && i < MV_REPORT_DKIM_MAX; i++) {
		start(x, "dkim");
		elem(x, "domain", r->dkim[i].domain);
		elem(x, "selector", r->dkim[i].selector);
		elem(x, "result", r->dkim[i].result);
		end(x);
	}
	if (r->spf_domain[0]) {
		start(x, "spf");
		elem(x, "domain", r->spf_domain);
		elem_opt(x, "scope", r->spf_scope);
		elem(x, "result", r->spf_result);
		end(x);
	}
	end(x);
	end(x);
}

enum mv_status mv_report_build(const struct mv_report_info *info,
                               const struct mv_report_record *rows, size_t nrows,
                               struct mv_buf *out)
{
	struct xw x = {NULL, 0};
	xmlBufferPtr buf = NULL;
	char id[MV_REPORT_ID_LEN + 1];
	enum mv_status st = MV_ENOMEM;
	size_t i;

	if (nrows == 0)
		return MV_EINVAL;
	for (i = 1; i < nrows; i++)
		if (strcmp(rows[i].policy_domain, rows[0].policy_domain) != 0)
			return MV_EINVAL;
	mv_report_id(info->receiver, rows[0].policy_domain, info->begin, info->end, id);
	if ((buf = xmlBufferCreate()) == NULL || (x.w = xmlNewTextWriterMemory(buf, 0)) == NULL)
		goto out;
	xmlTextWriterSetIndent(x.w, 1);
	xmlTextWriterSetIndentString(x.w, BAD_CAST "  ");
	if (xmlTextWriterStartDocument(x.w, NULL, "UTF-8", NULL) < 0)
		goto out;
	start(&x, "feedback");
	if (!x.failed && xmlTextWriterWriteAttribute(x.w, BAD_CAST "xmlns", BAD_CAST NS) < 0)
		x.failed = 1;
	elem(&x, "version", "1.0");
	metadata(&x, info, id);
	policy(&x, &rows[nrows - 1]);
	for (i = 0; i < nrows; i++)
		record(&x, &rows[i]);
	end(&x);
	if (x.failed || xmlTextWriterEndDocument(x.w) < 0)
		goto out;
	xmlFreeTextWriter(x.w); /* flushes into buf */
	x.w = NULL;
	mv_buf_append(out, xmlBufferContent(buf), (size_t)xmlBufferLength(buf));
	st = mv_buf_status(out);
out:
	xmlFreeTextWriter(x.w);
	xmlBufferFree(buf);
	return st;
}
