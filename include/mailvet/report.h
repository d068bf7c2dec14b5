/* include/mailvet/report.h — DMARC aggregate reports (RFC 9990): records from verdicts, report XML out and in. */
#ifndef MAILVET_REPORT_H
#define MAILVET_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <mailvet/status.h>
#include <mailvet/store.h>
#include <mailvet/util.h>

struct mv_verify;

/* ---- Recording (lib/report/record.c) ----------------------------------------- */

/*
 * The record of one verified message (after mv_verify_end()) for the
 * aggregate report of its DMARC Policy Domain: source IP, identifiers,
 * each DKIM result (passing and aligned first, at most MV_REPORT_DKIM_MAX),
 * the SPF result, the policy published (defaults filled in: sp = p,
 * np = sp), the disposition applied and, when it is not what the policy
 * asked, the override reason (RFC 9990 "Policy Override Reason"): a trusted
 * ARC sealer is trusted_forwarder, t=y policy_test_mode, anything else of
 * ours (report-only, outbound mail, dmarc_reject_action) local_policy with
 * the verdict's note as comment. envelope_to is the recipient's domain or
 * NULL; when is the arrival time. MV_OK and *out filled; MV_ENOTFOUND when
 * there is nothing to report: no real DMARC record applied (none, virtual
 * DMARC, permerror) or the result is temperror (the message is retried).
 */
enum mv_status mv_report_record_from_verify(const struct mv_verify *v, const char *envelope_to,
                                            int64_t when, struct mv_report_record *out);

/* ---- Building (lib/report/build.c, lib/report/name.c) ------------------------ */

/* Who writes the report and for which period. Strings borrowed for the call. */
struct mv_report_info {
	const char *org_name;  /* the Reporting Organization */
	const char *email;     /* its contact */
	const char *receiver;  /* our domain: file name, Subject, report_id */
	const char *generator; /* NULL: "mailvet VERSION" */
	int64_t begin, end;    /* the period, end inclusive (begin + length - 1) */
};

#define MV_REPORT_ID_LEN 32 /* hex digits of a report_id */

/*
 * The report_id of the report of domain for the period: 32 lowercase hex
 * digits of SHA-256(receiver, domain, begin, end), so the same report is
 * always the same id (a resend keeps it, RFC 9990 "Report Delivery") and
 * two periods or domains never share one. It is also the file name's
 * unique-id and the Subject's Report-ID. out holds MV_REPORT_ID_LEN + 1.
 */
void mv_report_id(const char *receiver, const char *domain, int64_t begin, int64_t end,
                  char out[MV_REPORT_ID_LEN + 1]);

/* "receiver!domain!begin!end!id.xml.gz" (gz 1) or ".xml", appended to out. */
void mv_report_filename(const struct mv_report_info *info, const char *domain, const char *id,
                        int gz, struct mv_buf *out);

/* "Report Domain: D Submitter: R Report-ID: <ID>", appended to out (no field name, no fold). */
void mv_report_subject(const struct mv_report_info *info, const char *domain, const char *id,
                       struct mv_buf *out);

/*
 * The report as a message (RFC 9990 "Email"): an RFC 5322 / MIME message
 * from `from` to `to` (bare addresses), Date `now`, Subject as
 * mv_report_subject(), Message-ID from the report_id (a resend is the same
 * message), multipart/mixed with a text/plain note and the gzipped report
 * (gz, gzlen) as an application/gzip attachment named as
 * mv_report_filename(). CRLF line ends (base64 lines of 76 characters).
 * Appended to out; MV_EINVAL when from or to holds CR, LF or NUL; MV_ENOMEM.
 */
enum mv_status mv_report_email(const struct mv_report_info *info, const char *domain,
                               const char *id, const char *from, const char *to, const void *gz,
                               size_t gzlen, int64_t now, struct mv_buf *out);

/*
 * The aggregate report XML (RFC 9990, namespace urn:ietf:params:xml:ns:dmarc-2.0)
 * of rows, all of one DMARC Policy Domain, as the store groups them (count
 * each): policy_published is the last row's (the newest configuration),
 * one record element per row. Appended to out; report_id as mv_report_id().
 * MV_EINVAL: no rows, or rows of several domains; MV_ENOMEM.
 */
enum mv_status mv_report_build(const struct mv_report_info *info,
                               const struct mv_report_record *rows, size_t nrows,
                               struct mv_buf *out);

/* ---- Compression (lib/report/gzip.c) ------------------------------------------ */

/* gzip (RFC 1952) of data, appended to out. MV_ENOMEM. */
enum mv_status mv_report_gzip(const void *data, size_t len, struct mv_buf *out);

/*
 * Inflate a gzip member into out, at most max bytes: MV_ETOOBIG as soon as
 * the output would pass max (a gzip bomb costs max bytes, never more),
 * MV_ESYNTAX for corrupt or truncated data.
 */
enum mv_status mv_report_gunzip(const void *data, size_t len, size_t max, struct mv_buf *out);

/* ---- Reading received reports (lib/report/parse.c, lib/report/extract.c) ---- */

#define MV_REPORT_XML_MAX ((size_t)32 << 20) /* an XML report, decompressed */
#define MV_REPORT_ROWS_MAX 100000            /* record elements of one report */
#define MV_REPORT_DEPTH_MAX 32               /* element nesting */

/*
 * Parse one aggregate report, RFC 7489 (no namespace) or RFC 9990, with
 * libxml2: no network, no DTD, no entity (a document with a DOCTYPE is
 * refused, so billion-laughs and external entities never expand), at most
 * MV_REPORT_XML_MAX bytes, MV_REPORT_DEPTH_MAX levels and
 * MV_REPORT_ROWS_MAX records. On MV_OK *meta is filled and *rows is a new
 * array of *nrows records (free()), each carrying the policy_published
 * fields. Otherwise MV_ESYNTAX (not XML, not a report: err says where),
 * MV_ETOOBIG, MV_ELIMIT (depth, rows), MV_EUNSUPPORTED (DTD), MV_ENOMEM;
 * *rows NULL.
 */
enum mv_status mv_report_parse(const char *xml, size_t len, struct mv_report_meta *meta,
                               struct mv_report_record **rows, size_t *nrows, char *err,
                               size_t errlen);

/*
 * Called for each report found by mv_report_extract(): name is the
 * attachment's or member's file name ("" when none), xml the decompressed
 * text (borrowed for the call). A nonzero return stops the extraction.
 */
typedef int (*mv_report_xml_fn)(void *arg, const char *name, const char *xml, size_t len);

/*
 * Find the reports in data: an XML file, a gzip file, a zip file (every
 * member ending .xml), or a mail message (RFC 5322 with MIME parts: each
 * part of type application/gzip, application/zip, text/xml,
 * application/xml or named *.xml, *.xml.gz, *.gz, *.zip; base64 or
 * 7bit/8bit; at most 64 parts, 8 levels). Each XML is at most
 * MV_REPORT_XML_MAX bytes after decompression. MV_OK when fn was called at
 * least once; MV_ENOTFOUND when there is no report; MV_ETOOBIG for a bomb,
 * MV_ESYNTAX for a truncated or corrupt archive, with err saying which.
 */
enum mv_status mv_report_extract(const char *data, size_t len, mv_report_xml_fn fn, void *arg,
                                 char *err, size_t errlen);

/* ---- Failure reports (lib/report/failure.c, lib/report/failure_spool.c) ------ */

/*
 * One DMARC failure report (draft-ietf-dmarc-failure-reporting, RFC 6591
 * ARF): what the receiver saw, already redacted. Strings are borrowed,
 * NULL or "" when absent; none may hold CR, LF or NUL (header and body
 * excepted: the header block as received, CRLF line ends; body NULL for
 * a headers-only report).
 */
struct mv_report_failure {
	int64_t arrival;                /* when the message came (Unix seconds) */
	const char *reported_domain;    /* Reported-Domain: the author domain */
	const char *policy_domain;      /* where the DMARC record was found */
	const char *destinations;       /* the ruf= mailto URIs to send to, comma-separated */
	const char *source_ip;          /* Source-IP */
	const char *envelope_id;        /* Original-Envelope-Id: the MTA's queue id */
	const char *mail_from;          /* Original-Mail-From (redacted) */
	const char *rcpt_domain;        /* the first recipient's domain (for the text part) */
	const char *identity_alignment; /* "none", "dkim", "spf" or "dkim, spf" */
	const char *delivery_result;    /* delivered, spam, policy, reject, other */
	const char *authres;            /* Authentication-Results value, unfolded */
	const char *dkim_domain, *dkim_selector, *dkim_identity; /* a failed aligned signature */
	const char *header;
	size_t header_len;
	const char *body;
	size_t body_len;
};

#define MV_REPORT_FAILURE_MAX ((size_t)4 << 20) /* one spooled report, header and body */

/*
 * Does fo= (RFC 9989 §4.7: colon-separated 0, 1, d, s; "" = "0") ask for a
 * report of the message r describes? 0: neither DKIM nor SPF gave an
 * aligned pass; 1: either did not; d: a DKIM signature failed evaluation,
 * aligned or not; s: SPF failed (fail, softfail, permerror). Unknown
 * options are ignored, as the text says. 1 or 0.
 */
int mv_report_failure_wanted(const char *fo, const struct mv_report_record *r);

/*
 * Identity-Alignment of r: the mechanisms that failed to authenticate an
 * aligned identifier ("dkim", "spf", "dkim, spf") or "none". out holds 12.
 */
void mv_report_failure_alignment(const struct mv_report_record *r, char out[12]);

/*
 * RFC 6590 redaction of a header block (len bytes): the local part of
 * every address (dot-atom or quoted string before an '@' that is followed
 * by a domain) becomes "x" + 16 hex digits of HMAC-SHA256(key, local part),
 * so one address stays one token throughout a report and across reports
 * made with the same key, and cannot be read back without it. Message
 * identifiers (Message-ID, In-Reply-To, References, Content-ID) are kept.
 * Appended to out; MV_ENOMEM.
 */
enum mv_status mv_report_failure_redact(const char *header, size_t len, const void *key,
                                        size_t keylen, struct mv_buf *out);

/*
 * The spool file of f (what mailvetd writes, `mailvet report send`
 * reads): "Name: value" lines, an empty line, the header block and the
 * body, sizes given. Appended to out; MV_EINVAL when a value holds CR, LF
 * or NUL, MV_ETOOBIG past MV_REPORT_FAILURE_MAX; MV_ENOMEM.
 */
enum mv_status mv_report_failure_format(const struct mv_report_failure *f, struct mv_buf *out);

/*
 * Read a spool file back: data (len bytes, NUL after them, modified in
 * place) is what mv_report_failure_format() wrote; *f points into it.
 * MV_ESYNTAX for a file that is not one (err says why), MV_ETOOBIG past
 * MV_REPORT_FAILURE_MAX.
 */
enum mv_status mv_report_failure_read(char *data, size_t len, struct mv_report_failure *f,
                                      char *err, size_t errlen);

/*
 * The report as a message (RFC 6591, RFC 5965): multipart/report;
 * report-type=feedback-report from `from` to `to` (bare addresses), Date
 * `now`, with a text part, the message/feedback-report part
 * (Feedback-Type: auth-failure, Auth-Failure: dmarc, Identity-Alignment,
 * Authentication-Results, DKIM-*, Original-Envelope-Id,
 * Original-Mail-From, Arrival-Date, Source-IP, Reported-Domain,
 * Delivery-Result) and the message: text/rfc822-headers, or message/rfc822
 * when f->body is given. Message-ID from id (a resend is the same
 * message). CRLF line ends. Appended to out; MV_EINVAL for an address or
 * id with CR, LF, NUL, < or >; MV_ENOMEM.
 */
enum mv_status mv_report_failure_email(const struct mv_report_info *info,
                                       const struct mv_report_failure *f, const char *id,
                                       const char *from, const char *to, int64_t now,
                                       struct mv_buf *out);

#endif
