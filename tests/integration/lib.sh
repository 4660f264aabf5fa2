# shellcheck shell=bash
# Namespace test library, sourced by tests/integration/test_*.sh.
#
# Every case runs in its own subshell with a fresh environment: a private
# bpffs mount, a node network namespace, pod namespaces joined to it by veth
# pairs, and (for socket LB) a cgroup of its own. All of it is removed when
# the case ends, pass or fail. Nothing here touches the root namespace's
# interfaces or the root cgroup; namespaces have no route off the machine.

OUT=${OUT:-build}
BIN=$(realpath "$OUT")
TESTCTL=$BIN/tests/bpfnet-testctl
NETTOOL=$BIN/tests/nettool

# per-case state, set by env_setup
NODE_NS="" WORK="" PIN="" CGROUP=""
PIDS=()
NETNS=()

log() { printf '  %s\n' "$*"; }

# has PATTERN: stdin matches. Reads all of it: `grep -q` would exit at the
# first match and, under pipefail, fail the writer with SIGPIPE.
has() { grep -c -- "$1" | grep -qv '^0$'; }
fail() {
	printf 'FAILED: %s\n' "$*" >&2
	exit 1
}
skip() {
	printf 'SKIPPED: %s\n' "$*"
	exit 77
}

ctl() { "$TESTCTL" --pin-dir "$PIN" "$@"; }
in_node() { nsenter --net="/run/netns/$NODE_NS" -- "$@"; }
pod_ns() { echo "${NODE_NS%-node}-$1"; }
in_pod() {
	local pod=$1
	shift
	nsenter --net="/run/netns/$(pod_ns "$pod")" -- "$@"
}

cgroup2_root() { awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts; }

env_setup() {
	local name=$1
	WORK=$(mktemp -d /tmp/bpfnet-it-XXXXXX)
	mkdir "$WORK/bpffs"
	mount -t bpf bpf "$WORK/bpffs"
	PIN=$WORK/bpffs/bpfnet
	NODE_NS="bn$$-node"
	ip netns add "$NODE_NS"
	NETNS+=("$NODE_NS")
	in_node ip link set lo up
	in_node sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0
	ctl load
	log "case $name: node $NODE_NS, pins $PIN"
}

env_teardown() {
	local pid ns
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	for ns in "${NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	if [ -n "$WORK" ]; then
		umount "$WORK/bpffs" 2>/dev/null || true
		rm -rf "$WORK"
	fi
	# the pinned socket-LB links went with the bpffs; now the cgroup is empty
	if [ -n "$CGROUP" ] && [ -d "$CGROUP" ]; then
		rmdir "$CGROUP" || echo "teardown: could not remove $CGROUP" >&2
	fi
}

# MAC address from `ip -o link show` (nsenter keeps the root netns's /sys)
mac_of() { sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'; }

# pod_add NAME IP: a pod namespace with eth0 = IP/32 and a default route via
# a link-local gateway that is the host side of its veth, registered in the
# endpoints map as the CNI plugin does (its packets are let in by source,
# and delivered to it straight from tc).
pod_add() {
	local name=$1 ip=$2 ns host_if=lxc$1 host_mac pod_mac
	ns=$(pod_ns "$name")
	ip netns add "$ns"
	NETNS+=("$ns")
	in_node ip link add "$host_if" type veth peer name eth0 netns "$ns"
	host_mac=$(in_node ip -o link show "$host_if" | mac_of)
	pod_mac=$(in_pod "$name" ip -o link show eth0 | mac_of)
	in_pod "$name" ip link set lo up
	in_pod "$name" ip addr add "$ip/32" dev eth0
	in_pod "$name" ip link set eth0 up
	in_pod "$name" ip route add 169.254.1.1 dev eth0 scope link
	in_pod "$name" ip route add default via 169.254.1.1 dev eth0
	in_pod "$name" ip neigh add 169.254.1.1 lladdr "$host_mac" dev eth0 nud permanent
	in_node ip link set "$host_if" up
	in_node ip route add "$ip/32" dev "$host_if"
	in_node ip neigh add "$ip" lladdr "$pod_mac" dev "$host_if" nud permanent
	in_node "$TESTCTL" --pin-dir "$PIN" attach-tc "$host_if"
	# (nsenter keeps the root namespace's /sys: the index comes from ip)
	ctl endpoint-set "$ip" "$(in_node ip -o link show "$host_if" | cut -d: -f1)" "$pod_mac" \
		"$host_mac"
}

# bg_in_pod POD CMD...: start a server in a pod, remember its PID.
bg_in_pod() {
	local pod=$1
	shift
	nsenter --net="/run/netns/$(pod_ns "$pod")" -- "$@" >>"$WORK/servers.log" 2>&1 &
	PIDS+=($!)
}

# wait_listen POD tcp|udp PORT: until the server's socket exists.
wait_listen() {
	local pod=$1 proto=$2 port=$3 flag=-ltnH i
	[ "$proto" = udp ] && flag=-lunH
	for i in $(seq 1 100); do
		in_pod "$pod" ss $flag "sport = :$port" | has . && return 0
		sleep 0.05
	done
	fail "no $proto listener on port $port in pod $pod"
}

# socket_lb_on: a cgroup for this case with socket LB attached.
socket_lb_on() {
	CGROUP="$(cgroup2_root)/bpfnet-it-$$-$RANDOM"
	mkdir "$CGROUP"
	ctl attach-sock "$CGROUP"
}

# client POD CMD...: run nettool in POD, inside the socket-LB cgroup if any.
client() {
	local pod=$1
	shift
	if [ -n "$CGROUP" ]; then
		in_pod "$pod" "$NETTOOL" --cgroup "$CGROUP" "$@"
	else
		in_pod "$pod" "$NETTOOL" "$@"
	fi
}

stat_of() { ctl stats | awk -v n="$1" '$1 == n { v = $2 } END { print v + 0 }'; }

# expect_spread OUTPUT ID MIN: the tally in OUTPUT gave ID at least MIN hits.
expect_spread() {
	local out=$1 id=$2 min=$3 got
	got=$(awk -v id="$id" '$1 == "id" && $2 == id { print $3 }' <<<"$out")
	[ "${got:-0}" -ge "$min" ] || fail "backend $id got ${got:-0} hits, want >= $min"
}

expect_no_failures() {
	grep -q '^ok [0-9]* fail 0$' <<<"$1" || fail "client failures: $(grep '^ok' <<<"$1")"
}

# run_case NAME FUNCTION: one case, isolated, with its PASS/FAIL/SKIP line.
# A script that sets HOST_ONLY (the reason) is skipped inside the test VM.
run_case() {
	local name=$1 fn=$2 rc out t0 took
	if [ -n "${TESTS:-}" ] && [[ "integration/$name" != *"$TESTS"* ]]; then
		return 0
	fi
	if [ -n "${BPFNET_IN_VM:-}" ] && [ -n "${HOST_ONLY:-}" ]; then
		echo "SKIP integration/$name"
		echo "    SKIPPED: $HOST_ONLY"
		return 0
	fi
	t0=$(date +%s%N)
	out=$( (
		set -euo pipefail
		trap env_teardown EXIT
		env_setup "$name"
		"$fn"
	) 2>&1)
	rc=$?
	took=$(( ($(date +%s%N) - t0) / 100000000 ))
	took="($((took / 10)).$((took % 10)) s)"
	case $rc in
	0) echo "PASS integration/$name $took" ;;
	77)
		echo "SKIP integration/$name $took"
		grep '^SKIPPED' <<<"$out" | sed 's/^/    /'
		;;
	*)
		echo "FAIL integration/$name $took"
		tail -n 40 <<<"$out" | sed 's/^/    /'
		;;
	esac
}
