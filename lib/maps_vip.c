// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The service-address set: address -> number of service entries using it.
 * Only the service writes of this library change it, so the count is exact
 * as long as no writer dies between a service entry and its count; a
 * restarted agent recounts (bpfnet_vip_recount). The set errs towards
 * counting too many: an address counted before its entry exists and
 * uncounted after it is gone, so a live service address is never missing.
 */
#include <errno.h>
#include <stdlib.h>
#include <bpf/bpf.h>

#include "maps.h"
#include "maps_internal.h"

int bpfnet_vip_get(struct bpfnet_maps *m, __be32 addr, __u32 *services)
{
	struct bpfnet_vip v;

	if (bpf_map_lookup_elem(m->fd[BPFNET_M_VIP], &addr, &v))
		return -errno;
	*services = v.services;
	return 0;
}

int maps_vip_add(struct bpfnet_maps *m, __be32 addr, __u32 services)
{
	struct bpfnet_vip v = { .services = services };
	/* mostly a new address: one write */
	int err = maps_write(m, BPFNET_M_VIP, &addr, &v, BPF_NOEXIST);

	if (err != -EEXIST)
		return err;
	if (bpf_map_lookup_elem(m->fd[BPFNET_M_VIP], &addr, &v))
		return -errno; /* err_map names the set already */
	v.services += services;
	return maps_write(m, BPFNET_M_VIP, &addr, &v, BPF_EXIST);
}

int maps_vip_ref(struct bpfnet_maps *m, __be32 addr, int delta)
{
	struct bpfnet_vip v = {};

	if (delta > 0)
		return maps_vip_add(m, addr, (__u32)delta);
	if (bpf_map_lookup_elem(m->fd[BPFNET_M_VIP], &addr, &v))
		return errno == ENOENT ? 0 : -errno;
	if (v.services > (__u32)-delta) {
		v.services -= (__u32)-delta;
		return maps_write(m, BPFNET_M_VIP, &addr, &v, BPF_ANY);
	}
	return maps_remove(m, BPFNET_M_VIP, &addr);
}

struct addr_list {
	__be32 *addr;
	size_t n, cap;
};

static int collect_vip(const void *key, const void *val, void *arg)
{
	struct addr_list *l = arg;

	(void)val;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1024;
		__be32 *a = realloc(l->addr, cap * sizeof(*a));

		if (!a)
			return -ENOMEM;
		l->addr = a;
		l->cap = cap;
	}
	l->addr[l->n++] = *(const __be32 *)key;
	return 0;
}

static int cmp_addr(const void *a, const void *b)
{
	__be32 x = *(const __be32 *)a, y = *(const __be32 *)b;

	return x < y ? -1 : x > y;
}

int bpfnet_vip_recount(struct bpfnet_maps *m, __be32 *addrs, size_t n)
{
	struct addr_list vip = {};
	int err;

	m->err_map = -1;
	err = bpfnet_map_iterate(m, BPFNET_M_VIP, collect_vip, &vip);
	if (n)
		qsort(addrs, n, sizeof(*addrs), cmp_addr);
	/* the right counts first, then the addresses no service uses */
	for (size_t i = 0, j; i < n && !err; i = j) {
		struct bpfnet_vip v = {};

		for (j = i; j < n && addrs[j] == addrs[i]; j++)
			v.services++;
		err = maps_write(m, BPFNET_M_VIP, &addrs[i], &v, BPF_ANY);
	}
	for (size_t i = 0; i < vip.n && !err; i++)
		if (!n || !bsearch(&vip.addr[i], addrs, n, sizeof(*addrs), cmp_addr))
			err = maps_remove(m, BPFNET_M_VIP, &vip.addr[i]);
	free(vip.addr);
	return err;
}
