/* daemon/http/keycheck.c — the keys in use and their DNS state, checked in the background. */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailvet/dkim.h>

#include "http_int.h"
#include "runtime.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_t thread;
static int running, stopping;
static struct mvd_config_view view; /* under lock */

const char *mvd_key_state_name(enum mvd_key_state s)
{
	switch (s) {
	case MVD_KEY_UNCHECKED:
		break;
	case MVD_KEY_MATCH:
		return "published record matches";
	case MVD_KEY_MISSING:
		return "missing";
	case MVD_KEY_MISMATCH:
		return "mismatch";
	case MVD_KEY_DNS_ERROR:
		return "DNS error";
	}
	return "not checked yet";
}

static int stop_asked(void)
{
	int s;

	pthread_mutex_lock(&lock);
	s = stopping;
	pthread_mutex_unlock(&lock);
	return s;
}

/* Our key's public half as lib/dkim parses a published record, for comparison. */
static struct mv_dkim_key *our_public(const struct mv_dkim_signkey *k)
{
	struct mv_dkim_key *pub = NULL;
	char *rec = mv_dkim_signkey_record(k);

	if (rec)
		(void)mv_dkim_key_parse(rec, strlen(rec), &pub, NULL, 0);
	free(rec);
	return pub;
}

/* The published record of selector._domainkey.domain against our key. */
static enum mvd_key_state check_one(struct mv_resolver *r, const char *domain, const char *selector,
                                    const struct mv_dkim_signkey *k)
{
	struct mv_dkim_key *published = NULL, *ours = NULL;
	enum mvd_key_state state = MVD_KEY_MISMATCH;
	enum mv_status st;
	char err[128];

	st = mv_dkim_key_fetch(r, NULL, selector, domain, &published, err, sizeof err);
	if (st == MV_ENOTFOUND)
		state = MVD_KEY_MISSING;
	else if (st == MV_ETEMP)
		state = MVD_KEY_DNS_ERROR;
	else if (st == MV_OK && !published->revoked && (ours = our_public(k)) &&
	         ours->type == published->type && EVP_PKEY_eq(ours->pkey, published->pkey) == 1)
		state = MVD_KEY_MATCH;
	mv_dkim_key_free(published);
	mv_dkim_key_free(ours);
	return state;
}

/* A new configuration: list its keys (unchecked), then check each, publishing as it goes. */
static void check_runtime(struct mvd_runtime *rt)
{
	const struct mvd_keys *ks = rt->keys;
	size_t n = 0, more = 0;

	pthread_mutex_lock(&lock);
	snprintf(view.path, sizeof view.path, "%s", rt->cfg.path ? rt->cfg.path : "");
	view.loaded = time(NULL);
	for (size_t d = 0; ks && d < ks->n; d++)
		for (size_t i = 0; i < ks->d[d].conf->nkeys; i++) {
			struct mvd_key_view *kv = &view.keys[n];
			if (n == MVD_KEYS_SHOWN) {
				more++;
				continue;
			}
			snprintf(kv->domain, sizeof kv->domain, "%s", ks->d[d].conf->name);
			snprintf(kv->selector, sizeof kv->selector, "%s", ks->d[d].selectors[i]);
			snprintf(kv->alg, sizeof kv->alg, "%s",
			         mv_dkim_alg_str(mv_dkim_signkey_alg(ks->d[d].keys[i])));
			kv->state = MVD_KEY_UNCHECKED;
			n++;
		}
	view.nkeys = n;
	view.more = more;
	pthread_mutex_unlock(&lock);
	n = 0;
	for (size_t d = 0; ks && d < ks->n; d++)
		for (size_t i = 0; i < ks->d[d].conf->nkeys && n < MVD_KEYS_SHOWN; i++, n++) {
			enum mvd_key_state s;
			if (stop_asked())
				return;
			s = check_one(rt->resolver, ks->d[d].conf->name, ks->d[d].selectors[i],
			              ks->d[d].keys[i]);
			pthread_mutex_lock(&lock);
			view.keys[n].state = s;
			pthread_mutex_unlock(&lock);
		}
}

/*
 * Holding a reference to the runtime last checked keeps its address from
 * being reused, so a different pointer is always a new configuration.
 */
static void *watch(void *arg)
{
	struct mvd_runtime *held = NULL;

	(void)arg;
	while (!stop_asked()) {
		struct mvd_runtime *rt = mvd_runtime_acquire();
		struct timespec until;

		if (rt && rt != held) {
			mvd_runtime_release(held);
			held = rt;
			check_runtime(held);
		} else {
			mvd_runtime_release(rt);
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_mutex_lock(&lock);
		if (!stopping)
			pthread_cond_timedwait(&wake, &lock, &until);
		pthread_mutex_unlock(&lock);
	}
	mvd_runtime_release(held);
	return NULL;
}

int mvd_keycheck_start(void)
{
	stopping = 0;
	if (pthread_create(&thread, NULL, watch, NULL) != 0)
		return -1;
	running = 1;
	return 0;
}

void mvd_keycheck_stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&lock);
	stopping = 1;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
	running = 0;
}

void mvd_keycheck_view(struct mvd_config_view *out)
{
	pthread_mutex_lock(&lock);
	*out = view;
	pthread_mutex_unlock(&lock);
}
