/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The watch cache: current Services and EndpointSlices by "namespace/name",
 * and for each service the slices that name it, so one service can be
 * recomputed without scanning every slice.
 */
#ifndef BPFNET_AGENT_STORE_H
#define BPFNET_AGENT_STORE_H

#include "htab.h"
#include "model.h"

#define OBJECT_KEY_MAX (K8S_NS_MAX + K8S_NAME_MAX + 1)

struct slice_ref_list {
	struct endpoint_slice **v;
	size_t n, cap;
};

struct store {
	struct htab services; /* key -> struct service* (owned) */
	struct htab slices;   /* key -> struct endpoint_slice* (owned) */
	struct htab by_service; /* "ns/service" -> struct slice_ref_list* */
	struct htab nodes;      /* name -> struct node* (owned) */
};

int store_init(struct store *st);
void store_free(struct store *st);

/* Take ownership of @svc / @slice, replacing an older version; the key of
 * the service whose frontends may have changed is written to @affected
 * (a slice can move between services: @affected2 gets the old one, or ""). */
int store_put_service(struct store *st, struct service *svc);
int store_put_slice(struct store *st, struct endpoint_slice *slice, char *affected,
		    char *affected2);
/* Remove; @affected as above. Returns -ENOENT when absent. */
int store_del_service(struct store *st, const char *key);
int store_del_slice(struct store *st, const char *key, char *affected);

/* Nodes touch no service: nothing is affected. */
int store_put_node(struct store *st, struct node *node);
int store_del_node(struct store *st, const char *name);

const struct service *store_service(const struct store *st, const char *key);
const struct slice_ref_list *store_slices_of(const struct store *st, const char *svc_key);

#endif
