/* lib/report/gzip.c — gzip (RFC 1952) out, and in with an output limit, through zlib. */
#include <string.h>
#include <zlib.h>

#include <mailvet/report.h>

#define CHUNK 65536

enum mv_status mv_report_gzip(const void *data, size_t len, struct mv_buf *out)
{
	unsigned char buf[CHUNK];
	z_stream z;
	enum mv_status st = MV_OK;
	int rc;

	memset(&z, 0, sizeof z);
	/* 15 + 16: a gzip header and trailer rather than zlib's. */
	if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return MV_ENOMEM;
	z.next_in = (unsigned char *)(uintptr_t)data;
	z.avail_in = (uInt)len; /* reports are far below 4 GiB (MV_BUF_MAX) */
	do {
		z.next_out = buf;
		z.avail_out = sizeof buf;
		rc = deflate(&z, Z_FINISH);
		if (rc == Z_STREAM_ERROR) {
			st = MV_ENOMEM;
			break;
		}
		mv_buf_append(out, buf, sizeof buf - z.avail_out);
	} while (rc != Z_STREAM_END);
	deflateEnd(&z);
	return st != MV_OK ? st : mv_buf_status(out);
}

enum mv_status mv_report_gunzip(const void *data, size_t len, size_t max, struct mv_buf *out)
{
	unsigned char buf[CHUNK];
	z_stream z;
	enum mv_status st = MV_OK;
	size_t got = 0, n;
	int rc;

	memset(&z, 0, sizeof z);
	if (len > UINT32_MAX)
		return MV_ETOOBIG;
	if (inflateInit2(&z, 15 + 16) != Z_OK) /* gzip only */
		return MV_ENOMEM;
	z.next_in = (unsigned char *)(uintptr_t)data;
	z.avail_in = (uInt)len;
	do {
		z.next_out = buf;
		z.avail_out = sizeof buf;
		rc = inflate(&z, Z_NO_FLUSH);
		if (rc != Z_OK && rc != Z_STREAM_END) {
			st = rc == Z_MEM_ERROR ? MV_ENOMEM
			                       : MV_ESYNTAX; /* Z_BUF_ERROR: truncated */
			break;
		}
		n = sizeof buf - z.avail_out;
		if (n > max - got) {
			st = MV_ETOOBIG;
			break;
		}
		got += n;
		mv_buf_append(out, buf, n);
	} while (rc != Z_STREAM_END);
	inflateEnd(&z);
	return st != MV_OK ? st : mv_buf_status(out);
}
