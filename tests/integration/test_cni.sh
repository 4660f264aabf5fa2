#!/usr/bin/env bash
# bpfnet-cni driven exactly as a runtime drives it: CNI_* variables and the
# network configuration on stdin, run in the node namespace, wiring pod
# namespaces the case created. bpfnetd (services-file mode) owns the
# datapath, as on a real node.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent_lib.sh"
. "$(dirname "$0")/cni_lib.sh"

# ---- cases ----

# VERSION answers whatever the rest of the environment says; every kind of
# bad input gets the spec's error code and a message, and nothing else.
cni_protocol_errors() {
	local out netns
	out=$(echo '{"cniVersion":"1.0.0"}' | in_node env -i CNI_COMMAND=VERSION CNI_NETNS=dummy \
		CNI_IFNAME=dummy CNI_PATH=dummy "$CNI")
	jq -e '.cniVersion == "1.0.0" and (.supportedVersions | index("1.0.0") and index("1.1.0"))' \
		<<<"$out" >/dev/null || fail "VERSION: $out"
	start_datapath
	new_netns p1; netns=$NS_PATH
	out=$(conf | jq -c '.cniVersion = "0.2.0"' | cni ADD c1 eth0 "$netns") && fail "old version accepted"
	expect_code 1 "$out"
	out=$(echo '{"cniVersion": "1.0.0", "name": ' | cni ADD c1 eth0 "$netns") && fail "bad JSON accepted"
	expect_code 6 "$out"
	# the spec: 7 is an invalid network configuration, 4 an invalid environment
	out=$(conf | jq -c '.ipam.subnet = "10.244.0.0"' | cni ADD c1 eth0 "$netns") && fail "bad subnet accepted"
	expect_code 7 "$out"
	out=$(conf | jq -c '.mtu = "big"' | cni ADD c1 eth0 "$netns") && fail "bad mtu accepted"
	expect_code 7 "$out"
	out=$(conf | jq -c '.name = "a/b"' | cni ADD c1 eth0 "$netns") && fail "a path as name accepted"
	expect_code 7 "$out"
	out=$(conf | cni ADD "" eth0 "$netns") && fail "missing container id accepted"
	expect_code 4 "$out"
	# a newline or a slash in the container ID would write IPAM files where
	# they must not; an interface name the kernel refuses is refused first
	out=$(conf | cni ADD "$(printf 'c1\nevil')" eth0 "$netns") && fail "newline in the container id"
	expect_code 4 "$out"
	out=$(conf | cni ADD "../c1" eth0 "$netns") && fail "a path as container id"
	expect_code 4 "$out"
	out=$(conf | cni ADD c1 "eth 0" "$netns") && fail "a space in the interface name"
	expect_code 4 "$out"
	out=$(conf | cni ADD c1 eth0123456789012 "$netns") && fail "a 16-byte interface name"
	expect_code 4 "$out"
	out=$(conf | cni ADD c1 eth0 relative/netns) && fail "a relative netns path"
	expect_code 4 "$out"
	out=$(conf | cni ADD c1 eth0 /run/netns/does-not-exist) && fail "missing netns accepted"
	expect_code 4 "$out"
	out=$(conf | cni FROB c1 eth0 "$netns") && fail "unknown command accepted"
	expect_code 4 "$out"
	[ "$(host_links | wc -l)" = 0 ] || fail "failed ADDs left links: $(host_links)"
	[ "$(alloc_files)" = 0 ] || fail "failed ADDs left allocations"
	grep -q 'result=error code=4' "$WORK/cni.log" || fail "errors not logged to the log file"
}

# ADD wires a pod (result shaped like Debian's ptp plugin's), CHECK agrees
# with prevResult and notices a broken route, DEL undoes everything and is
# idempotent, also with CNI_NETNS empty.
cni_add_check_del() {
	local out netns prev ref_netns ref shape_ours shape_ref
	start_datapath
	new_netns p1; netns=$NS_PATH
	out=$(conf | cni ADD cid-1 eth0 "$netns") || fail "ADD: $out"
	log "result: $(jq -c . <<<"$out")"
	jq -e '.ips[0].address == "10.244.0.1/32" and .ips[0].gateway == "169.254.1.1" and
		.ips[0].interface == 1 and .interfaces[1].name == "eth0" and
		.interfaces[1].sandbox != null and (.interfaces[0].name | startswith("lxc")) and
		.routes[0].dst == "0.0.0.0/0" and .dns.nameservers[0] == "10.96.0.10"' <<<"$out" >/dev/null ||
		fail "result: $out"
	[ "$(pod_ip p1)" = 10.244.0.1 ] || fail "pod address: $(pod_ip p1)"
	in_pod p1 ip route show default | has "via 169.254.1.1 dev eth0" || fail "pod default route"
	in_node ip route show 10.244.0.1 | has "dev lxc" || fail "host route"
	"$CLI" --pin-dir "$PIN" endpoint list | has 10.244.0.1 || fail "endpoint not registered"
	in_node tc filter show dev "$(host_links)" ingress | has bpf || fail "tc program not attached"

	# the reference plugin's result, for its shape
	new_netns ref
	ref_netns=$NS_PATH
	ref=$(jq -nc --arg w "$WORK" '{cniVersion: "1.0.0", name: "ref", type: "ptp",
		ipam: {type: "host-local", subnet: "10.99.0.0/24", dataDir: ($w + "/ref-ipam"),
		       routes: [{dst: "0.0.0.0/0", gw: "10.99.0.1"}]},
		dns: {nameservers: ["10.96.0.10"], search: ["svc.cluster.local"]}}' |
		cni ADD cid-ref eth0 "$ref_netns" "$REF_PLUGINS/ptp") || fail "ptp ADD: $ref"
	shape() { jq -c '[paths(scalars) | map(if type == "number" then 0 else . end)] | unique - [["interfaces",0,"mtu"],["interfaces",1,"mtu"]]'; }
	shape_ours=$(shape <<<"$out")
	shape_ref=$(shape <<<"$ref")
	[ "$shape_ours" = "$shape_ref" ] || fail "result shape differs from ptp: ours $shape_ours, ptp $shape_ref"

	prev=$(conf | jq -c --argjson p "$out" '.prevResult = $p')
	out=$(cni CHECK cid-1 eth0 "$netns" <<<"$prev") || fail "CHECK: $out"
	in_pod p1 ip route del default
	out=$(cni CHECK cid-1 eth0 "$netns" <<<"$prev") && fail "CHECK missed the lost route"
	expect_code 104 "$out"
	# ADD again for the same container: same address (idempotent IPAM), wiring redone
	out=$(conf | cni ADD cid-1 eth0 "$netns") || true
	out=$(conf | cni DEL cid-1 eth0 "$netns") || fail "DEL: $out"
	[ -z "$(host_links)" ] || fail "DEL left $(host_links)"
	[ "$(alloc_files)" = 0 ] || fail "DEL left the allocation"
	[ "$(endpoints)" = 0 ] || fail "DEL left the endpoint"
	in_pod p1 ip link show eth0 >/dev/null 2>&1 && fail "DEL left eth0 in the pod"
	out=$(conf | cni DEL cid-1 eth0 "$netns") || fail "second DEL: $out"
	out=$(conf | cni DEL cid-1 eth0 "") || fail "DEL without netns: $out"
}

# Without the agent's pins, ADD says "try again later" and leaves nothing;
# the runtime's retry works once the agent is up. STATUS says the same.
cni_before_agent_try_again() {
	local out netns
	PIN=$WORK/bpffs/not-yet # env_setup loaded a datapath; this node has none yet
	new_netns p1; netns=$NS_PATH
	out=$(conf | cni ADD cid-1 eth0 "$netns") && fail "ADD without a datapath succeeded"
	expect_code 11 "$out"
	out=$(conf | jq -c '.cniVersion = "1.1.0"' | cni STATUS "" "" "") && fail "STATUS ok without agent"
	expect_code 50 "$out"
	[ -z "$(host_links)" ] && [ "$(alloc_files)" = 0 ] || fail "a refused ADD left state"
	in_pod p1 ip link show eth0 >/dev/null 2>&1 && fail "a refused ADD left eth0"
	start_datapath
	conf | jq -c '.cniVersion = "1.1.0"' | cni STATUS "" "" "" || fail "STATUS not ok with agent"
	out=$(conf | cni ADD cid-1 eth0 "$netns") || fail "retry: $out"
	# the pod CIDR from the agent's node.json when the config has none
	new_netns p2
	out=$(conf | jq -c 'del(.ipam.subnet)' | cni ADD cid-2 eth0 "$NS_PATH") && fail "no CIDR, yet ADD ok"
	expect_code 11 "$out"
	mkdir -p "$WORK/state"
	echo '{"name": "node-a", "podCIDRs": ["fd00::/64", "10.245.3.0/24"]}' >"$WORK/state/node.json"
	out=$(conf | jq -c 'del(.ipam.subnet)' | cni ADD cid-2 eth0 "/run/netns/$(pod_ns p2)") ||
		fail "ADD with node.json: $out"
	jq -e '.ips[0].address == "10.245.3.1/32"' <<<"$out" >/dev/null || fail "address not from node.json: $out"
}

# Pods wired by the plugin reach each other, and a ClusterIP service through
# the datapath, with socket LB off and on.
cni_pods_reach_pods_and_services() {
	local out i before
	start_datapath
	for i in 1 2 3; do
		add_pod "web$i" >"$WORK/add-web$i.json" || fail "ADD web$i: $(cat "$WORK/add-web$i.json")"
	done
	add_pod client >/dev/null || fail "ADD client"
	for i in 1 2; do
		bg_in_pod "web$i" "$NETTOOL" serve-tcp "$(pod_ip "web$i"):8080" "web$i"
		wait_listen "web$i" tcp 8080
	done
	out=$(client client tcp-clients "$(pod_ip web1):8080" 5)
	expect_no_failures "$out"
	printf '{"kind":"List","items":[%s,%s]}\n' "$(service default web 10.96.0.80 80 TCP)" \
		"$(slice default web-1 web TCP 8080 "$(pod_ip web1)" "$(pod_ip web2)")" >"$WORK/services.json.tmp"
	mv "$WORK/services.json.tmp" "$WORK/services.json"
	wait_for "$CLI" --pin-dir "$PIN" service get 10.96.0.80:80/tcp
	out=$(client client tcp-clients 10.96.0.80:80 60)
	expect_no_failures "$out"
	expect_spread "$out" web1 10
	expect_spread "$out" web2 10
	# the datapath delivered to the pods itself, from endpoint_v1
	[ "$(stat_of local_delivery)" -ge 120 ] || fail "local delivery: $(stat_of local_delivery) packets"
	# socket LB on: a cgroup for the client, the agent attaches to it
	kill "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null || true
	CGROUP="$(cgroup2_root)/bpfnet-it-$$-$RANDOM"
	mkdir "$CGROUP"
	start_datapath --cgroup "$CGROUP"
	before=$(stat_of sock_connect_xlate)
	out=$(client client tcp-clients 10.96.0.80:80 60)
	expect_no_failures "$out"
	expect_spread "$out" web1 10
	expect_spread "$out" web2 10
	[ "$(($(stat_of sock_connect_xlate) - before))" -ge 60 ] || fail "socket LB not used"
}

# 50 ADDs at once: 50 different addresses. Then a /29 runs out. (The
# sanitized build on the host; in the emulated VM the plain one, where the
# point is the kernel and 50 sanitizer start-ups would take minutes.)
cni_parallel_adds_and_exhaustion() {
	local i out pids=() plugin=$CNI c
	[ -n "${BPFNET_IN_VM:-}" ] && plugin=$CNI_FAST
	c=$(conf) # once: jq start-ups add up, most of all under emulation
	start_datapath
	for i in $(seq 1 50); do
		new_netns "p$i"
	done
	for i in $(seq 1 50); do
		cni ADD "cid-$i" eth0 "/run/netns/$(pod_ns "p$i")" "$plugin" <<<"$c" >"$WORK/add-$i.json" 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i" || fail "a parallel ADD failed: $(cat "$WORK"/add-*.json | jq -c 'select(.code)' | head -3)"
	done
	[ "$(jq -r '.ips[0].address' "$WORK"/add-*.json | sort -u | wc -l)" = 50 ] ||
		fail "duplicate addresses: $(jq -r '.ips[0].address' "$WORK"/add-*.json | sort | uniq -d)"
	[ "$(alloc_files)" = 50 ] && [ "$(endpoints)" = 50 ] || fail "allocations/endpoints != 50"
	for i in $(seq 1 50); do
		cni DEL "cid-$i" eth0 "/run/netns/$(pod_ns "p$i")" "$plugin" <<<"$c" >/dev/null || fail "DEL $i"
	done
	[ -z "$(host_links)" ] && [ "$(alloc_files)" = 0 ] && [ "$(endpoints)" = 0 ] ||
		fail "leaks after DEL: links $(host_links | wc -l) allocs $(alloc_files) eps $(endpoints)"
	# a /29 has 8 addresses: network and broadcast reserved -> 6 pods
	for i in 1 2 3 4 5 6; do
		conf 10.250.0.0/29 | cni ADD "small-$i" eth0 "/run/netns/$(pod_ns "p$i")" >/dev/null ||
			fail "ADD $i in /29"
	done
	out=$(conf 10.250.0.0/29 | cni ADD small-7 eth0 "/run/netns/$(pod_ns p7)") && fail "7th ADD in a /29"
	expect_code 101 "$out"
	in_pod p7 ip link show eth0 >/dev/null 2>&1 && fail "exhausted ADD left eth0"
	true
}

# 1,000 ADD/DEL cycles with faults mixed in: ADD killed part way (then
# retried), netns deleted before DEL, DEL sent twice. Nothing leaks. (In
# the emulated VM, 30 cycles: each fault still happens, in a fraction of
# the time; the full count runs on the host kernel.)
CYCLES=${CNI_CYCLES:-$([ -n "${BPFNET_IN_VM:-}" ] && echo 30 || echo 1000)}
cni_cycles_with_faults() {
	local i netns out killed=0 rc prev c
	c=$(conf)
	start_datapath
	log "$CYCLES cycles"
	for i in $(seq 1 "$CYCLES"); do
		new_netns "c$i"; netns=$NS_PATH
		if [ $((i % 10)) = 0 ]; then
			# kill -9 somewhere inside ADD, then the runtime retries
			rc=0
			timeout -s KILL "0.00$((RANDOM % 9 + 1))" \
				nsenter --net="/run/netns/$NODE_NS" env -i CNI_COMMAND=ADD \
				CNI_CONTAINERID="c$i" CNI_IFNAME=eth0 CNI_NETNS="$netns" "$CNI_FAST" \
				<<<"$c" >/dev/null 2>&1 || rc=$?
			[ $rc = 137 ] && killed=$((killed + 1))
		fi
		out=$(cni ADD "c$i" eth0 "$netns" "$CNI_FAST" <<<"$c") || fail "ADD $i: $out"
		if [ $((i % 10)) = 0 ]; then
			prev=$(jq -c --argjson p "$out" '.prevResult = $p' <<<"$c")
			cni CHECK "c$i" eth0 "$netns" "$CNI_FAST" <<<"$prev" >/dev/null ||
				fail "CHECK after a killed ADD $i: $(cni CHECK "c$i" eth0 "$netns" "$CNI_FAST" <<<"$prev")"
		fi
		if [ $((i % 13)) = 0 ]; then
			ip netns del "$(pod_ns "c$i")"
			netns=""
		fi
		cni DEL "c$i" eth0 "$netns" "$CNI_FAST" <<<"$c" >/dev/null || fail "DEL $i"
		if [ $((i % 7)) = 0 ]; then
			cni DEL "c$i" eth0 "" "$CNI_FAST" <<<"$c" >/dev/null || fail "second DEL $i"
		fi
		[ -n "$netns" ] && ip netns del "$(pod_ns "c$i")"
	done
	log "ADDs killed part way: $killed of $((CYCLES / 10))"
	[ -z "$(host_links)" ] || fail "leaked links: $(host_links | head)"
	[ "$(alloc_files)" = 0 ] || fail "leaked allocations: $(alloc_files)"
	[ "$(endpoints)" = 0 ] || fail "leaked endpoints: $(endpoints)"
	[ -z "$(in_node ip route show | grep 10.244.)" ] || fail "leaked routes: $(in_node ip route show)"
}

# As the first plugin of a conflist: the runtime hands our result to the
# next plugin as prevResult (bandwidth shapes the host veth it names), and
# GC releases what the runtime no longer knows.
cni_conflist_chain_and_gc() {
	local netns out prev
	start_datapath
	new_netns p1; netns=$NS_PATH
	out=$(conf | cni ADD cid-1 eth0 "$netns") || fail "ADD: $out"
	prev=$(jq -nc --argjson p "$out" '{cniVersion: "1.0.0", name: "bpfnet-test", type: "bandwidth",
		ingressRate: 8000000, ingressBurst: 100000, prevResult: $p}')
	cni ADD cid-1 eth0 "$netns" "$REF_PLUGINS/bandwidth" <<<"$prev" >"$WORK/bw.json" ||
		fail "bandwidth ADD: $(cat "$WORK/bw.json")"
	in_node tc qdisc show dev "$(jq -r '.interfaces[0].name' <<<"$out")" | has tbf ||
		fail "bandwidth did not find the host veth in prevResult"
	jq -e '.ips[0].address == "10.244.0.1/32"' "$WORK/bw.json" >/dev/null ||
		fail "prevResult not passed through the chain: $(cat "$WORK/bw.json")"
	cni DEL cid-1 eth0 "$netns" "$REF_PLUGINS/bandwidth" <<<"$prev" >/dev/null
	# portmap builds its DNAT from the pod address in prevResult (iptables in
	# the node namespace; the emulated VM's guest cannot load netfilter)
	if [ -z "${BPFNET_IN_VM:-}" ]; then
		prev=$(jq -nc --argjson p "$out" '{cniVersion: "1.0.0", name: "bpfnet-test",
			type: "portmap", capabilities: {portMappings: true}, prevResult: $p,
			runtimeConfig: {portMappings: [{hostPort: 18080, containerPort: 8080, protocol: "tcp"}]}}')
		cni ADD cid-1 eth0 "$netns" "$REF_PLUGINS/portmap" <<<"$prev" >"$WORK/pm.json" ||
			fail "portmap ADD: $(cat "$WORK/pm.json")"
		in_node iptables -t nat -S | has "10.244.0.1:8080" ||
			fail "portmap did not take the pod address from prevResult"
		cni DEL cid-1 eth0 "$netns" "$REF_PLUGINS/portmap" <<<"$prev" >/dev/null || fail "portmap DEL"
	else
		log "portmap step left to the host run: no netfilter modules in the VM guest"
	fi
	# GC (1.1): cid-2 is valid, cid-1 is not; without the list it refuses
	new_netns p2
	conf | cni ADD cid-2 eth0 "$NS_PATH" >/dev/null || fail "ADD cid-2"
	out=$(conf | jq -c '.cniVersion = "1.1.0"' | cni GC "" "" "") && fail "GC without a list ran"
	expect_code 7 "$out"
	[ "$(alloc_files)" = 2 ] || fail "a refused GC released allocations"
	conf | jq -c '.cniVersion = "1.1.0" | .["cni.dev/valid-attachments"] = [{containerID: "cid-2", ifname: "eth0"}]' |
		cni GC "" "" "" || fail "GC"
	[ "$(alloc_files)" = 1 ] && [ "$(host_links | wc -l)" = 1 ] && [ "$(endpoints)" = 1 ] ||
		fail "GC: allocs $(alloc_files) links $(host_links | wc -l) endpoints $(endpoints)"
	[ "$(pod_ip p2)" = 10.244.0.2 ] || fail "GC touched the valid pod"

	# the conflist the DaemonSet installs, as libcni hands its first plugin
	# over (name and cniVersion added); pod CIDR from the agent's node.json
	mkdir -p "$WORK/state"
	echo '{"name": "node-a", "podCIDRs": ["10.246.0.0/24"]}' >"$WORK/state/node.json"
	new_netns p3
	out=$(jq -c --arg pin "$PIN" --arg w "$WORK" '.plugins[0] + {name, cniVersion}
		| .pinDir = $pin | .stateDir = ($w + "/state") | .logFile = ($w + "/cni.log")
		| .ipam.dataDir = ($w + "/ipam")' "$MANIFESTS/cni/05-bpfnet.conflist" |
		cni ADD cid-3 eth0 "$NS_PATH") || fail "sample conflist: $out"
	jq -e '.ips[0].address == "10.246.0.1/32"' <<<"$out" >/dev/null || fail "sample conflist: $out"

	# ipam.type: delegated to Debian's host-local, ADD and DEL
	new_netns p4
	out=$(conf | jq -c --arg w "$WORK" '.ipam = {type: "host-local", subnet: "10.247.0.0/24",
		dataDir: ($w + "/host-local")}' | cni ADD cid-4 eth0 "$NS_PATH") || fail "delegated: $out"
	jq -e '.ips[0].address == "10.247.0.2/32"' <<<"$out" >/dev/null || fail "delegated: $out"
	[ "$(pod_ip p4)" = 10.247.0.2 ] || fail "delegated address not on the pod"
	[ -f "$WORK/host-local/bpfnet-test/10.247.0.2" ] || fail "host-local kept no allocation"
	"$CLI" --pin-dir "$PIN" endpoint list | has 10.247.0.2 || fail "delegated pod not registered"
	conf | jq -c --arg w "$WORK" '.ipam = {type: "host-local", subnet: "10.247.0.0/24",
		dataDir: ($w + "/host-local")}' | cni DEL cid-4 eth0 "$NS_PATH" >/dev/null || fail "delegated DEL"
	[ ! -f "$WORK/host-local/bpfnet-test/10.247.0.2" ] || fail "host-local allocation not released"
	# the delegated plugin does not say which address it released: the
	# entry is found by the pod's veth
	"$CLI" --pin-dir "$PIN" endpoint list | has 10.247.0.2 && fail "delegated DEL left the endpoint"
	true
}

# A broken conflist must not keep pods from being removed: DEL cleans up
# what it finds by container and interface, and says what it could not do
# (an address a delegated IPAM plugin holds needs that plugin's config).
cni_del_with_a_broken_config() {
	local out delegated
	start_datapath
	new_netns p1
	conf | cni ADD cid-1 eth0 "$NS_PATH" >/dev/null || fail "ADD"
	out=$(conf | jq -c '.mtu = "big" | .name = "a/b"' | cni DEL cid-1 eth0 "$NS_PATH") ||
		fail "DEL with a broken config: $out"
	[ -z "$(host_links)" ] || fail "veth left: $(host_links)"
	[ "$(alloc_files)" = 0 ] || fail "allocation left"
	[ "$(endpoints)" = 0 ] || fail "endpoint left"
	grep -q 'DEL with an invalid configuration' "$WORK/cni.log" || fail "not logged"
	# not even JSON: the veth goes; address and entry are looked for where
	# the defaults put them (this case keeps both elsewhere: any later DEL
	# with a config, or GC, finds them, the entry by its vanished veth)
	new_netns p2
	conf | cni ADD cid-2 eth0 "$NS_PATH" >/dev/null || fail "ADD 2"
	echo '{"cniVersion": ' | cni DEL cid-2 eth0 "$NS_PATH" >/dev/null || fail "DEL, config not JSON"
	[ -z "$(host_links)" ] || fail "DEL with a config that is not JSON left the veth"
	conf | cni DEL cid-2 eth0 "$NS_PATH" >/dev/null || fail "DEL 2 again"
	[ "$(alloc_files)" = 0 ] && [ "$(endpoints)" = 0 ] || fail "the address or entry stayed"
	# delegated IPAM with a broken config: the veth and entry go, the
	# address cannot, and DEL says so until the config is fixed
	delegated=$(conf | jq -c --arg w "$WORK" '.ipam = {type: "host-local",
		subnet: "10.247.0.0/24", dataDir: ($w + "/host-local")}')
	new_netns p3
	cni ADD cid-3 eth0 "$NS_PATH" <<<"$delegated" >/dev/null || fail "delegated ADD"
	out=$(jq -c '.mtu = "big"' <<<"$delegated" | cni DEL cid-3 eth0 "$NS_PATH") &&
		fail "DEL claimed success with the delegated address left: $out"
	expect_code 7 "$out"
	jq -e '.msg | test("host-local")' <<<"$out" >/dev/null || fail "not said what is left: $out"
	[ -z "$(host_links)" ] && [ "$(endpoints)" = 0 ] || fail "veth or entry left"
	[ -f "$WORK/host-local/bpfnet-test/10.247.0.2" ] || fail "the address went without its plugin?"
	cni DEL cid-3 eth0 "$NS_PATH" <<<"$delegated" >/dev/null || fail "DEL with the fixed config"
	[ ! -f "$WORK/host-local/bpfnet-test/10.247.0.2" ] || fail "address not released once fixed"
}

# ---- a real runtime: podman with its CNI backend ----

# Paths podman (4.3) writes whatever its configuration says: the blob info
# cache, libcni's result cache, runc's state. In this case's private mount
# namespace each gets a tmpfs; a directory made for it is removed after.
PODMAN_FIXED_DIRS=(/var/lib/containers /var/lib/cni /run/runc)
PODMAN_MADE_DIRS=()

# podman_setup: podman's config, storage, CNI config and image, all under
# $WORK; podman itself always runs in the node namespace.
podman_setup() {
	local d=$WORK/podman dir
	[ "$(readlink /proc/self/ns/mnt)" != "$(readlink /proc/1/ns/mnt)" ] ||
		fail "needs a private mount namespace (run it through tests/run.sh)"
	for dir in "${PODMAN_FIXED_DIRS[@]}"; do
		if [ ! -d "$dir" ]; then
			mkdir -p "$dir"
			PODMAN_MADE_DIRS+=("$dir")
		fi
		mount -t tmpfs -o mode=0700 bpfnet-test "$dir"
	done
	mkdir -p "$d/cni-bin" "$d/net.d" "$d/rootfs/bin" "$d/rootfs/www" "$d/tmp" "$d/run"
	ln -s "$CNI" "$d/cni-bin/bpfnet-cni"
	cat >"$d/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
[network]
network_backend = "cni"
cni_plugin_dirs = ["$d/cni-bin", "$REF_PLUGINS"]
network_config_dir = "$d/net.d"
default_network = "bpfnet"
[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
events_logger = "file"
events_logfile_path = "$d/events.log"
tmp_dir = "$d/tmp"
volume_path = "$d/volumes"
static_dir = "$d/static"
infra_image = "localhost/bpfnet-busybox:test"
CONF
	jq -n --arg pin "$PIN" --arg w "$WORK" '{cniVersion: "1.0.0", name: "bpfnet", plugins: [
		{type: "bpfnet-cni", pinDir: $pin, stateDir: ($w + "/state"), logFile: ($w + "/cni.log"),
		 ipam: {subnet: "10.244.0.0/24", dataDir: ($w + "/ipam")}}]}' >"$d/net.d/bpfnet.conflist"
	# the image: busybox-static and its applets
	cp /bin/busybox "$d/rootfs/bin/busybox"
	for a in sh httpd wget ip cat sleep; do ln -s busybox "$d/rootfs/bin/$a"; done
	tar -C "$d/rootfs" -cf "$d/rootfs.tar" .
	podman import "$d/rootfs.tar" localhost/bpfnet-busybox:test >/dev/null ||
		fail "podman import failed"
}

podman() {
	# storage settings as flags: with CONTAINERS_STORAGE_CONF instead, an
	# import once failed in podman's layer helper ("stat storage.conf: no
	# such file") though the file was there
	nsenter --net="/run/netns/$NODE_NS" env CONTAINERS_CONF="$WORK/podman/containers.conf" \
		TMPDIR="$WORK/podman/tmp" /usr/bin/podman --storage-driver vfs \
		--root "$WORK/podman/graph" --runroot "$WORK/podman/run" \
		--tmpdir "$WORK/podman/tmp" --cgroup-manager cgroupfs "$@"
}

podman_teardown() {
	local dir
	podman rm -f -a -t 0 >/dev/null 2>&1 || true
	podman system reset -f >/dev/null 2>&1 || true
	for dir in "${PODMAN_FIXED_DIRS[@]}"; do
		if [ "$(findmnt -n -o SOURCE "$dir" 2>/dev/null)" = bpfnet-test ]; then
			umount "$dir"
		fi
	done
	for dir in "${PODMAN_MADE_DIRS[@]}"; do
		rmdir "$dir" 2>/dev/null || true
	done
	env_teardown
}

# podman starts containers whose addresses come from bpfnet-cni; they reach
# each other and a ClusterIP service; stopping them DELs cleanly.
cni_podman_containers() {
	local ip1 ip2 out i
	command -v /usr/bin/podman >/dev/null || fail "podman is missing (make deps)"
	trap podman_teardown EXIT
	start_datapath
	podman_setup
	for i in 1 2; do
		podman run -d --name "web$i" --network bpfnet localhost/bpfnet-busybox:test \
			sh -c "echo web$i > /www/index.html && httpd -f -p 8080 -h /www" >/dev/null ||
			fail "podman run web$i: $(tail -n 5 "$WORK/cni.log")"
	done
	ip1=$(podman inspect -f '{{.NetworkSettings.Networks.bpfnet.IPAddress}}' web1)
	ip2=$(podman inspect -f '{{.NetworkSettings.Networks.bpfnet.IPAddress}}' web2)
	log "containers: web1 $ip1, web2 $ip2"
	[[ $ip1 == 10.244.0.* && $ip2 == 10.244.0.* && $ip1 != "$ip2" ]] || fail "addresses: '$ip1' '$ip2'"
	out=$(podman run --rm --network bpfnet localhost/bpfnet-busybox:test wget -qO- "http://$ip2:8080/") ||
		fail "container to container: $out"
	[ "$out" = web2 ] || fail "got '$out' from web2"
	printf '{"kind":"List","items":[%s,%s]}\n' "$(service default web 10.96.0.80 80 TCP)" \
		"$(slice default web-1 web TCP 8080 "$ip1" "$ip2")" >"$WORK/services.json.tmp"
	mv "$WORK/services.json.tmp" "$WORK/services.json"
	wait_for "$CLI" --pin-dir "$PIN" service get 10.96.0.80:80/tcp
	out=$(podman run --rm --network bpfnet localhost/bpfnet-busybox:test sh -c \
		'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do wget -qO- http://10.96.0.80/; done')
	has web1 <<<"$out" && has web2 <<<"$out" || fail "ClusterIP from a container: $out"
	[ "$(endpoints)" = 2 ] || fail "endpoints: $(endpoints) (the --rm clients must be gone)"
	podman rm -f -t 0 web1 web2 >/dev/null
	[ -z "$(host_links)" ] && [ "$(alloc_files)" = 0 ] && [ "$(endpoints)" = 0 ] ||
		fail "after podman rm: links $(host_links | wc -l) allocs $(alloc_files) eps $(endpoints)"
	grep -q 'command=VERSION\|command=ADD' "$WORK/cni.log" || fail "no CNI calls logged"
}

[ -x "$REF_PLUGINS/ptp" ] || fail "Debian's containernetworking-plugins are missing (make deps)"
run_case cni_protocol_errors cni_protocol_errors
run_case cni_add_check_del cni_add_check_del
run_case cni_before_agent_try_again cni_before_agent_try_again
run_case cni_pods_reach_pods_and_services cni_pods_reach_pods_and_services
run_case cni_parallel_adds_and_exhaustion cni_parallel_adds_and_exhaustion
run_case cni_cycles_with_faults cni_cycles_with_faults
run_case cni_conflist_chain_and_gc cni_conflist_chain_and_gc
run_case cni_del_with_a_broken_config cni_del_with_a_broken_config
run_case cni_podman_containers cni_podman_containers
