/*
 * bench/spf/bench_libspf2.c — libspf2's side of the SPF benchmark: the same zone loaded into
 * libspf2's in-memory zone DNS layer (SPF_dns_zone), the same scenarios through
 * SPF_request_query_mailfrom(), for a fixed time. Output as bench_spf.c's.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <spf2/spf.h>
#include <spf2/spf_dns_zone.h>

#include "scen.h"

/* TXT rdata: the quoted strings of the line, concatenated (plain subset: no escapes). */
static void txt_data(const char *p, char *out, size_t outlen)
{
	size_t o = 0;
	int in = 0;

	for (; *p && o + 1 < outlen; p++) {
		if (*p == '"')
			in = !in;
		else if (in)
			out[o++] = *p;
	}
	out[o] = '\0';
}

static int load_zone(SPF_dns_server_t *dns, const char *path)
{
	char line[2048], owner[300], type[16], data[2048], host[300];
	unsigned pref;
	int off;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		if (line[0] == ';' || line[0] == '\n')
			continue;
		if (sscanf(line, "%299s %15s %n", owner, type, &off) != 2)
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (strcmp(type, "TXT") == 0) {
			txt_data(line + off, data, sizeof data);
			SPF_dns_zone_add_str(dns, owner, ns_t_txt, NETDB_SUCCESS, data);
		} else if (strcmp(type, "MX") == 0 &&
		           sscanf(line + off, "%u %299s", &pref, host) == 2) {
			SPF_dns_zone_add_str(dns, owner, ns_t_mx, NETDB_SUCCESS, host);
		} else if (strcmp(type, "A") == 0) {
			SPF_dns_zone_add_str(dns, owner, ns_t_a, NETDB_SUCCESS, line + off);
		} else if (strcmp(type, "AAAA") == 0) {
			SPF_dns_zone_add_str(dns, owner, ns_t_aaaa, NETDB_SUCCESS, line + off);
		} else if (strcmp(type, "PTR") == 0) {
			SPF_dns_zone_add_str(dns, owner, ns_t_ptr, NETDB_SUCCESS, line + off);
		}
	}
	fclose(f);
	return 0;
}

static int eval(SPF_server_t *srv, const struct scen *s, const char **res)
{
	SPF_request_t *req = SPF_request_new(srv);
	SPF_response_t *resp = NULL;

	if (strchr(s->ip, ':'))
		SPF_request_set_ipv6_str(req, s->ip);
	else
		SPF_request_set_ipv4_str(req, s->ip);
	SPF_request_set_helo_dom(req, s->helo);
	if (s->mail_from[0])
		SPF_request_set_env_from(req, s->mail_from);
	SPF_request_query_mailfrom(req, &resp);
	*res = SPF_strresult(SPF_response_result(resp));
	SPF_response_free(resp);
	SPF_request_free(req);
	return 0;
}

int main(int argc, char **argv)
{
	struct scen sc[SCEN_MAX];
	SPF_dns_server_t *dns;
	SPF_server_t *srv;
	const char *res = "";
	double start, secs;
	unsigned long evals = 0;
	int n, i;

	if (argc != 4) {
		fprintf(stderr, "usage: bench_libspf2 ZONE SCENARIOS SECONDS\n");
		return 2;
	}
	dns = SPF_dns_zone_new(NULL, "bench", 0);
	if (!dns || load_zone(dns, argv[1]) != 0)
		return 2;
	srv = SPF_server_new_dns(dns, 0);
	SPF_server_set_rec_dom(srv, "bench.example");
	if ((n = scen_load(argv[2], sc, SCEN_MAX)) <= 0)
		return 2;
	secs = strtod(argv[3], NULL);
	for (i = 0; i < n; i++) {
		eval(srv, &sc[i], &res);
		printf("result %d %s\n", i, res);
	}
	start = now_seconds();
	do {
		for (i = 0; i < n; i++)
			eval(srv, &sc[i], &res);
		evals += (unsigned long)n;
	} while (now_seconds() - start < secs);
	secs = now_seconds() - start;
	printf("rate libspf2 %lu %.3f %.0f\n", evals, secs, (double)evals / secs);
	SPF_server_free(srv);
	return 0;
}
