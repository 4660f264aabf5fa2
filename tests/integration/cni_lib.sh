# shellcheck shell=bash
# bpfnet-cni as a runtime drives it (sourced after lib.sh and agent_lib.sh):
# the agent that owns the datapath, the network configuration, the plugin
# called with CNI_* variables, pod namespaces as a runtime makes them.

CNI=$BIN/tests/bpfnet-cni     # sanitized build
CNI_FAST=$BIN/bin/bpfnet-cni  # for the 1,000 cycles
REF_PLUGINS=/usr/lib/cni      # Debian's containernetworking-plugins
MANIFESTS=$(realpath "$(dirname "$0")/../../manifests")

start_datapath() { # the agent with a services file: loads and pins the programs
	[ -f "$WORK/services.json" ] || echo '{"kind":"List","items":[]}' >"$WORK/services.json"
	nsenter --net="/run/netns/$NODE_NS" "$AGENT" --services-file "$WORK/services.json" \
		--pin-dir "$PIN" --cgroup none --http-addr "$HTTP" "$@" \
		>>"$WORK/agent.log" 2>&1 &
	AGENT_PID=$!
	PIDS+=("$AGENT_PID")
	wait_ready
}

# conf [SUBNET] [EXTRA_JSON]: the network configuration
conf() {
	jq -nc --arg pin "$PIN" --arg w "$WORK" --arg subnet "${1:-10.244.0.0/24}" \
		--argjson extra "${2:-{\}}" \
		'{cniVersion: "1.0.0", name: "bpfnet-test", type: "bpfnet-cni", pinDir: $pin,
		  stateDir: ($w + "/state"), logFile: ($w + "/cni.log"),
		  ipam: {subnet: $subnet, dataDir: ($w + "/ipam")},
		  dns: {nameservers: ["10.96.0.10"], search: ["svc.cluster.local"]}} * $extra'
}

# cni COMMAND CONTAINER IFNAME NETNS_PATH [PLUGIN] < conf: as a runtime calls it
cni() {
	in_node env -i PATH="$PATH" CNI_COMMAND="$1" CNI_CONTAINERID="$2" CNI_IFNAME="$3" \
		CNI_NETNS="$4" CNI_PATH="$REF_PLUGINS" "${5:-$CNI}"
}

# new_netns POD: an empty pod namespace, as a runtime makes it; its path is
# then in $NS_PATH. (Not in a $(...) subshell: teardown must learn of it.)
new_netns() {
	local ns
	ns=$(pod_ns "$1")
	ip netns add "$ns"
	NETNS+=("$ns")
	in_pod "$1" ip link set lo up
	NS_PATH=/run/netns/$ns
}
NS_PATH=""

# add_pod POD: ADD with a fresh netns; prints the result
add_pod() {
	new_netns "$1"
	conf | cni ADD "cid-$1" eth0 "$NS_PATH"
}

pod_ip() { in_pod "$1" ip -4 -o addr show dev eth0 | awk '{ print $4 }' | cut -d/ -f1; }
host_links() { in_node ip -o link show | awk -F': ' '$2 ~ /^lxc/ { print $2 }' | cut -d@ -f1; }
alloc_files() { find "$WORK/ipam" -type f -name '10.*' 2>/dev/null | wc -l; }
endpoints() { "$CLI" --pin-dir "$PIN" endpoint list -o json | jq length; }

# expect_code CODE OUTPUT: an error object with that code, and only JSON on stdout
expect_code() {
	jq -e --argjson c "$1" '.code == $c and (.msg | length > 0)' <<<"$2" >/dev/null ||
		fail "expected error code $1, got: $2"
}

