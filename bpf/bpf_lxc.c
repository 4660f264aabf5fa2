/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* tc programs for the host side of a pod's veth. */
#include "lib/lb_pkt.h"

/* tc ingress of the host veth: everything the pod sends. */
SEC("tc")
int from_container(struct __sk_buff *skb)
{
	return lb_pkt_from_container(skb);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
