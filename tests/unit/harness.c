// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "harness.h"

#include <errno.h>
#include <ftw.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <arpa/inet.h>

#include "bpfnet_lxc.skel.h"
#include "testutil.h"
#include "bpfnet_sock.skel.h"

#define MAX_TESTS 256

static struct {
	const char *name;
	test_fn fn;
} tests[MAX_TESTS];
static int n_tests;

/* State of the one test that runs at a time; the harness is not threaded. */
static jmp_buf test_unwind;
static int test_outcome; /* 0 pass, 1 fail, 2 skip */

void test_register(const char *name, test_fn fn)
{
	if (n_tests == MAX_TESTS) {
		fprintf(stderr, "harness: too many tests\n");
		exit(2);
	}
	tests[n_tests].name = name;
	tests[n_tests].fn = fn;
	n_tests++;
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stdout, "    %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	test_outcome = 1;
	longjmp(test_unwind, 1);
}

void test_skip(const char *fmt, ...)
{
	va_list ap;

	fprintf(stdout, "    skipped: ");
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	test_outcome = 2;
	longjmp(test_unwind, 1);
}

void test_fail_mem(const char *file, int line, const char *what, const void *got,
		   const void *want, size_t len)
{
	const unsigned char *g = got, *w = want;

	fprintf(stdout, "    %s:%d: %s: bytes differ\n", file, line, what);
	for (size_t i = 0; i < len; i++)
		if (g[i] != w[i])
			fprintf(stdout, "      offset %zu: got 0x%02x want 0x%02x\n", i, g[i], w[i]);
	test_outcome = 1;
	longjmp(test_unwind, 1);
}

/* BPF_PROG_TEST_RUN runs a tc program on the loopback device, so that is
 * where the unit tests' pods send from: the source check lets their
 * packets in, and delivery to them is left to the kernel as to any
 * address that is not another veth's. Tests that deliver to a pod give it
 * an ifindex of its own. */
static int test_pods_register(struct fixture *f)
{
	static const uint32_t pods[] = { CLIENT, IP4(10, 244, 9, 9), IP4(10, 244, 2, 1) };
	struct bpfnet_endpoint ep = { .ifindex = 1, .pod_mac = TEST_POD_MAC,
				      .host_mac = TEST_HOST_MAC };
	int err = 0;

	for (size_t i = 0; i < sizeof(pods) / sizeof(pods[0]) && !err; i++)
		err = bpfnet_endpoint_upsert(&f->maps, htonl(pods[i]), &ep);
	for (uint32_t n = 1; n <= 64 && !err; n++)
		err = bpfnet_endpoint_upsert(&f->maps, htonl(BACKEND(n)), &ep);
	return err;
}

static int fixture_setup(struct fixture *f, char *err, size_t errlen)
{
	char tmpl[] = "/tmp/bpfnet-unit-XXXXXX";
	char buf[256];
	int ret;

	memset(f, 0, sizeof(*f));
	f->lxc_fd = -1;
	for (int i = 0; i < BPFNET_M_COUNT; i++)
		f->maps.fd[i] = -1;
	if (!mkdtemp(tmpl)) {
		snprintf(err, errlen, "mkdtemp: %s", strerror(errno));
		return -1;
	}
	strcpy(f->bpffs, tmpl);
	if (mount("bpf", f->bpffs, "bpf", 0, "mode=0700")) {
		snprintf(err, errlen, "mount bpffs: %s", strerror(errno));
		rmdir(f->bpffs);
		f->bpffs[0] = '\0';
		return -1;
	}
	snprintf(f->pin_dir, sizeof(f->pin_dir), "%s/bpfnet", f->bpffs);
	ret = bpfnet_maps_open(&f->maps, f->pin_dir, NULL, BPFNET_MAPS_CREATE);
	if (ret) {
		snprintf(err, errlen, "maps: %s", bpfnet_maps_strerror(&f->maps, ret, buf, sizeof(buf)));
		return -1;
	}
	bpfnet_probe_features(&f->features);
	f->lxc = bpfnet_lxc_load(&f->maps, &ret);
	if (!f->lxc) {
		snprintf(err, errlen, "load bpf_lxc: %s", strerror(-ret));
		return -1;
	}
	f->lxc_fd = bpf_program__fd(f->lxc->progs.from_container);
	ret = test_pods_register(f);
	if (ret) {
		snprintf(err, errlen, "register test pods: %s", strerror(-ret));
		return -1;
	}
	f->sock = bpfnet_sock_load(&f->maps, &f->features, &ret);
	if (!f->sock) {
		snprintf(err, errlen, "load bpf_sock: %s", strerror(-ret));
		return -1;
	}
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

const char *fixture_scratch(struct fixture *f)
{
	if (!f->scratch[0]) {
		snprintf(f->scratch, sizeof(f->scratch), "/tmp/bpfnet-unit-scratch-XXXXXX");
		if (!mkdtemp(f->scratch)) {
			f->scratch[0] = '\0';
			FAIL("mkdtemp: %s", strerror(errno));
		}
	}
	return f->scratch;
}

static void fixture_teardown(struct fixture *f)
{
	if (f->scratch[0] && nftw(f->scratch, remove_entry, 16, FTW_DEPTH | FTW_PHYS))
		fprintf(stdout, "    teardown: could not remove %s\n", f->scratch);
	if (f->cgroup[0]) {
		bpfnet_sock_detach(f->pin_dir);
		if (rmdir(f->cgroup))
			fprintf(stdout, "    teardown: rmdir %s: %s\n", f->cgroup, strerror(errno));
	}
	if (f->sock)
		bpfnet_sock_skel__destroy(f->sock);
	if (f->lxc)
		bpfnet_lxc_skel__destroy(f->lxc);
	bpfnet_maps_close(&f->maps);
	if (f->bpffs[0]) {
		if (umount2(f->bpffs, MNT_DETACH))
			fprintf(stdout, "    teardown: umount %s: %s\n", f->bpffs, strerror(errno));
		rmdir(f->bpffs);
	}
}

void fixture_cgroup(struct fixture *f)
{
	char root[PATH_MAX / 2];
	static int seq;
	int err;

	err = bpfnet_cgroup2_mount(root, sizeof(root));
	if (err)
		test_skip("no cgroup2 mount in /proc/mounts");
	snprintf(f->cgroup, sizeof(f->cgroup), "%s/bpfnet-unit-%d-%d", root, getpid(), seq++);
	if (mkdir(f->cgroup, 0755)) {
		err = -errno;
		f->cgroup[0] = '\0';
		FAIL("mkdir test cgroup: %s", strerror(-err));
	}
	err = bpfnet_sock_attach(f->sock, f->cgroup, f->pin_dir);
	ASSERT_OK(err, "attach socket LB to the test cgroup");
}

static int loopback_up(void)
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	int ret;

	if (fd < 0)
		return -1;
	strcpy(ifr.ifr_name, "lo");
	ret = ioctl(fd, SIOCGIFFLAGS, &ifr);
	if (!ret) {
		ifr.ifr_flags |= IFF_UP;
		ret = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return ret;
}

void run_in_cgroup_netns(struct fixture *f, child_fn fn, void *arg)
{
	char msg[512] = "", procs[PATH_MAX + 16];
	int pipefd[2], status;
	ssize_t n;
	pid_t pid;

	if (!f->cgroup[0])
		fixture_cgroup(f);
	if (pipe(pipefd))
		FAIL("pipe: %s", strerror(errno));
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		FAIL("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd, ret = 1;

		close(pipefd[0]);
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", f->cgroup);
		fd = open(procs, O_WRONLY);
		if (fd < 0 || write(fd, "0", 1) != 1) {
			snprintf(msg, sizeof(msg), "join test cgroup: %s", strerror(errno));
		} else if (unshare(CLONE_NEWNET) || loopback_up()) {
			snprintf(msg, sizeof(msg), "private netns: %s", strerror(errno));
		} else {
			ret = fn(arg, msg, sizeof(msg));
		}
		if (write(pipefd[1], msg, strlen(msg)) < 0)
			ret = 1;
		_exit(ret ? 1 : 0);
	}
	close(pipefd[1]);
	n = read(pipefd[0], msg, sizeof(msg) - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(pipefd[0]);
	if (waitpid(pid, &status, 0) != pid)
		FAIL("waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		FAIL("in test cgroup/netns: %s", msg[0] ? msg : "child failed");
}

/* setjmp lives in its own frame so nothing of main() can be clobbered. */
static int run_one(int i)
{
	struct fixture f;
	char err[512];

	test_outcome = 0;
	if (fixture_setup(&f, err, sizeof(err))) {
		printf("    fixture: %s\n", err);
		test_outcome = 1;
	} else if (!setjmp(test_unwind)) {
		tests[i].fn(&f);
	}
	fixture_teardown(&f);
	return test_outcome;
}

int main(int argc, char **argv)
{
	static const char *const verdicts[] = { "PASS", "FAIL", "SKIP" };
	int counts[3] = {};

	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(NULL);
	for (int i = 0; i < n_tests; i++) {
		bool selected = argc < 2;
		int outcome;

		for (int a = 1; a < argc; a++)
			if (strstr(tests[i].name, argv[a]))
				selected = true;
		if (!selected)
			continue;
		outcome = run_one(i);
		counts[outcome]++;
		printf("%s unit/%s\n", verdicts[outcome], tests[i].name);
	}
	printf("unit totals: passed=%d failed=%d skipped=%d\n", counts[0], counts[1], counts[2]);
	return counts[1] ? 1 : 0;
}
