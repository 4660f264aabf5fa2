/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Allocation-failure injection. The unit-test binary is linked with
 * --wrap=malloc,calloc,realloc,strdup, so every allocation bpfnet's own
 * code makes passes through here (the libraries' own calls do not), and
 * cJSON's allocations through its hooks. Armed with N, the Nth allocation
 * from then on fails once; a test runs an operation with N = 0, 1, 2, ...
 * until one run sees no failure, checking after each that nothing leaked,
 * nothing was used after being freed and the state is consistent.
 */
#ifndef BPFNET_TEST_FAULT_H
#define BPFNET_TEST_FAULT_H

#include <stdbool.h>

void fault_arm(long n);
void fault_disarm(void);
/* Whether the armed failure happened (false: the run needed fewer allocations). */
bool fault_fired(void);

#endif
