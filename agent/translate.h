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
	/* backends[0..n_slots) take new flows; the rest are retained: serving
	 * terminating endpoints that finish their flows but get no new ones.
	 * Each part sorted by address and port; no address twice. */
	struct bpfnet_backend *backends;
	size_t n_backends;
	size_t n_slots;
};

struct frontend_set {
	struct frontend *v;
	size_t n;
};

/*
 * Frontends of service @svc_key (empty when it does not exist, is headless or
 * ExternalName): every port on every ClusterIP, ExternalIP and LoadBalancer
 * IP. Backends come from the service's IPv4 slices, port matched by name and
 * protocol. Ready endpoints take new flows; while any is ready, serving
 * terminating endpoints are retained for their existing flows; when none is
 * ready, those take new flows. Endpoints neither ready nor serving: never.
 */
int translate_service(const struct store *st, const char *svc_key, struct frontend_set *out);
void frontend_set_free(struct frontend_set *set);

#endif
