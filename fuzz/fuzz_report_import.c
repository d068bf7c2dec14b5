/* fuzz/fuzz_report_import.c — received DMARC reports: extraction (message, gzip, zip) and the XML parser. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <mailvet/report.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int parse(void *arg, const char *name, const char *xml, size_t len)
{
	struct mv_report_meta meta;
	struct mv_report_record *rows = NULL;
	size_t n = 0;
	char err[256];

	(void)arg;
	(void)name;
	mv_report_parse(xml, len, &meta, &rows, &n, err, sizeof err);
	free(rows);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];

	mv_report_extract((const char *)data, size, parse, NULL, err, sizeof err);
	return 0;
}
