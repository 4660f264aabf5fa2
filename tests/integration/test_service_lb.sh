#!/usr/bin/env bash
# Service LB with real packets: a node namespace, pods on veths, real TCP/UDP
# servers and dnsmasq, clients through a ClusterIP, with the packet path and
# with socket LB.
set -u
. "$(dirname "$0")/lib.sh"

VIP=10.96.0.1
WEB=(10.244.0.11 10.244.0.12 10.244.0.13)

web_pods() {
	local i
	pod_add client 10.244.0.2
	for i in 0 1 2; do
		pod_add "web$i" "${WEB[$i]}"
		bg_in_pod "web$i" "$NETTOOL" serve-tcp "${WEB[$i]}:8080" "web$i"
		bg_in_pod "web$i" "$NETTOOL" serve-udp "${WEB[$i]}:5353" "web$i"
	done
	for i in 0 1 2; do
		wait_listen "web$i" tcp 8080
		wait_listen "web$i" udp 5353
	done
	ctl svc-set "$VIP:80/tcp" 1 "${WEB[0]}:8080" "${WEB[1]}:8080" "${WEB[2]}:8080"
	ctl svc-set "$VIP:53/udp" 2 "${WEB[0]}:5353" "${WEB[1]}:5353" "${WEB[2]}:5353"
}

# clients_reach POD N MIN ID...: N connections to VIP:80 and N queries to
# VIP:53 from POD, none failed (every UDP reply from the VIP), each ID
# answering at least MIN of each.
clients_reach() {
	local pod=$1 n=$2 min=$3 out mode id
	shift 3
	for mode in "tcp-clients $VIP:80" "udp-clients $VIP:53"; do
		out=$(client "$pod" $mode "$n")
		log "$out"
		expect_no_failures "$out"
		for id in "$@"; do expect_spread "$out" "$id" "$min"; done
	done
}

# 300 of each over 3 backends: each backend >= 60 (expected 100, sigma 8.2)
spread_checks() { clients_reach client 300 60 web0 web1 web2; }

clusterip_packet_path() {
	web_pods
	spread_checks
	# 600 flows, >= 3 client packets per TCP flow; a UDP socket may reuse a
	# port still in conntrack, so that flow is a hit, not new
	[ "$(($(stat_of lb_new_flow) + $(stat_of lb_ct_hit)))" -ge 1200 ] ||
		fail "tc LB did not translate the flows: $(ctl stats | tr '\n' ' ')"
	[ "$(stat_of lb_new_flow)" -ge 550 ] || fail "too few new flows"
	[ "$(stat_of revnat)" -ge 600 ] || fail "replies were not reverse-NATed"
	[ "$(stat_of sock_connect_xlate)" -eq 0 ] || fail "socket LB ran without being attached"
}

clusterip_socket_lb() {
	web_pods
	socket_lb_on
	spread_checks
	[ "$(stat_of sock_connect_xlate)" -eq 300 ] || fail "connect() not translated 300 times"
	[ "$(stat_of sock_sendmsg_xlate)" -eq 300 ] || fail "sendmsg() not translated 300 times"
	[ "$(stat_of lb_new_flow)" -eq 0 ] || fail "packets to the VIP reached tc despite socket LB"
}

# The br_netfilter case: client and DNS server on the same node; the reply
# must come from the DNS service VIP.
dns_pods() {
	pod_add client 10.244.0.2
	pod_add dns 10.244.0.20
	command -v dnsmasq >/dev/null || fail "dnsmasq not installed (make deps)"
	bg_in_pod dns dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
		--user=root --group=root --listen-address=10.244.0.20 --bind-interfaces --port=53 \
		--pid-file="$WORK/dnsmasq.pid" --address=/web.bpfnet.test/10.96.0.80
	wait_listen dns udp 53
	ctl svc-set 10.96.0.10:53/udp 10 10.244.0.20:53
}

dns_queries() {
	local i
	for i in $(seq 1 20); do
		client client dns 10.96.0.10 web.bpfnet.test 10.96.0.80 || fail "query $i"
	done
}

dns_same_node_packet_path() {
	dns_pods
	dns_queries
	[ "$(stat_of revnat)" -ge 20 ] || fail "DNS replies were not reverse-NATed by tc"
}

dns_same_node_socket_lb() {
	dns_pods
	socket_lb_on
	dns_queries
	[ "$(stat_of sock_recvmsg_xlate)" -ge 20 ] || fail "recvmsg did not restore the VIP"
	[ "$(stat_of revnat)" -eq 0 ] || fail "tc reverse-NATed traffic socket LB had handled"
}

# Datagrams bigger than the pods' MTU travel in fragments both ways: only
# the first fragment has ports, yet every fragment must reach the backend
# the first went to, and every fragment of the echo must come from the VIP.
echo_pods() {
	local i
	pod_add client 10.244.0.2
	for i in 0 1 2; do
		pod_add "web$i" "${WEB[$i]}"
		bg_in_pod "web$i" "$NETTOOL" serve-udp-echo "${WEB[$i]}:7007"
	done
	for i in 0 1 2; do wait_listen "web$i" udp 7007; done
	ctl svc-set "$VIP:7/udp" 3 "${WEB[0]}:7007" "${WEB[1]}:7007" "${WEB[2]}:7007"
}

# 4000 bytes over MTU 1500: three fragments each way
echo_big() {
	local out
	out=$(client client udp-echo "$VIP:7" 4000 30) || fail "fragmented datagrams lost: $out"
	log "$out"
	expect_no_failures "$out"
	[ "$(stat_of drop_frag_first_unseen)" -eq 0 ] || fail "fragments dropped as orphans"
}

fragments_packet_path() {
	echo_pods
	echo_big
	# 30 datagrams, 3 fragments each, translated on the way in and out
	[ "$(stat_of frag_xlate)" -ge 180 ] || fail "fragments not translated by tc: $(ctl stats | tr '\n' ' ')"
}

fragments_socket_lb() {
	echo_pods
	socket_lb_on
	echo_big
	[ "$(stat_of sock_sendmsg_xlate)" -eq 30 ] || fail "sendmsg() not translated 30 times"
	[ "$(stat_of frag_xlate)" -eq 0 ] || fail "tc translated fragments socket LB had handled"
}

# Backends are added and removed (removed from the service first, stopped
# a moment later, as a graceful rollout does) while a client loop runs.
backend_churn() {
	local out loop_pid
	web_pods
	ctl svc-set "$VIP:80/tcp" 1 "${WEB[0]}:8080" "${WEB[1]}:8080"
	client client tcp-loop "$VIP:80" 6 >"$WORK/loop.out" 2>&1 &
	loop_pid=$!
	sleep 1
	ctl svc-set "$VIP:80/tcp" 1 "${WEB[0]}:8080" "${WEB[1]}:8080" "${WEB[2]}:8080"
	sleep 1
	ctl svc-set "$VIP:80/tcp" 1 "${WEB[1]}:8080" "${WEB[2]}:8080"
	sleep 0.5
	kill "${PIDS[0]}" # web0's TCP server: gone, like a terminated pod
	sleep 1
	ctl svc-set "$VIP:80/tcp" 1 "${WEB[2]}:8080"
	sleep 0.5
	kill "${PIDS[2]}" # web1's TCP server
	wait "$loop_pid" || true
	out=$(cat "$WORK/loop.out")
	log "$out"
	expect_no_failures "$out"
	for i in 0 1 2; do expect_spread "$out" "web$i" 1; done
}

backend_churn_packet_path() { backend_churn; }
backend_churn_socket_lb() {
	socket_lb_on
	backend_churn
}

# A pod reaching a service that picks the pod itself (hairpin).
hairpin_pod() {
	pod_add web0 "${WEB[0]}"
	bg_in_pod web0 "$NETTOOL" serve-tcp "${WEB[0]}:8080" web0
	bg_in_pod web0 "$NETTOOL" serve-udp "${WEB[0]}:5353" web0
	wait_listen web0 tcp 8080
	wait_listen web0 udp 5353
	ctl svc-set "$VIP:80/tcp" 1 "${WEB[0]}:8080"
	ctl svc-set "$VIP:53/udp" 2 "${WEB[0]}:5353"
}

hairpin_checks() { clients_reach web0 50 50 web0; }

# Routed back by the node's kernel first, then (pod registered in the
# endpoints map) redirected by tc straight back into the pod's veth.
hairpin_packet_path() {
	local ifindex
	hairpin_pod
	hairpin_checks
	[ "$(stat_of hairpin)" -ge 100 ] || fail "flows were not hairpinned: $(ctl stats | tr '\n' ' ')"
	ifindex=$(in_node ip -o link show lxcweb0 | cut -d: -f1)
	ctl endpoint-set "${WEB[0]}" "$ifindex" "$(in_pod web0 ip -o link show eth0 | mac_of)" \
		"$(in_node ip -o link show lxcweb0 | mac_of)"
	hairpin_checks
	[ "$(stat_of local_delivery)" -ge 200 ] || fail "hairpinned packets were not redirected"
}

hairpin_socket_lb() {
	hairpin_pod
	socket_lb_on
	hairpin_checks
	[ "$(stat_of sock_connect_xlate)" -eq 50 ] || fail "connect() not translated 50 times"
	[ "$(stat_of hairpin)" -eq 0 ] || fail "tc saw flows socket LB had translated"
}

# A service without endpoints is refused at once, never a timeout.
no_backend_refused() {
	pod_add client 10.244.0.2
	ctl svc-set 10.96.0.99:80/tcp 20
	ctl svc-set 10.96.0.99:53/udp 21
	client client expect-refused tcp 10.96.0.99:80 500 || fail "TCP not refused fast"
	client client expect-refused udp 10.96.0.99:53 500 || fail "UDP not refused fast"
	[ "$(stat_of drop_no_backend)" -ge 2 ] || fail "rejections not counted"
}

no_backend_refused_packet_path() {
	no_backend_refused
	[ "$(stat_of reject_tcp_rst)" -ge 1 ] || fail "no RST sent by tc"
	[ "$(stat_of reject_icmp_unreach)" -ge 1 ] || fail "no ICMP sent by tc"
}

no_backend_refused_socket_lb() {
	socket_lb_on
	no_backend_refused
	[ "$(stat_of sock_reject_no_backend)" -ge 2 ] || fail "socket LB did not reject"
}

run_case clusterip_packet_path clusterip_packet_path
run_case clusterip_socket_lb clusterip_socket_lb
run_case dns_same_node_packet_path dns_same_node_packet_path
run_case dns_same_node_socket_lb dns_same_node_socket_lb
run_case backend_churn_packet_path backend_churn_packet_path
run_case backend_churn_socket_lb backend_churn_socket_lb
run_case fragments_packet_path fragments_packet_path
run_case fragments_socket_lb fragments_socket_lb
run_case hairpin_packet_path hairpin_packet_path
run_case hairpin_socket_lb hairpin_socket_lb
run_case no_backend_refused_packet_path no_backend_refused_packet_path
run_case no_backend_refused_socket_lb no_backend_refused_socket_lb
