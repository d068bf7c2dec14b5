/* daemon/core/recorder.c — DMARC records into the store, batched by one writer thread off the message path. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "recorder.h"

#define RETRY_SECONDS 5     /* between two attempts to open a store that failed */
#define DROP_LOG_SECONDS 10 /* at most one "dropped" line this often */
#define LOCATION_MAX 4096

/* One queued record. */
struct node {
	struct node *next;
	struct mv_report_record r;
};

/*
 * The writer's state, one per process. The lock guards everything but
 * the store, which only the writer thread touches.
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	int started, stopping;
	struct node *head, *tail;
	size_t n;
	unsigned queue, batch;
	char location[LOCATION_MAX]; /* the store asked for */
	int location_changed;
	uint64_t written, dropped;
	struct mv_store *store; /* writer thread only */
	char open_location[LOCATION_MAX];
} rec = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

/* Drop from the head until the queue holds at most max records. Lock held. */
static void trim(size_t max)
{
	while (rec.n > max && rec.head) {
		struct node *old = rec.head;
		rec.head = old->next;
		if (!rec.head)
			rec.tail = NULL;
		free(old);
		rec.n--;
		rec.dropped++;
	}
}

/* Put a batch the store did not take back in front of the queue, bounded. Lock held. */
static void requeue(struct node *batch)
{
	struct node *last = batch;
	size_t k = 1;

	if (!batch)
		return;
	while (last->next) {
		last = last->next;
		k++;
	}
	last->next = rec.head;
	rec.head = batch;
	if (!rec.tail)
		rec.tail = last;
	rec.n += k;
	trim(rec.queue);
}

/* Take at most max records off the head. Lock held. */
static struct node *take(size_t max)
{
	struct node *first = rec.head, *last = NULL;
	size_t k = 0;

	for (struct node *x = rec.head; x && k < max; x = x->next, k++)
		last = x;
	if (!last)
		return NULL;
	rec.head = last->next;
	if (!rec.head)
		rec.tail = NULL;
	last->next = NULL;
	rec.n -= k;
	return first;
}

/* Open the store at location (writer thread, lock not held); logs a failure. */
static int store_open(const char *location)
{
	char err[400] = "";

	mv_store_close(rec.store);
	rec.store = NULL;
	if (mv_store_open(location, 0, &rec.store, err, sizeof err) != MV_OK) {
		rec.store = NULL;
		mvd_log(MVD_LOG_ERR, "reports",
		        "cannot open the record store %s: %s (records wait in memory, retried "
		        "in %d s)",
		        location, err, RETRY_SECONDS);
		return 0;
	}
	snprintf(rec.open_location, sizeof rec.open_location, "%s", location);
	mvd_log(MVD_LOG_INFO, "reports", "recording DMARC records into %s", location);
	return 1;
}

/* Write one batch in one transaction; 0 (store closed) when it failed. Lock not held. */
static int write_batch(const struct node *batch, size_t *count)
{
	*count = 0;
	if (mv_store_begin(rec.store) != MV_OK)
		goto fail;
	for (const struct node *x = batch; x; x = x->next, ++*count)
		if (mv_store_add_record(rec.store, &x->r) != MV_OK)
			goto fail;
	if (mv_store_commit(rec.store) == MV_OK)
		return 1;
fail:
	mvd_log(MVD_LOG_ERR, "reports", "cannot write to the record store %s: %s",
	        rec.open_location, mv_store_error(rec.store));
	mv_store_rollback(rec.store);
	mv_store_close(rec.store);
	rec.store = NULL;
	return 0;
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
static void log_dropped(uint64_t *logged, time_t *when, int now)
{
	time_t t = time(NULL);

	if (rec.dropped == *logged || (!now && t - *when < DROP_LOG_SECONDS))
		return;
	mvd_log(MVD_LOG_WARNING, "reports",
	        "%" PRIu64 " DMARC record(s) dropped so far (the store is down or slow; queue "
	        "holds %u)",
	        rec.dropped, rec.queue);
	*logged = rec.dropped;
	*when = t;
}

/* Wait up to seconds for work or a stop. Lock held. */
static void wait_for(int seconds)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += seconds;
	pthread_cond_timedwait(&rec.wake, &rec.lock, &ts);
}

/*
 * The writer: (re)open the store when needed, then write what is queued in
 * batches. On a stop it writes what the store takes and drops the rest.
 */
static void *writer(void *arg)
{
	uint64_t logged = 0;
	time_t logged_at = 0, next_try = 0;
	char location[LOCATION_MAX];

	(void)arg;
	pthread_mutex_lock(&rec.lock);
	for (;;) {
		struct node *batch;
		size_t done;
		time_t now = time(NULL);
		int ok;

		log_dropped(&logged, &logged_at, rec.stopping);
		if (rec.n == 0 && rec.stopping)
			break;
		if (rec.n == 0) {
			wait_for(1);
			continue;
		}
		if (!rec.stopping && !rec.location_changed && now < next_try) {
			wait_for((int)(next_try - now)); /* the store failed: wait, records queue */
			continue;
		}
		if (!rec.store || rec.location_changed) {
			snprintf(location, sizeof location, "%s", rec.location);
			rec.location_changed = 0;
			pthread_mutex_unlock(&rec.lock);
			ok = store_open(location);
			pthread_mutex_lock(&rec.lock);
			if (!ok) {
				next_try = time(NULL) + RETRY_SECONDS;
				if (rec.stopping)
					trim(0);
				continue;
			}
		}
		batch = take(rec.batch);
		pthread_mutex_unlock(&rec.lock);
		ok = write_batch(batch, &done);
		pthread_mutex_lock(&rec.lock);
		if (ok) {
			rec.written += done;
			free_nodes(batch);
			continue;
		}
		requeue(batch);
		next_try = time(NULL) + RETRY_SECONDS;
		if (rec.stopping)
			trim(0);
	}
	pthread_mutex_unlock(&rec.lock);
	mv_store_close(rec.store);
	rec.store = NULL;
	return NULL;
}

void mvd_recorder_put(const char *location, unsigned queue, unsigned batch,
                      const struct mv_report_record *r)
{
	struct node *x = malloc(sizeof *x);

	pthread_mutex_lock(&rec.lock);
	if (!x || rec.stopping) {
		rec.dropped++;
		goto out;
	}
	x->next = NULL;
	x->r = *r;
	rec.queue = queue ? queue : 1;
	rec.batch = batch ? batch : 1;
	if (strcmp(rec.location, location) != 0) {
		snprintf(rec.location, sizeof rec.location, "%s", location);
		rec.location_changed = 1;
	}
	if (!rec.started) {
		if (pthread_create(&rec.thread, NULL, writer, NULL) != 0) {
			rec.dropped++;
			goto out;
		}
		rec.started = 1;
	}
	if (rec.tail)
		rec.tail->next = x;
	else
		rec.head = x;
	rec.tail = x;
	rec.n++;
	x = NULL;
	trim(rec.queue);
	pthread_cond_signal(&rec.wake);
out:
	pthread_mutex_unlock(&rec.lock);
	free(x);
}

void mvd_recorder_stop(void)
{
	int started;

	pthread_mutex_lock(&rec.lock);
	started = rec.started && !rec.stopping;
	rec.stopping = 1;
	pthread_cond_signal(&rec.wake);
	pthread_mutex_unlock(&rec.lock);
	if (!started)
		return;
	pthread_join(rec.thread, NULL);
	mvd_log(MVD_LOG_INFO, "reports",
	        "recorder stopped: %" PRIu64 " DMARC record(s) written, %" PRIu64 " dropped",
	        rec.written, rec.dropped);
}

void mvd_recorder_counts(uint64_t *written, uint64_t *dropped)
{
	pthread_mutex_lock(&rec.lock);
	*written = rec.written;
	*dropped = rec.dropped;
	pthread_mutex_unlock(&rec.lock);
}
