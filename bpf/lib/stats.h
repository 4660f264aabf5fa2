/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef BPFNET_BPF_STATS_H
#define BPFNET_BPF_STATS_H

#include "maps.h"

static __always_inline void stat_add(__u32 idx, __u32 bytes)
{
	struct bpfnet_stat_value *v = bpf_map_lookup_elem(&stats_v1, &idx);

	if (v) {
		v->packets++;
		v->bytes += bytes;
	}
}

static __always_inline void stat_verdict(enum bpfnet_stat verdict, __u32 bytes)
{
	stat_add(verdict, bytes);
}

#endif
