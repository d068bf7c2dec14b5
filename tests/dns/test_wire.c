/* tests/dns/test_wire.c — reading DNS wire format (RFC 1035 §3.1, §3.3, §4.1.4). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dns/wire.h"

static char buf[65536 + MV_DNS_NAME_MAX + 2];

/* A response to example.com/A: example.com CNAME a.example.com CNAME b.example.com A. */
static const uint8_t chain_packet[] = {
        0,    1,    0x81, 0x80, 0,   1,   0,   3,   0, 0,   0,   0, /* header */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', 3, 'c', 'o', 'm',
        0,    0,    1,    0,    1, /* question */
        0xc0, 0x0c, 0,    5,    0,   1,   0,   0,   1, 44,  0,   4,
        1,    'a',  0xc0, 0x0c, /* @29, rdata @41 */
        0xc0, 0x29, 0,    5,    0,   1,   0,   0,   1, 44,  0,   4,
        1,    'b',  0xc0, 0x0c, /* @45, rdata @57 */
        0xc0, 0x39, 0,    1,    0,   1,   0,   0,   1, 44,  0,   4,
        192,  0,    2,    1,
};

static void cname_chain_is_read_through_compression(void **state)
{
	char chain[MV_DNS_CHAIN_MAX][MV_DNS_NAME_MAX + 1];
	size_t n;

	(void)state;
	assert_int_equal(mv_dns_wire_cname_chain(chain_packet, sizeof chain_packet, "example.com",
	                                         chain, MV_DNS_CHAIN_MAX - 1, &n),
	                 0);
	assert_int_equal(n, 2);
	assert_string_equal(chain[0], "a.example.com");
	assert_string_equal(chain[1], "b.example.com");
	/* a name that is not the chain's start has no links */
	assert_int_equal(mv_dns_wire_cname_chain(chain_packet, sizeof chain_packet, "other.com",
	                                         chain, MV_DNS_CHAIN_MAX - 1, &n),
	                 0);
	assert_int_equal(n, 0);
	/* the chain is bounded by max */
	assert_int_equal(mv_dns_wire_cname_chain(chain_packet, sizeof chain_packet, "example.com",
	                                         chain, 1, &n),
	                 0);
	assert_int_equal(n, 1);
}

static void truncated_and_looping_packets_are_refused(void **state)
{
	char chain[MV_DNS_CHAIN_MAX][MV_DNS_NAME_MAX + 1];
	uint8_t pkt[sizeof chain_packet];
	size_t n;

	(void)state;
	assert_int_equal(mv_dns_wire_cname_chain(chain_packet, 40, "example.com", chain, 4, &n),
	                 -1);
	assert_int_equal(mv_dns_wire_cname_chain(chain_packet, 5, "example.com", chain, 4, &n), -1);
	memcpy(pkt, chain_packet, sizeof pkt);
	pkt[30] = 29; /* the first answer's owner points at itself */
	assert_int_equal(mv_dns_wire_cname_chain(pkt, sizeof pkt, "example.com", chain, 4, &n), -1);
	memcpy(pkt, chain_packet, sizeof pkt);
	pkt[30] = 50; /* forwards */
	assert_int_equal(mv_dns_wire_cname_chain(pkt, sizeof pkt, "example.com", chain, 4, &n), -1);
}

static void min_ttl_covers_every_cname_link(void **state)
{
	uint8_t pkt[sizeof chain_packet];
	uint32_t ttl;

	(void)state;
	assert_int_equal(mv_dns_wire_min_ttl(chain_packet, sizeof chain_packet, &ttl), 1);
	assert_int_equal(ttl, 300);
	memcpy(pkt, chain_packet, sizeof pkt);
	pkt[37] = 0;
	pkt[38] = 60; /* the first CNAME: 60 s */
	assert_int_equal(mv_dns_wire_min_ttl(pkt, sizeof pkt, &ttl), 1);
	assert_int_equal(ttl, 60);
	pkt[67] = 0x80; /* the A record: a TTL with the top bit set counts as 0 */
	assert_int_equal(mv_dns_wire_min_ttl(pkt, sizeof pkt, &ttl), 1);
	assert_int_equal(ttl, 0);
	assert_int_equal(mv_dns_wire_min_ttl(chain_packet, 60, &ttl), -1);
	assert_int_equal(mv_dns_wire_min_ttl(chain_packet, 11, &ttl), -1);
}

/* NXDOMAIN for example.com/A with an SOA (TTL 3600, MINIMUM 300) in the authority section. */
static const uint8_t nx_packet[] = {
        0,    1,    0x81, 0x83, 0,    1,    0,   0,   0,    1,    0,   0, /* header */
        7,    'e',  'x',  'a',  'm',  'p',  'l', 'e', 3,    'c',  'o', 'm',
        0,    0,    1,    0,    1,                                         /* question */
        0xc0, 0x0c, 0,    6,    0,    1,    0,   0,   0x0e, 0x10, 0,   22, /* SOA, @29 */
        0,    0,    0,    0,    0,    1,    0,   0,   0x0e, 0x10, 0,   0,
        0x02, 0x58, 0,    0x01, 0x51, 0x80, 0,   0,   0x01, 0x2c,
};

static void min_ttl_of_a_negative_answer_is_the_soa_minimum(void **state)
{
	uint8_t pkt[sizeof nx_packet];
	uint32_t ttl;

	(void)state;
	assert_int_equal(mv_dns_wire_min_ttl(nx_packet, sizeof nx_packet, &ttl), 1);
	assert_int_equal(ttl, 300);
	memcpy(pkt, nx_packet, sizeof pkt);
	pkt[37] = 0;
	pkt[38] = 100; /* SOA TTL 100, below MINIMUM */
	assert_int_equal(mv_dns_wire_min_ttl(pkt, sizeof pkt, &ttl), 1);
	assert_int_equal(ttl, 100);
	pkt[32] = 2; /* an NS record says nothing about how long */
	assert_int_equal(mv_dns_wire_min_ttl(pkt, sizeof pkt, &ttl), 0);
	memcpy(pkt, nx_packet, sizeof pkt);
	pkt[40] = 19; /* an SOA too short for MINIMUM */
	assert_int_equal(mv_dns_wire_min_ttl(pkt, sizeof pkt - 3, &ttl), -1);
}

/* Each rdata, the type it is read as, and what must come out. */
struct rdata_case {
	const char *what;
	enum mv_dns_type type;
	const char *rd;
	size_t len;
	long ret;         /* -1 refused, else >= 0 */
	const char *text; /* host or txt */
	size_t textlen;
};

#define RD(s) s, sizeof s - 1

static const struct rdata_case rdata_cases[] = {
        {"txt strings concatenate", MV_DNS_TXT, RD("\7v=spf1 \4-all"), 12, "v=spf1 -all", 11},
        {"txt empty string", MV_DNS_TXT, RD("\0"), 1, "", 0},
        {"txt nul byte kept", MV_DNS_TXT, RD("\3a\0b"), 4, "a\0b", 3},
        {"txt truncated string", MV_DNS_TXT, RD("\5abc"), -1, NULL, 0},
        {"txt no string at all", MV_DNS_TXT, "", 0, -1, NULL, 0},
        {"a of four octets", MV_DNS_A, RD("\300\0\2\1"), 0, NULL, 0},
        {"a of five octets", MV_DNS_A, RD("\300\0\2\1\1"), -1, NULL, 0},
        {"aaaa of four octets", MV_DNS_AAAA, RD("\300\0\2\1"), -1, NULL, 0},
        {"ptr lowercased", MV_DNS_PTR, RD("\4Mail\7Example\0"), 13, "mail.example", 12},
        {"ptr root", MV_DNS_PTR, RD("\0"), 1, "", 0},
        {"ptr trailing garbage", MV_DNS_PTR, RD("\1a\0x"), -1, NULL, 0},
        {"ptr unterminated", MV_DNS_PTR, RD("\1a\1b"), -1, NULL, 0},
        {"ptr compressed", MV_DNS_PTR, RD("\1a\300\0"), -1, NULL, 0},
        {"ptr label with a dot", MV_DNS_PTR, RD("\3a.b\0"), -1, NULL, 0},
        {"ptr label with nul", MV_DNS_PTR, RD("\3a\0b\0"), -1, NULL, 0},
        {"cname", MV_DNS_CNAME, RD("\1x\0"), 2, "x", 1},
        {"mx", MV_DNS_MX, RD("\0\12\2mx\0"), 3, "mx", 2},
        {"mx null", MV_DNS_MX, RD("\0\0\0"), 1, "", 0},
        {"mx without name", MV_DNS_MX, RD("\0\12"), -1, NULL, 0},
};

static void rdata_of_every_type(void **state)
{
	struct mv_dns_rr rr;
	size_t i;
	long ret;

	(void)state;
	for (i = 0; i < sizeof rdata_cases / sizeof rdata_cases[0]; i++) {
		const struct rdata_case *c = &rdata_cases[i];
		ret = mv_dns_wire_rdata(c->type, (const uint8_t *)c->rd, c->len, &rr, buf);
		if (ret != c->ret)
			fail_msg("%s: returned %ld, want %ld", c->what, ret, c->ret);
		if (ret < 0 || !c->text)
			continue;
		assert_int_equal(rr.type, c->type);
		if (c->type == MV_DNS_TXT) {
			assert_int_equal(rr.txtlen, c->textlen);
			assert_memory_equal(rr.txt, c->text, c->textlen + 1);
		} else {
			assert_string_equal(rr.host, c->text);
		}
	}
	assert_int_equal(mv_dns_wire_rdata(MV_DNS_MX, (const uint8_t *)"\0\12\2mx\0", 6, &rr, buf),
	                 3);
	assert_int_equal(rr.pref, 10);
	assert_int_equal(mv_dns_wire_rdata(MV_DNS_A, (const uint8_t *)"\300\0\2\1", 4, &rr, buf),
	                 0);
	assert_int_equal(rr.addr[0], 192);
	assert_int_equal(rr.addr[3], 1);
}

static void overlong_names_are_refused(void **state)
{
	uint8_t wire[300];
	char text[MV_DNS_NAME_MAX + 1];
	size_t i, pos = 0;

	(void)state;
	/* four labels of 63: 4 * 64 + 1 = 257 octets of wire, over 255 */
	for (i = 0; i < 4; i++) {
		wire[pos++] = 63;
		memset(wire + pos, 'a', 63);
		pos += 63;
	}
	wire[pos++] = 0;
	assert_int_equal(mv_dns_wire_rdata(MV_DNS_PTR, wire, pos, &(struct mv_dns_rr){0}, buf), -1);
	assert_int_equal(mv_dns_wire_to_text(wire, pos, text), -1);
	/* three of 63 and one of 61: 255 octets, 253 of text */
	wire[192] = 61;
	wire[192 + 62] = 0;
	assert_int_equal(mv_dns_wire_to_text(wire, 255, text), 0);
	assert_int_equal(strlen(text), 253);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(cname_chain_is_read_through_compression),
	        cmocka_unit_test(truncated_and_looping_packets_are_refused),
	        cmocka_unit_test(min_ttl_covers_every_cname_link),
	        cmocka_unit_test(min_ttl_of_a_negative_answer_is_the_soa_minimum),
	        cmocka_unit_test(rdata_of_every_type),
	        cmocka_unit_test(overlong_names_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
