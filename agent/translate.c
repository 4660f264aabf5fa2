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

/* Backends of one service port: pass 0 takes ready endpoints; pass 1, run
 * only when pass 0 found none, takes serving terminating ones. */
static int collect_backends(const struct slice_ref_list *slices, const struct service_port *sp,
			    struct frontend *fe)
{
	size_t cap = 0;

	for (int pass = 0; pass < 2 && fe->n_backends == 0; pass++) {
		for (size_t s = 0; slices && s < slices->n; s++) {
			const struct endpoint_slice *sl = slices->v[s];
			__u16 port = sl->ipv4 ? slice_port_for(sl, sp) : 0;

			if (!port)
				continue;
			for (size_t e = 0; e < sl->n_eps; e++) {
				const struct slice_endpoint *ep = &sl->eps[e];
				bool use = pass == 0 ? ep->ready : ep->serving && ep->terminating;

				if (!use)
					continue;
				if (fe->n_backends == cap) {
					size_t ncap = cap ? cap * 2 : 8;
					struct bpfnet_backend *v =
						realloc(fe->backends, ncap * sizeof(*v));

					if (!v)
						return -ENOMEM;
					fe->backends = v;
					cap = ncap;
				}
				fe->backends[fe->n_backends++] = (struct bpfnet_backend){
					.addr = ep->addr,
					.port = htons(port),
					.proto = sp->proto,
					.state = pass == 0 ? BPFNET_BACKEND_ACTIVE
							   : BPFNET_BACKEND_TERMINATING,
				};
			}
		}
	}
	if (fe->n_backends > 1) {
		size_t out = 1;

		qsort(fe->backends, fe->n_backends, sizeof(*fe->backends), cmp_backend);
		for (size_t i = 1; i < fe->n_backends; i++) /* the same address in two slices */
			if (cmp_backend(&fe->backends[i], &fe->backends[out - 1]))
				fe->backends[out++] = fe->backends[i];
		fe->n_backends = out;
	}
	if (fe->n_backends > BPFNET_MAX_BACKENDS_PER_SVC)
		fe->n_backends = BPFNET_MAX_BACKENDS_PER_SVC;
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
