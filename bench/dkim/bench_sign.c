/* bench/dkim/bench_sign.c — DKIM signing throughput in process and through mailvetd's key process. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mailvet/dkim.h>
#include <mailvet/msg.h>
#include <mailvet/util.h>

#include "config.h"
#include "keyd.h"
#include "keys.h"
#include "supervise.h"

/*
 * usage: bench_keyd_sign CONFIG MESSAGE SECONDS THREADS [ROUNDS [ALG]]
 *
 * CONFIG is a mailvet.conf whose first [domain] section has the keys to
 * sign with (one rsa, one ed25519). For each key alone (or only the one of
 * algorithm ALG), signs MESSAGE (the header hashed, the body hashed, the
 * digest signed: all of mv_dkim_sign) for SECONDS with THREADS threads, with
 * the key in this process and through a key process forked here and spoken
 * to over mailvetd's channel, in ROUNDS (default 5) turns of SECONDS/ROUNDS
 * each side, in process first then through the key process.
 * Prints one line per algorithm:
 *   "ALG inproc/s keyd/s cost% median-cost% inproc-cpu-us keyd-cpu-us cpu-cost%":
 * the best round of each side, the cost of those, the median of the costs
 * of each pair of neighbouring rounds (many short pairs see the same load
 * on both sides), then the CPU time per signature over all rounds, in
 * process (this process) and through the key process (this process and the
 * key process), and the throughput that costs when the CPUs are the limit.
 * On a shared machine the CPU figure is the steadiest: the wall-clock ones
 * also measure how long the scheduler makes a woken thread wait, and how
 * much CPU more threads take from the machine's other work.
 */

#define ROUNDS 5
#define MAX_ROUNDS 1000

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct job {
	const struct mv_dkim_signkey *key;
	const char *selector;
	const struct mv_msg *m;
	const char *body;
	size_t body_len;
	double secs;
	long n;
	int failed;
};

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

static clockid_t keyd_clock; /* the key process's CPU time */

/* CPU seconds used so far by this process, and by the key process if with_keyd. */
static double cpu_s(int with_keyd)
{
	return clock_s(CLOCK_PROCESS_CPUTIME_ID) + (with_keyd ? clock_s(keyd_clock) : 0);
}

static void *run(void *arg)
{
	struct job *j = arg;
	struct mv_dkim_sign_opts o;
	double start = now_s();

	mv_dkim_sign_opts_default(&o);
	o.domain = "example.com";
	o.selector = j->selector;
	o.now = 1700000000;
	do {
		struct mv_buf out = MV_BUF_INIT;
		if (mv_dkim_sign(&o, &j->key, NULL, 1, j->m, j->body, j->body_len, &out) != MV_OK)
			j->failed = 1;
		mv_buf_free(&out);
		j->n++;
	} while (!j->failed && now_s() - start < j->secs);
	return NULL;
}

/* Signatures per second with key over nthreads threads; *n gets the count. */
static double rate(const struct mv_dkim_signkey *key, const struct mv_msg *m, double secs,
                   int nthreads, long *n)
{
	pthread_t t[64];
	struct job jobs[64];
	const char *body;
	size_t blen, off;
	long total = 0;
	double start = now_s();

	mv_msg_body(m, &body, &blen, &off);
	for (int i = 0; i < nthreads; i++) {
		jobs[i] = (struct job){key, "s", m, body, blen, secs, 0, 0};
		pthread_create(&t[i], NULL, run, &jobs[i]);
	}
	for (int i = 0; i < nthreads; i++) {
		pthread_join(t[i], NULL);
		if (jobs[i].failed) {
			fprintf(stderr, "bench_keyd_sign: signing failed\n");
			exit(1);
		}
		total += jobs[i].n;
	}
	*n = total;
	return (double)total / (now_s() - start);
}

static struct mvd_keys *load_keys(struct mvd_config *c, const char *path)
{
	struct mvd_keys *k = NULL;
	char err[512] = "";

	if (mvd_config_load(c, path, err, sizeof err) != MV_OK ||
	    mvd_keys_load(c, &k, err, sizeof err) != MV_OK || k->n < 1 || k->d[0].conf->nkeys < 2) {
		fprintf(stderr, "bench_keyd_sign: %s\n", err[0] ? err : "need two [domain] keys");
		exit(2);
	}
	return k;
}

int main(int argc, char **argv)
{
	struct mvd_config c_in, c_out;
	struct mvd_keys *in, *out;
	struct mv_msg *m = NULL;
	char *msg = NULL, err[160];
	size_t len;
	int ctl[2], ready[2], nthreads, rounds = ROUNDS;
	const char *only = NULL;
	static double cost[MAX_ROUNDS];
	unsigned char b = 1;
	double secs;
	pid_t pid;

	if (argc < 5 || argc > 7) {
		fprintf(stderr,
		        "usage: bench_keyd_sign CONFIG MESSAGE SECONDS THREADS [ROUNDS [ALG]]\n");
		return 2;
	}
	if (argc > 5)
		rounds = (int)strtol(argv[5], NULL, 10);
	if (rounds < 1 || rounds > MAX_ROUNDS)
		rounds = ROUNDS;
	if (argc > 6)
		only = argv[6];
	secs = strtod(argv[3], NULL);
	nthreads = (int)strtol(argv[4], NULL, 10);
	if (nthreads < 1 || nthreads > 64)
		nthreads = 1;
	if (mv_read_file(argv[2], 1 << 24, &msg, &len) != MV_OK ||
	    mv_msg_parse(msg, len, NULL, &m, err, sizeof err) != MV_OK) {
		fprintf(stderr, "bench_keyd_sign: cannot read the message\n");
		return 2;
	}
	in = load_keys(&c_in, argv[1]);
	/* The key process, as mailvetd starts it: its own fork, the channel, a status byte. */
	if (mvd_keyd_channel_open() != 0 || pipe(ctl) != 0 || pipe(ready) != 0)
		return 2;
	if ((pid = fork()) == 0) {
		close(ctl[1]);
		close(ready[0]);
		_exit(mvd_keyd_main(ctl[0], ready[1], argv[1]));
	}
	close(ctl[0]);
	close(ready[1]);
	if (read(ready[0], &b, 1) != 1 || b != 0 || clock_getcpuclockid(pid, &keyd_clock) != 0)
		return 2;
	mvd_keyd_client_attach();
	out = load_keys(&c_out, argv[1]);
	for (size_t k = 0; k < 2; k++) {
		const char *alg = mv_dkim_alg_str(mv_dkim_signkey_alg(in->d[0].keys[k]));
		double r_in = 0, r_out = 0, cpu_in = 0, cpu_out = 0;
		long n_in = 0, n_out = 0;
		if (only && strncmp(alg, only, strlen(only)) != 0)
			continue;
		/* Rounds taken in turns: a machine shared with other work adds noise to both
		 * sides alike when the turns are short. */
		for (int round = 0; round < rounds; round++) {
			double c, ri, ro;
			long ni, no;
			c = cpu_s(0);
			ri = rate(in->d[0].keys[k], m, secs / rounds, nthreads, &ni);
			cpu_in += cpu_s(0) - c;
			c = cpu_s(1);
			ro = rate(out->d[0].keys[k], m, secs / rounds, nthreads, &no);
			cpu_out += cpu_s(1) - c;
			n_in += ni;
			n_out += no;
			r_in = ri > r_in ? ri : r_in;
			r_out = ro > r_out ? ro : r_out;
			cost[round] = 100.0 * (1.0 - ro / ri);
		}
		qsort(cost, (size_t)rounds, sizeof cost[0], cmp_double);
		cpu_in /= (double)n_in;
		cpu_out /= (double)n_out;
		printf("%s %.0f %.0f %.1f %.1f %.1f %.1f %.1f\n", alg, r_in, r_out,
		       100.0 * (1.0 - r_out / r_in),
		       rounds % 2 ? cost[rounds / 2]
		                  : (cost[rounds / 2 - 1] + cost[rounds / 2]) / 2,
		       cpu_in * 1e6, cpu_out * 1e6, 100.0 * (1.0 - cpu_in / cpu_out));
	}
	close(ctl[1]); /* the key process stops at end of file */
	waitpid(pid, NULL, 0);
	mvd_keys_free(in);
	mvd_keys_free(out);
	mvd_config_free(&c_in);
	mvd_config_free(&c_out);
	mv_msg_free(m);
	free(msg);
	return 0;
}
