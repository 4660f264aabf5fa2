#!/usr/bin/env bash
# bpfnet local demo: a node and four pods in network namespaces on this
# machine, the datapath loaded into a private bpffs, two web backends and a
# DNS server behind ClusterIPs. Everything is removed at the end.
# The services are an embedded default (below); nothing leaves the namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-build}
export OUT
. tests/integration/lib.sh

[ "$(id -u)" -eq 0 ] || { echo "the demo needs root (BPF, namespaces)"; exit 1; }

trap env_teardown EXIT
env_setup demo

echo "== pods"
pod_add client 10.244.0.2
pod_add web1 10.244.0.11
pod_add web2 10.244.0.12
pod_add dns 10.244.0.20
bg_in_pod web1 "$NETTOOL" serve-tcp 10.244.0.11:8080 web1
bg_in_pod web2 "$NETTOOL" serve-tcp 10.244.0.12:8080 web2
bg_in_pod dns dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
	--user=root --group=root --listen-address=10.244.0.20 --bind-interfaces --port=53 \
	--address=/web.default.svc.cluster.local/10.96.0.80
wait_listen web1 tcp 8080
wait_listen web2 tcp 8080
wait_listen dns udp 53
in_node ip -br link | sed 's/^/   node: /'

echo "== services (embedded default)"
echo "   web  10.96.0.80:80/tcp -> 10.244.0.11:8080, 10.244.0.12:8080"
echo "   dns  10.96.0.10:53/udp -> 10.244.0.20:53 (same node as the client)"
ctl svc-set 10.96.0.80:80/tcp 1:0x1 10.244.0.11:8080 10.244.0.12:8080
ctl svc-set 10.96.0.10:53/udp 2:0x1 10.244.0.20:53
ctl name-set 1 default/web:http
ctl name-set 2 kube-system/kube-dns:dns
BPFNET="$BIN/bin/bpfnet --pin-dir $PIN"
echo "== bpfnet service list"
$BPFNET service list | sed 's/^/   /'

echo "== 20 requests from the client pod to http://10.96.0.80:80 (per-packet LB in tc)"
client client tcp-clients 10.96.0.80:80 20 | sed 's/^/   /'
echo "== DNS query to the DNS service VIP; the reply must come from the VIP"
client client dns 10.96.0.10 web.default.svc.cluster.local 10.96.0.80 | sed 's/^/   /'

echo "== the same with socket LB (connect() translated before any packet)"
socket_lb_on
client client tcp-clients 10.96.0.80:80 20 | sed 's/^/   /'
client client dns 10.96.0.10 web.default.svc.cluster.local 10.96.0.80 | sed 's/^/   /'

echo "== a service without endpoints is refused at once"
ctl svc-set 10.96.0.99:80/tcp 3
client client expect-refused tcp 10.96.0.99:80 500 | sed 's/^/   /'

echo "== bpfnet explain 10.244.0.2 10.96.0.80:80/tcp"
$BPFNET explain 10.244.0.2 10.96.0.80:80/tcp | sed 's/^/   /'
echo "== bpfnet ct list --dst 10.96.0.10 (the DNS flow of the packet path)"
$BPFNET ct list --dst 10.96.0.10 | sed 's/^/   /'
echo "== bpfnet stats (non-zero)"
$BPFNET stats | awk 'NR == 1 || $3 != 0' | sed 's/^/   /'
echo "== done; tearing down"
