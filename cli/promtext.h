/* cli/promtext.h — the Prometheus text exposition format (0.0.4), read into samples and families. */
#ifndef MV_CLI_PROMTEXT_H
#define MV_CLI_PROMTEXT_H

#include <stddef.h>

#define MV_PROM_LABELS_MAX 16      /* labels of one sample */
#define MV_PROM_SAMPLES_MAX 100000 /* samples (and families) of one answer */

struct mv_prom_label {
	char *name, *value; /* value unescaped */
};

struct mv_prom_sample {
	char *name;
	struct mv_prom_label labels[MV_PROM_LABELS_MAX];
	size_t nlabels;
	char *value; /* as written: "12", "0.000417", "+Inf" */
};

/* A metric family: its # HELP and # TYPE, and its samples [first, first + n). */
struct mv_prom_family {
	char *name, *type, *help; /* type "untyped" and help "" when not given */
	size_t first, n;
};

struct mv_prom {
	struct mv_prom_sample *s;
	size_t ns, scap;
	struct mv_prom_family *f;
	size_t nf, fcap;
};

/*
 * Parse text (len bytes). A sample belongs to the family declared before it
 * whose name it is, or (histogram, summary) that name + _bucket, _sum or
 * _count; others make a family of their own. On 0 *out is filled (free
 * with mv_prom_free()); -1 with "line N: why" in err for a line that is
 * not the format, or past the limits.
 */
int mv_prom_parse(const char *text, size_t len, struct mv_prom *out, char *err, size_t errlen);
void mv_prom_free(struct mv_prom *p);

/* The value of label name in s, or NULL. */
const char *mv_prom_label(const struct mv_prom_sample *s, const char *name);

#endif
