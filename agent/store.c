// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int store_init(struct store *st)
{
	memset(st, 0, sizeof(*st));
	if (htab_init(&st->services, 1024) || htab_init(&st->slices, 1024) ||
	    htab_init(&st->by_service, 1024) || htab_init(&st->nodes, 64))
		return -ENOMEM;
	return 0;
}

void store_free(struct store *st)
{
	htab_for_each(&st->services, e, i) {
		service_free(e->value);
		free(e->value);
	}
	htab_for_each(&st->slices, e, i) {
		slice_free(e->value);
		free(e->value);
	}
	htab_for_each(&st->by_service, e, i) {
		struct slice_ref_list *l = e->value;

		free(l->v);
		free(l);
	}
	htab_for_each(&st->nodes, e, i)
		free(e->value);
	htab_free(&st->nodes);
	htab_free(&st->services);
	htab_free(&st->slices);
	htab_free(&st->by_service);
}

static void slice_owner_key(const struct endpoint_slice *s, char *buf)
{
	if (s->service[0])
		object_key(buf, OBJECT_KEY_MAX, s->ns, s->service);
	else
		buf[0] = '\0';
}

static int index_add(struct store *st, struct endpoint_slice *s)
{
	char key[OBJECT_KEY_MAX];
	struct slice_ref_list *l;

	slice_owner_key(s, key);
	if (!key[0])
		return 0; /* a slice without the label belongs to no service */
	l = htab_get_str(&st->by_service, key);
	if (!l) {
		l = calloc(1, sizeof(*l));
		if (!l || htab_put(&st->by_service, key, strlen(key), l, NULL)) {
			free(l);
			return -ENOMEM;
		}
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		struct endpoint_slice **v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = s;
	return 0;
}

static void index_del(struct store *st, struct endpoint_slice *s)
{
	char key[OBJECT_KEY_MAX];
	struct slice_ref_list *l;

	slice_owner_key(s, key);
	l = key[0] ? htab_get_str(&st->by_service, key) : NULL;
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i] == s) {
			l->v[i] = l->v[--l->n];
			break;
		}
	if (!l->n) {
		htab_del(&st->by_service, key, strlen(key));
		free(l->v);
		free(l);
	}
}

int store_put_service(struct store *st, struct service *svc)
{
	char key[OBJECT_KEY_MAX];
	void *old;
	int err;

	object_key(key, sizeof(key), svc->ns, svc->name);
	err = htab_put(&st->services, key, strlen(key), svc, &old);
	if (err)
		return err;
	if (old) {
		service_free(old);
		free(old);
	}
	return 0;
}

int store_put_slice(struct store *st, struct endpoint_slice *slice, char *affected,
		    char *affected2)
{
	char key[OBJECT_KEY_MAX];
	struct endpoint_slice *old;
	void *prev;
	int err;

	object_key(key, sizeof(key), slice->ns, slice->name);
	old = htab_get_str(&st->slices, key);
	affected2[0] = '\0';
	if (old) {
		slice_owner_key(old, affected2);
		index_del(st, old);
	}
	err = htab_put(&st->slices, key, strlen(key), slice, &prev);
	if (!err && (err = index_add(st, slice)))
		/* the caller frees @slice on failure: it must not stay here */
		htab_del(&st->slices, key, strlen(key));
	if (old) {
		slice_free(old);
		free(old);
	}
	slice_owner_key(slice, affected);
	if (!strcmp(affected, affected2))
		affected2[0] = '\0';
	return err;
}

int store_del_service(struct store *st, const char *key)
{
	struct service *svc = htab_del(&st->services, key, strlen(key));

	if (!svc)
		return -ENOENT;
	service_free(svc);
	free(svc);
	return 0;
}

int store_del_slice(struct store *st, const char *key, char *affected)
{
	struct endpoint_slice *s = htab_del(&st->slices, key, strlen(key));

	affected[0] = '\0';
	if (!s)
		return -ENOENT;
	slice_owner_key(s, affected);
	index_del(st, s);
	slice_free(s);
	free(s);
	return 0;
}

const struct service *store_service(const struct store *st, const char *key)
{
	return htab_get_str(&st->services, key);
}

const struct slice_ref_list *store_slices_of(const struct store *st, const char *svc_key)
{
	return htab_get_str(&st->by_service, svc_key);
}

int store_put_node(struct store *st, struct node *node)
{
	void *old = NULL;
	int err = htab_put(&st->nodes, node->name, strlen(node->name), node, &old);

	if (err)
		return err;
	free(old);
	return 0;
}

int store_del_node(struct store *st, const char *name)
{
	struct node *n = htab_del(&st->nodes, name, strlen(name));

	if (!n)
		return -ENOENT;
	free(n);
	return 0;
}
