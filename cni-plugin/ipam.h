/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Built-in IPAM, host-local style: addresses of one IPv4 subnet, one file
 * per allocated address (named by the address, holding "containerID\n
 * ifname\n") under <dataDir>/<network>/, all changes under an exclusive
 * flock of <dir>/lock, so concurrent ADDs never share an address. The
 * network address, the first host address (kept for the node) and the
 * broadcast address are never handed out.
 */
#ifndef BPFNET_CNI_IPAM_H
#define BPFNET_CNI_IPAM_H

#include <limits.h>
#include <stddef.h>
#include <linux/types.h>

struct ipam {
	char dir[PATH_MAX];
	__be32 net;  /* network address */
	int prefix;  /* 8..30 */
	int lock_fd; /* held between ipam_lock() and ipam_unlock() */
};

struct ipam_attachment {
	const char *container_id, *ifname;
};

int ipam_init(struct ipam *p, const char *data_dir, const char *network, __be32 net, int prefix);
/* Every other call is made between these two. */
int ipam_lock(struct ipam *p);
void ipam_unlock(struct ipam *p);

/* The address of (container, ifname), or -ENOENT. */
int ipam_find(struct ipam *p, const char *cid, const char *ifname, __be32 *addr);
/* Allocate (or return the existing allocation): -ENOSPC when exhausted. */
int ipam_allocate(struct ipam *p, const char *cid, const char *ifname, __be32 *addr);
/* Release (container, ifname)'s address; 0 also when it had none. */
int ipam_release(struct ipam *p, const char *cid, const char *ifname, __be32 *released);

/* Release (container, ifname)'s address in whichever network directory of
 * @data_dir holds it (a DEL whose configuration names no valid network). */
int ipam_release_anywhere(const char *data_dir, const char *cid, const char *ifname,
			  __be32 *released);

/* Release every allocation not in @valid; @gone is called for each. */
typedef void (*ipam_gone_fn)(void *arg, const char *cid, const char *ifname, __be32 addr);
int ipam_gc(struct ipam *p, const struct ipam_attachment *valid, size_t n_valid, ipam_gone_fn gone,
	    void *arg);

#endif
