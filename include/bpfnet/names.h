/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Userspace names for the counters in datapath.h (CLI, metrics, tests). */
#ifndef BPFNET_NAMES_H
#define BPFNET_NAMES_H

#include <stddef.h>
#include "datapath.h"

/* the release, shared by every binary */
#define BPFNET_VERSION "0.1.0"

#define BPFNET_X_NAME(name, str) str,

static const char *const bpfnet_verdict_names[BPFNET_STAT_VERDICT_COUNT] = {
	BPFNET_VERDICT_LIST(BPFNET_X_NAME)
};

static const char *const bpfnet_drop_names[BPFNET_DROP_REASON_COUNT] = {
	BPFNET_DROP_LIST(BPFNET_X_NAME)
};

/* Name of counter index @idx in the stats map, or NULL for an unused index. */
static inline const char *bpfnet_stat_name(unsigned int idx)
{
	if (idx < BPFNET_STAT_VERDICT_COUNT)
		return bpfnet_verdict_names[idx];
	if (idx >= BPFNET_STAT_DROP_BASE &&
	    idx < BPFNET_STAT_DROP_BASE + BPFNET_DROP_REASON_COUNT)
		return bpfnet_drop_names[idx - BPFNET_STAT_DROP_BASE];
	return NULL;
}

#endif
