/* daemon/fuzz/fuzz_daemon_config.c — the mailvet.conf parser on arbitrary text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mvd_config c;
	char err[256];
	char *text;

	if (size > 64 * 1024 || !(text = malloc(size + 1)))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (mvd_config_init(&c) == MV_OK) {
		if (mvd_config_parse(&c, text, err, sizeof err) == MV_OK) {
			const struct mvd_domain_conf *d = mvd_config_domain(&c, "mail.example.com");
			(void)d;
			(void)mv_cidr_list_match(&c.internal_hosts, "192.0.2.1");
			(void)mv_cidr_list_match(&c.internal_hosts, "2001:db8::1");
		}
	}
	mvd_config_free(&c);
	free(text);
	return 0;
}
