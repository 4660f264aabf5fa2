// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The CLI's address and port arguments; an accepted one must print back
 * as itself (modulo the optional parts). */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[128], back[64];
	__be32 addr;
	__be16 port;
	int proto;

	if (size >= sizeof(s))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	proto_parse(s);
	if (!parse_port(s, &port) && !ntohs(port))
		abort();
	if (!parse_frontend(s, &addr, &port, &proto)) {
		if (!inet_ntop(AF_INET, &addr, back, sizeof(back)) || !ntohs(port) ||
		    (proto != -1 && proto != 6 && proto != 17))
			abort();
	}
	parse_addr_opt_port(s, &addr, &port);
	return 0;
}
