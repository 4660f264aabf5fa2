/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit-test harness in the style of the kernel's BPF selftests. Every test
 * gets a fresh fixture: its own bpffs mount, freshly created maps, loaded
 * programs, and (on request) its own cgroup. The fixture is torn down after
 * the test whether it passed or failed.
 */
#ifndef BPFNET_TEST_HARNESS_H
#define BPFNET_TEST_HARNESS_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "loader.h"
#include "maps.h"

struct fixture {
	char bpffs[PATH_MAX];  /* private bpffs mount */
	char pin_dir[PATH_MAX];
	char cgroup[PATH_MAX]; /* test cgroup, "" until fixture_cgroup() */
	char scratch[PATH_MAX]; /* a temporary directory, "" until fixture_scratch() */
	struct bpfnet_maps maps;
	struct bpfnet_features features;
	struct bpfnet_lxc_skel *lxc;
	struct bpfnet_sock_skel *sock;
	int lxc_fd; /* from_container program */
};

typedef void (*test_fn)(struct fixture *f);
void test_register(const char *name, test_fn fn);

#define TEST(name)                                                         \
	static void test_##name(struct fixture *f);                        \
	__attribute__((constructor)) static void register_##name(void)     \
	{                                                                  \
		test_register(#name, test_##name);                         \
	}                                                                  \
	static void test_##name(struct fixture *f)

/* Fail the running test: prints where and why, then unwinds to teardown. */
__attribute__((noreturn, format(printf, 3, 4))) void test_fail(const char *file, int line,
							       const char *fmt, ...);
/* Skip the running test, saying why. */
__attribute__((noreturn, format(printf, 1, 2))) void test_skip(const char *fmt, ...);

#define FAIL(...) test_fail(__FILE__, __LINE__, __VA_ARGS__)

#define ASSERT_TRUE(cond, what)                                             \
	do {                                                                \
		if (!(cond))                                                \
			FAIL("%s: expected true: %s", what, #cond);         \
	} while (0)

#define ASSERT_EQ(a, b, what)                                               \
	do {                                                                \
		long long _a = (long long)(a), _b = (long long)(b);          \
		if (_a != _b)                                               \
			FAIL("%s: %s == %lld, expected %s == %lld", what, #a, \
			     _a, #b, _b);                                   \
	} while (0)

#define ASSERT_OK(err, what)                                                \
	do {                                                                \
		long long _e = (long long)(err);                            \
		if (_e)                                                     \
			FAIL("%s: error %lld (%s)", what, _e,                \
			     strerror(_e < 0 ? (int)-_e : (int)_e));         \
	} while (0)

#define ASSERT_MEM_EQ(a, b, len, what)                                      \
	do {                                                                \
		if (memcmp((a), (b), (len)))                                 \
			test_fail_mem(__FILE__, __LINE__, what, (a), (b), (len)); \
	} while (0)

__attribute__((noreturn)) void test_fail_mem(const char *file, int line, const char *what,
					     const void *got, const void *want, size_t len);

/* A directory for the test's files, removed with everything in it at teardown. */
const char *fixture_scratch(struct fixture *f);

/* Create the test's own cgroup (child of the cgroup2 mount) and attach the
 * socket-LB programs to it. */
void fixture_cgroup(struct fixture *f);

/*
 * Run @fn in a child process placed in the test cgroup and in a new network
 * namespace with only loopback up, so nothing it sends can leave. @fn writes
 * a failure message into @msg and returns non-zero to fail the test.
 */
typedef int (*child_fn)(void *arg, char *msg, size_t msglen);
void run_in_cgroup_netns(struct fixture *f, child_fn fn, void *arg);

#endif
