#!/usr/bin/env bash
# make bench: datapath benchmarks. Every ratio is against a baseline
# measured in this same run. Nothing runs outside namespaces and cgroups
# this script creates, and all of them are removed at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-build}
BIN=$(realpath "$OUT")
CTL=$BIN/bench/bpfnet-testctl
NETTOOL=$BIN/bench/nettool
ROUNDS=${ROUNDS:-11}
CONNECTS=${CONNECTS:-10000}
FILL=${FILL:-10000} # services loaded for the connect benchmark
PARTS=${PARTS:-tc pkt connect agent cni} # which benchmarks to run
# SMOKE=1: every part at its smallest size, to prove it still runs (make
# test does this); the figures it prints mean nothing
SMOKE_FLAG=()
if [ "${SMOKE:-0}" = 1 ]; then
	ROUNDS=1 CONNECTS=200 FILL=100 SMOKE_FLAG=(--smoke)
	export SERVICES=200 ENDPOINTS=2 CHANGES=3 CNI_ROUNDS=5 PKT_SECONDS=0.5 PKT_SERVICES=10
fi

[ "$(id -u)" -eq 0 ] || { echo "benchmarks need root"; exit 1; }

WORK=$(mktemp -d /tmp/bpfnet-bench-XXXXXX)
NS=bnbench$$
NS2=bnbench$$b
CG=""
SERVERS=()
STATS_WAS="" # kernel.bpf_stats_enabled before the connect benchmark
cleanup() {
	if [ -n "$STATS_WAS" ]; then sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS" || true; fi
	local pid
	for pid in "${SERVERS[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	ip netns del "$NS" 2>/dev/null || true
	ip netns del "$NS2" 2>/dev/null || true
	umount "$WORK/bpffs" 2>/dev/null || true
	if [ -n "$CG" ]; then rmdir "$CG" 2>/dev/null || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT
mkdir "$WORK/bpffs"
mount -t bpf bpf "$WORK/bpffs"

if [[ " $PARTS " == *" tc "* ]]; then
	echo "== tc program"
	"$BIN/tests/bpfnet-bench" "${SMOKE_FLAG[@]}" "$WORK/bpffs"
fi
if [[ " $PARTS " == *" pkt "* ]]; then
	echo
	OUT=$OUT ROUNDS=$ROUNDS bash tests/bench/pkt.sh
fi
if [[ " $PARTS " == *" agent "* ]]; then
	OUT=$OUT bash tests/bench/agent.sh
fi
if [[ " $PARTS " == *" cni "* ]]; then
	echo
	OUT=$OUT bash tests/bench/cni.sh
fi
[[ " $PARTS " == *" connect "* ]] || exit 0

echo
echo "== TCP connect rate through a ClusterIP with socket LB vs straight to the backend"
# Two places for the backend: on the client's loopback (the cheapest
# connect there is, so the hook's share is largest), and in a pod of its
# own behind a veth pair, as a pod reaches another pod on its node.
PIN=$WORK/bpffs/sock
ip netns add "$NS"
ip netns add "$NS2"
nsenter --net="/run/netns/$NS" ip link set lo up
nsenter --net="/run/netns/$NS2" ip link set lo up
ip link add bnc$$ netns "$NS" type veth peer name bns$$ netns "$NS2"
nsenter --net="/run/netns/$NS" ip addr add 10.244.0.2/24 dev bnc$$
nsenter --net="/run/netns/$NS" ip link set bnc$$ up
nsenter --net="/run/netns/$NS2" ip addr add 10.244.0.3/24 dev bns$$
nsenter --net="/run/netns/$NS2" ip link set bns$$ up
CG="$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)/bpfnet-bench-$$"
mkdir "$CG"
"$CTL" --pin-dir "$PIN" --svc-max 20000 --backend-max 40000 --slot-max 80000 \
	svc-fill 10.96.0.0 80 "$FILL" 2
"$CTL" --pin-dir "$PIN" svc-set 10.97.0.1:80/tcp 50000 127.0.0.2:8080
"$CTL" --pin-dir "$PIN" svc-set 10.97.0.2:80/tcp 50001 10.244.0.3:8080
"$CTL" --pin-dir "$PIN" attach-sock "$CG"
# server and client on CPUs of their own: no migrations between rounds
PIN_SERVER=() PIN_CLIENT=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	PIN_SERVER=(taskset -c 1) PIN_CLIENT=(taskset -c 0)
fi
nsenter --net="/run/netns/$NS" "${PIN_SERVER[@]}" "$NETTOOL" serve-tcp 127.0.0.2:8080 backend \
	>/dev/null 2>&1 &
SERVERS+=($!)
nsenter --net="/run/netns/$NS2" "${PIN_SERVER[@]}" "$NETTOOL" serve-tcp 10.244.0.3:8080 backend \
	>/dev/null 2>&1 &
SERVERS+=($!)
sleep 0.3

rate() { # rate MODE BACKEND VIP: conns/s of one round
	local tool=(nsenter --net="/run/netns/$NS" "${PIN_CLIENT[@]}" "$NETTOOL")
	case $1 in
	plain) "${tool[@]}" connect-rate "$2" "$CONNECTS" ;;
	direct) "${tool[@]}" --cgroup "$CG" connect-rate "$2" "$CONNECTS" ;;
	vip) "${tool[@]}" --cgroup "$CG" connect-rate "$3" "$CONNECTS" ;;
	direct_pn) "${tool[@]}" --cgroup "$CG" connect-rate "$2" "$CONNECTS" peername ;;
	vip_pn) "${tool[@]}" --cgroup "$CG" connect-rate "$3" "$CONNECTS" peername ;;
	esac | awk '{ print $NF }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
spread() { sort -g | awk '{ v[NR] = $1 } END { printf "%d..%d", v[1], v[NR] }'; }
fspread() { sort -g | awk '{ v[NR] = $1 } END { printf "%.3f..%.3f", v[1], v[NR] }'; }

# the connect4 hook's own run time, as the kernel counts it per program
# (restored at exit; it adds two clock reads per BPF program run)
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -qw kernel.bpf_stats_enabled=1
prog_id() { bpftool cgroup show "$CG" -j | jq -r ".[] | select(.attach_type == \"$1\") | .id"; }
connect4=$(prog_id cgroup_inet4_connect)
getpeername4=$(prog_id cgroup_inet4_getpeername)
hook_stats() { # run time of connect4 + getpeername4 so far, ns
	local id
	for id in "$connect4" "$getpeername4"; do
		bpftool prog show id "$id" -j | jq -r '.run_time_ns // 0'
	done | awk '{ ns += $1 } END { printf "%.0f", ns }'
}
# hook_ns MODE: hook run time per connection of MODE's rounds
hook_ns() { awk -v n="$CONNECTS" '{ ns += $1; r++ } END { printf "%.0f", r ? ns / n / r : 0 }' "$WORK/$1.hook"; }
ratio() { echo "$1 / $2" | bc -l; }

# connect_bench TITLE BACKEND VIP [peername]
# With peername the client also calls getpeername() after each connect, as
# Go's net package does: that is where a socket's peer gets its storage.
connect_bench() {
	local title=$1 backend=$2 vip_addr=$3 r i mode ns0 ns1
	local plain direct vip vip_ns direct_ns connect_ns order=(plain direct vip)
	[ "${4:-}" = peername ] && order+=(direct_pn vip_pn)
	for mode in "${order[@]}"; do : >"$WORK/$mode" && : >"$WORK/$mode.hook"; done
	for mode in r_tax r_vip r_pn; do : >"$WORK/$mode"; done
	# interleaved, and the order rotates, so drift and position hit all alike
	for r in $(seq 0 $((ROUNDS - 1))); do
		for i in "${!order[@]}"; do
			mode=${order[$(((i + r) % ${#order[@]}))]}
			if [ "$mode" = plain ]; then # outside the cgroup: no hooks run
				rate "$mode" "$backend" "$vip_addr" >>"$WORK/$mode"
				continue
			fi
			ns0=$(hook_stats)
			rate "$mode" "$backend" "$vip_addr" >>"$WORK/$mode"
			ns1=$(hook_stats)
			echo "$((ns1 - ns0))" >>"$WORK/$mode.hook"
		done
	done
	plain=$(median <"$WORK/plain")
	direct=$(median <"$WORK/direct")
	vip=$(median <"$WORK/vip")
	# the machine's speed drifts; the runs of a round are a second or two
	# apart, so per-round ratios cancel the slow part of the drift
	paste -d' ' "$WORK/plain" "$WORK/direct" "$WORK/vip" |
		awk -v w="$WORK" '{ print $2 / $1 > (w "/r_tax"); print $3 / $2 > (w "/r_vip") }'
	echo "-- $title: $ROUNDS rounds of $CONNECTS connections, median conns/s"
	printf '  %-40s %8d  [rounds %s]\n' "no bpfnet hooks, to the backend IP" "$plain" \
		"$(spread <"$WORK/plain")"
	printf '  %-40s %8d  [rounds %s]  x%.3f of no hooks (non-service tax)\n' \
		"socket LB attached, to the backend IP" "$direct" "$(spread <"$WORK/direct")" \
		"$(ratio "$direct" "$plain")"
	printf '  %-40s %8d  [rounds %s]  x%.3f of direct (target >= 0.97)\n' \
		"socket LB attached, to the ClusterIP" "$vip" "$(spread <"$WORK/vip")" \
		"$(ratio "$vip" "$direct")"
	printf '  per-round ratios, median [spread]: ClusterIP/direct x%.3f [%s], non-service tax x%.3f [%s]\n' \
		"$(median <"$WORK/r_vip")" "$(fspread <"$WORK/r_vip")" \
		"$(median <"$WORK/r_tax")" "$(fspread <"$WORK/r_tax")"
	vip_ns=$(hook_ns vip)
	direct_ns=$(hook_ns direct)
	connect_ns=$(echo "1000000000 / $direct" | bc -l)
	printf '  connect4 hook run time (kernel BPF stats): %d ns per ClusterIP connect, %d ns per\n' \
		"$vip_ns" "$direct_ns"
	printf '    direct one; a direct connect takes %.0f ns, so the translation costs %.1f%%:\n' \
		"$connect_ns" "$(echo "($vip_ns - $direct_ns) * 100 / $connect_ns" | bc -l)"
	printf '    ClusterIP/direct x%.3f from the hook'"'"'s own time (target >= 0.97)\n' \
		"$(echo "$connect_ns / ($connect_ns + $vip_ns - $direct_ns)" | bc -l)"
	[ "${4:-}" = peername ] || return 0
	direct=$(median <"$WORK/direct_pn")
	vip=$(median <"$WORK/vip_pn")
	paste -d' ' "$WORK/direct_pn" "$WORK/vip_pn" | awk '{ print $2 / $1 }' >"$WORK/r_pn"
	echo "  the same client calling getpeername() after each connect (Go does):"
	printf '  %-40s %8d  [rounds %s]\n' "socket LB attached, to the backend IP" "$direct" \
		"$(spread <"$WORK/direct_pn")"
	printf '  %-40s %8d  [rounds %s]  x%.3f of direct, per round x%.3f [%s]\n' \
		"socket LB attached, to the ClusterIP" "$vip" "$(spread <"$WORK/vip_pn")" \
		"$(ratio "$vip" "$direct")" "$(median <"$WORK/r_pn")" "$(fspread <"$WORK/r_pn")"
	printf '    connect4 + getpeername4 run time: %d ns per ClusterIP connection, %d ns direct\n' \
		"$(hook_ns vip_pn)" "$(hook_ns direct_pn)"
	printf '    (the storage the peer moves into is freed at close, outside both hooks)\n'
}

echo "$((FILL + 2)) services loaded"
connect_bench "backend on the client's loopback (worst case: the cheapest connect)" \
	127.0.0.2:8080 10.97.0.1:80 peername
connect_bench "backend in another pod, over a veth pair (pod to pod on one node)" \
	10.244.0.3:8080 10.97.0.2:80
"$CTL" --pin-dir "$PIN" stats | grep sock_ | sed 's/^/  counter /'
