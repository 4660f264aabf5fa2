/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Connected UDP sockets whose backend left its service: destroyed, so the
 * application (a DNS client, above all) notices and connects again, this
 * time to a live backend. Socket LB translated their connect() once; the
 * kernel would send to the old backend for the socket's whole life.
 *
 * An iterator over the UDP sockets of the network namespace it is opened
 * in; bpf_sock_destroy() is a kfunc of kernels 6.5 and later, so this
 * object is optional: the agent loads it only where the kernel has it.
 */
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

/* The kernel's types, just the fields read here (CO-RE relocates them). */
struct sock_common {
	__be32 skc_daddr;
	__be16 skc_dport;
	volatile unsigned char skc_state;
} __attribute__((preserve_access_index));

struct sock {
	struct sock_common __sk_common;
} __attribute__((preserve_access_index));

struct udp_sock;

struct bpf_iter_meta {
	void *seq;
} __attribute__((preserve_access_index));

struct bpf_iter__udp {
	struct bpf_iter_meta *meta;
	struct udp_sock *udp_sk;
} __attribute__((preserve_access_index));

extern int bpf_sock_destroy(struct sock_common *sk) __ksym;

#define BPF_TCP_ESTABLISHED 1 /* a connected UDP socket's state */

/* backends gone: (address, port) -> 1, filled by the agent for one run */
struct sock_target {
	__be32 addr;
	__be16 port;
	__u16 pad0;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct sock_target);
	__type(value, __u8);
	__uint(max_entries, 4096);
} sock_doomed SEC(".maps");

__u64 destroyed; /* sockets destroyed, all runs */

SEC("iter/udp")
int destroy_udp_to_gone_backends(struct bpf_iter__udp *ctx)
{
	struct sock *sk = (struct sock *)ctx->udp_sk;
	struct sock_target t = {};

	if (!sk || sk->__sk_common.skc_state != BPF_TCP_ESTABLISHED)
		return 0;
	t.addr = sk->__sk_common.skc_daddr;
	t.port = sk->__sk_common.skc_dport;
	if (!bpf_map_lookup_elem(&sock_doomed, &t))
		return 0;
	if (!bpf_sock_destroy((struct sock_common *)sk))
		__sync_fetch_and_add(&destroyed, 1);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
