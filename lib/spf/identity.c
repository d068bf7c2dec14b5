/* lib/spf/identity.c — the identities SPF checks: <sender> and <domain> (RFC 7208 §2.3, §2.4, §4.3). */
#include <stdlib.h>
#include <string.h>

#include "spf/spf_int.h"

void mv_spf_ident_clear(struct mv_spf_ident *id)
{
	free(id->sender);
	free(id->local);
	free(id->domain);
	memset(id, 0, sizeof *id);
}

enum mv_status mv_spf_ident_build(const struct mv_spf_request *req, struct mv_spf_ident *id)
{
	const char *helo = req->helo ? req->helo : "";
	const char *mf = req->mail_from, *at, *local, *domain;
	size_t llen, dlen;
	struct mv_buf s = MV_BUF_INIT;

	memset(id, 0, sizeof *id);
	if (req->identity == MV_SPF_ID_HELO || !mf || !*mf) {
		local = "postmaster"; /* §2.3, §2.4: postmaster@<helo> */
		llen = strlen(local);
		domain = helo;
		dlen = strlen(helo);
	} else {
		at = strrchr(mf, '@');
		domain = at ? at + 1 : mf;
		dlen = strlen(domain);
		local = mf;
		llen = at ? (size_t)(at - mf) : 0;
		if (llen == 0) {
			local = "postmaster"; /* §4.3: no local-part */
			llen = strlen(local);
		}
	}
	id->local = mv_strndup(local, llen);
	id->domain = mv_strndup(domain, dlen);
	mv_buf_append(&s, local, llen);
	mv_buf_putc(&s, '@');
	mv_buf_append(&s, domain, dlen);
	id->sender = mv_buf_steal(&s, NULL);
	if (!id->local || !id->domain || !id->sender) {
		mv_spf_ident_clear(id);
		return MV_ENOMEM;
	}
	return MV_OK;
}

int mv_spf_domain_checkable(const char *domain)
{
	size_t n = strlen(domain), i, label = 0, labels = 0;

	if (n > 0 && domain[n - 1] == '.')
		n--;
	if (n == 0 || n > 253 || domain[0] == '[')
		return 0;
	for (i = 0; i <= n; i++) {
		if (i == n || domain[i] == '.') {
			if (label == 0 || label > 63)
				return 0;
			labels++;
			label = 0;
		} else {
			label++;
		}
	}
	return labels >= 2;
}
