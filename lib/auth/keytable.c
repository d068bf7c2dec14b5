/*
 * lib/auth/keytable.c — per-key state in a fixed pool: a hash index for
 * lookups and a doubly linked list in touch order, so lookups are O(1) and
 * the memory is bounded whatever keys a hostile client makes us see.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include <mailvet/auth.h>

#include "auth/keytable.h"

#define NIL SIZE_MAX

struct kt_entry {
	char key[MV_AUTH_KEY_MAX + 1];
	struct kt_val val;
	size_t hnext;      /* next in the hash chain */
	size_t prev, next; /* touch order: head is the newest */
};

struct kt {
	struct kt_entry *e;
	size_t max, n;
	size_t *bucket; /* nb heads of hash chains */
	size_t nb;
	size_t head, tail;
	uint64_t seed; /* per table, so chains cannot be aimed at from outside */
};

static uint64_t hash_key(const struct kt *t, const char *k)
{
	uint64_t h = 1469598103934665603ULL ^ t->seed; /* FNV-1a, seeded */

	for (; *k; k++) {
		h ^= (unsigned char)*k;
		h *= 1099511628211ULL;
	}
	return h;
}

enum mv_status mv_kt_new(size_t max, struct kt **out)
{
	struct kt *t = calloc(1, sizeof *t);
	size_t i;

	*out = NULL;
	if (t == NULL)
		return MV_ENOMEM;
	t->max = max;
	for (t->nb = 16; t->nb < max * 2; t->nb *= 2)
		;
	t->e = calloc(max, sizeof *t->e);
	t->bucket = malloc(t->nb * sizeof *t->bucket);
	if (t->e == NULL || t->bucket == NULL) {
		mv_kt_free(t);
		return MV_ENOMEM;
	}
	for (i = 0; i < t->nb; i++)
		t->bucket[i] = NIL;
	t->head = t->tail = NIL;
	if (RAND_bytes((unsigned char *)&t->seed, sizeof t->seed) != 1)
		t->seed = (uint64_t)(uintptr_t)t * 0x9e3779b97f4a7c15ULL;
	*out = t;
	return MV_OK;
}

void mv_kt_free(struct kt *t)
{
	if (t == NULL)
		return;
	free(t->e);
	free(t->bucket);
	free(t);
}

static void list_unlink(struct kt *t, size_t i)
{
	struct kt_entry *e = &t->e[i];

	if (e->prev != NIL)
		t->e[e->prev].next = e->next;
	else
		t->head = e->next;
	if (e->next != NIL)
		t->e[e->next].prev = e->prev;
	else
		t->tail = e->prev;
}

static void list_push_head(struct kt *t, size_t i)
{
	t->e[i].prev = NIL;
	t->e[i].next = t->head;
	if (t->head != NIL)
		t->e[t->head].prev = i;
	t->head = i;
	if (t->tail == NIL)
		t->tail = i;
}

static void chain_remove(struct kt *t, size_t i)
{
	size_t *pp = &t->bucket[hash_key(t, t->e[i].key) & (t->nb - 1)];

	while (*pp != NIL && *pp != i)
		pp = &t->e[*pp].hnext;
	if (*pp == i)
		*pp = t->e[i].hnext;
}

/* A free slot: a new one while the pool lasts, else the least recently touched. */
static size_t take_slot(struct kt *t)
{
	size_t i;

	if (t->n < t->max)
		return t->n++;
	i = t->tail;
	list_unlink(t, i);
	chain_remove(t, i);
	return i;
}

struct kt_val *mv_kt_get(struct kt *t, const char *key, int create)
{
	char k[MV_AUTH_KEY_MAX + 1];
	size_t i, b;

	snprintf(k, sizeof k, "%s", key);
	b = hash_key(t, k) & (t->nb - 1);
	for (i = t->bucket[b]; i != NIL; i = t->e[i].hnext)
		if (strcmp(t->e[i].key, k) == 0)
			break;
	if (i == NIL) {
		if (!create)
			return NULL;
		i = take_slot(t);
		memset(&t->e[i], 0, sizeof t->e[i]);
		memcpy(t->e[i].key, k, sizeof k);
		t->e[i].hnext = t->bucket[b];
		t->bucket[b] = i;
	} else {
		list_unlink(t, i);
	}
	list_push_head(t, i);
	return &t->e[i].val;
}
