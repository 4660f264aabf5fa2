// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Per-packet cost of the tc LB program with 10 .. 100,000 services loaded,
 * measured with BPF_PROG_TEST_RUN repeat (in-kernel ns per run), against an
 * empty tc program measured in the same run.
 *
 *   bpfnet-bench [--smoke] BPFFS_DIR   (a bpffs mount the caller owns)
 *
 * --smoke: two service counts, three rounds, short repeats; for `make test`,
 * which only checks that the benchmark still runs.
 *
 * non-service : from_container on a packet to no service (runs unchanged)
 * ct hit      : a packet of an established flow (VIP in the middle of the map)
 * new flow    : every run a new 4-tuple: conntrack miss, selection, 2 inserts
 * The last two run in wrappers that first restore the header; the wrapper's
 * own cost (bench_restore) is measured and subtracted.
 *
 * Monitor cost: with 10,000 services, new_flow and ct_hit with the monitor
 * code compiled out, compiled in but switched off (the default), and on.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../unit/packet.h"
#include "bpfnet_lxc.skel.h"
#include "loader.h"
#include "maps.h"
#include "test_bench_lb.skel.h"
#include "test_empty_tc.skel.h"

#define ROUNDS_MAX 15
#define BACKENDS_PER_SVC 2
#define VIP_BASE IP4(10, 96, 0, 0)

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Mean in-kernel ns per run over @repeat runs. */
static double measure_once(int prog_fd, const struct pkt_buf *pkt, __u32 repeat)
{
	static unsigned char out[PKT_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt->data, .data_size_in = (__u32)pkt->len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = repeat);

	if (bpf_prog_test_run_opts(prog_fd, &opts)) {
		fprintf(stderr, "test_run: %s\n", strerror(errno));
		exit(1);
	}
	return opts.duration;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
	return v[n / 2];
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fill_services(struct bpfnet_maps *m, unsigned int n)
{
	struct bpfnet_backend_entry be[BACKENDS_PER_SVC];
	struct bpfnet_service_spec spec = { .n_backends = BACKENDS_PER_SVC, .backends = be };
	char buf[128];

	for (unsigned int s = 0; s < n; s++) {
		struct bpfnet_svc_key key = { .addr = htonl(VIP_BASE + s), .port = htons(80),
					      .proto = IPPROTO_TCP };
		int err;

		spec.id = s + 1;
		for (unsigned int b = 0; b < BACKENDS_PER_SVC; b++) {
			__u32 idx = s * BACKENDS_PER_SVC + b;

			be[b].id = idx + 1;
			be[b].be = (struct bpfnet_backend){ .addr = htonl(IP4(10, 128, 0, 0) + idx),
							    .port = htons(8080),
							    .proto = IPPROTO_TCP };
		}
		err = bpfnet_service_upsert(m, &key, &spec);
		if (err) {
			fprintf(stderr, "fill: %s\n", bpfnet_maps_strerror(m, err, buf, sizeof(buf)));
			return err;
		}
	}
	return 0;
}

struct config {
	unsigned int n;
	char dir[512];
	double fill_s;
	struct bpfnet_maps maps;
	struct bpfnet_lxc_skel *lxc;
	struct test_bench_lb_skel *wrap;
	struct pkt_buf svc_pkt, other_pkt;
	/* samples per round */
	double empty[ROUNDS_MAX], non_service[ROUNDS_MAX], restore[ROUNDS_MAX], ct_hit[ROUNDS_MAX],
		new_flow[ROUNDS_MAX];
};

/* rounds and repeats: full, or a smoke run's */
static int rounds = ROUNDS_MAX;
static __u32 repeat_div = 1;

static int config_setup(struct config *c, const char *bpffs, unsigned int n)
{
	struct bpfnet_map_sizes sizes = {};
	char buf[128];
	int err;

	c->n = n;
	snprintf(c->dir, sizeof(c->dir), "%s/n%u", bpffs, n);
	sizes.max_entries[BPFNET_M_SVC] = n + 64;
	sizes.max_entries[BPFNET_M_REVNAT] = n + 64;
	sizes.max_entries[BPFNET_M_VIP] = n + 64;
	sizes.max_entries[BPFNET_M_BACKEND] = n * BACKENDS_PER_SVC + 64;
	sizes.max_entries[BPFNET_M_SLOT] = n * BACKENDS_PER_SVC * 2 + 64;
	err = bpfnet_maps_open(&c->maps, c->dir, &sizes, BPFNET_MAPS_CREATE);
	if (err) {
		fprintf(stderr, "maps: %s\n", bpfnet_maps_strerror(&c->maps, err, buf, sizeof(buf)));
		return err;
	}
	c->fill_s = now_s();
	err = fill_services(&c->maps, n);
	c->fill_s = now_s() - c->fill_s;
	if (err)
		return err;
	c->lxc = bpfnet_lxc_load(&c->maps, &err);
	if (!c->lxc)
		return err;
	c->wrap = test_bench_lb_skel__open();
	if (!c->wrap)
		return -errno;
	err = bpfnet_obj_use_maps(c->wrap->obj, &c->maps);
	if (!err)
		err = test_bench_lb_skel__load(c->wrap);
	if (err)
		return err;

	struct pkt_spec s = { .saddr = IP4(10, 244, 0, 5), .daddr = VIP_BASE + n / 2,
			      .sport = 40000, .dport = 80, .proto = IPPROTO_TCP,
			      .tcp_flags = 0x10 };
	pkt_build(&c->svc_pkt, &s);
	s.daddr = IP4(10, 244, 9, 9);
	pkt_build(&c->other_pkt, &s);
	memcpy(c->wrap->bss->pristine, c->svc_pkt.data, sizeof(c->wrap->bss->pristine));
	return 0;
}

static void config_round(struct config *c, int r, int empty_fd)
{
	__u32 n = 1000000 / repeat_div;

	c->empty[r] = measure_once(empty_fd, &c->other_pkt, n);
	c->non_service[r] = measure_once(bpf_program__fd(c->lxc->progs.from_container),
					 &c->other_pkt, n);
	c->restore[r] = measure_once(bpf_program__fd(c->wrap->progs.bench_restore), &c->svc_pkt, n);
	c->ct_hit[r] = measure_once(bpf_program__fd(c->wrap->progs.bench_ct_hit), &c->svc_pkt, n);
	c->new_flow[r] = measure_once(bpf_program__fd(c->wrap->progs.bench_new_flow), &c->svc_pkt,
				      n / 5);
}

static void config_teardown(struct config *c)
{
	test_bench_lb_skel__destroy(c->wrap);
	bpfnet_lxc_skel__destroy(c->lxc);
	bpfnet_maps_close(&c->maps);
	bpfnet_maps_unpin(c->dir);
}

struct result {
	double empty, non_service, ct_hit, new_flow;
};

/* Wrapper cost (restore) is subtracted and the empty program's added back,
 * so ct_hit and new_flow are what from_container itself costs. */
static struct result config_result(struct config *c)
{
	double ct[ROUNDS_MAX], nf[ROUNDS_MAX];
	struct result res;

	for (int r = 0; r < rounds; r++) {
		ct[r] = c->ct_hit[r] - c->restore[r] + c->empty[r];
		nf[r] = c->new_flow[r] - c->restore[r] + c->empty[r];
	}
	res.empty = median(c->empty, rounds);
	res.non_service = median(c->non_service, rounds);
	res.ct_hit = median(ct, rounds);
	res.new_flow = median(nf, rounds);
	return res;
}

/* A wrapper object on @c's maps, with the monitor code compiled in or out. */
static struct test_bench_lb_skel *load_wrapper(struct config *c, bool monitor_compiled)
{
	struct test_bench_lb_skel *w = test_bench_lb_skel__open();

	if (!w)
		return NULL;
	w->rodata->cfg_monitor_compiled = monitor_compiled;
	if (bpfnet_obj_use_maps(w->obj, &c->maps) || test_bench_lb_skel__load(w)) {
		test_bench_lb_skel__destroy(w);
		return NULL;
	}
	memcpy(w->bss->pristine, c->svc_pkt.data, sizeof(w->bss->pristine));
	return w;
}

static int monitor_cost(struct config *c)
{
	static const char *const names[] = { "compiled out", "off (default)", "on, no reader" };
	struct test_bench_lb_skel *w[3];
	double ct[3][ROUNDS_MAX], nf[3][ROUNDS_MAX];
	struct bpfnet_config cfg = {};
	int err = 0;

	w[0] = load_wrapper(c, false);
	w[1] = load_wrapper(c, true);
	w[2] = w[1];
	if (!w[0] || !w[1]) {
		fprintf(stderr, "load monitor variants failed\n");
		err = -1;
		goto out;
	}
	for (int r = 0; r < rounds; r++)
		for (int v = 0; v < 3; v++) {
			double restore;

			cfg.monitor = v == 2 ? BPFNET_MON_DROPS | BPFNET_MON_LB | BPFNET_MON_CT_NEW : 0;
			bpfnet_config_set(&c->maps, &cfg);
			restore = measure_once(bpf_program__fd(w[v]->progs.bench_restore),
					       &c->svc_pkt, 1000000 / repeat_div);
			ct[v][r] = measure_once(bpf_program__fd(w[v]->progs.bench_ct_hit),
						&c->svc_pkt, 1000000 / repeat_div) - restore;
			nf[v][r] = measure_once(bpf_program__fd(w[v]->progs.bench_new_flow),
						&c->svc_pkt, 200000 / repeat_div) - restore;
		}
	cfg.monitor = 0;
	bpfnet_config_set(&c->maps, &cfg);
	printf("\nmonitor cost with %u services, ns per packet over the wrapper (median of %d)\n",
	       c->n, rounds);
	printf("%-16s %10s %10s\n", "monitor", "ct_hit", "new_flow");
	double base_ct = median(ct[0], rounds), base_nf = median(nf[0], rounds);
	for (int v = 0; v < 3; v++) {
		double m_ct = v ? median(ct[v], rounds) : base_ct;
		double m_nf = v ? median(nf[v], rounds) : base_nf;

		printf("%-16s %10.1f %10.1f   (x%.3f, x%.3f of compiled out)\n", names[v], m_ct, m_nf,
		       m_ct / base_ct, m_nf / base_nf);
	}
	printf("(on, no reader: the ring buffer fills and further events are dropped at reserve)\n");
out:
	test_bench_lb_skel__destroy(w[0]);
	test_bench_lb_skel__destroy(w[1]);
	return err;
}

int main(int argc, char **argv)
{
	static const unsigned int all_counts[] = { 10, 1000, 10000, 100000 };
	static const unsigned int smoke_counts[] = { 10, 1000 };
	enum { N_MAX = sizeof(all_counts) / sizeof(all_counts[0]) };
	static struct config configs[N_MAX];
	const unsigned int *counts = all_counts;
	struct test_empty_tc_skel *empty;
	struct result res[N_MAX];
	int N_CONFIGS = N_MAX, err = 0;
	const char *bpffs = argv[argc - 1];

	if (argc == 3 && !strcmp(argv[1], "--smoke")) {
		counts = smoke_counts;
		N_CONFIGS = sizeof(smoke_counts) / sizeof(smoke_counts[0]);
		rounds = 3;
		repeat_div = 100;
	} else if (argc != 2) {
		fprintf(stderr, "usage: bpfnet-bench [--smoke] BPFFS_DIR\n");
		return 2;
	}
	libbpf_set_print(NULL);
	empty = test_empty_tc_skel__open_and_load();
	if (!empty) {
		fprintf(stderr, "load empty program: %s\n", strerror(errno));
		return 1;
	}
	for (int i = 0; i < N_CONFIGS && !err; i++) {
		err = config_setup(&configs[i], bpffs, counts[i]);
		if (err)
			fprintf(stderr, "setup with %u services: %s\n", counts[i], strerror(-err));
	}
	/* rounds interleave the configurations, so drift of the machine
	 * affects all of them alike */
	for (int r = 0; r < rounds && !err; r++)
		for (int i = 0; i < N_CONFIGS; i++)
			config_round(&configs[i], r, bpf_program__fd(empty->progs.empty_tc));
	if (!err) {
		printf("tc per-packet cost, ns per packet (BPF_PROG_TEST_RUN repeat, median of %d "
		       "interleaved rounds; x = ratio to the empty tc program)\n", rounds);
		printf("%9s %9s %9s %18s %18s %18s\n", "services", "fill_s", "empty_tc",
		       "non_service", "ct_hit", "new_flow");
		for (int i = 0; i < N_CONFIGS; i++) {
			struct result *x = &res[i];

			*x = config_result(&configs[i]);
			printf("%9u %9.2f %9.1f %9.1f (x%5.2f) %9.1f (x%5.2f) %9.1f (x%5.2f)\n",
			       configs[i].n, configs[i].fill_s, x->empty, x->non_service,
			       x->non_service / x->empty, x->ct_hit, x->ct_hit / x->empty,
			       x->new_flow, x->new_flow / x->empty);
		}
		int last = N_CONFIGS - 1;

		printf("%u vs %u services: non_service %+.1f%%, ct_hit %+.1f%%, new_flow "
		       "%+.1f%% (target: within 10%%)\n", counts[last], counts[0],
		       100 * (res[last].non_service / res[0].non_service - 1),
		       100 * (res[last].ct_hit / res[0].ct_hit - 1),
		       100 * (res[last].new_flow / res[0].new_flow - 1));
		err = monitor_cost(&configs[last < 2 ? last : 2]);
	}
	for (int i = 0; i < N_CONFIGS; i++)
		config_teardown(&configs[i]);
	test_empty_tc_skel__destroy(empty);
	return err ? 1 : 0;
}
