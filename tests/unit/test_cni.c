// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The CNI plugin's netlink and IPAM modules on their own: netlink in a
 * network namespace of the test's own, IPAM in a scratch directory. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipam.h"
#include "netlink.h"
#include "testutil.h"

/* Run @fn in a child inside a fresh network namespace (only lo). */
static void in_new_netns(int (*fn)(char *msg, size_t len))
{
	char msg[512] = "";
	int pipefd[2], status;
	pid_t pid;

	if (pipe(pipefd))
		FAIL("pipe");
	pid = fork();
	if (pid == 0) {
		int rc = unshare(CLONE_NEWNET) ? (snprintf(msg, sizeof(msg), "unshare: %s",
							    strerror(errno)), 1)
					       : fn(msg, sizeof(msg));

		if (write(pipefd[1], msg, strlen(msg) + 1) < 0)
			rc = 1;
		_exit(rc);
	}
	close(pipefd[1]);
	if (read(pipefd[0], msg, sizeof(msg) - 1) < 0)
		msg[0] = '\0';
	close(pipefd[0]);
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		FAIL("fork/wait");
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		FAIL("%s", msg[0] ? msg : "child failed");
}

#define CHILD_CHECK(cond, ...)                               \
	do {                                                 \
		if (!(cond)) {                               \
			snprintf(msg, len, __VA_ARGS__);     \
			return 1;                            \
		}                                            \
	} while (0)

static int netlink_wiring(char *msg, size_t len)
{
	struct nl nl;
	struct nl_link host, peer, lo;
	static const unsigned char mac[6] = { 0x02, 0, 0, 0, 0, 0x42 };
	__be32 pod = inet_addr("10.244.0.7"), gw = inet_addr("169.254.1.1");
	int err;

	CHILD_CHECK(!nl_open(&nl, -1), "nl_open: %s", nl.err);
	CHILD_CHECK(!nl_link_get(&nl, "lo", &lo) && !nl_link_up(&nl, lo.ifindex), "lo: %s", nl.err);
	/* the peer is made straight in a namespace: here, the same one */
	{
		int self = open("/proc/self/ns/net", O_RDONLY);

		err = nl_veth_add(&nl, "lxctest0", "eth9", self, 1400);
		close(self);
	}
	CHILD_CHECK(!err, "veth: %s", nl.err);
	CHILD_CHECK(!nl_link_get(&nl, "lxctest0", &host) && !nl_link_get(&nl, "eth9", &peer),
		    "links: %s", nl.err);
	CHILD_CHECK(host.mtu == 1400 && peer.mtu == 1400, "mtu %u/%u", host.mtu, peer.mtu);
	CHILD_CHECK(!nl_link_up(&nl, host.ifindex) && !nl_link_up(&nl, peer.ifindex), "up: %s", nl.err);
	CHILD_CHECK(!nl_addr_add(&nl, peer.ifindex, pod, 32), "addr: %s", nl.err);
	CHILD_CHECK(nl_addr_has(&nl, peer.ifindex, pod, 32) == 1, "address not found");
	CHILD_CHECK(nl_addr_has(&nl, peer.ifindex, pod, 24) == 0, "wrong prefix matched");
	CHILD_CHECK(!nl_route_replace(&nl, gw, 32, 0, peer.ifindex) &&
			    !nl_neigh_replace(&nl, peer.ifindex, gw, mac) &&
			    !nl_route_replace(&nl, 0, 0, gw, peer.ifindex),
		    "routes: %s", nl.err);
	CHILD_CHECK(nl_route_has(&nl, 0, 0, gw, peer.ifindex) == 1, "default route not found");
	CHILD_CHECK(nl_default_route_mtu(&nl) == 1400, "default route MTU %u",
		    nl_default_route_mtu(&nl));
	CHILD_CHECK(!nl_route_replace(&nl, pod, 32, 0, host.ifindex), "host route: %s", nl.err);
	CHILD_CHECK(nl_route_has(&nl, pod, 32, 0, host.ifindex) == 1, "host route not found");
	CHILD_CHECK(!nl_route_del(&nl, pod, 32, host.ifindex), "route del: %s", nl.err);
	CHILD_CHECK(nl_route_has(&nl, pod, 32, 0, host.ifindex) == 0, "host route still there");

	/* the kernel's extended ack text reaches the error */
	err = nl_route_replace(&nl, inet_addr("10.0.0.0"), 8, inet_addr("192.0.2.1"), lo.ifindex);
	CHILD_CHECK(err < 0, "unreachable gateway accepted");
	CHILD_CHECK(strstr(nl.err, "add route") && strstr(nl.err, "Nexthop has invalid gateway"),
		    "error without the kernel's reason: %s", nl.err);

	CHILD_CHECK(nl_link_get(&nl, "nope0", &lo) == -ENODEV, "missing link: %s", nl.err);
	CHILD_CHECK(!nl_link_del(&nl, host.ifindex), "del: %s", nl.err);
	CHILD_CHECK(nl_link_get(&nl, "eth9", &peer) == -ENODEV, "peer outlived its pair");
	nl_close(&nl);
	return 0;
}

TEST(cni_netlink_wiring_and_extack)
{
	(void)f;
	in_new_netns(netlink_wiring);
}

static void ipam_at(struct fixture *f, struct ipam *p, const char *cidr_net, int prefix)
{
	ASSERT_OK(ipam_init(p, fixture_scratch(f), "net1", inet_addr(cidr_net), prefix), "ipam_init");
	ASSERT_OK(ipam_lock(p), "lock");
}

static const char *ntoa(__be32 a)
{
	static char buf[4][INET_ADDRSTRLEN];
	static int i;

	i = (i + 1) % 4;
	return inet_ntop(AF_INET, &a, buf[i], sizeof(buf[i]));
}

TEST(cni_ipam_allocation_rules)
{
	struct ipam p;
	__be32 a, b, c, again, gone;
	struct ipam_attachment keep[] = { { "c2", "eth0" } };

	ipam_at(f, &p, "10.250.0.0", 29); /* .0 network, .7 broadcast: 6 pods */
	ASSERT_OK(ipam_allocate(&p, "c1", "eth0", &a), "first");
	ASSERT_TRUE(!strcmp(ntoa(a), "10.250.0.1"), "first address after the network's");
	ASSERT_OK(ipam_allocate(&p, "c1", "eth0", &again), "same container again");
	ASSERT_EQ(again, a, "idempotent");
	ASSERT_OK(ipam_allocate(&p, "c1", "eth1", &b), "second interface");
	ASSERT_TRUE(b != a, "another interface, another address");
	ASSERT_OK(ipam_allocate(&p, "c2", "eth0", &c), "c2");
	/* a released address is not handed out again at once */
	ASSERT_OK(ipam_release(&p, "c1", "eth0", &gone), "release");
	ASSERT_EQ(gone, a, "released address");
	ASSERT_OK(ipam_release(&p, "c1", "eth0", &gone), "release twice");
	ASSERT_EQ(gone, 0, "nothing the second time");
	ASSERT_OK(ipam_allocate(&p, "c3", "eth0", &again), "c3");
	ASSERT_TRUE(again != a, "released address not reused first");
	ASSERT_OK(ipam_allocate(&p, "c4", "eth0", &again), "c4");
	ASSERT_OK(ipam_allocate(&p, "c5", "eth0", &again), "c5");
	ASSERT_OK(ipam_allocate(&p, "c6", "eth0", &again), "c6: wraps to the released one");
	ASSERT_EQ(again, a, "wrapped to the freed address");
	ASSERT_EQ(ipam_allocate(&p, "c7", "eth0", &again), -ENOSPC, "exhausted");
	ASSERT_EQ(ipam_find(&p, "c7", "eth0", &again), -ENOENT, "nothing kept for the failure");
	/* GC keeps what the runtime still knows */
	ASSERT_OK(ipam_gc(&p, keep, 1, NULL, NULL), "gc");
	ASSERT_OK(ipam_find(&p, "c2", "eth0", &again), "valid attachment kept");
	ASSERT_EQ(again, c, "kept address");
	ASSERT_EQ(ipam_find(&p, "c1", "eth1", &again), -ENOENT, "stale attachment released");
	ipam_unlock(&p);

	/* a subnet too small to hold a pod, a name that is a path */
	ASSERT_EQ(ipam_init(&p, "/tmp", "net1", inet_addr("10.0.0.0"), 31), -EINVAL, "/31");
	ASSERT_EQ(ipam_init(&p, "/tmp", "../etc", inet_addr("10.0.0.0"), 24), -EINVAL, "path name");
}
