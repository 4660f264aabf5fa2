#!/usr/bin/env bash
# Datapath hardening with real packets: spoofed sources, clients that reuse
# their ports at full speed, and conntrack under pressure.
set -u
. "$(dirname "$0")/lib.sh"

VIP=10.96.0.1

# A pod with a raw socket sends with other addresses: none of it gets in.
spoofed_source_is_dropped() {
	local out
	pod_add client 10.244.0.2
	pod_add victim 10.244.0.3
	pod_add server 10.244.0.10
	bg_in_pod server "$NETTOOL" udp-count 10.244.0.10:9000 3 # prints when done
	wait_listen server udp 9000
	client client udp-spoof 10.244.0.3 10.244.0.10:9000 5 >/dev/null # another pod's
	client client udp-spoof 10.244.9.9 10.244.0.10:9000 5 >/dev/null # nobody's
	client client udp-spoof 10.244.0.2 10.244.0.10:9000 3 >/dev/null # its own
	wait "${PIDS[-1]}" || true
	out=$(grep '^received' "$WORK/servers.log")
	log "server: $out; counters: $(ctl stats | grep -E 'invalid_source' | tr '\n' ' ')"
	[ "$out" = "received 3" ] || fail "spoofed datagrams got through: $out, want 3"
	[ "$(stat_of drop_invalid_source)" -ge 10 ] || fail "spoofed datagrams not counted"
}

# A client that closes with RST reuses its few source ports at once, over
# and over (500: connect() takes the even ones of its 1,000), through a
# ClusterIP with three backends on the packet path. Every connection must
# work, and each port must leave one flow's two entries behind: before,
# the reply entries of earlier connections stayed, one per backend, until
# the table overflowed into live flows.
port_reuse_at_full_speed() {
	local out i n
	pod_add client 10.244.0.2
	in_pod client sysctl -qw net.ipv4.ip_local_port_range="40000 40999"
	for i in 0 1 2; do
		pod_add "web$i" "10.244.0.1$i"
		bg_in_pod "web$i" "$NETTOOL" serve-rr "10.244.0.1$i:8080"
	done
	for i in 0 1 2; do wait_listen "web$i" tcp 8080; done
	ctl svc-set "$VIP:80/tcp" 1 10.244.0.10:8080 10.244.0.11:8080 10.244.0.12:8080
	out=$(client client crr "$VIP:80" 4 6 2>&1) || true
	n=$(ctl count ct_tcp_v2)
	log "$out; $n TCP entries; $(ctl stats | grep -E 'reopen|lb_new|lost' | tr '\n' ' ')"
	grep -q ' fail 0 ' <<<"$out" || fail "connections failed: $out"
	[ "$(stat_of ct_reopen)" -ge 1000 ] || fail "the client did not reuse its ports"
	[ "$n" -le 1100 ] || fail "$n entries for 500 ports: old flows' entries pile up"
}

run_case spoofed_source_is_dropped spoofed_source_is_dropped
run_case port_reuse_at_full_speed port_reuse_at_full_speed
