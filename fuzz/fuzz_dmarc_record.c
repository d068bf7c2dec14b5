/* fuzz/fuzz_dmarc_record.c — the DMARC record parser (RFC 9989 §4.7) on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include <mailvet/dmarc.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mv_dmarc_record rec;
	struct mv_buf b = MV_BUF_INIT;
	char err[128];

	if (mv_dmarc_record_parse((const char *)data, size, &rec, err, sizeof err) == MV_OK)
		mv_dmarc_record_summary(&rec, &b);
	mv_dmarc_record_clear(&rec);
	mv_buf_free(&b);
	return 0;
}
