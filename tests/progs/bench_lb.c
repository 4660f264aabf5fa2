/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Benchmark wrappers around the per-packet LB. BPF_PROG_TEST_RUN's repeat
 * runs the program again on the same (already rewritten) buffer, so each
 * wrapper first stores a pristine header; bench_restore does only that and
 * its cost is subtracted. bench_new_flow varies the source of every
 * iteration so each one is a conntrack miss and a new backend selection.
 */
#include "../../bpf/lib/lb_pkt.h"

#define BENCH_HDR_LEN 54 /* Ethernet + IPv4 + TCP */

__u8 pristine[BENCH_HDR_LEN];
__u32 flow_counter;

SEC("tc")
int bench_restore(struct __sk_buff *skb)
{
	bpf_skb_store_bytes(skb, 0, pristine, BENCH_HDR_LEN, 0);
	return TC_ACT_OK;
}

SEC("tc")
int bench_ct_hit(struct __sk_buff *skb)
{
	bpf_skb_store_bytes(skb, 0, pristine, BENCH_HDR_LEN, 0);
	return lb_pkt_from_container(skb);
}

SEC("tc")
int bench_new_flow(struct __sk_buff *skb)
{
	__u8 hdr[BENCH_HDR_LEN];
	__u32 n = flow_counter++;

	__builtin_memcpy(hdr, pristine, BENCH_HDR_LEN);
	hdr[26 + 2] = (__u8)(n >> 24); /* source address, low two bytes */
	hdr[26 + 3] = (__u8)(n >> 16);
	hdr[34] = (__u8)(n >> 8);      /* TCP source port */
	hdr[35] = (__u8)n;
	bpf_skb_store_bytes(skb, 0, hdr, BENCH_HDR_LEN, 0);
	return lb_pkt_from_container(skb);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
