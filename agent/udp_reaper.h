/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Connected UDP sockets to backends that left their service. Socket LB
 * chose the backend in connect(); the kernel then sends to it for the
 * socket's whole life, so a DNS client would keep asking a CoreDNS pod
 * that was scaled away. On kernels with bpf_sock_destroy (6.5+) such
 * sockets are destroyed, in this network namespace and in every pod's (the
 * CNI plugin records each pod's namespace under <state-dir>/pods/), and the
 * application connects again to a live backend. Older kernels cannot: the
 * socket keeps its backend until the application reconnects (documented).
 */
#ifndef BPFNET_AGENT_UDP_REAPER_H
#define BPFNET_AGENT_UDP_REAPER_H

#include <stdbool.h>
#include <stddef.h>
#include <bpfnet/datapath.h>

struct bpfnet_sock_destroy_skel;

struct udp_reaper {
	struct bpfnet_sock_destroy_skel *skel; /* NULL: the kernel cannot */
	int link_fd;
	char pods_dir[4200];
};

/* Load the iterator where the kernel has bpf_sock_destroy; without it the
 * reaper does nothing (0 either way; the reason is logged once). */
int udp_reaper_init(struct udp_reaper *r, const char *state_dir, bool supported);
void udp_reaper_free(struct udp_reaper *r);
bool udp_reaper_active(const struct udp_reaper *r);

/* Destroy every connected UDP socket whose peer is one of @gone, here and
 * in each pod's namespace. Runs in the calling thread, which it moves
 * between namespaces and back. *destroyed counts them. */
int udp_reaper_run(struct udp_reaper *r, const struct bpfnet_backend *gone, size_t n,
		   unsigned long *destroyed);

/* "<state-dir>/pods": where the CNI plugin records pods' namespaces. */
#define UDP_REAPER_PODS_DIR "pods"

#endif
