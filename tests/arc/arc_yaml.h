/* tests/arc/arc_yaml.h — reading the ARC test suite's YAML (libyaml document API). */
#ifndef MAILVET_TESTS_ARC_YAML_H
#define MAILVET_TESTS_ARC_YAML_H

#include <yaml.h>

#include <mailvet/dns.h>
#include <mailvet/util.h>

#define SUITE_MAX_DOCS 32

struct suite {
	yaml_document_t doc[SUITE_MAX_DOCS];
	size_t ndocs;
};

/* Load every document of path; 0 on success. */
int suite_load(const char *path, struct suite *s);
void suite_free(struct suite *s);

/* The node for key in mapping node n of doc d, or NULL. */
yaml_node_t *ymap_get(yaml_document_t *d, yaml_node_t *n, const char *key);
/* A scalar's text (NUL-terminated by libyaml), or NULL. */
const char *yscalar(yaml_node_t *n);

/* LF line ends to CRLF, in a new string (caller frees); *len gets its length. */
char *crlf(const char *s, size_t *len);

/* A zone resolver serving the scenario's txt-records (newlines inside values removed). */
struct mv_resolver *suite_zone(yaml_document_t *d, yaml_node_t *root);

#endif
