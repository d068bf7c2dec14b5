/* bench/dkim/bench_verify.c — mailvet DKIM verifications per second (run by bench/dkim/run). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mailvet/dkim.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* usage: bench_verify ZONE MESSAGE SECONDS NOW — prints verifications per second. */
int main(int argc, char **argv)
{
	struct mv_resolver *zone = NULL;
	struct mv_dkim_keycache *cache = NULL;
	struct mv_dkim_verify_opts o;
	char *msg = NULL, err[160];
	size_t len;
	double secs, start, t;
	long n = 0;
	int64_t clock_now;

	if (argc != 5) {
		fprintf(stderr, "usage: bench_verify ZONE MESSAGE SECONDS NOW\n");
		return 2;
	}
	secs = strtod(argv[3], NULL);
	clock_now = strtoll(argv[4], NULL, 10);
	if (mv_dns_zone_open(argv[1], &zone, err, sizeof err) != MV_OK ||
	    mv_read_file(argv[2], 1 << 24, &msg, &len) != MV_OK) {
		fprintf(stderr, "bench_verify: cannot read inputs\n");
		return 2;
	}
	mv_dkim_verify_opts_default(&o);
	if (mv_dkim_keycache_new(64, &cache) != MV_OK)
		return 2;
	o.keycache = cache; /* keys decoded once, as a long-running verifier does */
	start = now_s();
	do {
		struct mv_msg *m = NULL;
		struct mv_dkim_verifier *v = NULL;
		size_t k;

		if (mv_msg_parse(msg, len, NULL, &m, err, sizeof err) != MV_OK ||
		    mv_dkim_verifier_new(&o, zone, clock_now, &v) != MV_OK ||
		    mv_dkim_verifier_message(v, m) != MV_OK)
			return 2;
		for (k = 0; k < mv_dkim_verifier_count(v); k++) {
			if (mv_dkim_verifier_result(v, k)->res != MV_DKIM_PASS) {
				fprintf(stderr, "bench_verify: signature %zu: %s\n", k,
				        mv_dkim_verifier_result(v, k)->reason);
				return 1;
			}
		}
		mv_dkim_verifier_free(v);
		mv_msg_free(m);
		n++;
		t = now_s() - start;
	} while (t < secs);
	printf("%.1f\n", (double)n / t);
	free(msg);
	mv_dns_free(zone);
	mv_dkim_keycache_free(cache);
	return 0;
}
