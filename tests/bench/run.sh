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
PARTS=${PARTS:-tc connect agent cni} # which benchmarks to run

[ "$(id -u)" -eq 0 ] || { echo "benchmarks need root"; exit 1; }

WORK=$(mktemp -d /tmp/bpfnet-bench-XXXXXX)
NS=bnbench$$
CG=""
SERVER=""
STATS_WAS="" # kernel.bpf_stats_enabled before the connect benchmark
cleanup() {
	if [ -n "$STATS_WAS" ]; then sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS" || true; fi
	if [ -n "$SERVER" ]; then
		kill "$SERVER" 2>/dev/null || true
		wait "$SERVER" 2>/dev/null || true
	fi
	ip netns del "$NS" 2>/dev/null || true
	umount "$WORK/bpffs" 2>/dev/null || true
	if [ -n "$CG" ]; then rmdir "$CG" 2>/dev/null || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT
mkdir "$WORK/bpffs"
mount -t bpf bpf "$WORK/bpffs"

if [[ " $PARTS " == *" tc "* ]]; then
	echo "== tc program"
	"$BIN/tests/bpfnet-bench" "$WORK/bpffs"
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
PIN=$WORK/bpffs/sock
ip netns add "$NS"
nsenter --net="/run/netns/$NS" ip link set lo up
CG="$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)/bpfnet-bench-$$"
mkdir "$CG"
"$CTL" --pin-dir "$PIN" --svc-max 20000 --backend-max 40000 --slot-max 80000 \
	svc-fill 10.96.0.0 80 10000 2
"$CTL" --pin-dir "$PIN" svc-set 10.97.0.1:80/tcp 50000 127.0.0.2:8080
"$CTL" --pin-dir "$PIN" attach-sock "$CG"
# server and client on CPUs of their own: no migrations between rounds
PIN_SERVER=() PIN_CLIENT=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	PIN_SERVER=(taskset -c 1) PIN_CLIENT=(taskset -c 0)
fi
nsenter --net="/run/netns/$NS" "${PIN_SERVER[@]}" "$NETTOOL" serve-tcp 127.0.0.2:8080 backend \
	>/dev/null 2>&1 &
SERVER=$!
sleep 0.3

rate() { # rate MODE: conns/s of one round
	local tool=(nsenter --net="/run/netns/$NS" "${PIN_CLIENT[@]}" "$NETTOOL")
	case $1 in
	plain) "${tool[@]}" connect-rate 127.0.0.2:8080 "$CONNECTS" ;;
	direct) "${tool[@]}" --cgroup "$CG" connect-rate 127.0.0.2:8080 "$CONNECTS" ;;
	vip) "${tool[@]}" --cgroup "$CG" connect-rate 10.97.0.1:80 "$CONNECTS" ;;
	esac | awk '{ print $NF }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
spread() { sort -g | awk '{ v[NR] = $1 } END { printf "%d..%d", v[1], v[NR] }'; }
fspread() { sort -g | awk '{ v[NR] = $1 } END { printf "%.3f..%.3f", v[1], v[NR] }'; }

: >"$WORK/plain"
: >"$WORK/direct"
: >"$WORK/vip"
# the connect4 hook's own run time, as the kernel counts it per program
# (restored at exit; it adds two clock reads per BPF program run)
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -qw kernel.bpf_stats_enabled=1
connect4=$(bpftool cgroup show "$CG" -j | jq -r '.[] | select(.attach_type == "cgroup_inet4_connect") | .id')
hook_stats() { bpftool prog show id "$connect4" -j | jq -r '"\(.run_time_ns // 0) \(.run_cnt // 0)"'; }

: >"$WORK/direct.hook"
: >"$WORK/vip.hook"
# interleaved, and the order rotates, so drift and position hit all alike
order=(plain direct vip)
for r in $(seq 0 $((ROUNDS - 1))); do
	for i in 0 1 2; do
		mode=${order[$(((i + r) % 3))]}
		read -r ns0 n0 <<<"$(hook_stats)"
		rate "$mode" >>"$WORK/$mode"
		read -r ns1 n1 <<<"$(hook_stats)"
		[ "$mode" = plain ] || echo "$((ns1 - ns0)) $((n1 - n0))" >>"$WORK/$mode.hook"
	done
done
hook_ns() { awk '{ ns += $1; n += $2 } END { printf "%.0f", n ? ns / n : 0 }' "$WORK/$1.hook"; }
plain=$(median <"$WORK/plain")
direct=$(median <"$WORK/direct")
vip=$(median <"$WORK/vip")
# the machine's speed drifts; the three runs of a round are a second apart,
# so per-round ratios cancel the slow part of the drift
paste -d' ' "$WORK/plain" "$WORK/direct" "$WORK/vip" |
	awk -v w="$WORK" '{ print $2 / $1 > (w "/r_tax"); print $3 / $2 > (w "/r_vip") }'
echo "10,001 services loaded; $ROUNDS rounds of $CONNECTS connections, median conns/s"
printf '  %-40s %8d  [rounds %s]\n' "no bpfnet hooks, to the backend IP" "$plain" \
	"$(spread <"$WORK/plain")"
printf '  %-40s %8d  [rounds %s]  x%.3f of no hooks (non-service tax)\n' \
	"socket LB attached, to the backend IP" "$direct" "$(spread <"$WORK/direct")" \
	"$(echo "$direct / $plain" | bc -l)"
printf '  %-40s %8d  [rounds %s]  x%.3f of direct (target >= 0.97)\n' \
	"socket LB attached, to the ClusterIP" "$vip" "$(spread <"$WORK/vip")" \
	"$(echo "$vip / $direct" | bc -l)"
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
"$CTL" --pin-dir "$PIN" stats | grep sock_ | sed 's/^/  counter /'
