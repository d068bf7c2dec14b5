/* bench/spf/scen.h — the scenario list shared by the C drivers of the SPF benchmark. */
#ifndef BENCH_SPF_SCEN_H
#define BENCH_SPF_SCEN_H

#include <stdio.h>
#include <string.h>
#include <time.h>

#define SCEN_MAX 64

struct scen {
	char ip[64], mail_from[256], helo[256];
};

/* Read "ip mail-from helo" lines ('#' comments; mail-from "-" = null sender). */
static int scen_load(const char *path, struct scen *s, int max)
{
	char line[1024];
	int n = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (n < max && fgets(line, sizeof line, f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%63s %255s %255s", s[n].ip, s[n].mail_from, s[n].helo) != 3)
			continue;
		if (strcmp(s[n].mail_from, "-") == 0)
			s[n].mail_from[0] = '\0';
		n++;
	}
	fclose(f);
	return n;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
