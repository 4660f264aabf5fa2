#!/usr/bin/env bash
# bpfnetd end to end: the agent runs in the node namespace with a services
# file; pods reach services through it while the file changes, while the
# agent is killed and restarted, and with malformed objects in the input.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent_lib.sh"

# write_services ITEM... : replace the file atomically, as kubectl > tmp && mv would
write_services() {
	local IFS=,
	printf '{"apiVersion":"v1","kind":"List","items":[%s]}\n' "$*" >"$WORK/services.json.tmp"
	mv "$WORK/services.json.tmp" "$WORK/services.json"
}

start_agent() {
	nsenter --net="/run/netns/$NODE_NS" "$AGENT" --services-file "$WORK/services.json" \
		--pin-dir "$PIN" --cgroup "${CGROUP:-none}" --http-addr "$HTTP" "$@" \
		>>"$WORK/agent.log" 2>&1 &
	AGENT_PID=$!
	PIDS+=("$AGENT_PID")
	wait_ready
}


agent_serves_a_service() {
	local out
	command -v curl >/dev/null || fail "curl not installed (make deps)"
	web_pods 2
	write_services "$(service default web 10.96.0.80 80 TCP)" \
		"$(slice default web-1 web TCP 8080 10.244.0.10 10.244.0.11)"
	start_agent
	out=$(client client tcp-clients 10.96.0.80:80 100)
	expect_no_failures "$out"
	expect_spread "$out" web0 20
	expect_spread "$out" web1 20
	[ "$(metric 'bpfnet_objects{kind="service"}')" = 1 ] || fail "objects metric"
	[ "$(metric bpfnet_frontends)" = 1 ] || fail "frontends metric"
	[ "$(metric bpfnet_ready)" = 1 ] || fail "ready metric"
	http_get /healthz | has ok || fail "healthz"
	"$CLI" --pin-dir "$PIN" service list | has "default/web:p" || fail "name not written"
}

# Scale up, roll (terminating first, removed later, server stopped last)
# while a client loop runs: not one failed connection.
agent_scale_and_roll_without_failures() {
	web_pods 3
	write_services "$(service default web 10.96.0.80 80 TCP)" \
		"$(slice default web-1 web TCP 8080 10.244.0.10 10.244.0.11)"
	start_agent
	loop_start 7
	sleep 1
	write_services "$(service default web 10.96.0.80 80 TCP)" \
		"$(slice default web-1 web TCP 8080 10.244.0.10 10.244.0.11 10.244.0.12)"
	sleep 1.5
	# web0 starts terminating: out of rotation while ready ones exist
	write_services "$(service default web 10.96.0.80 80 TCP)" \
		"$(slice default web-1 web TCP 8080 10.244.0.10:terminating 10.244.0.11 10.244.0.12)"
	sleep 1
	write_services "$(service default web 10.96.0.80 80 TCP)" \
		"$(slice default web-1 web TCP 8080 10.244.0.11 10.244.0.12)"
	sleep 0.5
	kill "${PIDS[0]}" # web0's TCP server stops after it left the service
	sleep 1
	# scale down to one: web1 terminates first, then leaves
	write_services "$(service default web 10.96.0.80 80 TCP)" \
		"$(slice default web-1 web TCP 8080 10.244.0.11:terminating 10.244.0.12)"
	sleep 0.5
	write_services "$(service default web 10.96.0.80 80 TCP)" \
		"$(slice default web-1 web TCP 8080 10.244.0.12)"
	log "agent: $(grep -c 'services file applied' "$WORK/agent.log") file versions applied"
	loop_expect_no_failures
	expect_spread "$(cat "$WORK/loop.out")" web2 1
	[ "$(metric 'bpfnet_syncs_total{kind="service"}')" -ge 5 ] || fail "changes not synced"
}

# kill -9 mid-traffic and start again: the datapath never stops, and the
# new agent rewrites nothing that did not change.
agent_kill9_restart_hitless() {
	web_pods 2
	write_services "$(service default web 10.96.0.80 80 TCP)" \
		"$(slice default web-1 web TCP 8080 10.244.0.10 10.244.0.11)"
	start_agent
	loop_start 5
	sleep 1
	kill -9 "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null || true
	sleep 1.5 # traffic without any agent
	start_agent
	[ "$(metric 'bpfnet_map_writes_total{op="service_write"}')" = 0 ] ||
		fail "restart rewrote services: $(http_get /metrics | grep map_writes)"
	loop_expect_no_failures
	grep -q "adopted_frontends=1" "$WORK/agent.log" || fail "pinned state not adopted"
}

# While the agent is down a service goes away; the new agent sweeps it.
agent_restart_sweeps_deleted_services() {
	web_pods 1
	write_services "$(service default web 10.96.0.80 80 TCP)" \
		"$(slice default web-1 web TCP 8080 10.244.0.10)" \
		"$(service default old 10.96.0.81 80 TCP)" "$(slice default old-1 old TCP 8080 10.244.0.10)"
	start_agent
	kill "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null || true
	write_services "$(service default web 10.96.0.80 80 TCP)" \
		"$(slice default web-1 web TCP 8080 10.244.0.10)"
	start_agent
	"$CLI" --pin-dir "$PIN" service get 10.96.0.81:80 >/dev/null 2>&1 && fail "old service kept"
	client client expect-refused tcp 10.96.0.81:80 2000 >/dev/null 2>&1 &&
		fail "swept VIP still answers"
	client client tcp-clients 10.96.0.80:80 5 >/dev/null || fail "web broken by the sweep"
}

# One malformed object is rejected alone; the rest keeps working.
agent_rejects_malformed_object_alone() {
	web_pods 2
	write_services "$(service default web 10.96.0.80 80 TCP)" \
		"$(slice default web-1 web TCP 8080 10.244.0.10)" \
		'{"apiVersion":"v1","kind":"Service","metadata":{"name":"bad","namespace":"default"},"spec":{"clusterIP":"10.96.0.99","ports":[{"port":"eighty"}]}}' \
		"$(service default other 10.96.0.81 80 TCP)" "$(slice default other-1 other TCP 8080 10.244.0.11)"
	start_agent
	client client tcp-clients 10.96.0.80:80 5 >/dev/null || fail "web not served"
	client client tcp-clients 10.96.0.81:80 5 >/dev/null || fail "other not served"
	[ "$(metric 'bpfnet_rejected_objects_total{kind="service"}')" = 1 ] || fail "reject not counted"
	grep -q 'msg=object rejected kind=Service object=default/bad' "$WORK/agent.log" ||
		fail "reject not logged"
	# a file that is not JSON keeps the state that was serving
	echo '{ broken' >"$WORK/services.json"
	sleep 0.5
	client client tcp-clients 10.96.0.80:80 5 >/dev/null || fail "state lost on a broken file"
	# so does a List cut short: not even its complete first objects apply
	printf '{"apiVersion":"v1","kind":"List","items":[%s,%s' \
		"$(service default third 10.96.0.82 80 TCP)" \
		"$(slice default third-1 third TCP 8080 10.244.0.10)" | head -c -40 >"$WORK/services.json"
	sleep 0.5
	grep -q 'msg=services file rejected.*previous state kept' "$WORK/agent.log" ||
		fail "cut file not reported"
	! "$CLI" --pin-dir "$PIN" service get 10.96.0.82:80/tcp >/dev/null 2>&1 ||
		fail "part of a cut file was applied"
	client client tcp-clients 10.96.0.80:80 5 >/dev/null || fail "state lost on a cut file"
	client client tcp-clients 10.96.0.81:80 5 >/dev/null || fail "state lost on a cut file"
}

# Two services claim one VIP:port: the first keeps it; when it goes, the
# other takes over without any change to itself.
agent_refused_service_takes_over_when_the_holder_goes() {
	local out
	web_pods 2
	write_services "$(service default first 10.96.0.80 80 TCP)" \
		"$(slice default first-1 first TCP 8080 10.244.0.10)" \
		"$(service default second 10.96.0.80 80 TCP)" \
		"$(slice default second-1 second TCP 8080 10.244.0.11)"
	start_agent
	out=$(client client tcp-clients 10.96.0.80:80 20)
	expect_spread "$out" web0 20
	[ "$(metric 'bpfnet_map_errors_total{cause="frontend_conflict"}')" -ge 1 ] ||
		fail "conflict not counted"
	write_services "$(service default second 10.96.0.80 80 TCP)" \
		"$(slice default second-1 second TCP 8080 10.244.0.11)"
	wait_for sh -c "$CLI --pin-dir $PIN service get 10.96.0.80:80/tcp | grep -q default/second"
	out=$(client client tcp-clients 10.96.0.80:80 20)
	expect_no_failures "$out"
	expect_spread "$out" web1 20
}

# A removed UDP backend: its conntrack entries are flushed, so the client's
# next query (same source port) goes to a live backend at once.
agent_udp_backend_removal_flushes_conntrack() {
	local first other j
	web_pods 2
	write_services "$(service default dns 10.96.0.10 53 UDP)" \
		"$(slice default dns-1 dns UDP 5353 10.244.0.10 10.244.0.11)"
	start_agent
	first=$(client client udp-from 40053 10.96.0.10:53 | awk '{ print $2 }')
	[ -n "$first" ] || fail "no answer"
	other=web1
	[ "$first" = web1 ] && other=web0
	write_services "$(service default dns 10.96.0.10 53 UDP)" \
		"$(slice default dns-1 dns UDP 5353 10.244.0.1${other#web})"
	wait_for sh -c "! $CLI --pin-dir $PIN ct list --port 40053 | grep -q 10.244.0.1${first#web}"
	[ "$(client client udp-from 40053 10.96.0.10:53 | awk '{ print $2 }')" = "$other" ] ||
		fail "the flow still went to the removed backend"
	[ "$(metric bpfnet_conntrack_flushed_total)" -ge 2 ] || fail "flush not counted"
}

# Conntrack garbage collection: flows that ended (RST-closed connections
# live 10 s for their in-flight packets) are deleted by the agent's sweep
# and counted; the table is left with what is alive.
agent_conntrack_gc_collects_closed_flows() {
	local i left
	pod_add client 10.244.0.2
	for i in 0 1; do
		pod_add "web$i" "10.244.0.1$i"
		bg_in_pod "web$i" "$NETTOOL" serve-rr "10.244.0.1$i:8080"
	done
	for i in 0 1; do wait_listen "web$i" tcp 8080; done
	write_services "$(service default web 10.96.0.80 80 TCP)" \
		"$(slice default web-1 web TCP 8080 10.244.0.10 10.244.0.11)"
	start_agent --conntrack-gc-interval 1
	client client crr 10.96.0.80:80 2 1 >/dev/null || fail "connections failed"
	[ "$(ctl count ct_tcp_v2)" -ge 20 ] || fail "no flows tracked"
	wait_long 20 sh -c "[ \$($TESTCTL --pin-dir $PIN count ct_tcp_v2) = 0 ]"
	left=$(metric 'bpfnet_conntrack_gc_deleted_total{reason="expired"}')
	log "collected $left entries; $(http_get /metrics | grep -E '^bpfnet_conntrack_(flows|entries)' | tr '\n' ' ')"
	[ "${left:-0}" -ge 20 ] || fail "collections not counted: $left"
	[ "$(metric 'bpfnet_conntrack_gc_runs_total')" -ge 2 ] || fail "no sweeps counted"
	http_get /metrics | has 'bpfnet_conntrack_flows{table="tcp",state="closed"}' ||
		fail "no flow states exported"
}

# Short UDP flows fill their table (sized small here) while one TCP
# connection sits idle between its requests: it keeps its backend and state.
agent_udp_flood_spares_idle_tcp_connections() {
	local out
	web_pods 2
	for i in 0 1; do bg_in_pod "web$i" "$NETTOOL" serve-rr "10.244.0.1$i:9090"; done
	for i in 0 1; do wait_listen "web$i" tcp 9090; done
	write_services "$(service default rr 10.96.0.80 90 TCP)" \
		"$(slice default rr-1 rr TCP 9090 10.244.0.10 10.244.0.11)" \
		"$(service default dns 10.96.0.10 53 UDP)" \
		"$(slice default dns-1 dns UDP 5353 10.244.0.10 10.244.0.11)"
	start_agent --max-conntrack-other 256
	client client tcp-hold 10.96.0.80:90 4 6 >"$WORK/hold.out" 2>&1 &
	local hold=$!
	sleep 0.5
	out=$(client client udp-clients 10.96.0.10:53 2000) # 4,000 entries into 256
	expect_no_failures "$out"
	wait "$hold" || fail "idle connections broke: $(cat "$WORK/hold.out")"
	log "held: $(cat "$WORK/hold.out")"
}

# Socket LB attached by the agent itself; same-node DNS through it.
agent_socket_lb_same_node_dns() {
	pod_add client 10.244.0.2
	pod_add dns 10.244.0.20
	bg_in_pod dns dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
		--user=root --group=root --listen-address=10.244.0.20 --bind-interfaces --port=53 \
		--address=/web.default.svc.cluster.local/10.96.0.80
	wait_listen dns udp 53
	CGROUP="$(cgroup2_root)/bpfnet-it-$$-$RANDOM"
	mkdir "$CGROUP"
	write_services "$(service kube-system kube-dns 10.96.0.10 53 UDP)" \
		"$(slice kube-system kube-dns-1 kube-dns UDP 53 10.244.0.20)"
	start_agent
	client client dns 10.96.0.10 web.default.svc.cluster.local 10.96.0.80 || fail "DNS"
	[ "$(stat_of sock_recvmsg_xlate)" -ge 1 ] || fail "socket LB not used"
}

# --cleanup removes the socket LB links and every pin.
agent_cleanup_removes_everything() {
	local left
	CGROUP="$(cgroup2_root)/bpfnet-it-$$-$RANDOM"
	mkdir "$CGROUP"
	write_services "$(service default web 10.96.0.80 80 TCP)"
	start_agent
	bpftool cgroup show "$CGROUP" | has connect4 || fail "socket LB not attached"
	kill "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null || true
	bpftool cgroup show "$CGROUP" | has connect4 || fail "SIGTERM detached socket LB"
	"$AGENT" --cleanup --pin-dir "$PIN" >>"$WORK/agent.log" 2>&1 ||
		fail "cleanup failed: $(tail -n 3 "$WORK/agent.log")"
	[ -z "$(bpftool cgroup show "$CGROUP" | tail -n +2)" ] || fail "socket LB still attached"
	left=$(ls "$PIN" 2>/dev/null || true) # the directory itself goes too
	[ -z "$left" ] || fail "pins left: $left"
}

# The programs load while the first sync runs; a sync that finishes first
# must not make the agent ready, and a datapath that fails ends the agent.
agent_not_ready_without_its_datapath() {
	local rc=0
	write_services "$(service default web 10.96.0.80 80 TCP)" \
		"$(slice default web-1 web TCP 8080 10.244.0.10)"
	nsenter --net="/run/netns/$NODE_NS" "$AGENT" --services-file "$WORK/services.json" \
		--pin-dir "$PIN" --cgroup "$WORK/no-such-cgroup" --http-addr "$HTTP" \
		>>"$WORK/agent.log" 2>&1 &
	AGENT_PID=$!
	PIDS+=("$AGENT_PID")
	wait "$AGENT_PID" || rc=$?
	[ "$rc" = 1 ] || fail "agent exit status $rc, want 1"
	grep -q 'msg=attach failed' "$WORK/agent.log" || fail "no attach error logged"
	grep -q 'msg=services file applied' "$WORK/agent.log" || fail "the sync did not run alongside"
	! grep -q 'msg=ready' "$WORK/agent.log" || fail "ready without a datapath"
}

run_case agent_serves_a_service agent_serves_a_service
run_case agent_not_ready_without_its_datapath agent_not_ready_without_its_datapath
run_case agent_scale_and_roll_without_failures agent_scale_and_roll_without_failures
run_case agent_kill9_restart_hitless agent_kill9_restart_hitless
run_case agent_restart_sweeps_deleted_services agent_restart_sweeps_deleted_services
run_case agent_rejects_malformed_object_alone agent_rejects_malformed_object_alone
run_case agent_refused_service_takes_over_when_the_holder_goes agent_refused_service_takes_over_when_the_holder_goes
run_case agent_udp_backend_removal_flushes_conntrack agent_udp_backend_removal_flushes_conntrack
run_case agent_conntrack_gc_collects_closed_flows agent_conntrack_gc_collects_closed_flows
run_case agent_udp_flood_spares_idle_tcp_connections agent_udp_flood_spares_idle_tcp_connections
run_case agent_socket_lb_same_node_dns agent_socket_lb_same_node_dns
run_case agent_cleanup_removes_everything agent_cleanup_removes_everything
