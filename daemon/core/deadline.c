/* daemon/core/deadline.c — CLOCK_MONOTONIC deadlines (see deadline.h). */
#include "deadline.h"

struct timespec mvd_deadline_in(int ms)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000;
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	return t;
}

long mvd_deadline_left_ms(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)((long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	              (deadline->tv_nsec - now.tv_nsec) / 1000000);
}

long long mvd_now_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}
