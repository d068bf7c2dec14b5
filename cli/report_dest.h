/* cli/report_dest.h — RFC 9990 "Verifying External Destinations" for `mailvet report send`. */
#ifndef MV_CLI_REPORT_DEST_H
#define MV_CLI_REPORT_DEST_H

#include <stddef.h>

#include <mailvet/dns.h>

enum mv_report_dest_auth {
	MV_REPORT_DEST_OK,      /* same Organizational Domain, or authorized */
	MV_REPORT_DEST_REFUSED, /* external and not authorized: never sent there */
	MV_REPORT_DEST_TEMP,    /* a DNS failure: ask again on the next run */
};

/*
 * May reports of policy_domain go to dest ("mailto:addr")? When the
 * destination host's Organizational Domain (DMARC tree walk, §4.10.2 of
 * RFC 9989) is not the policy domain's, only when a TXT record at
 * <policy_domain>._report._dmarc.<host> starts with v=DMARC1. why (at
 * most whylen-1 bytes) says what was decided.
 */
enum mv_report_dest_auth mv_cli_report_dest_check(struct mv_resolver *r, const char *policy_domain,
                                                  const char *dest, char *why, size_t whylen);

#endif
