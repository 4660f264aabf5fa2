// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "translate.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void frontend_set_free(struct frontend_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		free(set->v[i].backends);
	free(set->v);
	set->v = NULL;
	set->n = 0;
}

static int cmp_backend(const void *a, const void *b)
{
	const struct bpfnet_backend *x = a, *y = b;

	if (x->addr != y->addr)
		return ntohl(x->addr) < ntohl(y->addr) ? -1 : 1;
	return ntohs(x->port) < ntohs(y->port) ? -1 : ntohs(x->port) > ntohs(y->port);
}

/* Port of @sp in @slice (by name and protocol), 0 if the slice lacks it. */
static __u16 slice_port_for(const struct endpoint_slice *slice, const struct service_port *sp)
{
	for (size_t i = 0; i < slice->n_ports; i++)
		if (slice->ports[i].proto == sp->proto && !strcmp(slice->ports[i].name, sp->name))
			return slice->ports[i].port;
	return 0;
}

static int push_backend(struct frontend *fe, size_t *cap, const struct slice_endpoint *ep,
			__u16 port, __u8 proto, __u8 state)
{
	if (fe->n_backends == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct bpfnet_backend *v = realloc(fe->backends, ncap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		fe->backends = v;
		*cap = ncap;
	}
	fe->backends[fe->n_backends++] = (struct bpfnet_backend){
		.addr = ep->addr, .port = htons(port), .proto = proto, .state = state,
	};
	return 0;
}

/* Append the endpoints @pick accepts; 0 = ready, 1 = serving terminating. */
static int collect(const struct slice_ref_list *slices, const struct service_port *sp,
		   struct frontend *fe, size_t *cap, int pick)
{
	for (size_t s = 0; slices && s < slices->n; s++) {
		const struct endpoint_slice *sl = slices->v[s];
		__u16 port = sl->ipv4 ? slice_port_for(sl, sp) : 0;

		for (size_t e = 0; port && e < sl->n_eps; e++) {
			const struct slice_endpoint *ep = &sl->eps[e];
			bool use = pick == 0 ? ep->ready : ep->serving && ep->terminating && !ep->ready;

			if (use && push_backend(fe, cap, ep, port, sp->proto,
						pick == 0 ? BPFNET_BACKEND_ACTIVE
							  : BPFNET_BACKEND_TERMINATING))
				return -ENOMEM;
		}
	}
	return 0;
}

/* Sort v[from..n) and drop duplicates within it and of v[0..from). */
static size_t sort_unique(struct bpfnet_backend *v, size_t from, size_t n)
{
	size_t out = from;

	if (n - from > 1)
		qsort(v + from, n - from, sizeof(*v), cmp_backend);
	for (size_t i = from; i < n; i++) {
		bool dup = out > from && !cmp_backend(&v[i], &v[out - 1]);

		for (size_t j = 0; j < from && !dup; j++)
			dup = !cmp_backend(&v[i], &v[j]);
		if (!dup)
			v[out++] = v[i];
	}
	return out;
}

static int collect_backends(const struct slice_ref_list *slices, const struct service_port *sp,
			    struct frontend *fe)
{
	size_t cap = 0;

	if (collect(slices, sp, fe, &cap, 0))
		return -ENOMEM;
	fe->n_backends = sort_unique(fe->backends, 0, fe->n_backends);
	fe->n_slots = fe->n_backends;
	if (collect(slices, sp, fe, &cap, 1))
		return -ENOMEM;
	fe->n_backends = sort_unique(fe->backends, fe->n_slots, fe->n_backends);
	if (!fe->n_slots) /* nothing ready: the terminating ones serve */
		fe->n_slots = fe->n_backends;
	if (fe->n_slots > BPFNET_MAX_BACKENDS_PER_SVC) {
		fe->n_slots = BPFNET_MAX_BACKENDS_PER_SVC;
		fe->n_backends = fe->n_slots;
	}
	return 0;
}

int translate_service(const struct store *st, const char *svc_key, struct frontend_set *out)
{
	const struct service *svc = store_service(st, svc_key);
	const struct slice_ref_list *slices;
	__u32 common = 0;
	int err;

	out->v = NULL;
	out->n = 0;
	if (!svc || svc->headless || svc->type == SVC_EXTERNAL_NAME)
		return 0;
	if (!svc->n_vips || !svc->n_ports)
		return 0;
	out->v = calloc(svc->n_vips * svc->n_ports, sizeof(*out->v));
	if (!out->v)
		return -ENOMEM;
	slices = store_slices_of(st, svc_key);
	if (svc->affinity_client_ip)
		common |= BPFNET_SVC_F_AFFINITY_CLIENT_IP;
	if (svc->internal_local)
		common |= BPFNET_SVC_F_INTERNAL_LOCAL;
	if (svc->external_local)
		common |= BPFNET_SVC_F_EXTERNAL_LOCAL;

	for (size_t p = 0; p < svc->n_ports; p++) {
		const struct service_port *sp = &svc->ports[p];
		struct frontend proto_fe = {};

		/* the backend set is the same for every VIP of this port */
		err = collect_backends(slices, sp, &proto_fe);
		if (err) {
			free(proto_fe.backends);
			frontend_set_free(out);
			return err;
		}
		for (size_t v = 0; v < svc->n_vips; v++) {
			struct frontend *fe = &out->v[out->n++];

			fe->key = (struct bpfnet_svc_key){ .addr = svc->vips[v].addr,
							   .port = htons(sp->port),
							   .proto = sp->proto,
							   .scope = BPFNET_SCOPE_ALL };
			fe->flags = common | svc->vips[v].kind;
			fe->affinity_timeout_s = svc->affinity_timeout_s;
			if (sp->name[0])
				snprintf(fe->name, sizeof(fe->name), "%s:%s", svc_key, sp->name);
			else
				snprintf(fe->name, sizeof(fe->name), "%s:%u", svc_key, sp->port);
			fe->n_backends = proto_fe.n_backends;
			fe->n_slots = proto_fe.n_slots;
			fe->backends = NULL;
			if (fe->n_backends) {
				fe->backends = malloc(fe->n_backends * sizeof(*fe->backends));
				if (!fe->backends) {
					free(proto_fe.backends);
					frontend_set_free(out);
					return -ENOMEM;
				}
				memcpy(fe->backends, proto_fe.backends,
				       fe->n_backends * sizeof(*fe->backends));
			}
		}
		free(proto_fe.backends);
	}
	return 0;
}
