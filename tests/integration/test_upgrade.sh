#!/usr/bin/env bash
# Upgrades under traffic: a new agent must bring every pod already running
# onto its datapath program, and take over the maps of an older layout,
# without one failed connection.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent_lib.sh"
. "$(dirname "$0")/cni_lib.sh"

VIP=10.96.0.80
PREVIOUS=$BIN/previous # tests/helpers/build-previous.sh, run by make test

pinned_prog() { bpftool prog show pinned "$PIN/prog_from_container_v1" -j | jq -r .id; }
# the program bpfnet's filter runs on a host veth
running_prog() { in_node tc filter show dev "$1" ingress | sed -n 's/.* id \([0-9]*\) .*/\1/p'; }

# pods web1 web2 (serve-rr and serve-tcp) and client, through PLUGIN;
# then the service VIP:80 -> web1, web2 in the services file
wire_pods() {
	local plugin=$1 i
	for i in 1 2; do
		new_netns "web$i"
		conf | cni ADD "cid-web$i" eth0 "$NS_PATH" "$plugin" >"$WORK/add-web$i.json" ||
			fail "ADD web$i: $(cat "$WORK/add-web$i.json")"
		bg_in_pod "web$i" "$NETTOOL" serve-tcp "$(pod_ip "web$i"):8080" "web$i"
		bg_in_pod "web$i" "$NETTOOL" serve-rr "$(pod_ip "web$i"):9090"
	done
	new_netns client
	conf | cni ADD cid-client eth0 "$NS_PATH" "$plugin" >"$WORK/add-client.json" ||
		fail "ADD client"
	for i in 1 2; do wait_listen "web$i" tcp 8080; wait_listen "web$i" tcp 9090; done
	printf '{"kind":"List","items":[%s,%s,%s,%s]}\n' "$(service default web $VIP 80 TCP)" \
		"$(slice default web-1 web TCP 8080 "$(pod_ip web1)" "$(pod_ip web2)")" \
		"$(service default rr $VIP 90 TCP)" \
		"$(slice default rr-1 rr TCP 9090 "$(pod_ip web1)" "$(pod_ip web2)")" \
		>"$WORK/services.json.tmp"
	mv "$WORK/services.json.tmp" "$WORK/services.json"
}

# A new agent (here: the same one started again, which loads and pins a
# new instance of the program) re-attaches every registered pod: each veth
# runs its program, CNI CHECK passes for every pod, no connection fails.
upgrade_reaches_running_pods() {
	local old new pod ifc
	start_datapath
	wire_pods "$CNI"
	wait_for "$CLI" --pin-dir "$PIN" service get "$VIP:80/tcp"
	old=$(pinned_prog)
	loop_start 5
	sleep 1
	kill "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null || true
	start_datapath
	new=$(pinned_prog)
	[ "$new" != "$old" ] || fail "the agent pinned no new program"
	for ifc in $(host_links); do
		[ "$(running_prog "$ifc")" = "$new" ] ||
			fail "$ifc runs program $(running_prog "$ifc"), not the new $new (old $old)"
	done
	[ "$(metric bpfnet_endpoints_upgraded)" = 3 ] || fail "upgraded: $(metric bpfnet_endpoints_upgraded)"
	for pod in web1 web2 client; do
		conf | jq -c --slurpfile p "$WORK/add-$pod.json" '.prevResult = $p[0]' |
			cni CHECK "cid-$pod" eth0 "/run/netns/$(pod_ns "$pod")" >"$WORK/check.out" ||
			fail "CHECK $pod after the upgrade: $(cat "$WORK/check.out")"
	done
	loop_expect_no_failures
}

# The previous release ran this node: its agent pinned ct_v1 (one table,
# the old entry layout) and its CNI plugin wired the pods. Connections
# opened then stay up while the new agent takes over: their flows are
# converted into the new tables, the pods run the new program, and the old
# map is gone.
upgrade_migrates_an_older_map_layout() {
	local rc=0 out
	[ -x "$PREVIOUS/bin/bpfnetd" ] || skip "the previous release is not built: $(bash tests/helpers/build-previous.sh "$PREVIOUS" 2>&1 | tail -n 1)"
	umount "$WORK/bpffs" # env_setup pinned this release's maps: start from none
	mount -t bpf bpf "$WORK/bpffs"
	AGENT=$PREVIOUS/bin/bpfnetd start_datapath
	[ -e "$PIN/ct_v1" ] || fail "the previous agent pinned no ct_v1"
	wire_pods "$PREVIOUS/bin/bpfnet-cni"
	wait_for "$PREVIOUS/bin/bpfnet" --pin-dir "$PIN" service get "$VIP:90/tcp"
	# 20 connections that must live through the upgrade, and a client loop
	client client tcp-hold "$VIP:90" 20 6 >"$WORK/hold.out" 2>&1 &
	local hold=$!
	loop_start 6
	sleep 1.5
	kill "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null || true
	start_datapath
	grep -q 'msg=maps of an older layout copied' "$WORK/agent.log" || fail "no copy logged"
	wait_for sh -c "! test -e $PIN/ct_v1"
	wait "$hold" || rc=$?
	log "held: $(cat "$WORK/hold.out")"
	[ "$rc" = 0 ] || fail "held connections broke: $(cat "$WORK/hold.out")"
	loop_expect_no_failures
	# their reply entries (backend:9090 -> client), converted, VIP included
	out=$("$CLI" --pin-dir "$PIN" ct list --proto tcp --port 9090 -o json)
	[ "$(jq length <<<"$out")" -ge 20 ] || fail "the held flows are not in the new table: $out"
}

run_case upgrade_reaches_running_pods upgrade_reaches_running_pods
run_case upgrade_migrates_an_older_map_layout upgrade_migrates_an_older_map_layout
