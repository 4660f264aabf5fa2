// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "readfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

char *read_file(const char *path, size_t max, size_t *len, int *err)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *buf;
	size_t n;

	if (!f) {
		*err = -errno;
		return NULL;
	}
	/* sized by the file, so a large services file is read in one go */
	if (fstat(fileno(f), &st)) {
		*err = -errno;
		fclose(f);
		return NULL;
	}
	if (st.st_size < 0 || (size_t)st.st_size > max) {
		*err = st.st_size < 0 ? -EIO : -EFBIG;
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		fclose(f);
		*err = -ENOMEM;
		return NULL;
	}
	n = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		free(buf);
		fclose(f);
		*err = -EIO;
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}
