// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "netlink.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sys/socket.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

/* Open the socket inside @netns_fd, then come back: it stays bound there. */
int nl_open(struct nl *nl, int netns_fd)
{
	int self = -1, one = 1, err = 0;

	memset(nl, 0, sizeof(*nl));
	if (netns_fd >= 0) {
		self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		if (self < 0 || setns(netns_fd, CLONE_NEWNET)) {
			err = -errno;
			snprintf(nl->err, sizeof(nl->err), "enter netns: %s", strerror(errno));
			if (self >= 0)
				close(self);
			return err;
		}
	}
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sock || mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID)) {
		err = -errno;
		snprintf(nl->err, sizeof(nl->err), "netlink socket: %s", strerror(errno));
	} else {
		mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
		nl->portid = mnl_socket_get_portid(nl->sock);
		nl->seq = (unsigned int)time(NULL);
	}
	if (self >= 0) {
		if (setns(self, CLONE_NEWNET) && !err) /* cannot happen; never stay there */
			err = -errno;
		close(self);
	}
	if (err && nl->sock) {
		mnl_socket_close(nl->sock);
		nl->sock = NULL;
	}
	return err;
}

void nl_close(struct nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
}

/* The NLMSGERR_ATTR_MSG of an error message, if the kernel attached one. */
static const char *extack_msg(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	size_t off = sizeof(*e);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	if (off > mnl_nlmsg_get_payload_len(nlh))
		return NULL;
	mnl_attr_for_each_payload((const struct nlattr *)((const char *)e + off), mnl_nlmsg_get_payload_len(nlh) - off) {
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
		    !mnl_attr_validate(attr, MNL_TYPE_NUL_STRING))
			return mnl_attr_get_str(attr);
	}
	return NULL;
}

typedef int (*nl_data_cb)(const struct nlmsghdr *nlh, void *arg);

/* Send @nlh and read until its ACK/DONE; data messages go to @cb. */
static int nl_talk(struct nl *nl, struct nlmsghdr *nlh, nl_data_cb cb, void *arg, const char *what)
{
	char buf[32768]; /* a dump batch of the kernel: 8 KiB or a page, well under */
	bool dump = nlh->nlmsg_flags & NLM_F_DUMP;

	nlh->nlmsg_seq = ++nl->seq;
	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0) {
		snprintf(nl->err, sizeof(nl->err), "%s: send: %s", what, strerror(errno));
		return -errno;
	}
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf));
		const struct nlmsghdr *m = (const struct nlmsghdr *)buf;
		size_t len;

		if (n < 0) {
			snprintf(nl->err, sizeof(nl->err), "%s: receive: %s", what, strerror(errno));
			return -errno;
		}
		len = (size_t)n;
		for (; mnl_nlmsg_ok(m, (int)len); m = mnl_nlmsg_next(m, (int *)&len)) {
			if (m->nlmsg_seq != nl->seq || m->nlmsg_pid != nl->portid)
				continue;
			if (m->nlmsg_type == NLMSG_DONE)
				return 0;
			if (m->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(m);
				const char *ext;

				if (!e->error)
					return 0; /* the ACK */
				if (dump && e->error == -ENOENT)
					return 0;
				ext = extack_msg(m);
				snprintf(nl->err, sizeof(nl->err), "%s: %s%s%s", what, strerror(-e->error),
					 ext ? ": " : "", ext ? ext : "");
				return e->error;
			}
			if (cb && cb(m, arg) < 0)
				return -EIO;
		}
	}
}

static struct nlmsghdr *msg_start(char *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	return nlh;
}

/* ---- links ---- */

static int link_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct nl_link *l = arg;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return 0;
	l->ifindex = ifi->ifi_index;
	l->up = ifi->ifi_flags & IFF_UP;
	mnl_attr_for_each(attr, nlh, sizeof(*ifi)) {
		if (mnl_attr_get_type(attr) == IFLA_ADDRESS && mnl_attr_get_payload_len(attr) == 6)
			memcpy(l->mac, mnl_attr_get_payload(attr), 6);
		else if (mnl_attr_get_type(attr) == IFLA_MTU)
			l->mtu = mnl_attr_get_u32(attr);
	}
	return 0;
}

int nl_link_get(struct nl *nl, const char *name, struct nl_link *out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = msg_start(buf, RTM_GETLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	char what[64];

	memset(out, 0, sizeof(*out));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	snprintf(what, sizeof(what), "get link %s", name);
	return nl_talk(nl, nlh, link_cb, out, what);
}

int nl_veth_add(struct nl *nl, const char *host, const char *peer, int peer_netns_fd,
		unsigned int mtu)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], what[96];
	struct nlmsghdr *nlh = msg_start(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi)), *pifi;
	struct nlattr *linkinfo, *data, *peer_attr;

	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, host);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	peer_attr = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* the peer's attributes follow an ifinfomsg of its own */
	pifi = (struct ifinfomsg *)((char *)nlh + nlh->nlmsg_len);
	nlh->nlmsg_len += MNL_ALIGN(sizeof(*pifi));
	memset(pifi, 0, sizeof(*pifi));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	mnl_attr_nest_end(nlh, peer_attr);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linkinfo);
	snprintf(what, sizeof(what), "create veth %s/%s", host, peer);
	return nl_talk(nl, nlh, NULL, NULL, what);
}

int nl_link_del(struct nl *nl, int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = msg_start(buf, RTM_DELLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_index = ifindex;
	return nl_talk(nl, nlh, NULL, NULL, "delete link");
}

int nl_link_up(struct nl *nl, int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = msg_start(buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_index = ifindex;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	return nl_talk(nl, nlh, NULL, NULL, "set link up");
}

/* ---- addresses ---- */

static struct nlmsghdr *addr_msg(char *buf, uint16_t type, uint16_t flags, int ifindex,
				 __be32 addr, int prefix)
{
	struct nlmsghdr *nlh = msg_start(buf, type, flags);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));

	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_index = (unsigned int)ifindex;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	if (addr) {
		mnl_attr_put_u32(nlh, IFA_LOCAL, addr);
		mnl_attr_put_u32(nlh, IFA_ADDRESS, addr);
	}
	return nlh;
}

int nl_addr_add(struct nl *nl, int ifindex, __be32 addr, int prefix)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];

	return nl_talk(nl, addr_msg(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, ifindex, addr,
				    prefix),
		       NULL, NULL, "add address");
}

struct addr_match {
	int ifindex, prefix;
	__be32 addr;
	bool found;
};

static int addr_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct addr_match *m = arg;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;

	if (ifa->ifa_family != AF_INET || (int)ifa->ifa_index != m->ifindex ||
	    ifa->ifa_prefixlen != m->prefix)
		return 0;
	mnl_attr_for_each(attr, nlh, sizeof(*ifa))
		if (mnl_attr_get_type(attr) == IFA_LOCAL && mnl_attr_get_u32(attr) == m->addr)
			m->found = true;
	return 0;
}

int nl_addr_has(struct nl *nl, int ifindex, __be32 addr, int prefix)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct addr_match m = { .ifindex = ifindex, .prefix = prefix, .addr = addr };
	int err = nl_talk(nl, addr_msg(buf, RTM_GETADDR, NLM_F_DUMP, 0, 0, 0), addr_cb, &m,
			  "list addresses");

	return err ? err : m.found;
}

/* ---- routes ---- */

static struct nlmsghdr *route_msg(char *buf, uint16_t type, uint16_t flags, __be32 dst,
				  int prefix, __be32 gw, int ifindex)
{
	struct nlmsghdr *nlh = msg_start(buf, type, flags);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = (unsigned char)prefix;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_type = RTN_UNICAST;
	rtm->rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	if (type == RTM_GETROUTE)
		return nlh;
	if (prefix)
		mnl_attr_put_u32(nlh, RTA_DST, dst);
	if (gw)
		mnl_attr_put_u32(nlh, RTA_GATEWAY, gw);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	return nlh;
}

int nl_route_replace(struct nl *nl, __be32 dst, int prefix, __be32 gw, int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];

	return nl_talk(nl, route_msg(buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, dst, prefix, gw,
				     ifindex),
		       NULL, NULL, "add route");
}

int nl_route_del(struct nl *nl, __be32 dst, int prefix, int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = route_msg(buf, RTM_DELROUTE, 0, dst, prefix, 0, ifindex);

	((struct rtmsg *)mnl_nlmsg_get_payload(nlh))->rtm_scope = RT_SCOPE_NOWHERE;
	return nl_talk(nl, nlh, NULL, NULL, "delete route");
}

struct route_match {
	__be32 dst, gw;
	int prefix, ifindex;
	bool found;
};

static int route_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct route_match *m = arg;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	__be32 dst = 0, gw = 0;
	int oif = 0;

	if (rtm->rtm_family != AF_INET || rtm->rtm_table != RT_TABLE_MAIN ||
	    rtm->rtm_dst_len != m->prefix)
		return 0;
	mnl_attr_for_each(attr, nlh, sizeof(*rtm)) {
		switch (mnl_attr_get_type(attr)) {
		case RTA_DST: dst = mnl_attr_get_u32(attr); break;
		case RTA_GATEWAY: gw = mnl_attr_get_u32(attr); break;
		case RTA_OIF: oif = (int)mnl_attr_get_u32(attr); break;
		}
	}
	if (dst == m->dst && gw == m->gw && oif == m->ifindex)
		m->found = true;
	return 0;
}

static int default_oif_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct route_match *m = arg;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;

	if (rtm->rtm_family != AF_INET || rtm->rtm_table != RT_TABLE_MAIN || rtm->rtm_dst_len ||
	    m->ifindex)
		return 0;
	mnl_attr_for_each(attr, nlh, sizeof(*rtm))
		if (mnl_attr_get_type(attr) == RTA_OIF)
			m->ifindex = (int)mnl_attr_get_u32(attr);
	return 0;
}

int nl_route_has(struct nl *nl, __be32 dst, int prefix, __be32 gw, int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct route_match m = { .dst = prefix ? dst : 0, .gw = gw, .prefix = prefix,
				 .ifindex = ifindex };
	int err = nl_talk(nl, route_msg(buf, RTM_GETROUTE, NLM_F_DUMP, 0, 0, 0, 0), route_cb, &m,
			  "list routes");

	return err ? err : m.found;
}

/* ---- neighbours ---- */

int nl_neigh_replace(struct nl *nl, int ifindex, __be32 addr, const unsigned char mac[6])
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = msg_start(buf, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE);
	struct ndmsg *nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));

	nd->ndm_family = AF_INET;
	nd->ndm_ifindex = ifindex;
	nd->ndm_state = NUD_PERMANENT;
	mnl_attr_put_u32(nlh, NDA_DST, addr);
	mnl_attr_put(nlh, NDA_LLADDR, 6, mac);
	return nl_talk(nl, nlh, NULL, NULL, "add neighbour");
}

unsigned int nl_default_route_mtu(struct nl *nl)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct route_match m = { .prefix = 0 };
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct nl_link l = {};

	/* find the default route's device: match any gateway and device */
	if (nl_talk(nl, route_msg(buf, RTM_GETROUTE, NLM_F_DUMP, 0, 0, 0, 0), default_oif_cb, &m,
		    "list routes") || !m.ifindex)
		return 0;
	nlh = msg_start(buf, RTM_GETLINK, 0);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_index = m.ifindex;
	if (nl_talk(nl, nlh, link_cb, &l, "get link"))
		return 0;
	return l.mtu;
}
