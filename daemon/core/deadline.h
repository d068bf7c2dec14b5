/* daemon/core/deadline.h — CLOCK_MONOTONIC deadlines for the calls to the auxiliary processes. */
#ifndef MAILVETD_DEADLINE_H
#define MAILVETD_DEADLINE_H

#include <time.h>

/* Now plus ms on CLOCK_MONOTONIC (the clock of pthread_mutex_clocklock and of the waits). */
struct timespec mvd_deadline_in(int ms);

/* Whole milliseconds from now to deadline; 0 or less once it has passed. */
long mvd_deadline_left_ms(const struct timespec *deadline);

/* CLOCK_MONOTONIC in milliseconds (64 bits: no wrap on 32-bit systems). */
long long mvd_now_ms(void);

#endif
