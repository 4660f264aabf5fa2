/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A whole file into memory, NUL-terminated, refusing files over a limit. */
#ifndef BPFNET_AGENT_READFILE_H
#define BPFNET_AGENT_READFILE_H

#include <stddef.h>

/* The contents (free() them) and their length in @len; NULL with -errno in
 * @err (-EFBIG when the file is larger than @max). */
char *read_file(const char *path, size_t max, size_t *len, int *err);

#endif
