/* daemon/fuzz/fuzz_localpolicy.c — the [policy] list files (localpolicy.c) on arbitrary bytes. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "localpolicy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The first byte picks the key the rest is a file of (the override file's
 * "DOMAIN ACTION" lines, or a list); the file is an in-memory one, named
 * through /proc. Then a few questions of every kind.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = {"dmarc_override_file", "skip_clients",
	                                   "skip_recipient_domains", "internal_clients"};
	struct mvd_config c;
	struct mvd_localpolicy *lp = NULL;
	char path[64], why[256], err[512];
	int fd;

	if (size < 1 || size > 256 * 1024 || (fd = memfd_create("lp", 0)) < 0)
		return 0;
	if (write(fd, data + 1, size - 1) != (ssize_t)(size - 1)) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	if (mvd_config_init(&c) == MV_OK &&
	    mvd_localpolicy_conf_set(&c.localpolicy, keys[data[0] % 4], path, why, sizeof why) ==
	            0 &&
	    mvd_localpolicy_load(&c, &lp, err, sizeof err) == MV_OK) {
		(void)mvd_localpolicy_dmarc(lp, "a.example.com", NULL);
		(void)mvd_localpolicy_dmarc(lp, "example.com.", NULL);
		(void)mvd_localpolicy_skip_client(lp, "192.0.2.1");
		(void)mvd_localpolicy_skip_client(lp, "2001:db8::1");
		(void)mvd_localpolicy_internal_client(lp, "10.0.0.1");
		(void)mvd_localpolicy_skip_rcpt(lp, "<bob@b.example.com>");
		mvd_localpolicy_free(lp);
	}
	mvd_config_free(&c);
	close(fd);
	return 0;
}
