/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The CLI's address, port and protocol arguments (fuzzed: tests/fuzz/). */
#ifndef BPFNET_CLI_ARGS_H
#define BPFNET_CLI_ARGS_H

#include <linux/types.h>

int proto_parse(const char *s); /* "tcp"/"udp"/"icmp" -> number, -1 */
/* 1..65535, decimal */
int parse_port(const char *s, __be16 *port);
/* "A.B.C.D:PORT[/proto]"; *proto = -1 when omitted */
int parse_frontend(const char *s, __be32 *addr, __be16 *port, int *proto);
/* "A.B.C.D[:PORT]"; *port = 0 when omitted */
int parse_addr_opt_port(const char *s, __be32 *addr, __be16 *port);

#endif
