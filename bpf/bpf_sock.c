/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Socket LB, attached to a cgroup (the cgroup2 root on a node). */
#include "lib/stats.h"
#include "lib/sock.h"

SEC("cgroup/connect4")
int sock_connect4(struct bpf_sock_addr *ctx)
{
	return sock_xlate_fwd(ctx, 1, BPFNET_STAT_SOCK_CONNECT_XLATE);
}

SEC("cgroup/sendmsg4")
int sock_sendmsg4(struct bpf_sock_addr *ctx)
{
	return sock_xlate_fwd(ctx, 0, BPFNET_STAT_SOCK_SENDMSG_XLATE);
}

SEC("cgroup/recvmsg4")
int sock_recvmsg4(struct bpf_sock_addr *ctx)
{
	return sock_xlate_rev(ctx, BPFNET_STAT_SOCK_RECVMSG_XLATE);
}

SEC("cgroup/getpeername4")
int sock_getpeername4(struct bpf_sock_addr *ctx)
{
	return sock_xlate_rev(ctx, BPFNET_STAT_SOCK_PEERNAME_XLATE);
}

/* AF_INET6 sockets reaching IPv4 services at v4-mapped addresses */

SEC("cgroup/connect6")
int sock_connect6(struct bpf_sock_addr *ctx)
{
	return sock6_xlate_fwd(ctx, 1, BPFNET_STAT_SOCK_CONNECT_XLATE);
}

SEC("cgroup/sendmsg6")
int sock_sendmsg6(struct bpf_sock_addr *ctx)
{
	return sock6_xlate_fwd(ctx, 0, BPFNET_STAT_SOCK_SENDMSG_XLATE);
}

SEC("cgroup/recvmsg6")
int sock_recvmsg6(struct bpf_sock_addr *ctx)
{
	return sock6_xlate_rev(ctx, BPFNET_STAT_SOCK_RECVMSG_XLATE);
}

SEC("cgroup/getpeername6")
int sock_getpeername6(struct bpf_sock_addr *ctx)
{
	return sock6_xlate_rev(ctx, BPFNET_STAT_SOCK_PEERNAME_XLATE);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
