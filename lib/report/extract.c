/*
 * lib/report/extract.c — find the aggregate reports in what was received: an
 * XML file, gzip, zip (libzip), or a mail message whose MIME parts carry
 * them. Every step is bounded: parts, nesting, decompressed bytes.
 */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include <mailvet/msg.h>
#include <mailvet/report.h>

#define MAX_PARTS 64
#define MAX_NESTING 8
#define MAX_ZIP_MEMBERS 64

struct extract {
	mv_report_xml_fn fn;
	void *arg;
	char *err;
	size_t errlen;
	size_t found, parts;
	int stopped;
};

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && mv_ascii_ieq(s + n - k, k, suffix);
}

static enum mv_status deliver(struct extract *x, const char *name, const char *xml, size_t len)
{
	x->found++;
	if (x->fn(x->arg, name, xml, len) != 0)
		x->stopped = 1;
	return MV_OK;
}

static enum mv_status blob(struct extract *x, const char *name, const char *data, size_t len,
                           int depth);

/* A gzip file holding one XML report: inflated, at most MV_REPORT_XML_MAX bytes. */
static enum mv_status gunzip(struct extract *x, const char *name, const char *data, size_t len)
{
	struct mv_buf out = MV_BUF_INIT;
	enum mv_status st = mv_report_gunzip(data, len, MV_REPORT_XML_MAX, &out);

	if (st == MV_ETOOBIG)
		mv_errf(x->err, x->errlen, "%s: gzip: more than %zu bytes uncompressed",
		        name[0] ? name : "report", MV_REPORT_XML_MAX);
	else if (st == MV_ESYNTAX)
		mv_errf(x->err, x->errlen, "%s: gzip: corrupt or truncated",
		        name[0] ? name : "report");
	if (st == MV_OK)
		st = deliver(x, name, out.data ? out.data : "", out.len);
	mv_buf_free(&out);
	return st;
}

/* Each member of a zip archive whose name ends .xml (or .xml.gz). */
static enum mv_status unzip(struct extract *x, const char *data, size_t len)
{
	zip_error_t ze;
	zip_source_t *src;
	zip_t *z = NULL;
	zip_file_t *f;
	zip_int64_t n, i, got;
	struct mv_buf out = MV_BUF_INIT;
	char chunk[65536];
	enum mv_status st = MV_OK;
	const char *name;

	zip_error_init(&ze);
	if ((src = zip_source_buffer_create(data, len, 0, &ze)) == NULL ||
	    (z = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze)) == NULL) {
		mv_errf(x->err, x->errlen, "zip: %s", zip_error_strerror(&ze));
		zip_source_free(src);
		zip_error_fini(&ze);
		return MV_ESYNTAX;
	}
	n = zip_get_num_entries(z, 0);
	for (i = 0; st == MV_OK && !x->stopped && i < n && i < MAX_ZIP_MEMBERS; i++) {
		name = zip_get_name(z, (zip_uint64_t)i, 0);
		if (name == NULL || !(has_suffix(name, ".xml") || has_suffix(name, ".xml.gz")))
			continue;
		if ((f = zip_fopen_index(z, (zip_uint64_t)i, 0)) == NULL) {
			mv_errf(x->err, x->errlen, "zip: %s: %s", name, zip_strerror(z));
			st = MV_ESYNTAX;
			break;
		}
		mv_buf_reset(&out);
		while ((got = zip_fread(f, chunk, sizeof chunk)) > 0) {
			if (out.len + (size_t)got > MV_REPORT_XML_MAX) {
				mv_errf(x->err, x->errlen, "zip: %s: larger than %zu bytes", name,
				        MV_REPORT_XML_MAX);
				st = MV_ETOOBIG;
				break;
			}
			mv_buf_append(&out, chunk, (size_t)got);
		}
		if (st == MV_OK && got < 0) {
			mv_errf(x->err, x->errlen, "zip: %s: %s", name, zip_file_strerror(f));
			st = MV_ESYNTAX;
		}
		zip_fclose(f);
		if (st == MV_OK && (st = mv_buf_status(&out)) == MV_OK)
			st = has_suffix(name, ".gz")
			             ? gunzip(x, name, out.data, out.len)
			             : deliver(x, name, out.data ? out.data : "", out.len);
	}
	mv_buf_free(&out);
	zip_discard(z);
	zip_error_fini(&ze);
	return st;
}

/* A MIME parameter (name=value or name="value") of a header value, into dst[n]; 0 if found. */
static int param(const char *value, const char *name, char *dst, size_t n)
{
	size_t k = strlen(name), len;
	const char *p = value, *v;

	for (; (p = strchr(p, ';')) != NULL; p++) {
		v = p + 1 + strspn(p + 1, " \t\r\n");
		if (!mv_ascii_ieq(v, strlen(v) < k ? strlen(v) : k, name) || v[k] != '=')
			continue;
		v += k + 1;
		if (*v == '"')
			len = strcspn(++v, "\"");
		else
			len = strcspn(v, "; \t\r\n");
		mv_report_field_set(dst, len < n ? len + 1 : n, v);
		return 0;
	}
	return -1;
}

/* The unfolded value of field name, or "". */
static const char *field(const struct mv_msg *m, const char *name)
{
	size_t i = mv_msg_find(m, name, 0);

	return i == (size_t)-1 ? "" : mv_msg_field(m, i)->unfolded;
}

/* base64 body into out: white space skipped, stops at the first byte outside the alphabet. */
static enum mv_status base64(const char *s, size_t len, struct mv_buf *out)
{
	struct mv_buf clean = MV_BUF_INIT;
	unsigned char *dec = NULL;
	enum mv_status st;
	size_t i;
	int n;

	for (i = 0; i < len; i++)
		if (!strchr(" \t\r\n", s[i]))
			mv_buf_putc(&clean, s[i]);
	while (clean.len % 4)
		mv_buf_putc(&clean, '=');
	if ((st = mv_buf_status(&clean)) != MV_OK || clean.len == 0)
		goto out;
	if ((dec = malloc(clean.len / 4 * 3 + 1)) == NULL) {
		st = MV_ENOMEM;
		goto out;
	}
	if ((n = EVP_DecodeBlock(dec, (unsigned char *)clean.data, (int)clean.len)) < 0) {
		st = MV_ESYNTAX;
		goto out;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	for (i = clean.len; i > 0 && clean.data[i - 1] == '=' && n > 0; i--)
		n--;
	st = mv_buf_append(out, dec, (size_t)n);
out:
	free(dec);
	mv_buf_free(&clean);
	return st;
}

static enum mv_status message(struct extract *x, const char *data, size_t len, int depth);

/* The parts of a multipart body between "--boundary" lines. */
static enum mv_status multipart(struct extract *x, const char *body, size_t len, const char *b,
                                int depth)
{
	const char *p = body, *end = body + len, *start = NULL, *line;
	size_t blen = strlen(b);
	enum mv_status st = MV_OK;

	while (p < end && st == MV_OK && !x->stopped) {
		line = p;
		p = memchr(p, '\n', (size_t)(end - p));
		p = p ? p + 1 : end;
		if ((size_t)(p - line) < blen + 2 || line[0] != '-' || line[1] != '-' ||
		    memcmp(line + 2, b, blen) != 0)
			continue;
		if (start && ++x->parts > MAX_PARTS) {
			mv_errf(x->err, x->errlen, "more than %d MIME parts", MAX_PARTS);
			return MV_ELIMIT;
		}
		if (start)
			st = message(x, start, (size_t)(line - start), depth + 1);
		if (line + 2 + blen + 1 < end && line[2 + blen] == '-' && line[3 + blen] == '-')
			break; /* the closing delimiter */
		start = p;
	}
	return st;
}

/* A message or MIME part: recurse into multiparts, take the parts that hold a report. */
static enum mv_status message(struct extract *x, const char *data, size_t len, int depth)
{
	struct mv_msg *m = NULL;
	struct mv_buf dec = MV_BUF_INIT;
	const char *ct, *body;
	char name[256] = "", boundary[128];
	size_t blen;
	enum mv_status st;

	if (depth > MAX_NESTING) {
		mv_errf(x->err, x->errlen, "MIME parts nested deeper than %d", MAX_NESTING);
		return MV_ELIMIT;
	}
	if ((st = mv_msg_parse(data, len, NULL, &m, NULL, 0)) != MV_OK)
		return st == MV_ENOMEM ? st : MV_OK; /* not a part we can read: no report in it */
	mv_msg_body(m, &body, &blen, NULL);
	ct = field(m, "Content-Type");
	if (param(field(m, "Content-Disposition"), "filename", name, sizeof name) != 0)
		param(ct, "name", name, sizeof name);
	ct += strspn(ct, " \t");
	if (mv_ascii_ieq(ct, strlen(ct) < 10 ? strlen(ct) : 10, "multipart/")) {
		if (param(ct, "boundary", boundary, sizeof boundary) == 0 && boundary[0])
			st = multipart(x, body, blen, boundary, depth);
		goto out;
	}
	if (!has_suffix(name, ".xml") && !has_suffix(name, ".gz") && !has_suffix(name, ".zip") &&
	    !mv_ascii_ieq(ct, strcspn(ct, "; \t"), "application/gzip") &&
	    !mv_ascii_ieq(ct, strcspn(ct, "; \t"), "application/zip") &&
	    !mv_ascii_ieq(ct, strcspn(ct, "; \t"), "text/xml") &&
	    !mv_ascii_ieq(ct, strcspn(ct, "; \t"), "application/xml"))
		goto out;
	if (mv_ascii_ieq(field(m, "Content-Transfer-Encoding") +
	                         strspn(field(m, "Content-Transfer-Encoding"), " \t"),
	                 6, "base64")) {
		if ((st = base64(body, blen, &dec)) == MV_OK)
			st = blob(x, name, dec.data ? dec.data : "", dec.len, MAX_NESTING);
	} else {
		st = blob(x, name, body, blen, MAX_NESTING);
	}
out:
	mv_buf_free(&dec);
	mv_msg_free(m);
	return st;
}

/* One file's bytes: gzip, zip, XML, or (at depth < MAX_NESTING) a message. */
static enum mv_status blob(struct extract *x, const char *name, const char *data, size_t len,
                           int depth)
{
	size_t ws = 0;

	if (len >= 2 && (unsigned char)data[0] == 0x1f && (unsigned char)data[1] == 0x8b)
		return gunzip(x, name, data, len);
	if (len >= 4 && memcmp(data, "PK\003\004", 4) == 0)
		return unzip(x, data, len);
	while (ws < len && strchr(" \t\r\n", data[ws]) && data[ws])
		ws++;
	if (ws < len && data[ws] == '<')
		return deliver(x, name, data, len);
	if (depth < MAX_NESTING)
		return message(x, data, len, depth);
	return MV_OK;
}

enum mv_status mv_report_extract(const char *data, size_t len, mv_report_xml_fn fn, void *arg,
                                 char *err, size_t errlen)
{
	struct extract x = {fn, arg, err, errlen, 0, 0, 0};
	enum mv_status st;

	if (err && errlen)
		err[0] = '\0';
	st = blob(&x, "", data, len, 0);
	if (st == MV_OK && x.found == 0) {
		mv_errf(err, errlen, "no report (XML, gzip, zip or a message with one attached)");
		st = MV_ENOTFOUND;
	}
	return st;
}
