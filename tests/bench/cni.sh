#!/usr/bin/env bash
# CNI benchmark: ADD+DEL latency of bpfnet-cni against Debian's reference
# ptp plugin (with host-local IPAM) in the same run, each driven exactly as
# a runtime does, into fresh pod namespaces inside a private node namespace.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=$(realpath "${OUT:-build}")
N=${CNI_ROUNDS:-200}
REF=/usr/lib/cni

WORK=$(mktemp -d /tmp/bpfnet-bench-XXXXXX)
NODE=bncni$$
cleanup() {
	local n
	for n in $(ip netns list 2>/dev/null | awk -v p="$NODE" 'index($1, p) == 1 { print $1 }'); do
		ip netns del "$n" 2>/dev/null || true
	done
	umount "$WORK/bpffs" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
[ -x "$REF/ptp" ] || { echo "Debian's containernetworking-plugins are missing (make deps)"; exit 1; }
mkdir "$WORK/bpffs"
mount -t bpf bpf "$WORK/bpffs"
ip netns add "$NODE"
ip netns exec "$NODE" ip link set lo up
# what bpfnetd would have pinned on a node
"$BIN/bench/bpfnet-testctl" --pin-dir "$WORK/bpffs/bpfnet" load

ours=$(jq -nc --arg w "$WORK" '{cniVersion: "1.0.0", name: "bench", type: "bpfnet-cni",
	pinDir: ($w + "/bpffs/bpfnet"), logFile: "none",
	ipam: {subnet: "10.244.0.0/16", dataDir: ($w + "/ipam")}}')
ref=$(jq -nc --arg w "$WORK" '{cniVersion: "1.0.0", name: "bench-ref", type: "ptp",
	ipam: {type: "host-local", subnet: "10.99.0.0/16", dataDir: ($w + "/ref-ipam"),
	       routes: [{dst: "0.0.0.0/0"}]}}')

for i in $(seq 1 "$N"); do ip netns add "$NODE-p$i"; done

# run PLUGIN CONF: N x (ADD, DEL) into the pod namespaces; prints ms per pair
run() {
	local plugin=$1 conf=$2 i t0 t1
	t0=$(date +%s%N)
	for i in $(seq 1 "$N"); do
		for cmd in ADD DEL; do
			ip netns exec "$NODE" env -i CNI_COMMAND=$cmd CNI_CONTAINERID="bench$i" \
				CNI_IFNAME=eth0 CNI_NETNS="/run/netns/$NODE-p$i" CNI_PATH="$REF" \
				"$plugin" <<<"$conf" >/dev/null || { echo "$plugin $cmd failed"; exit 1; }
		done
	done
	t1=$(date +%s%N)
	echo "scale=3; ($t1 - $t0) / 1000000 / $N" | bc
}

echo "== CNI ADD+DEL latency, $N pods each, same run"
# one warm-up round each, then alternate so both see the same machine state
run "$BIN/bin/bpfnet-cni" "$ours" >/dev/null
run "$REF/ptp" "$ref" >/dev/null
best_ours="" best_ref=""
for r in 1 2 3; do
	o=$(run "$BIN/bin/bpfnet-cni" "$ours")
	p=$(run "$REF/ptp" "$ref")
	printf '  round %d: bpfnet-cni %s ms   ptp %s ms\n' "$r" "$o" "$p"
	if [ -z "$best_ours" ] || [ "$(echo "$o < $best_ours" | bc)" = 1 ]; then best_ours=$o; fi
	if [ -z "$best_ref" ] || [ "$(echo "$p < $best_ref" | bc)" = 1 ]; then best_ref=$p; fi
done
printf '  best: bpfnet-cni %s ms, ptp %s ms per ADD+DEL; ratio ptp/bpfnet-cni %s (>= 1: no slower than ptp)\n' \
	"$best_ours" "$best_ref" "$(echo "scale=2; $best_ref / $best_ours" | bc)"
