#!/usr/bin/env bash
# The bpfnet CLI against maps written through the map library: golden
# tables, parsed JSON, exit codes; monitor sees a drop caused by a test
# packet; explain agrees with what the datapath did for the same flow.
set -u
. "$(dirname "$0")/lib.sh"

CLI=$BIN/tests/bpfnet # sanitized build of build/bin/bpfnet
GOLDEN=$(realpath "$(dirname "$0")/../golden")

cli() { "$CLI" --pin-dir "$PIN" "$@"; }

# The same maps for every table/JSON case.
cli_fixture() {
	ctl svc-set 10.96.0.1:80/tcp 1:0x1 10.244.0.11:8080 10.244.0.12:8080 # ClusterIP
	ctl svc-set 10.96.0.10:53/udp 2:0x11 10.244.0.20:53 # ClusterIP, ClientIP affinity
	ctl svc-set 10.96.0.99:80/tcp 3:0x6 # ExternalIP, LoadBalancer
	ctl name-set 1 default/web:http
	ctl name-set 2 kube-system/kube-dns:dns
	ctl endpoint-set 10.244.0.11 7 02:00:00:00:00:0b 02:00:00:00:01:0b
}

# expect_golden NAME CMD...: output equals tests/golden/NAME.txt
# (UPDATE_GOLDEN=1 rewrites the file instead)
expect_golden() {
	local name=$1 out
	shift
	out=$("$@") || fail "$* exited $?"
	if [ -n "${UPDATE_GOLDEN:-}" ]; then
		printf '%s\n' "$out" >"$GOLDEN/$name.txt"
		return
	fi
	diff -u "$GOLDEN/$name.txt" <(printf '%s\n' "$out") || fail "$name differs from its golden file"
}

cli_tables() {
	cli_fixture
	expect_golden service-list cli service list
	expect_golden service-get cli service get 10.96.0.1:80
	expect_golden backend-list cli backend list
	expect_golden nat-list cli nat list
	expect_golden endpoint-list cli endpoint list
	expect_golden maps cli maps
	expect_golden explain-new-flow cli explain 10.244.0.2 10.96.0.1:80/tcp
	expect_golden explain-no-backend cli explain 10.244.0.2 10.96.0.99:80/tcp
	expect_golden explain-not-service cli explain 10.244.0.2 10.244.0.11:8080/tcp
}

# jq_expect JSON FILTER: the filter must yield true
jq_expect() {
	jq -e "$2" >/dev/null <<<"$1" || fail "JSON check failed: $2 on: $(head -c 600 <<<"$1")"
}

cli_json() {
	local j
	cli_fixture
	j=$(cli -o json service list)
	jq_expect "$j" 'length == 3'
	jq_expect "$j" '.[0] | .frontend == "10.96.0.1:80/tcp" and .vip == "10.96.0.1" and .port == 80
		and .protocol == "tcp" and .name == "default/web:http" and .id == 1
		and (.backends | length) == 2 and .backends[0].slot == 1
		and .backends[0].address == "10.244.0.11" and .backends[0].port == 8080
		and .backends[0].state == "active" and .flags == ["cluster_ip"]'
	jq_expect "$j" '.[2].backends == [] and .[2].id == 3'
	j=$(cli service get 10.96.0.10:53/udp -o json)
	jq_expect "$j" 'length == 1 and .[0].name == "kube-system/kube-dns:dns"
		and .[0].flags == ["cluster_ip", "affinity_client_ip"]'
	j=$(cli -o json backend list)
	jq_expect "$j" 'length == 3 and all(.[]; has("backend_id") and has("address") and has("port")
		and has("protocol") and has("state"))'
	j=$(cli -o json nat list)
	jq_expect "$j" 'map(.revnat_id) == [1, 2, 3] and .[1].vip == "10.96.0.10" and .[1].port == 53'
	j=$(cli -o json endpoint list)
	jq_expect "$j" '.[0] | .address == "10.244.0.11" and .ifindex == 7
		and .pod_mac == "02:00:00:00:00:0b" and .host_mac == "02:00:00:00:01:0b"'
	j=$(cli -o json stats)
	jq_expect "$j" '.verdicts.lb_new_flow.packets == 0 and .drops.no_backend.packets == 0
		and (.verdicts | length) > 10 and (.drops | length) > 5'
	j=$(cli -o json maps)
	jq_expect "$j" 'map(select(.name == "svc_v1"))[0] | .entries == 3 and .capacity == 65536'
	jq_expect "$j" 'map(select(.name == "events_v1"))[0].entries == null'
	j=$(cli -o json ct list)
	jq_expect "$j" '. == []'
	j=$(cli -o json ct flush)
	jq_expect "$j" '.deleted == 0'
	j=$(cli -o json version)
	jq_expect "$j" '.map_layout == 1 and (.version | length) > 0'
	j=$(cli -o json explain 10.244.0.2 10.96.0.99:80/tcp)
	jq_expect "$j" '.verdict == "reject" and .service.id == 3'
}

cli_errors() {
	local rc out cmd
	# empty maps: headers only, exit 0
	out=$(cli service list)
	[ "$(wc -l <<<"$out")" -eq 1 ] && [[ $out == FRONTEND* ]] || fail "empty service list: $out"
	jq_expect "$(cli -o json service list)" '. == []'
	cli_fixture
	# usage errors exit 2, operational errors 1, with {"error": ...} for -o json
	rc=0; cli bogus >/dev/null 2>&1 || rc=$?
	[ $rc -eq 2 ] || fail "unknown command exited $rc, want 2"
	rc=0; cli service get nonsense >/dev/null 2>&1 || rc=$?
	[ $rc -eq 2 ] || fail "bad argument exited $rc, want 2"
	rc=0; out=$(cli -o json service get 10.1.2.3:80) || rc=$?
	[ $rc -eq 1 ] || fail "missing service exited $rc, want 1"
	jq_expect "$out" '.error | test("no service")'
	rc=0; out=$("$CLI" --pin-dir "$WORK/nowhere" -o json service list) || rc=$?
	[ $rc -eq 1 ] || fail "missing pin dir exited $rc, want 1"
	jq_expect "$out" '.error | test("does not exist")'
	rc=0; cli ct list --dir sideways >/dev/null 2>&1 || rc=$?
	[ $rc -eq 2 ] || fail "bad filter exited $rc, want 2"
	# every command has --help, exiting 0
	"$CLI" --help >/dev/null || fail "bpfnet --help"
	while read -r cmd; do
		# shellcheck disable=SC2086
		"$CLI" $cmd --help | has "^usage: bpfnet" || fail "$cmd --help"
	done < <("$CLI" --help | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ {
		if ($2 ~ /^[a-z]+$/) print $1, $2; else print $1 }')
}

# Real flows in namespaces: conntrack listing and flush.
cli_conntrack() {
	local j
	pod_add client 10.244.0.2
	pod_add dns 10.244.0.20
	bg_in_pod dns "$NETTOOL" serve-udp 10.244.0.20:53 dns
	wait_listen dns udp 53
	ctl svc-set 10.96.0.10:53/udp 2 10.244.0.20:53
	client client udp-from 40001 10.96.0.10:53 >/dev/null || fail "query"
	client client udp-from 40002 10.96.0.10:53 >/dev/null || fail "query"
	j=$(cli -o json ct list --src 10.244.0.2 --dir service)
	jq_expect "$j" 'length == 2 and all(.[]; .dst == "10.96.0.10" and .dport == 53
		and .protocol == "udp" and .service_id == 2)'
	j=$(cli -o json ct list --port 40001)
	jq_expect "$j" 'length == 2 and (map(.direction) | sort) == ["reply", "service"]'
	jq_expect "$j" 'map(select(.direction == "reply"))[0] | .src == "10.244.0.20" and .sport == 53
		and (.flags | test("replied"))'
	j=$(cli -o json ct flush --port 40001)
	jq_expect "$j" '.deleted == 2'
	j=$(cli -o json ct list)
	jq_expect "$j" 'length == 2 and all(.[]; .sport == 40002 or .dport == 40002)'
	cli ct list | has "10.244.0.2:40002" || fail "table lacks the flow"
}

# A packet to a service without backends is dropped (answered with ICMP);
# monitor reports the drop with its reason and restores the switch on exit.
monitor_sees_drop() {
	local out mon_pid i
	pod_add client 10.244.0.2
	ctl svc-set 10.96.0.99:53/udp 21
	[ "$(ctl config)" -eq 0 ] || fail "monitoring on before anyone asked"
	cli -o json monitor --type drop --count 1 --duration 20 >"$WORK/mon.out" 2>&1 &
	mon_pid=$!
	for i in $(seq 1 100); do [ "$(ctl config)" -ne 0 ] && break; sleep 0.05; done
	[ "$(ctl config)" -ne 0 ] || fail "monitor did not switch events on"
	client client expect-refused udp 10.96.0.99:53 500 >/dev/null || fail "not refused"
	wait "$mon_pid" || fail "monitor exited with an error: $(cat "$WORK/mon.out")"
	out=$(head -n 1 "$WORK/mon.out")
	log "$out"
	jq_expect "$out" '.type == "drop" and .reason == "no_backend" and .protocol == "udp"
		and .src == "10.244.0.2" and .dst == "10.96.0.99" and .dport == 53 and .ifindex > 0'
	[ "$(ctl config)" -eq 0 ] || fail "monitor left events switched on"
	# human output too, for an LB decision
	pod_add dns 10.244.0.20
	bg_in_pod dns "$NETTOOL" serve-udp 10.244.0.20:53 dns
	wait_listen dns udp 53
	ctl svc-set 10.96.0.10:53/udp 2 10.244.0.20:53
	cli monitor --type lb --count 1 --duration 20 >"$WORK/mon2.out" 2>/dev/null &
	mon_pid=$!
	for i in $(seq 1 100); do [ "$(ctl config)" -ne 0 ] && break; sleep 0.05; done
	client client udp-from 40100 10.96.0.10:53 >/dev/null || fail "query"
	wait "$mon_pid" || fail "monitor failed"
	grep -q "LB .*10.244.0.2:40100 -> 10.96.0.10:53 udp => 10.244.0.20:53" "$WORK/mon2.out" ||
		fail "no LB line: $(cat "$WORK/mon2.out")"
}

# explain names the backend that actually answered the flow.
explain_agrees_with_datapath() {
	local i id j want sport host_if ifindex
	pod_add client 10.244.0.2
	for i in 1 2 3; do
		pod_add "b$i" "10.244.0.2$i"
		bg_in_pod "b$i" "$NETTOOL" serve-udp "10.244.0.2$i:53" "b$i"
	done
	for i in 1 2 3; do wait_listen "b$i" udp 53; done
	ctl svc-set 10.96.0.10:53/udp 2 10.244.0.21:53 10.244.0.22:53 10.244.0.23:53
	for sport in 41001 41002 41003 41004 41005 41006; do
		id=$(client client udp-from "$sport" 10.96.0.10:53 | awk '{ print $2 }')
		want=10.244.0.2${id#b}
		j=$(cli -o json explain "10.244.0.2:$sport" 10.96.0.10:53/udp)
		jq_expect "$j" ".verdict == \"translate\" and .backend.address == \"$want\"
			and .backend.port == 53 and .delivery.address == \"$want\""
	done
	# the backend of flow 41001, registered as a local endpoint, shows up
	# as local delivery on its host veth
	id=$(cli -o json explain 10.244.0.2:41001 10.96.0.10:53/udp | jq -r .backend.address)
	host_if=$(in_node ip -o link show "lxcb${id##*.2}" | awk -F': ' '{ print $1 }')
	ctl endpoint-set "$id" "$host_if" 02:00:00:00:00:21 02:00:00:00:01:21
	j=$(cli -o json explain 10.244.0.2:41001 10.96.0.10:53/udp)
	jq_expect "$j" ".delivery.local == true and .delivery.ifindex == $host_if"
	j=$(cli -o json explain 10.244.0.2 10.96.0.10:53/udp)
	jq_expect "$j" '.candidates | length == 3'
	# the reply of that flow is explained as reverse NAT to the VIP
	j=$(cli -o json explain "$id:53" 10.244.0.2:41001/udp)
	jq_expect "$j" '.verdict == "reverse_nat" and .reply_source == "10.96.0.10:53"'
}

run_case cli_tables cli_tables
run_case cli_json cli_json
run_case cli_errors cli_errors
run_case cli_conntrack cli_conntrack
run_case monitor_sees_drop monitor_sees_drop
run_case explain_agrees_with_datapath explain_agrees_with_datapath
