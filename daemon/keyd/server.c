/* daemon/keyd/server.c — the key process: load the private keys, answer "sign this digest". */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "aux_server.h"
#include "config.h"
#include "keyd.h"
#include "keys.h"
#include "log.h"

/* One key file and its key (borrowed from keys). */
struct entry {
	const char *path;
	const struct mv_dkim_signkey *key;
};

/* A loaded configuration's keys, indexed by file path. */
struct mvd_keyd_keys {
	struct mvd_config cfg;
	struct mvd_keys *keys;
	struct entry *e; /* sorted by path */
	size_t n;
	struct mvd_keyd_tls *tls; /* the listeners' TLS keys, a set of their own */
};

void mvd_keyd_keys_free(struct mvd_keyd_keys *k)
{
	if (!k)
		return;
	mvd_keys_free(k->keys);
	mvd_keyd_tls_free(k->tls);
	mvd_config_free(&k->cfg);
	free(k->e);
	free(k);
}

void mvd_keyd_keys_carry(struct mvd_keyd_keys *nk, const struct mvd_keyd_keys *old)
{
	if (nk && old && mvd_keyd_tls_carry(nk->tls, old->tls) != 0)
		mvd_log(MVD_LOG_WARNING, "keyd",
		        "out of memory: the TLS keys of before the reload no longer sign "
		        "(handshakes on the old certificates fail till the worker reloads)");
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->path, ((const struct entry *)b)->path);
}

static void add(struct mvd_keyd_keys *k, const char *path, const struct mv_dkim_signkey *key)
{
	if (key) {
		k->e[k->n].path = path;
		k->e[k->n++].key = key;
	}
}

/* Every key of every source, by the file it came from. */
static int index_keys(struct mvd_keyd_keys *k)
{
	const struct mvd_keys *s = k->keys;
	const struct mvd_keytable *kt = s->kt;
	size_t total = kt ? kt->nkeys + kt->ndirkeys : 0;

	for (size_t i = 0; i < s->n; i++)
		total += s->d[i].conf->nkeys;
	if (total && !(k->e = calloc(total, sizeof *k->e)))
		return -1;
	for (size_t i = 0; i < s->n; i++)
		for (size_t j = 0; j < s->d[i].conf->nkeys; j++)
			add(k, s->d[i].conf->keys[j].path, s->d[i].keys[j]);
	for (size_t i = 0; kt && i < kt->nkeys; i++)
		add(k, kt->keys[i].path, kt->keys[i].key);
	for (size_t i = 0; kt && i < kt->ndirkeys; i++)
		add(k, kt->dirkeys[i].path, kt->dirkeys[i].key);
	if (k->n)
		qsort(k->e, k->n, sizeof *k->e, entry_cmp);
	return 0;
}

struct mvd_keyd_keys *mvd_keyd_keys_load(const char *path)
{
	struct mvd_keyd_keys *k = calloc(1, sizeof *k);
	char err[512] = "out of memory";

	if (!k)
		goto fail;
	if (mvd_config_load(&k->cfg, path, err, sizeof err) != MV_OK ||
	    mvd_keys_load(&k->cfg, &k->keys, err, sizeof err) != MV_OK || index_keys(k) != 0 ||
	    mvd_keyd_tls_load(&k->cfg, &k->tls, err, sizeof err) != MV_OK)
		goto fail;
	mvd_log(MVD_LOG_INFO, "keyd", "key process %ld: %zu private key(s) loaded, %zu TLS key(s)",
	        (long)getpid(), k->n, mvd_keyd_tls_count(k->tls));
	return k;
fail:
	mvd_log(MVD_LOG_ERR, "keyd", "%s", err);
	mvd_keyd_keys_free(k);
	return NULL;
}

static const struct mv_dkim_signkey *find(const struct mvd_keyd_keys *k, const char *path)
{
	struct entry key = {path, NULL};
	const struct entry *e = k->n ? bsearch(&key, k->e, k->n, sizeof *k->e, entry_cmp) : NULL;

	return e ? e->key : NULL;
}

size_t mvd_keyd_answer(const struct mvd_keyd_keys *k, const unsigned char *req, size_t n,
                       unsigned char *out)
{
	struct mvd_keyd_req r;
	struct mvd_keyd_rep rep;
	const struct mv_dkim_signkey *key;

	memset(&rep, 0, sizeof rep);
	if (mvd_keyd_req_parse(req, n, &r) != MV_OK) {
		rep.status = MVD_KEYD_BAD_REQUEST;
		return mvd_keyd_rep_encode(&rep, out);
	}
	rep.seq = r.seq;
	if (r.op == MVD_KEYD_TLS_SIGN || r.op == MVD_KEYD_TLS_INFO) {
		mvd_keyd_tls_answer(k->tls, &r, &rep); /* never the DKIM set: see keyd.h */
	} else if (!(key = find(k, r.id))) {
		rep.status = MVD_KEYD_UNKNOWN_KEY;
	} else if (r.op == MVD_KEYD_INFO) {
		struct mv_buf spki = MV_BUF_INIT;
		rep.alg = (uint8_t)mv_dkim_signkey_alg(key);
		rep.bits = mv_dkim_signkey_bits(key);
		/* The public half, for the worker's key records and checks (status page). */
		if (mv_dkim_signkey_spki(key, &spki) == MV_OK && spki.len <= sizeof rep.sig) {
			memcpy(rep.sig, spki.data, spki.len);
			rep.siglen = spki.len;
		}
		mv_buf_free(&spki);
	} else if ((uint8_t)mv_dkim_signkey_alg(key) != r.alg) {
		rep.status = MVD_KEYD_WRONG_ALG;
	} else {
		rep.alg = r.alg;
		if (mv_dkim_signkey_sign(key, r.digest, rep.sig, MV_DKIM_MAX_SIG, &rep.siglen) !=
		    MV_OK) {
			rep.status = MVD_KEYD_FAILED;
			rep.siglen = 0;
		}
	}
	return mvd_keyd_rep_encode(&rep, out);
}

/* The shared server's hooks (daemon/core/aux_server.c). */
static void *load(const char *path)
{
	return mvd_keyd_keys_load(path);
}

static void carry(void *fresh, const void *old)
{
	mvd_keyd_keys_carry(fresh, old); /* the worker's contexts still use them till it reloads */
}

static void unload(void *keys)
{
	mvd_keyd_keys_free(keys);
}

static size_t answer(void *keys, unsigned char *req, size_t n, unsigned char *rep)
{
	return mvd_keyd_answer(keys, req, n, rep);
}

/* On its socket's CPUs, where the worker's threads that use it run. */
static void bind_thread(pthread_t t, unsigned i, void *groups)
{
	(void)mvd_keyd_bind_thread(t, i, *(const unsigned *)groups);
}

static int sandbox(const void *keys, char *why, size_t whylen)
{
	(void)keys;
	return mvd_keyd_sandbox(why, whylen);
}

/*
 * One thread per socket, so that signatures use every core as in-process
 * signing does (a single thread caps RSA at one core's rate); a reload publishes
 * the new keys at once (core/aux_server.c), without waiting for signatures.
 */
int mvd_keyd_main(int ctl_fd, int ready_fd, void *arg)
{
	unsigned groups = mvd_keyd_groups();
	const struct mvd_aux_ops ops = {
	        .tag = "keyd",
	        .held = "the keys",
	        .max_req = MVD_KEYD_MAX_REQ,
	        .max_rep = MVD_KEYD_MAX_REP,
	        .timed = 1,
	        .load = load,
	        .carry = carry,
	        .free = unload,
	        .answer = answer,
	        .started = bind_thread,
	        .started_arg = &groups,
	        .sandbox = sandbox,
	};
	int fds[MVD_KEYD_SOCKETS];

	/* Its own name, so that ps and the tests tell it from the worker. */
	prctl(PR_SET_NAME, "mailvetd-keyd", 0, 0, 0);
	mvd_keyd_channel_server(fds);
	return mvd_aux_serve(&ops, fds, MVD_KEYD_SOCKETS, ctl_fd, ready_fd, arg);
}
