/* fuzz/fuzz_addr_parse.c — mv_addr_parse on arbitrary bytes; checks what a success promises. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/msg.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mv_addr_list *l = NULL;
	char err[128];
	size_t i;

	if (mv_addr_parse((const char *)data, size, &l, err, sizeof(err)) != MV_OK) {
		if (l || err[0] == '\0')
			abort(); /* a failure leaves nothing and always says why */
		return 0;
	}
	if (l->count == 0 && l->groups == 0)
		abort();
	for (i = 0; i < l->count; i++) {
		const struct mv_addr *a = &l->addr[i];
		if (!a->local || !a->domain || !a->domain_ascii || !a->domain_unicode)
			abort();
		if (a->domain[0] == '\0' || strlen(a->domain) > size)
			abort();
	}
	mv_addr_list_free(l);
	return 0;
}
