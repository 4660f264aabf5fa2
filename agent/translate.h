/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A Service and its EndpointSlices -> the frontends the datapath serves. */
#ifndef BPFNET_AGENT_TRANSLATE_H
#define BPFNET_AGENT_TRANSLATE_H

#include <bpfnet/datapath.h>
#include "store.h"

struct frontend {
	struct bpfnet_svc_key key;
	__u32 flags;
	__u32 affinity_timeout_s;
	char name[BPFNET_SVC_NAME_LEN]; /* "namespace/name:port" */
	struct bpfnet_backend *backends; /* sorted by address and port, no duplicates */
	size_t n_backends;
};

struct frontend_set {
	struct frontend *v;
	size_t n;
};

/*
 * Frontends of service @svc_key (empty when it does not exist, is headless or
 * ExternalName): every port on every ClusterIP, ExternalIP and LoadBalancer
 * IP. Backends come from the service's IPv4 slices, port matched by name and
 * protocol; ready endpoints, or, when none is ready, the serving terminating
 * ones; never the others.
 */
int translate_service(const struct store *st, const char *svc_key, struct frontend_set *out);
void frontend_set_free(struct frontend_set *set);

#endif
