// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "htab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash_bytes(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 14695981039346656037ull; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

int htab_init(struct htab *h, size_t hint)
{
	size_t n = 16;

	while (n < hint)
		n *= 2;
	h->buckets = calloc(n, sizeof(*h->buckets));
	h->n_buckets = h->buckets ? n : 0;
	h->count = 0;
	return h->buckets ? 0 : -ENOMEM;
}

void htab_free(struct htab *h)
{
	for (size_t i = 0; i < h->n_buckets; i++) {
		struct htab_entry *e = h->buckets[i];

		while (e) {
			struct htab_entry *next = e->next;

			free(e);
			e = next;
		}
	}
	free(h->buckets);
	h->buckets = NULL;
	h->n_buckets = h->count = 0;
}

static struct htab_entry **find(const struct htab *h, const void *key, size_t len, uint64_t hash)
{
	struct htab_entry **pp = &h->buckets[hash & (h->n_buckets - 1)];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == hash && (*pp)->key_len == len && !memcmp((*pp)->key, key, len))
			return pp;
	return pp;
}

void *htab_get(const struct htab *h, const void *key, size_t len)
{
	struct htab_entry **pp;

	if (!h->n_buckets)
		return NULL;
	pp = find(h, key, len, hash_bytes(key, len));
	return *pp ? (*pp)->value : NULL;
}

static int grow(struct htab *h)
{
	size_t n = h->n_buckets * 2;
	struct htab_entry **b = calloc(n, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < h->n_buckets; i++) {
		struct htab_entry *e = h->buckets[i];

		while (e) {
			struct htab_entry *next = e->next;
			size_t idx = e->hash & (n - 1);

			e->next = b[idx];
			b[idx] = e;
			e = next;
		}
	}
	free(h->buckets);
	h->buckets = b;
	h->n_buckets = n;
	return 0;
}

int htab_put(struct htab *h, const void *key, size_t len, void *value, void **old)
{
	uint64_t hash = hash_bytes(key, len);
	struct htab_entry **pp, *e;

	if (old)
		*old = NULL;
	if (!h->n_buckets && htab_init(h, 16))
		return -ENOMEM;
	pp = find(h, key, len, hash);
	if (*pp) {
		if (old)
			*old = (*pp)->value;
		(*pp)->value = value;
		return 0;
	}
	e = malloc(sizeof(*e) + len);
	if (!e)
		return -ENOMEM;
	e->next = NULL;
	e->hash = hash;
	e->value = value;
	e->key_len = len;
	memcpy(e->key, key, len);
	*pp = e;
	h->count++;
	if (h->count > h->n_buckets)
		grow(h); /* on failure the table stays correct, only slower */
	return 0;
}

void *htab_del(struct htab *h, const void *key, size_t len)
{
	struct htab_entry **pp, *e;
	void *value;

	if (!h->n_buckets)
		return NULL;
	pp = find(h, key, len, hash_bytes(key, len));
	e = *pp;
	if (!e)
		return NULL;
	value = e->value;
	*pp = e->next;
	free(e);
	h->count--;
	return value;
}
