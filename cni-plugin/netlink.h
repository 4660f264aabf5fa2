/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The rtnetlink requests the plugin needs, over libmnl. A socket is bound
 * to the network namespace it was opened in, so one socket per namespace
 * does the work there without the process moving. Errors are -errno with
 * the kernel's extended-ack message, when it sent one, in nl->err.
 */
#ifndef BPFNET_CNI_NETLINK_H
#define BPFNET_CNI_NETLINK_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>

struct nl {
	struct mnl_socket *sock;
	unsigned int seq, portid;
	char err[256]; /* what failed, and the kernel's extack text */
};

/* @netns_fd: -1 for the caller's namespace. */
int nl_open(struct nl *nl, int netns_fd);
void nl_close(struct nl *nl);

struct nl_link {
	int ifindex;
	unsigned char mac[6];
	unsigned int mtu;
	bool up;
};

/* -ENODEV when there is no such link. */
int nl_link_get(struct nl *nl, const char *name, struct nl_link *out);
/* A veth pair: @host here, its peer named @peer directly in @peer_netns_fd. */
int nl_veth_add(struct nl *nl, const char *host, const char *peer, int peer_netns_fd,
		unsigned int mtu);
int nl_link_del(struct nl *nl, int ifindex);
int nl_link_up(struct nl *nl, int ifindex);
int nl_addr_add(struct nl *nl, int ifindex, __be32 addr, int prefix);
/* dst/prefix via @gw (0: on-link, scope link) out of @ifindex; replaces. */
int nl_route_replace(struct nl *nl, __be32 dst, int prefix, __be32 gw, int ifindex);
int nl_route_del(struct nl *nl, __be32 dst, int prefix, int ifindex);
/* A permanent neighbour: no ARP needed on a point-to-point veth. */
int nl_neigh_replace(struct nl *nl, int ifindex, __be32 addr, const unsigned char mac[6]);

/* MTU of the device the default route leaves by; 0 if there is none. */
unsigned int nl_default_route_mtu(struct nl *nl);

/* What CHECK compares: is there an address / a route of exactly this shape. */
int nl_addr_has(struct nl *nl, int ifindex, __be32 addr, int prefix);
int nl_route_has(struct nl *nl, __be32 dst, int prefix, __be32 gw, int ifindex);

#endif
