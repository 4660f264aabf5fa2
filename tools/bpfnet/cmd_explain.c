// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * explain SRC[:PORT] DST:PORT/PROTO: walk the maps the way the datapath
 * would for that flow and say what each step decides.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#include "cli.h"

struct explain {
	struct cli *c;
	struct table t;      /* STEP | DECISION for people */
	cJSON *doc, *steps;  /* for -o json */
	__be32 src, dst;
	__be16 sport, dport;
	__u8 proto;
};

static void step(struct explain *x, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void step(struct explain *x, const char *name, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (x->doc) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "step", name);
		cJSON_AddStringToObject(o, "decision", text);
		cJSON_AddItemToArray(x->steps, o);
	} else {
		const char *row[] = { name, text };
		table_add(&x->t, row);
	}
}

/* Where a packet to @addr goes after translation. */
static void explain_delivery(struct explain *x, __be32 addr)
{
	struct bpfnet_endpoint ep;
	char a[INET_ADDRSTRLEN];

	fmt_addr(a, sizeof(a), addr);
	if (!bpf_map_lookup_elem(x->c->maps.fd[BPFNET_M_ENDPOINT], &addr, &ep)) {
		step(x, "delivery", "%s is a pod on this node: host veth ifindex %u", a, ep.ifindex);
		if (x->doc) {
			cJSON *d = cJSON_AddObjectToObject(x->doc, "delivery");

			cJSON_AddStringToObject(d, "address", a);
			cJSON_AddBoolToObject(d, "local", 1);
			cJSON_AddNumberToObject(d, "ifindex", ep.ifindex);
		}
	} else {
		step(x, "delivery", "%s is not a pod of this node: the kernel routes it", a);
		if (x->doc) {
			cJSON *d = cJSON_AddObjectToObject(x->doc, "delivery");

			cJSON_AddStringToObject(d, "address", a);
			cJSON_AddBoolToObject(d, "local", 0);
		}
	}
}

/* Not a service: maybe the reply of a flow the packet path translated. */
static void explain_non_service(struct explain *x)
{
	struct bpfnet_ct_key k = { .saddr = x->src, .daddr = x->dst, .sport = x->sport,
				   .dport = x->dport, .proto = x->proto, .dir = BPFNET_CT_REPLY };
	struct bpfnet_ct_value ct;

	step(x, "service", "no service at this destination");
	if (x->sport && !bpfnet_ct_lookup(&x->c->maps, &k, &ct)) {
		char vip[40];

		fmt_addr_port(vip, sizeof(vip), ct.rev_addr, ct.rev_port);
		step(x, "reverse nat", "reply of a translated flow (service %u): source becomes %s",
		     ct.svc_id, vip);
		if (x->doc) {
			cJSON_AddStringToObject(x->doc, "verdict", "reverse_nat");
			cJSON_AddStringToObject(x->doc, "reply_source", vip);
		}
	} else {
		step(x, "verdict", "passes untouched");
		if (x->doc)
			cJSON_AddStringToObject(x->doc, "verdict", "pass");
	}
	explain_delivery(x, x->dst);
}

static void explain_candidates(struct explain *x, const struct bpfnet_svc_value *svc)
{
	cJSON *arr = x->doc ? cJSON_AddArrayToObject(x->doc, "candidates") : NULL;

	for (__u32 i = 0; i < svc->count; i++) {
		struct bpfnet_slot_key sk = { .svc_id = svc->id, .slot = (__u16)i,
					      .gen = svc->slot_gen };
		struct bpfnet_backend be;
		char addr[40];
		__u32 id;

		if (bpf_map_lookup_elem(x->c->maps.fd[BPFNET_M_SLOT], &sk, &id) ||
		    bpfnet_backend_get(&x->c->maps, id, &be)) {
			step(x, "candidate", "slot %u: missing backend (a packet would retry)", i + 1);
			continue;
		}
		fmt_addr_port(addr, sizeof(addr), be.addr, be.port);
		step(x, "candidate", "slot %u: backend %u %s (%s)", i + 1, id, addr,
		     backend_state_name(be.state));
		if (arr)
			cJSON_AddItemToArray(arr, json_backend(id, &be));
	}
}

static void explain_service(struct explain *x, const struct bpfnet_svc_value *svc)
{
	struct bpfnet_ct_key k = { .saddr = x->src, .daddr = x->dst, .sport = x->sport,
				   .dport = x->dport, .proto = x->proto, .dir = BPFNET_CT_SERVICE };
	char name[BPFNET_SVC_NAME_LEN], flags[128], vip[40];
	struct bpfnet_ct_value ct;
	struct bpfnet_backend be;

	bpfnet_service_name_get(&x->c->maps, svc->id, name, sizeof(name));
	fmt_svc_flags(flags, sizeof(flags), svc->flags);
	fmt_addr_port(vip, sizeof(vip), x->dst, x->dport);
	step(x, "service", "%s/%s is service %u%s%s, %u backend(s), flags %s", vip,
	     proto_name(x->proto), svc->id, name[0] ? " " : "", name, svc->count, flags);
	if (x->doc) {
		cJSON *s = cJSON_AddObjectToObject(x->doc, "service");

		cJSON_AddNumberToObject(s, "id", svc->id);
		cJSON_AddStringToObject(s, "name", name);
		cJSON_AddNumberToObject(s, "backend_count", svc->count);
		cJSON_AddItemToObject(s, "flags", json_svc_flags(svc->flags));
	}
	if (!svc->count) {
		step(x, "verdict", "rejected: connect()/sendmsg() fail with ECONNREFUSED; packets "
				   "get a TCP RST or ICMP port unreachable");
		if (x->doc)
			cJSON_AddStringToObject(x->doc, "verdict", "reject");
		return;
	}
	step(x, "socket lb", "in the socket-LB cgroup, connect()/sendmsg() go straight to a "
			     "backend chosen then; no packet carries the VIP");

	if (x->sport && !bpfnet_ct_lookup(&x->c->maps, &k, &ct)) {
		bool expired = !bpfnet_ct_alive(&x->c->maps, &k, &ct, cli_now_coarse_ns());
		bool named = !bpfnet_backend_get(&x->c->maps, ct.backend_id, &be);
		__be16 port = 0;
		__be32 to = bpfnet_ct_backend(&ct, x->proto, named ? &be : NULL, &port);
		bool live = !expired && ct.svc_id == svc->id && to;

		if (live) {
			bool left = !named || be.addr != to || be.port != port;
			char addr[40];

			if (left) /* a TCP connection to a backend that left */
				be = (struct bpfnet_backend){ .addr = to, .port = port, .proto = x->proto };
			fmt_addr_port(addr, sizeof(addr), be.addr, be.port);
			step(x, "conntrack", "established flow: packets go to backend %u %s (%s)",
			     ct.backend_id, addr,
			     left ? "left the service; the connection stays" : backend_state_name(be.state));
			if (x->doc) {
				cJSON_AddStringToObject(x->doc, "verdict", "translate");
				cJSON_AddItemToObject(x->doc, "backend", json_backend(ct.backend_id, &be));
			}
			{
				char from[40];

				fmt_addr_port(from, sizeof(from), ct.rev_addr, ct.rev_port);
				step(x, "reverse nat", "replies from %s appear to come from %s", addr, from);
			}
			explain_delivery(x, be.addr);
			return;
		}
		step(x, "conntrack", "entry is %s: the next packet picks a backend anew",
		     expired ? "expired" : "stale (service or backend changed)");
	} else {
		step(x, "conntrack", x->sport ? "no entry: the first packet picks a backend"
					      : "no source port given: showing what a new flow would do");
	}
	step(x, "selection", "a new flow picks one of %u slots uniformly at random", svc->count);
	if (x->doc)
		cJSON_AddStringToObject(x->doc, "verdict", "translate");
	explain_candidates(x, svc);
}

static int cmd_explain(struct cli *c, int argc, char **argv)
{
	static const char *const headers[] = { "STEP", "DECISION" };
	struct explain x = { .c = c };
	struct bpfnet_svc_value svc;
	__be32 src, dst;
	__be16 sport, dport;
	int proto;

	if (argc != 2 || parse_addr_opt_port(argv[0], &src, &sport) ||
	    parse_frontend(argv[1], &dst, &dport, &proto) || proto < 0)
		return cli_error(c, EXIT_USAGE, "explain SRC[:PORT] DST:PORT/tcp|udp");
	if (cli_open_maps(c))
		return EXIT_ERR;
	x.src = src;
	x.dst = dst;
	x.sport = sport;
	x.dport = dport;
	x.proto = (__u8)proto;
	table_init(&x.t, 2, headers);
	if (c->json) {
		x.doc = cJSON_CreateObject();
		json_add_flow(cJSON_AddObjectToObject(x.doc, "flow"), x.proto, src, sport, dst, dport);
		x.steps = cJSON_AddArrayToObject(x.doc, "steps");
	}

	struct bpfnet_svc_key k = { .addr = dst, .port = dport, .proto = x.proto,
				    .scope = BPFNET_SCOPE_ALL };
	if (!bpf_map_lookup_elem(c->maps.fd[BPFNET_M_SVC], &k, &svc))
		explain_service(&x, &svc);
	else
		explain_non_service(&x);

	return cli_emit(x.doc, &x.t);
}

const struct command explain_commands[] = {
	{ NULL, "explain", "SRC[:PORT] DST:PORT/tcp|udp",
	  "Walk the maps the datapath would use for this flow and print each decision:\n"
	  "service hit, conntrack state, the backend (or the candidates), reverse NAT,\n"
	  "and where the packet is delivered. Give the source port to see an existing flow.",
	  cmd_explain },
	{ NULL, NULL, NULL, NULL, NULL },
};
