/* fuzz/fuzz_caps_parse.c — the AUTHSERV capability reader on any EHLO, CAPABILITY or CAPA reply. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/authres.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Every protocol, before and after login. What comes out must hold its
 * promises: an id only in state ID, and then a non-empty token without
 * control characters or spaces.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mv_authres_caps c;
	char err[160];
	int proto, auth;
	const char *p;

	for (proto = MV_AUTHRES_CAPS_SMTP; proto <= MV_AUTHRES_CAPS_POP3; proto++) {
		for (auth = 0; auth <= 1; auth++) {
			if (mv_authres_caps_parse((enum mv_authres_caps_proto)proto, auth,
			                          (const char *)data, size, &c, err,
			                          sizeof err) != MV_OK) {
				if (c.serv_id || c.state != MV_AUTHRES_CAPS_ABSENT)
					abort();
				continue;
			}
			if ((c.state == MV_AUTHRES_CAPS_ID) != (c.serv_id != NULL))
				abort();
			for (p = c.serv_id; p && *p; p++)
				if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
					abort();
			if (c.serv_id && !*c.serv_id)
				abort();
			mv_authres_caps_clear(&c);
		}
	}
	return 0;
}
