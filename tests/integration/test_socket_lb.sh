#!/usr/bin/env bash
# Socket LB as the agent runs it for pods wired by the CNI plugin.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent_lib.sh"
. "$(dirname "$0")/cni_lib.sh"

services() { # services EP...: the DNS service on these endpoints
	printf '{"kind":"List","items":[%s,%s]}\n' "$(service kube-system dns 10.96.0.10 53 UDP)" \
		"$(slice kube-system dns-1 dns UDP 5353 "$@")" >"$WORK/services.json.tmp"
	mv "$WORK/services.json.tmp" "$WORK/services.json"
}

# A DNS client keeps one connected UDP socket, which socket LB pointed at
# a backend in connect(). That backend leaves the service (its pod still
# runs, as during a rolling update): on kernels with bpf_sock_destroy the
# agent ends the socket, the client connects again and reaches the backend
# that is left. Older kernels cannot: the socket keeps its backend until
# the client reconnects on its own (the documented limit, checked as such).
connected_udp_socket_of_a_removed_backend() {
	local out supported
	CGROUP="$(cgroup2_root)/bpfnet-it-$$-$RANDOM"
	mkdir "$CGROUP"
	for p in dns1 dns2 client; do
		add_pod "$p" >/dev/null || fail "ADD $p"
	done
	bg_in_pod dns1 "$NETTOOL" serve-udp "$(pod_ip dns1):5353" dns1
	bg_in_pod dns2 "$NETTOOL" serve-udp "$(pod_ip dns2):5353" dns2
	wait_listen dns1 udp 5353
	wait_listen dns2 udp 5353
	services "$(pod_ip dns1)"
	start_datapath --cgroup "$CGROUP" --state-dir "$WORK/state"
	[ -s "$WORK/state/pods/cid-client_eth0" ] || fail "the CNI plugin recorded no pod namespace"
	client client udp-connected-loop 10.96.0.10:53 4 >"$WORK/dns.out" 2>&1 &
	local loop=$!
	sleep 1.5
	services "$(pod_ip dns2)" # dns1 leaves
	wait "$loop" || true
	out=$(cat "$WORK/dns.out")
	supported=$(metric bpfnet_udp_socket_destroy_supported)
	log "destroy supported: $supported; client: $(tr '\n' ' ' <<<"$out")"
	grep -q 'fail 0$' <<<"$out" || fail "queries failed: $out"
	if [ "$supported" = 1 ]; then
		grep -q '^aborted [1-9]' <<<"$out" || fail "the socket was not ended: $out"
		expect_spread "$out" dns2 5
		[ "$(metric bpfnet_udp_sockets_destroyed_total)" -ge 1 ] || fail "not counted"
	else
		grep -q '^aborted 0' <<<"$out" || fail "a socket ended without bpf_sock_destroy?"
		expect_spread "$out" dns1 40 # keeps its backend, as documented
	fi
	conf | cni DEL cid-client eth0 "/run/netns/$(pod_ns client)" >/dev/null
	[ ! -e "$WORK/state/pods/cid-client_eth0" ] || fail "DEL left the pod's record"
}

run_case connected_udp_socket_of_a_removed_backend connected_udp_socket_of_a_removed_backend
