// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The CLI's address, port and protocol arguments: what a user types. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

int proto_parse(const char *s)
{
	if (!strcmp(s, "tcp"))
		return IPPROTO_TCP;
	if (!strcmp(s, "udp"))
		return IPPROTO_UDP;
	if (!strcmp(s, "icmp"))
		return IPPROTO_ICMP;
	return -1;
}

int parse_port(const char *s, __be16 *port)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < 1 || v > 65535)
		return -EINVAL;
	*port = htons((unsigned short)v);
	return 0;
}

int parse_frontend(const char *s, __be32 *addr, __be16 *port, int *proto)
{
	char buf[64], *colon, *slash;

	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
		return -EINVAL;
	colon = strchr(buf, ':');
	if (!colon)
		return -EINVAL;
	*colon = '\0';
	slash = strchr(colon + 1, '/');
	*proto = -1;
	if (slash) {
		*slash = '\0';
		*proto = proto_parse(slash + 1);
		if (*proto != IPPROTO_TCP && *proto != IPPROTO_UDP)
			return -EINVAL;
	}
	if (inet_pton(AF_INET, buf, addr) != 1)
		return -EINVAL;
	return parse_port(colon + 1, port);
}

int parse_addr_opt_port(const char *s, __be32 *addr, __be16 *port)
{
	char buf[64], *colon;

	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
		return -EINVAL;
	*port = 0;
	colon = strchr(buf, ':');
	if (colon) {
		*colon = '\0';
		if (parse_port(colon + 1, port))
			return -EINVAL;
	}
	return inet_pton(AF_INET, buf, addr) == 1 ? 0 : -EINVAL;
}

