/* lib/report/name.c — report_id, file name and Subject of an aggregate report (RFC 9990 "Report Delivery", "Email"). */
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include <mailvet/report.h>

void mv_report_id(const char *receiver, const char *domain, int64_t begin, int64_t end,
                  char out[MV_REPORT_ID_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char text[600];
	int n;
	size_t i;

	/* NUL separators: no two (receiver, domain) pairs give the same text. */
	n = snprintf(text, sizeof text, "%s%c%s%c%" PRId64 "%c%" PRId64, receiver, 0, domain, 0,
	             begin, 0, end);
	if (n < 0 || (size_t)n >= sizeof text)
		n = (int)sizeof text - 1;
	if (!EVP_Digest(text, (size_t)n, md, &mdlen, EVP_sha256(), NULL))
		memset(md, 0, sizeof md);
	for (i = 0; i < MV_REPORT_ID_LEN / 2; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[MV_REPORT_ID_LEN] = '\0';
}

void mv_report_filename(const struct mv_report_info *info, const char *domain, const char *id,
                        int gz, struct mv_buf *out)
{
	mv_buf_printf(out, "%s!%s!%" PRId64 "!%" PRId64 "!%s.%s", info->receiver, domain,
	              info->begin, info->end, id, gz ? "xml.gz" : "xml");
}

void mv_report_subject(const struct mv_report_info *info, const char *domain, const char *id,
                       struct mv_buf *out)
{
	mv_buf_printf(out, "Report Domain: %s Submitter: %s Report-ID: <%s>", domain,
	              info->receiver, id);
}
