/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A hash table from byte keys to pointers (chained, grows by doubling). */
#ifndef BPFNET_AGENT_HTAB_H
#define BPFNET_AGENT_HTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct htab_entry {
	struct htab_entry *next;
	uint64_t hash;
	void *value;
	size_t key_len;
	unsigned char key[]; /* copied */
};

struct htab {
	struct htab_entry **buckets;
	size_t n_buckets, count;
};

int htab_init(struct htab *h, size_t hint);
/* Frees the entries, not the values. */
void htab_free(struct htab *h);
void *htab_get(const struct htab *h, const void *key, size_t len);
/* Insert or replace; *old gets the replaced value (or NULL). */
int htab_put(struct htab *h, const void *key, size_t len, void *value, void **old);
/* Remove; returns the value or NULL. */
void *htab_del(struct htab *h, const void *key, size_t len);

#define htab_for_each(h, e, i)                                     \
	for (size_t i = 0; i < (h)->n_buckets; i++)                \
		for (struct htab_entry *e = (h)->buckets[i]; e; e = e->next)

static inline void *htab_get_str(const struct htab *h, const char *s)
{
	return htab_get(h, s, __builtin_strlen(s));
}

#endif
