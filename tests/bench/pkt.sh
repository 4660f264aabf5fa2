#!/usr/bin/env bash
# Packet-path benchmark: a pod reaches a ClusterIP with no socket LB (the
# tc program DNATs, tracks and reverse-NATs every packet) versus the same
# pod connecting straight to the three backend pods in turn, interleaved in one run, with
# 10, 1,000 and 10,000 services loaded. Pods are wired by bpfnet-cni, as
# on a node. Two loads, 4 client threads each:
#   crr  connect, 1-byte request, 1-byte answer, close with RST (source
#        ports come back at once: the port-reuse case)
#   rr   1-byte request/answer over one long connection per thread
# Every failed connection or request is counted; any failure fails the run.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=$(realpath "${OUT:-build}")
ROUNDS=${ROUNDS:-5}
SECONDS_PER=${PKT_SECONDS:-3}
COUNTS=${PKT_SERVICES:-10 1000 10000}
THREADS=4

WORK=$(mktemp -d /tmp/bpfnet-bench-XXXXXX)
NODE=bnpkt$$
PIDS=()
STATS_WAS=""
cleanup() {
	local pid n
	if [ -n "$STATS_WAS" ]; then sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS" || true; fi
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
	for n in $(ip netns list 2>/dev/null | awk -v p="$NODE" 'index($1, p) == 1 { print $1 }'); do
		ip netns del "$n" 2>/dev/null || true
	done
	umount "$WORK/bpffs" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
mkdir "$WORK/bpffs"
mount -t bpf bpf "$WORK/bpffs"
PIN=$WORK/bpffs/bpfnet
ip netns add "$NODE"
in_node() { nsenter --net="/run/netns/$NODE" -- "$@"; }
in_node ip link set lo up
in_node sysctl -qw net.ipv4.ip_forward=1
ctl() { "$BIN/bench/bpfnet-testctl" --pin-dir "$PIN" --svc-max 20000 --backend-max 40000 --slot-max 80000 "$@"; }
ctl load

conf=$(jq -nc --arg w "$WORK" '{cniVersion: "1.0.0", name: "bench", type: "bpfnet-cni",
	pinDir: ($w + "/bpffs/bpfnet"), logFile: "none",
	ipam: {subnet: "10.244.0.0/24", dataDir: ($w + "/ipam")}}')
# pod NAME: a pod wired by bpfnet-cni; prints its address
pod() {
	ip netns add "$NODE-$1"
	in_node env -i CNI_COMMAND=ADD CNI_CONTAINERID="$1" CNI_IFNAME=eth0 \
		CNI_NETNS="/run/netns/$NODE-$1" CNI_PATH=/usr/lib/cni "$BIN/bin/bpfnet-cni" <<<"$conf" |
		jq -r '.ips[0].address' | cut -d/ -f1
}
CLIENT_IP=$(pod client)
nsenter --net="/run/netns/$NODE-client" ip link set lo up
BACKENDS=()
for b in 0 1 2; do
	ip=$(pod "web$b")
	BACKENDS+=("$ip:8080")
	nsenter --net="/run/netns/$NODE-web$b" "$BIN/bench/nettool" serve-rr "$ip:8080" >/dev/null 2>&1 &
	PIDS+=($!)
done
sleep 0.3
VIP=10.97.0.1

# The program's own run time, as the kernel counts it (restored at exit):
# machine drift blurs it far less than a rate.
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -qw kernel.bpf_stats_enabled=1
PROG_ID=$(bpftool prog show pinned "$PIN/prog_from_container_v1" -j | jq -r .id)
prog_ns() { bpftool prog show id "$PROG_ID" -j | jq -r '.run_time_ns // 0'; }

# load MODE DST: one round; prints "rate fail ns_per_request"
load() {
	local ns0 out
	ns0=$(prog_ns)
	out=$(nsenter --net="/run/netns/$NODE-client" "$BIN/bench/nettool" "$1" "$2" "$THREADS" \
		"$SECONDS_PER" 2>/dev/null || true)
	awk -v ns="$(($(prog_ns) - ns0))" '{ print $NF, $4, ($2 > 0 ? ns / $2 : 0) }' <<<"$out"
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
fspread() { sort -g | awk '{ v[NR] = $1 } END { printf "%.3f..%.3f", v[1], v[NR] }'; }

DIRECT=$(IFS=,; echo "${BACKENDS[*]}") # the same three pods, in turn
echo "== packet path: pod -> ClusterIP (tc DNAT + conntrack + reverse NAT) vs pod -> pod"
echo "   ($ROUNDS interleaved rounds of $SECONDS_PER s, $THREADS client threads, backends wired by bpfnet-cni)"
failures=0
for n in $COUNTS; do
	# the filler takes backend ids from 1 up: the measured service after it
	[ "$n" -gt 1 ] && ctl svc-fill 10.96.0.0 80 $((n - 1)) 2
	ctl svc-set "$VIP:80/tcp" 60000 "${BACKENDS[@]}"
	for mode in crr rr; do
		: >"$WORK/direct" && : >"$WORK/vip" && : >"$WORK/ratio"
		: >"$WORK/direct_ns" && : >"$WORK/vip_ns"
		for r in $(seq 1 "$ROUNDS"); do
			# the order alternates, so drift hits both alike
			if [ $((r % 2)) = 1 ]; then
				d=$(load "$mode" "$DIRECT") v=$(load "$mode" "$VIP:80")
			else
				v=$(load "$mode" "$VIP:80") d=$(load "$mode" "$DIRECT")
			fi
			read -r d_rate d_fail d_ns <<<"$d"
			read -r v_rate v_fail v_ns <<<"$v"
			echo "$d_rate" >>"$WORK/direct"
			echo "$v_rate" >>"$WORK/vip"
			echo "$d_ns" >>"$WORK/direct_ns"
			echo "$v_ns" >>"$WORK/vip_ns"
			echo "$v_rate $d_rate" | awk '{ print ($2 > 0 ? $1 / $2 : 0) }' >>"$WORK/ratio"
			failures=$((failures + d_fail + v_fail))
			[ "$d_fail$v_fail" = 00 ] || echo "  round $r: failures direct $d_fail, ClusterIP $v_fail"
		done
		printf '  %6d services, %-3s direct %7.0f/s  ClusterIP %7.0f/s  x%.3f (per round x%.3f [%s]; target >= 0.90)\n' \
			"$n" "$mode" "$(median <"$WORK/direct")" "$(median <"$WORK/vip")" \
			"$(echo "$(median <"$WORK/vip") / $(median <"$WORK/direct")" | bc -l)" \
			"$(median <"$WORK/ratio")" "$(fspread <"$WORK/ratio")"
		# each thread does one request at a time: a request takes
		# THREADS / rate seconds; the program adds (vip - direct) ns to it
		d_ns=$(median <"$WORK/direct_ns")
		v_ns=$(median <"$WORK/vip_ns")
		per_req=$(echo "$THREADS * 1000000000 / $(median <"$WORK/direct")" | bc -l)
		printf '         tc program per %s: %.0f ns ClusterIP, %.0f ns direct, of %.0f ns; x%.3f from its own time\n' \
			"$([ "$mode" = crr ] && echo connection || echo request)" "$v_ns" "$d_ns" "$per_req" \
			"$(echo "$per_req / ($per_req + $v_ns - $d_ns)" | bc -l)"
	done
done
echo "  failed connections or requests, all paths: $failures (target 0)"
ctl stats | grep -E 'lb_|revnat|reopen|drop' | sed 's/^/  counter /'
[ "$failures" = 0 ]
