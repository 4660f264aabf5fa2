/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The datapath maps. Every object declares them identically; the loader
 * replaces each with the pinned instance (bpf_map__reuse_fd) so all programs
 * share one set. max_entries here are defaults: the map library sets the
 * configured sizes before creating them.
 */
#ifndef BPFNET_BPF_MAPS_H
#define BPFNET_BPF_MAPS_H

#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct bpfnet_svc_key);
	__type(value, struct bpfnet_svc_value);
	__uint(max_entries, BPFNET_DEFAULT_SVC_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} svc_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct bpfnet_slot_key);
	__type(value, __u32);
	__uint(max_entries, BPFNET_DEFAULT_SLOT_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} slot_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct bpfnet_backend);
	__uint(max_entries, BPFNET_DEFAULT_BACKEND_MAX + 1);
} backend_v2 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct bpfnet_revnat);
	__uint(max_entries, BPFNET_DEFAULT_REVNAT_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} revnat_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct bpfnet_ct_key);
	__type(value, struct bpfnet_ct_value);
	__uint(max_entries, BPFNET_DEFAULT_CT_TCP_MAX);
} ct_tcp_v2 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct bpfnet_ct_key);
	__type(value, struct bpfnet_ct_value);
	__uint(max_entries, BPFNET_DEFAULT_CT_ANY_MAX);
} ct_any_v2 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __be32);
	__type(value, struct bpfnet_vip);
	__uint(max_entries, BPFNET_DEFAULT_SVC_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} vip_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct bpfnet_frag_key);
	__type(value, struct bpfnet_frag_value);
	__uint(max_entries, BPFNET_DEFAULT_FRAG_MAX);
} frag_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct bpfnet_sock_rev_key);
	__type(value, struct bpfnet_sock_rev_value);
	__uint(max_entries, BPFNET_DEFAULT_SOCK_REV_MAX);
} sock_rev_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__type(key, int);
	__type(value, struct bpfnet_sock_peer);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} sock_peer_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct bpfnet_sock_pending);
	__uint(max_entries, BPFNET_DEFAULT_SOCK_PENDING_MAX);
} sock_pending_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct bpfnet_config);
	__uint(max_entries, 1);
} config_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, BPFNET_DEFAULT_EVENTS_BYTES);
} events_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __be32);
	__type(value, struct bpfnet_endpoint);
	__uint(max_entries, BPFNET_DEFAULT_ENDPOINT_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} endpoint_v1 SEC(".maps");

/* Not read by the datapath; lives here so it is created and pinned with
 * the others and has its BTF for bpftool. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct bpfnet_svc_name);
	__uint(max_entries, BPFNET_DEFAULT_SVC_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} svc_name_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct bpfnet_stat_value);
	__uint(max_entries, BPFNET_STATS_MAX);
} stats_v1 SEC(".maps");

#endif
