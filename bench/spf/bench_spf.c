/*
 * bench/spf/bench_spf.c — mailvet's side of the SPF benchmark: every scenario of
 * scenarios.txt through mv_spf_check() over the zone backend (all answers in memory),
 * for a fixed time. Prints the result of each scenario, then evaluations per second.
 */
#include <stdio.h>
#include <stdlib.h>

#include <mailvet/dns.h>
#include <mailvet/spf.h>

#include "scen.h"

static int eval(struct mv_resolver *r, const struct scen *s, enum mv_spf_result *res)
{
	struct mv_spf_request req = {0};
	struct mv_spf_verdict v;

	req.ip = s->ip;
	req.helo = s->helo;
	req.mail_from = s->mail_from;
	req.identity = s->mail_from[0] ? MV_SPF_ID_MAILFROM : MV_SPF_ID_HELO;
	req.now = 1400000000;
	if (mv_spf_check(r, &req, &v) != MV_OK)
		return -1;
	*res = v.result;
	mv_spf_verdict_clear(&v);
	return 0;
}

int main(int argc, char **argv)
{
	struct scen sc[SCEN_MAX];
	struct mv_resolver *r = NULL;
	enum mv_spf_result res = MV_SPF_NONE;
	double start, secs;
	unsigned long evals = 0;
	char err[160];
	int n, i;

	if (argc != 4) {
		fprintf(stderr, "usage: bench_spf ZONE SCENARIOS SECONDS\n");
		return 2;
	}
	if (mv_dns_zone_open(argv[1], &r, err, sizeof err) != MV_OK) {
		fprintf(stderr, "bench_spf: %s\n", err);
		return 2;
	}
	if ((n = scen_load(argv[2], sc, SCEN_MAX)) <= 0)
		return 2;
	secs = strtod(argv[3], NULL);
	for (i = 0; i < n; i++) {
		if (eval(r, &sc[i], &res) != 0)
			return 1;
		printf("result %d %s\n", i, mv_spf_result_str(res));
	}
	start = now_seconds();
	do {
		for (i = 0; i < n; i++)
			if (eval(r, &sc[i], &res) != 0)
				return 1;
		evals += (unsigned long)n;
	} while (now_seconds() - start < secs);
	secs = now_seconds() - start;
	printf("rate mailvet %lu %.3f %.0f\n", evals, secs, (double)evals / secs);
	mv_dns_free(r);
	return 0;
}
