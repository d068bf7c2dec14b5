/*
 * daemon/core/recorder.c — DMARC and trace records into their stores,
 * batched by writer threads off the message path. One channel per kind of
 * record, each with its queue, its store, its spool and its thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "recorder.h"
#include "spool.h"

#define RETRY_SECONDS 5     /* between two attempts to open a store that failed */
#define DROP_LOG_SECONDS 10 /* at most one "dropped" line this often */
#define PURGE_SECONDS 3600  /* trace records past retention are purged this often */
#define LOCATION_MAX 4096

enum kind { KIND_DMARC = 1, KIND_TRACE = 2 };

/* One queued record; the record itself follows (its size is the channel's). */
struct node {
	struct node *next;
	union {
		struct mv_report_record r;
		struct mv_trace_record t;
	} u;
};

/*
 * A writer's state. The lock guards everything but the store, which only
 * the writer thread touches.
 */
struct chan {
	enum kind kind;
	const char *log_id, *what; /* "reports", "DMARC record" */
	size_t size;               /* bytes of one record */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	int started, stopping;
	struct node *head, *tail;
	size_t n;
	unsigned queue, batch;
	char location[LOCATION_MAX]; /* the store asked for */
	int location_changed;
	uint64_t written, dropped, spooled, replayed;
	struct mvd_spool spool; /* spool.path[0] == '\0': none */
	int spool_pending;
	int64_t retention;                /* seconds, 0 = no purge */
	struct mv_store *store;           /* writer thread only */
	char open_location[LOCATION_MAX]; /* as logged: no password (writer thread only) */
	time_t next_purge;
};

static struct chan dmarc = {.kind = KIND_DMARC,
                            .log_id = "reports",
                            .what = "DMARC record",
                            .size = sizeof(struct mv_report_record),
                            .lock = PTHREAD_MUTEX_INITIALIZER,
                            .wake = PTHREAD_COND_INITIALIZER};
static struct chan trace = {.kind = KIND_TRACE,
                            .log_id = "trace",
                            .what = "trace record",
                            .size = sizeof(struct mv_trace_record),
                            .lock = PTHREAD_MUTEX_INITIALIZER,
                            .wake = PTHREAD_COND_INITIALIZER};

/* Drop or spool from the head until the queue holds at most max records. Lock held. */
static void trim(struct chan *c, size_t max)
{
	while (c->n > max && c->head) {
		struct node *old = c->head;
		c->head = old->next;
		if (!c->head)
			c->tail = NULL;
		if (c->spool.path[0] && mvd_spool_append(&c->spool, &old->u) == 0) {
			c->spooled++;
			c->spool_pending = 1;
		} else {
			c->dropped++;
		}
		free(old);
		c->n--;
	}
}

/* Put a batch the store did not take back in front of the queue, bounded. Lock held. */
static void requeue(struct chan *c, struct node *batch)
{
	struct node *last = batch;
	size_t k = 1;

	if (!batch)
		return;
	while (last->next) {
		last = last->next;
		k++;
	}
	last->next = c->head;
	c->head = batch;
	if (!c->tail)
		c->tail = last;
	c->n += k;
	trim(c, c->queue);
}

/* Take at most max records off the head. Lock held. */
static struct node *take(struct chan *c, size_t max)
{
	struct node *first = c->head, *last = NULL;
	size_t k = 0;

	for (struct node *x = c->head; x && k < max; x = x->next, k++)
		last = x;
	if (!last)
		return NULL;
	c->head = last->next;
	if (!c->head)
		c->tail = NULL;
	last->next = NULL;
	c->n -= k;
	return first;
}

/* Open the store at location (writer thread, lock not held); logs a failure. */
static int store_open(struct chan *c, const char *location)
{
	char err[400] = "", shown[LOCATION_MAX];

	mv_store_close(c->store);
	c->store = NULL;
	mv_store_location_shown(location, shown, sizeof shown);
	if (mv_store_open(location, 0, &c->store, err, sizeof err) != MV_OK) {
		c->store = NULL;
		mvd_log(MVD_LOG_ERR, c->log_id,
		        "cannot open the record store %s: %s (records wait in memory%s, retried "
		        "in %d s)",
		        shown, err, c->spool.path[0] ? " and in the spool" : "", RETRY_SECONDS);
		return 0;
	}
	snprintf(c->open_location, sizeof c->open_location, "%s", shown);
	mvd_log(MVD_LOG_INFO, c->log_id, "recording %ss into %s", c->what, shown);
	return 1;
}

/* One record into the open store. */
static enum mv_status add_one(struct chan *c, const void *rec)
{
	if (c->kind == KIND_DMARC)
		return mv_store_add_record(c->store, rec);
	return mv_store_add_trace(c->store, rec);
}

/* The store failed: log, roll back, close (it is opened again later). Lock not held. */
static void store_failed(struct chan *c)
{
	mvd_log(MVD_LOG_ERR, c->log_id, "cannot write to the record store %s: %s", c->open_location,
	        mv_store_error(c->store));
	mv_store_rollback(c->store);
	mv_store_close(c->store);
	c->store = NULL;
}

/* Write one batch in one transaction; 0 (store closed) when it failed. Lock not held. */
static int write_batch(struct chan *c, const struct node *batch, size_t *count)
{
	*count = 0;
	if (mv_store_begin(c->store) != MV_OK)
		goto fail;
	for (const struct node *x = batch; x; x = x->next, ++*count)
		if (add_one(c, &x->u) != MV_OK)
			goto fail;
	if (mv_store_commit(c->store) == MV_OK)
		return 1;
fail:
	store_failed(c);
	return 0;
}

static int replay_one(void *arg, const void *rec)
{
	struct chan *c = arg;

	return add_one(c, rec) != MV_OK;
}

/*
 * Replay the spool into the open store, the whole replay file in one
 * transaction: it is in the store entirely or not at all, so a store that
 * fails half way leaves nothing twice. Lock held on entry and exit; 0 when
 * the store failed.
 */
static int replay(struct chan *c)
{
	struct mvd_spool sp;
	uint64_t count = 0;
	int bad = 0, ok = 0, r;

	if ((r = mvd_spool_replay_start(&c->spool)) <= 0) {
		if (r < 0)
			mvd_log(MVD_LOG_ERR, c->log_id, "cannot replay the spool %s: %s",
			        c->spool.path, strerror(errno));
		c->spool_pending = 0;
		return 1;
	}
	sp = c->spool; /* a reload may change c->spool while the lock is released */
	pthread_mutex_unlock(&c->lock);
	if (mv_store_begin(c->store) == MV_OK &&
	    mvd_spool_replay_read(&sp, replay_one, c, &count, &bad) == 0 &&
	    mv_store_commit(c->store) == MV_OK)
		ok = 1;
	else
		store_failed(c);
	pthread_mutex_lock(&c->lock);
	if (!ok)
		return 0;
	mvd_spool_replay_done(&sp, bad);
	c->replayed += count;
	c->written += count;
	mvd_log(bad ? MVD_LOG_WARNING : MVD_LOG_INFO, c->log_id,
	        "%" PRIu64 " %s(s) replayed from the spool into %s%s", count, c->what,
	        c->open_location,
	        bad ? " (an entry it could not read ended it: the file is kept as .damaged)" : "");
	c->spool_pending = mvd_spool_pending(&c->spool);
	return 1;
}

static void free_nodes(struct node *x)
{
	while (x) {
		struct node *next = x->next;
		free(x);
		x = next;
	}
}

/* Log the dropped total when it grew, at most every DROP_LOG_SECONDS (or now). Lock held. */
static void log_dropped(struct chan *c, uint64_t *logged, time_t *when, int now)
{
	time_t t = time(NULL);

	if (c->dropped == *logged || (!now && t - *when < DROP_LOG_SECONDS))
		return;
	mvd_log(MVD_LOG_WARNING, c->log_id,
	        "%" PRIu64 " %s(s) dropped so far (the store is down or slow; queue holds %u%s)",
	        c->dropped, c->what, c->queue,
	        c->spool.path[0] ? ", the spool is full or failing" : ", no spool");
	*logged = c->dropped;
	*when = t;
}

/* Wait up to seconds for work or a stop. Lock held. */
static void wait_for(struct chan *c, int seconds)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += seconds;
	pthread_cond_timedwait(&c->wake, &c->lock, &ts);
}

/* Trace records past retention out of the store, once an hour. Lock held. */
static void purge(struct chan *c, time_t now)
{
	uint64_t removed = 0;
	int64_t before = (int64_t)now - c->retention;
	enum mv_status st;

	c->next_purge = now + PURGE_SECONDS;
	pthread_mutex_unlock(&c->lock);
	st = mv_store_purge_traces(c->store, before, &removed);
	if (st != MV_OK)
		mvd_log(MVD_LOG_ERR, c->log_id, "cannot purge old trace records: %s",
		        mv_store_error(c->store));
	else if (removed)
		mvd_log(MVD_LOG_INFO, c->log_id,
		        "%" PRIu64 " trace record(s) past retention purged", removed);
	pthread_mutex_lock(&c->lock);
}

/* Something for the writer to do now (a store to open, records, a spool, a purge). Lock held. */
static int has_work(const struct chan *c, time_t now)
{
	if (c->location[0] == '\0')
		return c->n > 0 && c->stopping;
	return c->n > 0 || (c->spool_pending && !c->stopping) ||
	       (c->retention > 0 && now >= c->next_purge && !c->stopping);
}

/* Open the store when needed. Lock held; 0 when it failed (then next_try is set). */
static int ensure_store(struct chan *c, time_t *next_try)
{
	char location[LOCATION_MAX];
	int ok;

	if (c->store && !c->location_changed)
		return 1;
	snprintf(location, sizeof location, "%s", c->location);
	c->location_changed = 0;
	pthread_mutex_unlock(&c->lock);
	ok = location[0] && store_open(c, location);
	pthread_mutex_lock(&c->lock);
	if (!ok)
		*next_try = time(NULL) + RETRY_SECONDS;
	return ok;
}

/*
 * The writer: (re)open the store when needed, replay the spool, then write
 * what is queued in batches, and purge. On a stop it writes what the store
 * takes and spools (or drops) the rest.
 */
static void *writer(void *arg)
{
	struct chan *c = arg;
	uint64_t logged = 0;
	time_t logged_at = 0, next_try = 0;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		struct node *batch;
		size_t done;
		time_t now = time(NULL);
		int ok;

		log_dropped(c, &logged, &logged_at, c->stopping);
		if (c->stopping && c->n == 0)
			break;
		if (!has_work(c, now)) {
			wait_for(c, 1);
			continue;
		}
		if (!c->stopping && !c->location_changed && now < next_try) {
			wait_for(c,
			         (int)(next_try - now)); /* the store failed: wait, records queue */
			continue;
		}
		if (!ensure_store(c, &next_try) ||
		    (c->spool_pending && !c->stopping && !replay(c))) {
			next_try = time(NULL) + RETRY_SECONDS;
			if (c->stopping)
				trim(c, 0); /* to the spool, which the next start replays */
			continue;
		}
		if (c->n == 0) {
			if (c->retention > 0 && now >= c->next_purge)
				purge(c, now);
			continue;
		}
		batch = take(c, c->batch);
		pthread_mutex_unlock(&c->lock);
		ok = write_batch(c, batch, &done);
		pthread_mutex_lock(&c->lock);
		if (ok) {
			c->written += done;
			free_nodes(batch);
			continue;
		}
		requeue(c, batch);
		next_try = time(NULL) + RETRY_SECONDS;
		if (c->stopping)
			trim(c, 0);
	}
	log_dropped(c, &logged, &logged_at, 1);
	pthread_mutex_unlock(&c->lock);
	mv_store_close(c->store);
	c->store = NULL;
	return NULL;
}

/* Start c's writer if it is not running. Lock held; 0 when it cannot start. */
static int start(struct chan *c)
{
	if (c->started)
		return 1;
	if (pthread_create(&c->thread, NULL, writer, c) != 0)
		return 0;
	c->started = 1;
	return 1;
}

/* Note the store asked for. Lock held. */
static void set_location(struct chan *c, const char *location)
{
	if (strcmp(c->location, location) != 0) {
		snprintf(c->location, sizeof c->location, "%s", location);
		c->location_changed = 1;
	}
}

static void put(struct chan *c, const char *location, unsigned queue, unsigned batch,
                const void *rec)
{
	struct node *x = malloc(offsetof(struct node, u) + c->size);

	pthread_mutex_lock(&c->lock);
	if (!x || c->stopping) {
		c->dropped++;
		goto out;
	}
	x->next = NULL;
	memcpy(&x->u, rec, c->size);
	c->queue = queue ? queue : 1;
	c->batch = batch ? batch : 1;
	set_location(c, location);
	if (!start(c)) {
		c->dropped++;
		goto out;
	}
	if (c->tail)
		c->tail->next = x;
	else
		c->head = x;
	c->tail = x;
	c->n++;
	x = NULL;
	trim(c, c->queue);
	pthread_cond_signal(&c->wake);
out:
	pthread_mutex_unlock(&c->lock);
	free(x);
}

void mvd_recorder_put(const char *location, unsigned queue, unsigned batch,
                      const struct mv_report_record *r)
{
	put(&dmarc, location, queue, batch, r);
}

void mvd_recorder_put_trace(const char *location, unsigned queue, unsigned batch,
                            const struct mv_trace_record *t)
{
	put(&trace, location, queue, batch, t);
}

/* One channel's settings; its writer starts when a spool waits or a purge is due. */
static void configure(struct chan *c, const struct mvd_reports_conf *conf, int64_t retention)
{
	const char *name = c->kind == KIND_DMARC ? "reports" : "trace";

	pthread_mutex_lock(&c->lock);
	if (c->stopping)
		goto out;
	memset(&c->spool, 0, sizeof c->spool);
	if (conf->spool && conf->spool[0] &&
	    mvd_spool_init(&c->spool, conf->spool, name, (uint32_t)c->kind, c->size,
	                   conf->spool_max) != 0) {
		mvd_log(MVD_LOG_ERR, c->log_id, "cannot use the spool directory %s: %s",
		        conf->spool, strerror(errno));
		memset(&c->spool, 0, sizeof c->spool);
	}
	c->spool_pending = mvd_spool_pending(&c->spool);
	c->retention = retention;
	c->queue = conf->queue;
	c->batch = conf->batch;
	set_location(c, conf->store ? conf->store : "");
	if (c->location[0] && (c->spool_pending || c->retention > 0) && !start(c))
		mvd_log(MVD_LOG_ERR, c->log_id, "cannot start the %s writer", c->what);
	pthread_cond_signal(&c->wake);
out:
	pthread_mutex_unlock(&c->lock);
}

void mvd_recorder_configure(const struct mvd_reports_conf *reports, const struct mvd_trace_conf *tr)
{
	configure(&dmarc, reports, 0);
	configure(&trace, &tr->base, tr->retention);
}

static void stop(struct chan *c)
{
	int started;

	pthread_mutex_lock(&c->lock);
	started = c->started && !c->stopping;
	c->stopping = 1;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
	if (!started)
		return;
	pthread_join(c->thread, NULL);
	mvd_log(MVD_LOG_INFO, c->log_id,
	        "recorder stopped: %" PRIu64 " %s(s) written, %" PRIu64 " dropped, %" PRIu64
	        " spooled (%" PRIu64 " replayed from the spool)",
	        c->written, c->what, c->dropped, c->spooled, c->replayed);
}

void mvd_recorder_stop(void)
{
	stop(&dmarc);
	stop(&trace);
}

void mvd_recorder_counts(uint64_t *written, uint64_t *dropped)
{
	pthread_mutex_lock(&dmarc.lock);
	*written = dmarc.written;
	*dropped = dmarc.dropped;
	pthread_mutex_unlock(&dmarc.lock);
}
