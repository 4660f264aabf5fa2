// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Verifier budget report: loads every datapath object with every
 * compile-time variant on the running kernel and prints, per program, the
 * instructions the verifier processed (of its 1,000,000 limit) and the
 * translated and JITed sizes. A program that fails to load, or uses more
 * than BUDGET_PCT of the limit, is a FAIL line: the datapath must never
 * drift towards the verifier limit unnoticed.
 *
 *   bpfnet-verifier-report BPFFS_DIR
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfnet_lxc.skel.h"
#include "bpfnet_sock.skel.h"
#include "bpfnet_sock_destroy.skel.h"
#include "loader.h"
#include "maps.h"

#define VERIFIER_LIMIT 1000000
#define BUDGET_PCT 25

static int failures;

static void report_obj(struct bpf_object *obj, const char *variant)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		double pct;

		if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len)) {
			printf("FAIL verifier/%s/%s (no prog info: %s)\n", variant,
			       bpf_program__name(prog), strerror(errno));
			failures++;
			continue;
		}
		pct = 100.0 * info.verified_insns / VERIFIER_LIMIT;
		printf("  %-22s %-26s %9u %6.2f%% %8u %8u\n", variant, bpf_program__name(prog),
		       info.verified_insns, pct, info.xlated_prog_len / 8, info.jited_prog_len);
		if (pct > BUDGET_PCT) {
			printf("FAIL verifier/%s/%s (%.1f%% of the verifier limit, budget %d%%)\n",
			       variant, bpf_program__name(prog), pct, BUDGET_PCT);
			failures++;
		} else {
			printf("PASS verifier/%s/%s\n", variant, bpf_program__name(prog));
		}
	}
}

int main(int argc, char **argv)
{
	struct bpfnet_features probed, f;
	struct bpfnet_maps m;
	char dir[512], buf[128];
	int err;

	if (argc != 2) {
		fprintf(stderr, "usage: bpfnet-verifier-report BPFFS_DIR\n");
		return 2;
	}
	libbpf_set_print(NULL);
	snprintf(dir, sizeof(dir), "%s/verifier", argv[1]);
	err = bpfnet_maps_open(&m, dir, NULL, BPFNET_MAPS_CREATE);
	if (err) {
		printf("FAIL verifier/maps (%s)\n", bpfnet_maps_strerror(&m, err, buf, sizeof(buf)));
		return 1;
	}
	bpfnet_probe_features(&probed);
	printf("  kernel features: set_retval=%d sk_storage=%d sock_destroy=%d\n", probed.set_retval,
	       probed.sk_storage, probed.sock_destroy);
	printf("  %-22s %-26s %9s %7s %8s %8s\n", "variant", "program", "verified", "limit",
	       "xlated", "jited_B");

	struct bpfnet_lxc_skel *lxc = bpfnet_lxc_load(&m, &err);
	if (lxc) {
		report_obj(lxc->obj, "lxc");
		bpfnet_lxc_skel__destroy(lxc);
	} else {
		printf("FAIL verifier/lxc (load: %s)\n", strerror(-err));
		failures++;
	}

	/* every combination the loader can choose; those the kernel cannot
	 * offer are only loaded as far as the kernel allows */
	for (int v = 0; v < 4; v++) {
		char name[64];

		f.set_retval = v & 1;
		f.sk_storage = v & 2;
		snprintf(name, sizeof(name), "sock:retval=%d,sk_st=%d", f.set_retval, f.sk_storage);
		if ((f.set_retval && !probed.set_retval) || (f.sk_storage && !probed.sk_storage)) {
			printf("SKIP verifier/%s (kernel lacks the feature)\n", name);
			continue;
		}
		struct bpfnet_sock_skel *sock = bpfnet_sock_load(&m, &f, &err);
		if (!sock) {
			printf("FAIL verifier/%s (load: %s)\n", name, strerror(-err));
			failures++;
			continue;
		}
		report_obj(sock->obj, name);
		bpfnet_sock_skel__destroy(sock);
	}
	/* optional: only kernels with the bpf_sock_destroy kfunc load it */
	if (probed.sock_destroy) {
		struct bpfnet_sock_destroy_skel *sd = bpfnet_sock_destroy_load(&err);

		if (sd) {
			report_obj(sd->obj, "sock_destroy");
			bpfnet_sock_destroy_skel__destroy(sd);
		} else {
			printf("FAIL verifier/sock_destroy (load: %s)\n", strerror(-err));
			failures++;
		}
	} else {
		printf("SKIP verifier/sock_destroy (kernel has no bpf_sock_destroy kfunc, 6.5+)\n");
	}
	bpfnet_maps_close(&m);
	bpfnet_maps_unpin(dir);
	return failures ? 1 : 0;
}
