/* daemon/smtp/parse.c — the SMTP server's text: command lines, paths, DATA lines (no I/O). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mailvet/util.h>

#include "parse.h"

void smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *out)
{
	static const struct {
		const char *name;
		enum smtp_verb verb;
	} verbs[] = {
	        {"EHLO", SMTP_EHLO}, {"HELO", SMTP_HELO},         {"MAIL", SMTP_MAIL},
	        {"RCPT", SMTP_RCPT}, {"DATA", SMTP_DATA},         {"RSET", SMTP_RSET},
	        {"NOOP", SMTP_NOOP}, {"QUIT", SMTP_QUIT},         {"VRFY", SMTP_VRFY},
	        {"HELP", SMTP_HELP}, {"STARTTLS", SMTP_STARTTLS}, {"AUTH", SMTP_AUTH},
	};
	size_t vl = 0;

	while (vl < len && line[vl] != ' ')
		vl++;
	out->verb = SMTP_UNKNOWN;
	out->arg = "";
	out->arglen = 0;
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (strlen(verbs[i].name) == vl && mv_ascii_ieq(line, vl, verbs[i].name))
			out->verb = verbs[i].verb;
	if (vl < len) {
		out->arg = line + vl + 1;
		out->arglen = len - vl - 1;
	}
}

/* Copy [p, end) into dst (size n, NUL-terminated); 0 when it does not fit. */
static int copy_word(char *dst, size_t n, const char *p, const char *end)
{
	size_t l = (size_t)(end - p);

	if (l >= n)
		return 0;
	memcpy(dst, p, l);
	dst[l] = '\0';
	return 1;
}

/* The ESMTP parameters after the path: "KEY[=VALUE]" separated by spaces. */
static int params_parse(const char *p, const char *end, struct smtp_path *out, const char **why)
{
	while (p < end) {
		const char *w = p, *eq;

		while (p < end && *p != ' ')
			p++;
		if (p > w) {
			if (out->nparams == SMTP_PARAMS_MAX)
				return *why = "555 5.5.4 Too many parameters", -1;
			eq = memchr(w, '=', (size_t)(p - w));
			if (!copy_word(out->param[out->nparams].key, sizeof out->param[0].key, w,
			               eq ? eq : p) ||
			    !copy_word(out->param[out->nparams].value, sizeof out->param[0].value,
			               eq ? eq + 1 : p, p) ||
			    out->param[out->nparams].key[0] == '\0')
				return *why = "555 5.5.4 Malformed parameter", -1;
			out->nparams++;
		}
		while (p < end && *p == ' ')
			p++;
	}
	return 0;
}

int smtp_path_parse(const char *prefix, const char *arg, size_t len, struct smtp_path *out,
                    const char **why)
{
	size_t pl = strlen(prefix);
	const char *p = arg, *end = arg + len, *open, *close, *addr;

	memset(out, 0, sizeof *out);
	if (len < pl || !mv_ascii_ieq(arg, pl, prefix))
		return *why = "501 5.5.4 Syntax: expected <address>", -1;
	p += pl;
	while (p < end && *p == ' ')
		p++;
	open = p;
	if (p == end || *p != '<' || !(close = memchr(p, '>', (size_t)(end - p))))
		return *why = "501 5.5.4 Syntax: expected <address>", -1;
	addr = open + 1;
	/* RFC 5321 §4.1.2 A-d-l: an old source route "@a,@b:" is dropped (§C). */
	if (addr < close && *addr == '@') {
		const char *colon = memchr(addr, ':', (size_t)(close - addr));
		if (!colon)
			return *why = "501 5.1.3 Bad address syntax", -1;
		addr = colon + 1;
	}
	for (const char *q = addr; q < close; q++)
		if ((unsigned char)*q <= ' ' || *q == 127)
			return *why = "501 5.1.3 Bad address syntax", -1;
	if (!copy_word(out->addr, sizeof out->addr, addr, close))
		return *why = "501 5.1.3 Path too long", -1;
	p = close + 1;
	if (p < end && *p != ' ')
		return *why = "501 5.5.4 Syntax: expected <address>", -1;
	return params_parse(p, end, out, why);
}

const char *smtp_path_param(const struct smtp_path *p, const char *key)
{
	for (size_t i = 0; i < p->nparams; i++)
		if (strcasecmp(p->param[i].key, key) == 0)
			return p->param[i].value;
	return NULL;
}

void smtp_data_line(const char *line, size_t len, int after_crlf, struct smtp_data_line *out)
{
	const char *cr;
	size_t body = len; /* bytes before the line end */

	memset(out, 0, sizeof *out);
	out->end = SMTP_END_BARE_LF;
	if (len >= 2 && line[len - 2] == '\r') {
		out->end = SMTP_END_CRLF;
		body = len - 2;
	} else if (len >= 1 && line[len - 1] == '\n') {
		body = len - 1;
	}
	cr = body ? memchr(line, '\r', body) : NULL;
	out->bare_cr = cr != NULL;
	if (after_crlf && out->end == SMTP_END_CRLF && body == 1 && line[0] == '.') {
		out->end_of_data = 1;
		return;
	}
	out->text = line;
	out->len = len;
	if (len > 0 && line[0] == '.') { /* RFC 5321 §4.5.2: transparency */
		out->text++;
		out->len--;
	}
}

static const unsigned char proxy_v2_sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                               0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

/* v1: "PROXY TCP4|TCP6|UNKNOWN src dst sport dport\r\n", addresses checked with inet_pton. */
static enum smtp_proxy_result proxy_v1(const unsigned char *buf, size_t len, char *ip, size_t iplen,
                                       size_t *used)
{
	const unsigned char *crlf = NULL;
	char line[SMTP_PROXY_V1_MAX + 1], proto[8], src[64], dst[64];
	unsigned sport, dport;
	unsigned char addr[16];
	int n = 0;

	for (size_t i = 0; i + 1 < len && i + 2 <= SMTP_PROXY_V1_MAX; i++)
		if (buf[i] == '\r' && buf[i + 1] == '\n') {
			crlf = buf + i;
			break;
		}
	if (!crlf)
		return len >= SMTP_PROXY_V1_MAX ? SMTP_PROXY_BAD : SMTP_PROXY_MORE;
	memcpy(line, buf, (size_t)(crlf - buf));
	line[crlf - buf] = '\0';
	*used = (size_t)(crlf - buf) + 2;
	ip[0] = '\0';
	if (strncmp(line, "PROXY UNKNOWN", 13) == 0)
		return SMTP_PROXY_DONE;
	if (sscanf(line, "PROXY %7s %63s %63s %u %u%n", proto, src, dst, &sport, &dport, &n) != 5 ||
	    line[n] != '\0' || sport > 65535 || dport > 65535)
		return SMTP_PROXY_BAD;
	if (strcmp(proto, "TCP4") == 0
	            ? inet_pton(AF_INET, src, addr) != 1 || inet_pton(AF_INET, dst, addr) != 1
	    : strcmp(proto, "TCP6") == 0
	            ? inet_pton(AF_INET6, src, addr) != 1 || inet_pton(AF_INET6, dst, addr) != 1
	            : 1)
		return SMTP_PROXY_BAD;
	if (strlen(src) >= iplen)
		return SMTP_PROXY_BAD;
	memcpy(ip, src, strlen(src) + 1);
	return SMTP_PROXY_DONE;
}

/* v2: the signature, version 2 with command LOCAL (0) or PROXY (1), family, length, addresses. */
static enum smtp_proxy_result proxy_v2(const unsigned char *buf, size_t len, char *ip, size_t iplen,
                                       size_t *used)
{
	size_t alen;
	unsigned char ver_cmd, fam;

	if (len < 16)
		return SMTP_PROXY_MORE;
	ver_cmd = buf[12];
	fam = buf[13];
	alen = (size_t)buf[14] << 8 | buf[15];
	if ((ver_cmd >> 4) != 2 || (ver_cmd & 0x0F) > 1 || 16 + alen > SMTP_PROXY_V2_MAX)
		return SMTP_PROXY_BAD;
	if (len < 16 + alen)
		return SMTP_PROXY_MORE;
	*used = 16 + alen;
	ip[0] = '\0';
	if ((ver_cmd & 0x0F) == 0) /* LOCAL: the balancer's own health check */
		return SMTP_PROXY_DONE;
	if (fam == 0x11 && alen >= 12) /* TCP over IPv4 */
		return inet_ntop(AF_INET, buf + 16, ip, (socklen_t)iplen) ? SMTP_PROXY_DONE
		                                                          : SMTP_PROXY_BAD;
	if (fam == 0x21 && alen >= 36) /* TCP over IPv6 */
		return inet_ntop(AF_INET6, buf + 16, ip, (socklen_t)iplen) ? SMTP_PROXY_DONE
		                                                           : SMTP_PROXY_BAD;
	return fam == 0x00 ? SMTP_PROXY_DONE : SMTP_PROXY_BAD;
}

enum smtp_proxy_result smtp_proxy_parse(const unsigned char *buf, size_t len, char *ip,
                                        size_t iplen, size_t *used)
{
	size_t n = len < 12 ? len : 12;

	*used = 0;
	if (len > 0 && buf[0] == proxy_v2_sig[0]) {
		if (memcmp(buf, proxy_v2_sig, n) != 0)
			return SMTP_PROXY_BAD;
		return proxy_v2(buf, len, ip, iplen, used);
	}
	n = len < 6 ? len : 6;
	if (memcmp(buf, "PROXY ", n) != 0)
		return SMTP_PROXY_BAD;
	return len < 6 ? SMTP_PROXY_MORE : proxy_v1(buf, len, ip, iplen, used);
}
