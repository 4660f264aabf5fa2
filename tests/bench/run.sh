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
cleanup() {
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
nsenter --net="/run/netns/$NS" "$NETTOOL" serve-tcp 127.0.0.2:8080 backend >/dev/null 2>&1 &
SERVER=$!
sleep 0.3

rate() { # rate MODE: conns/s of one round
	case $1 in
	plain) nsenter --net="/run/netns/$NS" "$NETTOOL" connect-rate 127.0.0.2:8080 "$CONNECTS" ;;
	direct) nsenter --net="/run/netns/$NS" "$NETTOOL" --cgroup "$CG" connect-rate 127.0.0.2:8080 "$CONNECTS" ;;
	vip) nsenter --net="/run/netns/$NS" "$NETTOOL" --cgroup "$CG" connect-rate 10.97.0.1:80 "$CONNECTS" ;;
	esac | awk '{ print $NF }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
spread() { sort -n | awk '{ v[NR] = $1 } END { printf "%d..%d", v[1], v[NR] }'; }

: >"$WORK/plain"
: >"$WORK/direct"
: >"$WORK/vip"
# interleaved, and the order rotates, so drift and position hit all alike
order=(plain direct vip)
for r in $(seq 0 $((ROUNDS - 1))); do
	for i in 0 1 2; do
		mode=${order[$(((i + r) % 3))]}
		rate "$mode" >>"$WORK/$mode"
	done
done
plain=$(median <"$WORK/plain")
direct=$(median <"$WORK/direct")
vip=$(median <"$WORK/vip")
echo "10,001 services loaded; $ROUNDS rounds of $CONNECTS connections, median conns/s"
printf '  %-40s %8d  [rounds %s]\n' "no bpfnet hooks, to the backend IP" "$plain" \
	"$(spread <"$WORK/plain")"
printf '  %-40s %8d  [rounds %s]  x%.3f of no hooks (non-service tax)\n' \
	"socket LB attached, to the backend IP" "$direct" "$(spread <"$WORK/direct")" \
	"$(echo "$direct / $plain" | bc -l)"
printf '  %-40s %8d  [rounds %s]  x%.3f of direct (target >= 0.97)\n' \
	"socket LB attached, to the ClusterIP" "$vip" "$(spread <"$WORK/vip")" \
	"$(echo "$vip / $direct" | bc -l)"
"$CTL" --pin-dir "$PIN" stats | grep sock_ | sed 's/^/  counter /'
