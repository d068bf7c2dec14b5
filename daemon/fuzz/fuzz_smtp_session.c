/* daemon/fuzz/fuzz_smtp_session.c — the SMTP server's parsers on an arbitrary client byte stream. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The stream is cut at LF as the server cuts it: command lines (at most
 * SMTP_CMD_MAX), and after a DATA command, message lines (at most
 * SMTP_TEXT_MAX) until the end of data. Checks what the relay relies on:
 * the end of data is only <CRLF>.<CRLF>, unstuffing removes one dot at most,
 * a parsed path holds no space or control character, a PROXY header ends
 * inside the input.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	int in_data = 0, after_crlf = 1;
	char ip[64];
	size_t used = 0;

	/* A balancer's PROXY header first, as a proxy_from peer sends it. */
	if (smtp_proxy_parse(data, size, ip, sizeof ip, &used) == SMTP_PROXY_DONE &&
	    (used > size || strlen(ip) >= sizeof ip))
		abort();

	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		size_t len = lf ? (size_t)(lf - p) + 1 : (size_t)(end - p);

		if (!lf)
			break;
		if (in_data && len <= SMTP_TEXT_MAX) {
			struct smtp_data_line dl;
			smtp_data_line(p, len, after_crlf, &dl);
			if (dl.end_of_data) {
				if (!(len == 3 && memcmp(p, ".\r\n", 3) == 0 && after_crlf))
					abort();
				in_data = 0;
			} else {
				if (dl.len + 1 < len || dl.len > len)
					abort();
				after_crlf = dl.end == SMTP_END_CRLF;
			}
		} else if (!in_data && len <= SMTP_CMD_MAX) {
			struct smtp_cmd c;
			struct smtp_path path;
			const char *why = NULL;
			size_t n = len - 1 - (len >= 2 && p[len - 2] == '\r');

			smtp_cmd_parse(p, n, &c);
			if (c.verb == SMTP_MAIL || c.verb == SMTP_RCPT) {
				if (smtp_path_parse(c.verb == SMTP_MAIL ? "FROM:" : "TO:", c.arg,
				                    c.arglen, &path, &why) == 0) {
					for (const char *a = path.addr; *a; a++)
						if ((unsigned char)*a <= ' ')
							abort();
					(void)smtp_path_param(&path, "SIZE");
				} else if (!why) {
					abort();
				}
			}
			if (c.verb == SMTP_DATA) {
				in_data = 1;
				after_crlf = 1;
			}
		}
		p += len;
	}
	return 0;
}
