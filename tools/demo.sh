#!/usr/bin/env bash
# bpfnet local demo: a node and four pods in network namespaces on this
# machine, wired by bpfnet-cni as a container runtime would call it,
# bpfnetd fed with an embedded sample of Kubernetes objects
# (tools/demo-services.json, endpoints set to the pods' addresses),
# requests through ClusterIPs, a DNS query answered from the service VIP,
# and the bpfnet CLI. Everything is removed at the end; nothing leaves the
# namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-build}
export OUT
. tests/integration/lib.sh

[ "$(id -u)" -eq 0 ] || { echo "the demo needs root (BPF, namespaces)"; exit 1; }

trap env_teardown EXIT
env_setup demo
BPFNET="$BIN/bin/bpfnet --pin-dir $PIN"
SERVICES=$(realpath tools/demo-services.json)

echo "== bpfnetd with $SERVICES"
socket_lb_on >/dev/null # a cgroup of the demo's own: socket LB applies to processes in it
cp "$SERVICES" "$WORK/services.json"
nsenter --net="/run/netns/$NODE_NS" "$BIN/bin/bpfnetd" --services-file "$WORK/services.json" \
	--pin-dir "$PIN" --cgroup "$CGROUP" --http-addr 127.0.0.1:9876 2>"$WORK/agent.log" &
PIDS+=($!)
for _ in $(seq 1 100); do
	in_node curl -fsS http://127.0.0.1:9876/readyz >/dev/null 2>&1 && break
	sleep 0.05
done
sed 's/^/   /' "$WORK/agent.log"

echo "== pods: network namespaces wired by bpfnet-cni (CNI ADD, as a runtime calls it)"
CNI_CONF=$(jq -nc --arg pin "$PIN" --arg w "$WORK" '{cniVersion: "1.0.0", name: "demo",
	type: "bpfnet-cni", pinDir: $pin, logFile: ($w + "/cni.log"),
	ipam: {subnet: "10.244.0.0/24", dataDir: ($w + "/ipam")}}')
declare -A IP
for pod in client web1 web2 dns; do
	ns=$(pod_ns "$pod")
	ip netns add "$ns"
	NETNS+=("$ns")
	in_pod "$pod" ip link set lo up
	IP[$pod]=$(in_node env CNI_COMMAND=ADD CNI_CONTAINERID="demo-$pod" CNI_IFNAME=eth0 \
		CNI_NETNS="/run/netns/$ns" "$BIN/bin/bpfnet-cni" <<<"$CNI_CONF" |
		jq -r '.ips[0].address' | cut -d/ -f1)
	printf '   %-6s %s\n' "$pod" "${IP[$pod]}"
done
bg_in_pod web1 "$NETTOOL" serve-tcp "${IP[web1]}:8080" web1
bg_in_pod web2 "$NETTOOL" serve-tcp "${IP[web2]}:8080" web2
bg_in_pod dns dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
	--user=root --group=root --listen-address="${IP[dns]}" --bind-interfaces --port=53 \
	--address=/web.default.svc.cluster.local/10.96.0.80
wait_listen web1 tcp 8080
wait_listen web2 tcp 8080
wait_listen dns udp 53
in_node ip -br link | sed 's/^/   node: /'

echo "== the sample's endpoints become the pods' addresses (what the endpoint controller does)"
jq --arg w1 "${IP[web1]}" --arg w2 "${IP[web2]}" --arg d "${IP[dns]}" \
	'(.. | strings) |= (if . == "10.244.0.11" then $w1 elif . == "10.244.0.12" then $w2
	  elif . == "10.244.0.20" then $d else . end)' "$SERVICES" >"$WORK/services.json.tmp"
mv "$WORK/services.json.tmp" "$WORK/services.json"
for _ in $(seq 1 100); do
	$BPFNET service get 10.96.0.80:80/tcp 2>/dev/null | grep -q "${IP[web2]}" && break
	sleep 0.05
done

echo "== bpfnet service list"
$BPFNET service list | sed 's/^/   /'

echo "== 20 requests from the client pod to http://10.96.0.80 (per-packet LB in tc)"
in_pod client "$NETTOOL" tcp-clients 10.96.0.80:80 20 | sed 's/^/   /'
echo "== DNS query to the DNS service VIP from the same node; the reply comes from the VIP"
in_pod client "$NETTOOL" dns 10.96.0.10 web.default.svc.cluster.local 10.96.0.80 | sed 's/^/   /'

echo "== the same from a process in the socket-LB cgroup (translated in connect())"
in_pod client "$NETTOOL" --cgroup "$CGROUP" tcp-clients 10.96.0.80:80 20 | sed 's/^/   /'
in_pod client "$NETTOOL" --cgroup "$CGROUP" dns 10.96.0.10 web.default.svc.cluster.local 10.96.0.80 |
	sed 's/^/   /'

echo "== default/maintenance has no endpoints: refused at once"
in_pod client "$NETTOOL" expect-refused tcp 10.96.0.99:80 500 | sed 's/^/   /'

echo "== bpfnet explain ${IP[client]} 10.96.0.80:80/tcp"
$BPFNET explain "${IP[client]}" 10.96.0.80:80/tcp | sed 's/^/   /'
echo "== bpfnet endpoint list (written by bpfnet-cni; the datapath delivers to these veths)"
$BPFNET endpoint list | sed 's/^/   /'
echo "== bpfnet ct list --dst 10.96.0.10"
$BPFNET ct list --dst 10.96.0.10 | sed 's/^/   /'
echo "== bpfnet stats (non-zero)"
$BPFNET stats | awk 'NR == 1 || $3 != 0' | sed 's/^/   /'
echo "== agent metrics (excerpt)"
in_node curl -fsS http://127.0.0.1:9876/metrics |
	grep -E '^bpfnet_(objects|frontends|backends|event_to_map_seconds_count)' | sed 's/^/   /'
echo "== done; tearing down"
