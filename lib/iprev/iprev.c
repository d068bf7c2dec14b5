/* lib/iprev/iprev.c — iprev (RFC 8601 §3): PTR, then the addresses of each name, compared with the client. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/iprev.h>

const char *mv_iprev_result_str(enum mv_iprev_result r)
{
	static const char *const names[] = {"pass", "fail", "temperror", "permerror"};

	return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "permerror";
}

void mv_iprev_verdict_clear(struct mv_iprev_verdict *v)
{
	free(v->ip);
	free(v->name);
	free(v->problem);
	memset(v, 0, sizeof *v);
}

/* The address: family and 4 or 16 bytes; IPv4-mapped IPv6 becomes IPv4. */
static int parse_ip(const char *ip, uint8_t addr[16], int *v6)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (inet_pton(AF_INET, ip, addr) == 1) {
		*v6 = 0;
		return 0;
	}
	if (inet_pton(AF_INET6, ip, addr) != 1)
		return -1;
	*v6 = 1;
	if (memcmp(addr, mapped, 12) == 0) {
		memmove(addr, addr + 12, 4);
		*v6 = 0;
	}
	return 0;
}

enum mv_status mv_iprev_ptr_name(const char *ip, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t a[16];
	size_t off = 0;
	int v6, k;

	if (parse_ip(ip, a, &v6) != 0 || len < MV_IPREV_PTR_NAME_MAX)
		return MV_EINVAL;
	if (!v6) {
		snprintf(buf, len, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
		return MV_OK;
	}
	for (k = 15; k >= 0; k--) {
		buf[off++] = hex[a[k] & 15];
		buf[off++] = '.';
		buf[off++] = hex[a[k] >> 4];
		buf[off++] = '.';
	}
	memcpy(buf + off, "ip6.arpa", 9);
	return MV_OK;
}

static enum mv_status set(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? strdup(s) : NULL;
	return (s && *dst == NULL) ? MV_ENOMEM : MV_OK;
}

/* Forward-check one name: 1 match, 0 no match, -1 temporary failure. */
static int forward_match(struct mv_resolver *r, const char *name, const uint8_t a[16], int v6,
                         enum mv_status *st)
{
	struct mv_dns_answer *ans = NULL;
	size_t k;
	int res = 0;

	*st = mv_dns_query(r, name, v6 ? MV_DNS_AAAA : MV_DNS_A, &ans);
	if (*st == MV_EINVAL) { /* a PTR target that is no DNS name matches nothing */
		*st = MV_OK;
		return 0;
	}
	if (*st != MV_OK)
		return 0;
	if (ans->rcode == MV_DNS_SERVFAIL || ans->rcode == MV_DNS_TIMEOUT)
		res = -1;
	for (k = 0; k < ans->count && res == 0; k++)
		if (memcmp(ans->rr[k].addr, a, v6 ? 16 : 4) == 0)
			res = 1;
	mv_dns_answer_free(ans);
	return res;
}

/* §2.7.3 for the names of one PTR answer. */
static enum mv_status check_names(struct mv_resolver *r, const struct mv_dns_answer *ptr,
                                  unsigned max, const uint8_t a[16], int v6,
                                  struct mv_iprev_verdict *out)
{
	enum mv_status st = MV_OK;
	int m, temp = 0;
	size_t k;

	out->names = ptr->count;
	for (k = 0; k < ptr->count && k < max; k++) {
		out->checked++;
		m = forward_match(r, ptr->rr[k].host, a, v6, &st);
		if (st != MV_OK)
			return st;
		if (m == 1) {
			out->result = MV_IPREV_PASS;
			return set(&out->name, ptr->rr[k].host);
		}
		temp |= m < 0;
	}
	if ((st = set(&out->name, ptr->count ? ptr->rr[0].host : NULL)) != MV_OK)
		return st;
	out->result = temp ? MV_IPREV_TEMPERROR : MV_IPREV_FAIL;
	return set(&out->problem,
	           temp ? "forward lookup failed" : "no PTR name maps back to the address");
}

enum mv_status mv_iprev_check(struct mv_resolver *r, const char *ip, unsigned max_names,
                              struct mv_iprev_verdict *out)
{
	struct mv_dns_answer *ptr = NULL;
	char name[MV_IPREV_PTR_NAME_MAX], text[INET6_ADDRSTRLEN];
	uint8_t a[16];
	enum mv_status st;
	int v6;

	memset(out, 0, sizeof *out);
	if (ip == NULL || parse_ip(ip, a, &v6) != 0)
		return MV_EINVAL;
	if (max_names == 0)
		max_names = MV_IPREV_MAX_NAMES;
	inet_ntop(v6 ? AF_INET6 : AF_INET, a, text, sizeof text);
	if ((st = set(&out->ip, text)) != MV_OK ||
	    (st = mv_iprev_ptr_name(text, name, sizeof name)))
		return st;
	if ((st = mv_dns_query(r, name, MV_DNS_PTR, &ptr)) != MV_OK)
		return st;
	switch (ptr->rcode) {
	case MV_DNS_RECORDS:
		st = check_names(r, ptr, max_names, a, v6, out);
		break;
	case MV_DNS_NXDOMAIN:
	case MV_DNS_NODATA:
		out->result = MV_IPREV_PERMERROR;
		st = set(&out->problem, "no PTR record");
		break;
	case MV_DNS_SERVFAIL:
	case MV_DNS_TIMEOUT:
		out->result = MV_IPREV_TEMPERROR;
		st = set(&out->problem, "PTR lookup failed");
		break;
	}
	mv_dns_answer_free(ptr);
	return st;
}

enum mv_status mv_iprev_authres_result(const struct mv_iprev_verdict *v, struct mv_result **out)
{
	struct mv_result *res = NULL;
	enum mv_status st;

	*out = NULL;
	if ((st = mv_result_new("iprev", mv_iprev_result_str(v->result), &res)) != MV_OK)
		return st;
	if (v->name && (st = mv_result_set_comment(res, v->name)) != MV_OK)
		goto out;
	if (v->result != MV_IPREV_PASS && v->result != MV_IPREV_FAIL && v->problem &&
	    (st = mv_result_set_reason(res, v->problem)) != MV_OK)
		goto out;
	if (v->ip)
		st = mv_result_add_prop(res, "policy", "iprev", v->ip);
out:
	if (st != MV_OK) {
		mv_result_free(res);
		return st;
	}
	*out = res;
	return MV_OK;
}
