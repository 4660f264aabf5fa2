// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "backend_table.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SLAB_SLOTS 1024

union be_slot {
	struct be_state s;
	union be_slot *next_free;
};

static size_t home(const struct backend_table *t, const struct bpfnet_backend *b)
{
	uint64_t x = ((uint64_t)b->addr << 24) | ((uint64_t)b->port << 8) | b->proto;

	/* splitmix64's finalizer: every input bit reaches the low bits */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return (size_t)x & t->mask;
}

static bool same(const struct bpfnet_backend *a, const struct bpfnet_backend *b)
{
	return a->addr == b->addr && a->port == b->port && a->proto == b->proto;
}

/* The index slot holding @b's identity, or the empty slot where it goes. */
static size_t probe(const struct backend_table *t, const struct bpfnet_backend *b)
{
	size_t i = home(t, b);

	while (t->index[i] && !same(&t->index[i]->be, b))
		i = (i + 1) & t->mask;
	return i;
}

struct be_state *backend_table_get(const struct backend_table *t, const struct bpfnet_backend *b)
{
	return t->index ? t->index[probe(t, b)] : NULL;
}

static int grow(struct backend_table *t)
{
	size_t n = t->index ? (t->mask + 1) * 2 : 1024;
	struct backend_table old = *t;

	t->index = calloc(n, sizeof(*t->index));
	if (!t->index) {
		t->index = old.index;
		return -1;
	}
	t->mask = n - 1;
	for (size_t i = 0; old.index && i <= old.mask; i++)
		if (old.index[i])
			t->index[probe(t, &old.index[i]->be)] = old.index[i];
	free(old.index);
	return 0;
}

static union be_slot *slot_alloc(struct backend_table *t)
{
	union be_slot *s = t->free_slots;

	if (s) {
		t->free_slots = s->next_free;
		return s;
	}
	if (!t->n_slabs || t->slab_used == SLAB_SLOTS) {
		union be_slot **v = realloc(t->slabs, (t->n_slabs + 1) * sizeof(*v));

		if (!v)
			return NULL;
		t->slabs = v;
		v[t->n_slabs] = malloc(SLAB_SLOTS * sizeof(union be_slot));
		if (!v[t->n_slabs])
			return NULL;
		t->n_slabs++;
		t->slab_used = 0;
	}
	return &t->slabs[t->n_slabs - 1][t->slab_used++];
}

struct be_state *backend_table_add(struct backend_table *t, const struct bpfnet_backend *b)
{
	union be_slot *slot;

	/* load kept under 0.8: a few probes per lookup, 100,000 backends in a
	 * 1 MB index */
	if ((!t->index || (t->count + 1) * 5 > (t->mask + 1) * 4) && grow(t))
		return NULL;
	slot = slot_alloc(t);
	if (!slot)
		return NULL;
	memset(&slot->s, 0, sizeof(slot->s));
	slot->s.be = *b;
	t->index[probe(t, b)] = &slot->s;
	t->count++;
	return &slot->s;
}

void backend_table_del(struct backend_table *t, struct be_state *s)
{
	size_t i = probe(t, &s->be), j = i;
	union be_slot *slot = (union be_slot *)s;

	if (t->index[i] != s)
		return;
	/* backward-shift deletion: no tombstones, probes stay exact */
	for (;;) {
		j = (j + 1) & t->mask;
		if (!t->index[j])
			break;
		size_t k = home(t, &t->index[j]->be);

		/* move j into the hole at i unless its home lies in (i, j] */
		if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
			t->index[i] = t->index[j];
			i = j;
		}
	}
	t->index[i] = NULL;
	t->count--;
	slot->next_free = t->free_slots;
	t->free_slots = slot;
}

void backend_table_free(struct backend_table *t)
{
	for (size_t i = 0; i < t->n_slabs; i++)
		free(t->slabs[i]);
	free(t->slabs);
	free(t->index);
	memset(t, 0, sizeof(*t));
}
