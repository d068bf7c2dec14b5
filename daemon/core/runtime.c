/* daemon/core/runtime.c — build a runtime from a configuration; hand out references; swap on reload. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "confcheck.h"
#include "log.h"
#include "metrics.h"
#include "runtime.h"

static pthread_mutex_t holder_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mvd_runtime *current;

static void runtime_free(struct mvd_runtime *rt)
{
	mvd_keys_free(rt->keys);
	mvd_submit_close(&rt->submit);
	mvd_localpolicy_free(rt->localpolicy);
	mv_dkim_keycache_free(rt->keycache);
	mv_dmarc_psl_free(rt->psl);
	mv_dns_free(rt->resolver);
	mvd_config_free(&rt->cfg);
	free(rt);
}

/* The resolver the [dns] section asks for. */
static enum mv_status open_resolver(const struct mvd_config *c, struct mv_resolver **out, char *err,
                                    size_t errlen)
{
	char why[200] = "";
	enum mv_status st;

	if (c->zone_file[0]) {
		st = mv_dns_zone_open(c->zone_file, out, why, sizeof why);
		if (st != MV_OK)
			mvd_config_errf(c, mvd_config_line(c, "dns", "zone_file"), err, errlen,
			                "[dns] zone_file %s: %s", c->zone_file,
			                why[0] ? why : mv_status_str(st));
		return st;
	}
	struct mv_dns_unbound_opts o = {
	        .server = strcmp(c->resolver, "system") == 0 ? NULL : c->resolver,
	        .timeout_ms = c->dns_timeout_ms,
	        .trust_anchor_file = c->trust_anchor_file[0] ? c->trust_anchor_file : NULL,
	};
	st = mv_dns_unbound_open(&o, out, why, sizeof why);
	if (st != MV_OK)
		mvd_config_errf(c, mvd_config_line(c, "dns", "resolver"), err, errlen,
		                "[dns] resolver %s: %s", c->resolver,
		                why[0] ? why : mv_status_str(st));
	return st;
}

/*
 * The library's verification settings: the [verify] keys of lib/verify's
 * settings table as config.c read them ([policy] bad_from among them),
 * plus what only the runtime has: authserv_id, the key cache, the trusted
 * sealers, and for dmarc_mode = rfc7489 the Public Suffix List, opened
 * here into rt->psl (freed with the runtime).
 */
static enum mv_status verify_config(struct mvd_runtime *rt, char *err, size_t errlen)
{
	const struct mvd_config *c = &rt->cfg;
	char why[300];
	enum mv_status st;

	rt->vcfg = c->verify;
	rt->vcfg.authserv_id = c->authserv_id;
	rt->vcfg.dkim_keycache = rt->keycache;
	/* draft-ietf-dmarc-arc-usage: the newest seal's d= may override a DMARC failure. */
	rt->vcfg.trusted_arc_sealers = (const char *const *)c->trusted_arc_sealers.item;
	rt->vcfg.ntrusted_arc_sealers = c->trusted_arc_sealers.count;
	if ((st = mv_verify_config_open_psl(&rt->vcfg, &rt->psl, why, sizeof why)) != MV_OK)
		mvd_config_errf(c, mvd_config_line(c, "verify", "dmarc_mode"), err, errlen,
		                "[verify] dmarc_mode = rfc7489: %s", why);
	return st;
}

/* lib/outbound's settings from [outbound] and the [domain] keys. */
static enum mv_status outbound_config(struct mvd_runtime *rt, char *err, size_t errlen)
{
	const struct mvd_config *c = &rt->cfg;
	struct mv_outbound_config *o = &rt->outcfg;
	char why[200] = "";

	mv_outbound_config_default(o);
	if (c->sign) {
		o->dkim_keys = rt->keys->table;
		o->ndkim_keys = rt->keys->ntable;
		o->dkim_choose = mvd_keys_choose;
		o->dkim_choose_arg = rt->keys;
	}
	if (c->arc_seal) {
		o->arc_keys = rt->keys->table;
		o->narc_keys = rt->keys->ntable;
	}
	o->hcanon = c->sign_hcanon;
	o->bcanon = c->sign_bcanon;
	o->headers = c->sign_headers[0] ? c->sign_headers : NULL;
	o->expire = c->sign_expire;
	o->authserv_id = c->authserv_id;
	if (mv_outbound_config_check(o, why, sizeof why) != MV_OK) {
		unsigned line = mvd_config_line(c, "outbound", "headers");
		mvd_config_errf(c, line ? line : mvd_config_line(c, "outbound", "canonicalization"),
		                err, errlen, "[outbound] %s%s", line ? "headers: " : "", why);
		return MV_ESYNTAX;
	}
	return MV_OK;
}

enum mv_status mvd_runtime_open(struct mvd_config *cfg, struct mvd_runtime **out, char *err,
                                size_t errlen)
{
	struct mvd_runtime *rt;
	enum mv_status st;

	*out = NULL;
	if (!(rt = calloc(1, sizeof *rt))) {
		mvd_config_free(cfg);
		snprintf(err, errlen, "out of memory");
		return MV_ENOMEM;
	}
	rt->cfg = *cfg;
	memset(cfg, 0, sizeof *cfg);
	rt->refs = 1;
	if ((st = open_resolver(&rt->cfg, &rt->resolver, err, errlen)) != MV_OK)
		goto out;
	mv_dns_stats_attach(rt->resolver, mvd_metrics_dns()); /* one count across reloads */
	if ((st = mvd_keys_load(&rt->cfg, &rt->keys, err, errlen)) != MV_OK)
		goto out;
	if ((st = mvd_submit_open(&rt->cfg.submission, &rt->submit, err, errlen)) != MV_OK)
		goto out;
	/* the [policy] lists' files are read here, so SIGHUP reloads them with the rest */
	if ((st = mvd_localpolicy_load(&rt->cfg, &rt->localpolicy, err, errlen)) != MV_OK)
		goto out;
	if ((st = mv_dkim_keycache_new(1024, &rt->keycache)) != MV_OK) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if ((st = verify_config(rt, err, errlen)) != MV_OK)
		goto out;
	if ((st = outbound_config(rt, err, errlen)) != MV_OK)
		goto out;
	rt->servid.id = rt->cfg.authserv_id;
	rt->servid.subdomains = rt->cfg.authserv_subdomains;
	rt->arpolicy.ids = &rt->servid;
	rt->arpolicy.nids = 1;
	rt->arpolicy.delete_foreign = rt->cfg.delete_foreign;
	rt->arpolicy.trust_versions = rt->cfg.trust_versions;
out:
	if (st != MV_OK)
		runtime_free(rt);
	else
		*out = rt;
	return st;
}

void mvd_runtime_install(struct mvd_runtime *rt)
{
	struct mvd_runtime *old;

	pthread_mutex_lock(&holder_lock);
	old = current;
	current = rt;
	pthread_mutex_unlock(&holder_lock);
	mvd_runtime_release(old);
}

struct mvd_runtime *mvd_runtime_acquire(void)
{
	struct mvd_runtime *rt;

	pthread_mutex_lock(&holder_lock);
	rt = current;
	if (rt)
		rt->refs++;
	pthread_mutex_unlock(&holder_lock);
	return rt;
}

void mvd_runtime_release(struct mvd_runtime *rt)
{
	int last;

	if (!rt)
		return;
	pthread_mutex_lock(&holder_lock);
	last = --rt->refs == 0;
	pthread_mutex_unlock(&holder_lock);
	if (last)
		runtime_free(rt);
}

struct mvd_runtime *mvd_runtime_load(const char *path, char *err, size_t errlen)
{
	struct mvd_config c;
	struct mvd_runtime *rt = NULL;

	if (mvd_config_load(&c, path, err, errlen) != MV_OK ||
	    mvd_config_check_system(&c, err, errlen) != MV_OK) {
		mvd_config_free(&c);
		return NULL;
	}
	if (mvd_runtime_open(&c, &rt, err, errlen) != MV_OK)
		return NULL;
	return rt;
}

void mvd_runtime_reload(const char *path)
{
	char err[512] = "";
	struct mvd_runtime *rt = mvd_runtime_load(path, err, sizeof err);

	if (!rt) {
		mvd_log(MVD_LOG_ERR, "reload", "%s; keeping the running configuration", err);
		return;
	}
	mvd_log_setup(&rt->cfg);
	mvd_runtime_install(rt);
	mvd_log(MVD_LOG_INFO, "reload",
	        "configuration reloaded for new connections (socket, user and pid_file "
	        "changes need a restart)");
}
