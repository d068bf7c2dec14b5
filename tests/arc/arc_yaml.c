/* tests/arc/arc_yaml.c — see arc_yaml.h. Compiled into the suite tests (not a test_ file). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arc_yaml.h"

int suite_load(const char *path, struct suite *s)
{
	yaml_parser_t p;
	FILE *f = fopen(path, "rb");
	int rc = -1;

	memset(s, 0, sizeof *s);
	if (f == NULL)
		return -1;
	if (!yaml_parser_initialize(&p)) {
		fclose(f);
		return -1;
	}
	yaml_parser_set_input_file(&p, f);
	while (s->ndocs < SUITE_MAX_DOCS) {
		yaml_document_t *d = &s->doc[s->ndocs];
		if (!yaml_parser_load(&p, d))
			goto out;
		if (yaml_document_get_root_node(d) == NULL) {
			yaml_document_delete(d);
			rc = 0;
			break;
		}
		s->ndocs++;
	}
out:
	yaml_parser_delete(&p);
	fclose(f);
	return rc;
}

void suite_free(struct suite *s)
{
	size_t k;

	for (k = 0; k < s->ndocs; k++)
		yaml_document_delete(&s->doc[k]);
	s->ndocs = 0;
}

const char *yscalar(yaml_node_t *n)
{
	return n != NULL && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

yaml_node_t *ymap_get(yaml_document_t *d, yaml_node_t *n, const char *key)
{
	yaml_node_pair_t *pr;
	yaml_node_t *found = NULL;

	if (n == NULL || n->type != YAML_MAPPING_NODE)
		return NULL;
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		const char *k = yscalar(yaml_document_get_node(d, pr->key));
		if (k != NULL && strcmp(k, key) == 0)
			found = yaml_document_get_node(d, pr->value); /* the last one wins */
	}
	return found;
}

char *crlf(const char *s, size_t *len)
{
	struct mv_buf b = MV_BUF_INIT;

	for (; *s; s++) {
		if (*s == '\n')
			mv_buf_putc(&b, '\r');
		mv_buf_putc(&b, *s);
	}
	mv_buf_putc(&b, '\0');
	b.len--;
	return mv_buf_steal(&b, len);
}

struct mv_resolver *suite_zone(yaml_document_t *d, yaml_node_t *root)
{
	yaml_node_t *recs = ymap_get(d, root, "txt-records");
	struct mv_resolver *r = NULL;
	struct mv_buf z = MV_BUF_INIT;
	yaml_node_pair_t *pr;
	const char *v;

	if (recs == NULL)
		recs = ymap_get(d, root, "txt_records");
	if (recs != NULL && recs->type == YAML_MAPPING_NODE) {
		for (pr = recs->data.mapping.pairs.start; pr < recs->data.mapping.pairs.top; pr++) {
			const char *name = yscalar(yaml_document_get_node(d, pr->key));
			v = yscalar(yaml_document_get_node(d, pr->value));
			if (name == NULL || v == NULL)
				continue;
			mv_buf_printf(&z, "%s TXT \"", name);
			for (; *v; v++) {
				if (*v == '\n' || *v == '\r')
					continue;
				if (*v == '"' || *v == '\\')
					mv_buf_putc(&z, '\\');
				mv_buf_putc(&z, *v);
			}
			mv_buf_puts(&z, "\"\n");
		}
	}
	mv_buf_puts(&z, "; end\n");
	if (mv_dns_zone_parse(z.data, z.len, &r, NULL, 0) != MV_OK)
		r = NULL;
	mv_buf_free(&z);
	return r;
}
