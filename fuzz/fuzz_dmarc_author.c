/* fuzz/fuzz_dmarc_author.c — Author Domain extraction from an arbitrary message header. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/dmarc.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mv_msg *m = NULL;
	char *domain = NULL, err[160];

	if (mv_msg_parse((const char *)data, size, NULL, &m, NULL, 0) != MV_OK)
		return 0;
	if (mv_dmarc_author_domain(m, &domain, err, sizeof err) == MV_OK) {
		/* the result is one lowercase A-label name: no '@', no space */
		if (strchr(domain, '@') || strchr(domain, ' '))
			abort();
	}
	free(domain);
	mv_msg_free(m);
	return 0;
}
