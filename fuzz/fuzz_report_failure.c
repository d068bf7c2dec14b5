/* fuzz/fuzz_report_failure.c — a failure-report spool file read back, redacted and built into ARF. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/report.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mv_report_info info = {"org", "p@rx.example", "rx.example", NULL, 0, 0};
	struct mv_report_failure f;
	struct mv_buf red = MV_BUF_INIT, msg = MV_BUF_INIT;
	char err[200], *copy = malloc(size + 1);

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	mv_report_failure_redact((const char *)data, size, "k", 1, &red);
	if (mv_report_failure_read(copy, size, &f, err, sizeof err) == MV_OK)
		mv_report_failure_email(&info, &f, "ruf-x", "p@rx.example", "r@example.com", 0,
		                        &msg);
	mv_buf_free(&red);
	mv_buf_free(&msg);
	free(copy);
	return 0;
}
