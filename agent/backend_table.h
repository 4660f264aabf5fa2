/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The reconciler's backends by identity (address, port, protocol). There
 * are ten times more backends than services, so this is not the generic
 * htab: states live in slabs (a state never moves: frontends point at it)
 * under an open-addressing index; 100,000 backends take ~3 MB where
 * malloc'd states and hash entries took ~8 MB.
 */
#ifndef BPFNET_AGENT_BACKEND_TABLE_H
#define BPFNET_AGENT_BACKEND_TABLE_H

#include <stddef.h>
#include <bpfnet/datapath.h>

struct be_state {
	struct bpfnet_backend be; /* as written (its state may change) */
	__u32 id;
	__u32 refs; /* frontends whose live set holds it */
};

union be_slot;

struct backend_table {
	struct be_state **index; /* NULL or a state; linear probing */
	size_t mask;             /* index size - 1 */
	size_t count;
	union be_slot **slabs;
	size_t n_slabs, slab_used; /* slots handed out of the last slab */
	union be_slot *free_slots;
};

/* The state with @b's identity, NULL if none. */
struct be_state *backend_table_get(const struct backend_table *t, const struct bpfnet_backend *b);
/* A new zeroed state (refs 0) for @b, which must not be in the table; NULL
 * without memory. */
struct be_state *backend_table_add(struct backend_table *t, const struct bpfnet_backend *b);
void backend_table_del(struct backend_table *t, struct be_state *s);
void backend_table_free(struct backend_table *t);

/* Visit every state; deleting others than @s meanwhile is not allowed. */
#define backend_table_for_each(t, s)                                           \
	for (size_t _i = 0; (t)->index && _i <= (t)->mask; _i++)               \
		for (struct be_state *s = (t)->index[_i]; s; s = NULL)

#endif
