#!/usr/bin/env bash
# The whole test suite: unit tests (BPF_PROG_TEST_RUN on crafted packets,
# socket hooks from a test cgroup), then the namespace integration tests.
# One line per test, then the closing "N passed, N failed, N skipped".
#
#   TESTS=substring   run only tests whose name contains it
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-build}
TESTS=${TESTS:-}
export OUT TESTS

if [ "$(id -u)" -ne 0 ]; then
	echo "the tests need root (BPF programs, namespaces, cgroups)"
	echo "0 passed, 1 failed"
	exit 1
fi

# One run at a time: the sweep below removes other runs' work directories
# (their bpffs mounts live in private mount namespaces, invisible here).
exec 9>/tmp/bpfnet-tests.lock
if ! flock -n 9; then
	echo "another bpfnet test run holds /tmp/bpfnet-tests.lock; waiting for it"
	flock 9
fi

results=$(mktemp)
trap 'rm -f "$results"' EXIT

# Each part runs in a private mount namespace: the bpffs mounts and netns
# handles it makes vanish with it, even if it crashes before its teardown.
isolated() { unshare --mount --propagation private "$@"; }

# part NAME CMD...: run one part; a part that dies without reporting a
# failure (sanitizer abort, signal) still counts as one.
part() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" | tee -a "$results"
	if [ $rc -ne 0 ] && ! grep -q '^FAIL ' <<<"$out"; then
		echo "FAIL $name (exited with status $rc)" | tee -a "$results"
	fi
}

# sweep: remove what a crashed part left (only bpfnet test names)
sweep() {
	local cg d
	cg=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	for d in "$cg"/bpfnet-unit-* "$cg"/bpfnet-it-*; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null && echo "swept leftover cgroup $d"
	done
	for d in /tmp/bpfnet-unit-* /tmp/bpfnet-it-*; do
		[ -d "$d" ] && ! mountpoint -q "$d" && rm -rf "$d"
	done
	return 0
}

# verifier budget of every object and variant on this kernel
verifier_report() {
	local dir rc
	dir=$(mktemp -d /tmp/bpfnet-unit-vr-XXXXXX)
	mount -t bpf bpf "$dir" && "$OUT/tests/bpfnet-verifier-report" "$dir"
	rc=$?
	umount "$dir" 2>/dev/null
	rmdir "$dir"
	return $rc
}

# the previous release, for the upgrade tests (built on the host once; the
# VM runs the host's build): no git history skips them, a failed build fails
if [ -z "${BPFNET_IN_VM:-}" ]; then
	prev_out=$(bash tests/helpers/build-previous.sh "$OUT/previous" 2>&1)
	case $? in
	0) ;;
	2) echo "note: $prev_out" ;;
	*) printf 'FAIL build-previous\n%s\n' "$prev_out" | tee -a "$results" ;;
	esac
fi

unit_filter=${TESTS#unit/}
if [ -z "$TESTS" ] || [[ verifier == *"$TESTS"* ]]; then
	part verifier isolated bash -c "$(declare -f verifier_report); OUT=$OUT verifier_report"
fi
part unit isolated "$OUT/tests/bpfnet-unit" ${unit_filter:+"$unit_filter"}
# the parsers of outside input under libFuzzer, a few seconds each, and
# every input that ever crashed one (userspace only: the host run has them)
if [ -z "$TESTS" ] || [[ fuzz == *"$TESTS"* ]] || [[ "$TESTS" == fuzz* ]]; then
	if [ -z "${BPFNET_IN_VM:-}" ]; then
		part fuzz bash tests/fuzz/run.sh smoke "${FUZZ_SMOKE_SECONDS:-3}"
	else
		echo "SKIP fuzz"
		echo "    SKIPPED: the parsers are userspace code, fuzzed on the host run"
	fi
fi
for t in tests/integration/test_*.sh; do
	part "integration/$(basename "$t" .sh)" isolated bash "$t"
done
sweep

# The same suite inside a VM on Debian's 6.1 kernel (tools/vmtest.sh), unless
# this already is that VM, or VMTEST=0. Its closing line is folded into ours.
if [ -z "${BPFNET_IN_VM:-}" ] && [ "${VMTEST:-1}" != 0 ]; then
	part vmtest bash -c "OUT=$OUT TESTS='$TESTS' bash tools/vmtest.sh | grep -v '^[0-9]* passed, '"
fi

passed=$(grep -c '^PASS ' "$results")
failed=$(grep -c '^FAIL ' "$results")
skipped=$(grep -c '^SKIP ' "$results")
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ $((passed + skipped)) -gt 0 ]
