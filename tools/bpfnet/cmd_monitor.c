// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * monitor: live datapath events from the ring buffer. The datapath emits
 * only while config_v1 asks for it; monitor switches on the kinds it wants
 * and switches off, on exit, the ones it switched on.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>

#include <bpfnet/names.h>
#include "cli.h"

static volatile sig_atomic_t stop_requested; /* set by SIGINT/SIGTERM only */

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

struct monitor {
	struct cli *c;
	__u32 types;    /* enum bpfnet_monitor_flags wanted */
	bool has_addr;
	__be32 addr;
	__be16 port;
	long count;     /* stop after this many events; 0 = never */
	long seen;
};

static const char *event_name(__u8 type)
{
	switch (type) {
	case BPFNET_EV_DROP:
		return "drop";
	case BPFNET_EV_LB:
		return "lb";
	case BPFNET_EV_SOCK_LB:
		return "sock-lb";
	case BPFNET_EV_CT_NEW:
		return "ct-new";
	default:
		return "unknown";
	}
}

static bool event_matches(const struct monitor *mon, const struct bpfnet_event *e)
{
	__u32 kind = e->type == BPFNET_EV_DROP ? BPFNET_MON_DROPS
		     : e->type == BPFNET_EV_CT_NEW ? BPFNET_MON_CT_NEW
						    : BPFNET_MON_LB;

	if (!(mon->types & kind))
		return false;
	if (mon->has_addr && e->saddr != mon->addr && e->daddr != mon->addr &&
	    e->nat_addr != mon->addr)
		return false;
	if (mon->port && e->sport != mon->port && e->dport != mon->port &&
	    e->nat_port != mon->port)
		return false;
	return true;
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct monitor *mon = ctx;
	const struct bpfnet_event *e = data;
	const char *reason = "";
	char src[40], dst[40], nat[40];

	if (len < sizeof(*e) || !event_matches(mon, e))
		return 0;
	if (e->type == BPFNET_EV_DROP && e->reason < BPFNET_DROP_REASON_COUNT)
		reason = bpfnet_drop_names[e->reason];
	fmt_addr_port(src, sizeof(src), e->saddr, e->sport);
	fmt_addr_port(dst, sizeof(dst), e->daddr, e->dport);
	fmt_addr_port(nat, sizeof(nat), e->nat_addr, e->nat_port);
	if (mon->c->json) {
		cJSON *o = cJSON_CreateObject();
		char a[INET_ADDRSTRLEN];
		char *s;

		cJSON_AddNumberToObject(o, "time_ns", (double)e->ts_ns);
		cJSON_AddStringToObject(o, "type", event_name(e->type));
		if (e->type == BPFNET_EV_DROP)
			cJSON_AddStringToObject(o, "reason", reason);
		json_add_flow(o, e->proto, e->saddr, e->sport, e->daddr, e->dport);
		if (e->type != BPFNET_EV_DROP) {
			fmt_addr(a, sizeof(a), e->nat_addr);
			cJSON_AddStringToObject(o, "backend", a);
			cJSON_AddNumberToObject(o, "backend_port", ntohs(e->nat_port));
			cJSON_AddNumberToObject(o, "backend_id", e->backend_id);
		}
		cJSON_AddNumberToObject(o, "service_id", e->svc_id);
		cJSON_AddNumberToObject(o, "ifindex", e->ifindex);
		s = cJSON_PrintUnformatted(o);
		if (s)
			printf("%s\n", s);
		free(s);
		cJSON_Delete(o);
	} else if (e->type == BPFNET_EV_DROP) {
		printf("%llu.%06llu %-7s %s -> %s %s reason=%s ifindex=%u\n",
		       (unsigned long long)(e->ts_ns / 1000000000ull),
		       (unsigned long long)(e->ts_ns % 1000000000ull / 1000), "DROP", src, dst,
		       proto_name(e->proto), reason, e->ifindex);
	} else {
		printf("%llu.%06llu %-7s %s -> %s %s => %s service=%u backend=%u ifindex=%u\n",
		       (unsigned long long)(e->ts_ns / 1000000000ull),
		       (unsigned long long)(e->ts_ns % 1000000000ull / 1000),
		       e->type == BPFNET_EV_LB ? "LB" : e->type == BPFNET_EV_SOCK_LB ? "SOCK-LB"
										    : "CT-NEW",
		       src, dst, proto_name(e->proto), nat, e->svc_id, e->backend_id, e->ifindex);
	}
	fflush(stdout);
	mon->seen++;
	if (mon->count && mon->seen >= mon->count)
		stop_requested = 1;
	return 0;
}

static int parse_types(const char *s, __u32 *types)
{
	char buf[128], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", s);
	*types = 0;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "drop"))
			*types |= BPFNET_MON_DROPS;
		else if (!strcmp(tok, "lb"))
			*types |= BPFNET_MON_LB;
		else if (!strcmp(tok, "ct"))
			*types |= BPFNET_MON_CT_NEW;
		else if (!strcmp(tok, "all"))
			*types |= BPFNET_MON_DROPS | BPFNET_MON_LB | BPFNET_MON_CT_NEW;
		else
			return -EINVAL;
	}
	return *types ? 0 : -EINVAL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmd_monitor(struct cli *c, int argc, char **argv)
{
	struct monitor mon = { .c = c, .types = BPFNET_MON_DROPS };
	struct bpfnet_config cfg;
	struct ring_buffer *rb;
	double duration = 0, end;
	__u32 added;
	int err, ret = EXIT_OK;

	for (int i = 0; i < argc; i += 2) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		__be16 unused;

		if (!val)
			return cli_error(c, EXIT_USAGE, "%s needs a value", opt);
		if (!strcmp(opt, "--type")) {
			if (parse_types(val, &mon.types))
				return cli_error(c, EXIT_USAGE, "--type takes drop,lb,ct or all");
		} else if (!strcmp(opt, "--addr")) {
			mon.has_addr = true;
			if (parse_addr_opt_port(val, &mon.addr, &unused))
				return cli_error(c, EXIT_USAGE, "bad address %s", val);
		} else if (!strcmp(opt, "--port")) {
			if (parse_port(val, &mon.port))
				return cli_error(c, EXIT_USAGE, "bad port %s", val);
		} else if (!strcmp(opt, "--count")) {
			mon.count = strtol(val, NULL, 10);
		} else if (!strcmp(opt, "--duration")) {
			duration = strtod(val, NULL);
		} else {
			return cli_error(c, EXIT_USAGE, "unknown option %s", opt);
		}
	}
	if (cli_open_maps(c))
		return EXIT_ERR;
	rb = ring_buffer__new(c->maps.fd[BPFNET_M_EVENTS], on_event, &mon, NULL);
	if (!rb)
		return cli_error(c, EXIT_ERR, "open event ring buffer: %s", strerror(errno));
	err = bpfnet_config_get(&c->maps, &cfg);
	if (err) {
		ring_buffer__free(rb);
		return cli_maps_error(c, err, "read config");
	}
	added = mon.types & ~cfg.monitor;
	cfg.monitor |= mon.types;
	err = bpfnet_config_set(&c->maps, &cfg);
	if (err) {
		ring_buffer__free(rb);
		return cli_maps_error(c, err, "switch monitoring on");
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (!c->json)
		fprintf(stderr, "bpfnet: monitoring (Ctrl-C to stop)\n");
	end = duration > 0 ? now_s() + duration : 0;
	while (!stop_requested && (!end || now_s() < end)) {
		err = ring_buffer__poll(rb, 100);
		if (err < 0 && err != -EINTR) {
			ret = cli_error(c, EXIT_ERR, "read events: %s", strerror(-err));
			break;
		}
	}
	/* switch off only what this monitor switched on */
	if (!bpfnet_config_get(&c->maps, &cfg)) {
		cfg.monitor &= ~added;
		bpfnet_config_set(&c->maps, &cfg);
	}
	ring_buffer__free(rb);
	return ret;
}

const struct command monitor_commands[] = {
	{ NULL, "monitor",
	  "[--type drop,lb,ct|all] [--addr ADDR] [--port N] [--count N] [--duration SECONDS]",
	  "Live datapath events: drops with their reason (default), backend selections of\n"
	  "the packet path (lb) and of socket LB (sock-lb, with --type lb), new conntrack\n"
	  "entries (ct). The datapath emits only while a monitor runs. -o json prints one\n"
	  "JSON object per line.",
	  cmd_monitor },
	{ NULL, NULL, NULL, NULL, NULL },
};
