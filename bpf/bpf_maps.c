/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* No programs: the map library loads this object to create the maps, with
 * their BTF, at the sizes configured for the node. */
#include "lib/maps.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
