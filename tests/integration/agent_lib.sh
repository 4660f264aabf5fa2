# shellcheck shell=bash
# Helpers for the agent's tests (sourced after lib.sh): Kubernetes object
# JSON as the API prints it, the agent's HTTP endpoints, server pods.

AGENT=$BIN/tests/bpfnetd # sanitized build of build/bin/bpfnetd
CLI=$BIN/tests/bpfnet
HTTP=127.0.0.1:9876      # on the node namespace's loopback
AGENT_PID=""

# service NS NAME VIP PORT PROTO
service() {
	printf '{"apiVersion":"v1","kind":"Service","metadata":{"name":"%s","namespace":"%s","resourceVersion":"1"},"spec":{"type":"ClusterIP","clusterIP":"%s","clusterIPs":["%s"],"selector":{"app":"%s"},"ports":[{"name":"p","protocol":"%s","port":%s,"targetPort":"p"}]}}' \
		"$2" "$1" "$3" "$3" "$2" "$5" "$4"
}

# slice NS NAME SERVICE PROTO PORT EP... ; EP is IP or IP:terminating
slice() {
	local ns=$1 name=$2 svc=$3 proto=$4 port=$5 eps="" ep sep=""
	shift 5
	for ep in "$@"; do
		case $ep in
		*:terminating) eps+="$sep{\"addresses\":[\"${ep%%:*}\"],\"conditions\":{\"ready\":false,\"serving\":true,\"terminating\":true}}" ;;
		*) eps+="$sep{\"addresses\":[\"$ep\"],\"conditions\":{\"ready\":true,\"serving\":true,\"terminating\":false}}" ;;
		esac
		sep=,
	done
	printf '{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"%s","namespace":"%s","labels":{"kubernetes.io/service-name":"%s"}},"addressType":"IPv4","ports":[{"name":"p","protocol":"%s","port":%s}],"endpoints":[%s]}' \
		"$name" "$ns" "$svc" "$proto" "$port" "$eps"
}

http_get() { in_node curl -fsS --max-time 2 "http://$HTTP$1"; }

wait_ready() {
	local i
	for i in $(seq 1 100); do
		http_get /readyz >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	fail "agent not ready: $(tail -n 5 "$WORK/agent.log")"
}

metric() { http_get /metrics | awk -v m="$1" '$1 == m { print $2 }'; }

# wait_for CMD...: until it succeeds (2 s), for changes the agent picks up
wait_for() {
	local i
	for i in $(seq 1 40); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	fail "timed out waiting for: $*"
}

# wait_long SECONDS CMD...: like wait_for, for what takes seconds (reconnects
# with backoff, conntrack expiry)
# (generous: under QEMU's emulation each step is many times slower)
wait_long() {
	local n=$(($1 * 10)) i
	shift
	for i in $(seq 1 "$n"); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "timed out after ${n}00 ms waiting for: $*"
}

web_pods() { # web_pods N: pods web0..web(N-1) with TCP and UDP servers
	local i
	pod_add client 10.244.0.2
	for i in $(seq 0 $(($1 - 1))); do
		pod_add "web$i" "10.244.0.1$i"
		bg_in_pod "web$i" "$NETTOOL" serve-tcp "10.244.0.1$i:8080" "web$i"
		bg_in_pod "web$i" "$NETTOOL" serve-udp "10.244.0.1$i:5353" "web$i"
	done
	for i in $(seq 0 $(($1 - 1))); do
		wait_listen "web$i" tcp 8080
		wait_listen "web$i" udp 5353
	done
}

# loop_start SECONDS: pod "client" connects to 10.96.0.80:80 over and over
# (loop_stop ends it early, with its tally)
loop_start() {
	rm -f "$WORK/loop.pid"
	client client tcp-loop 10.96.0.80:80 "$1" "$WORK/loop.pid" >"$WORK/loop.out" 2>&1 &
	LOOP_PID=$!
	PIDS+=("$LOOP_PID")
}

loop_stop() {
	local i
	for i in $(seq 1 50); do [ -s "$WORK/loop.pid" ] && break; sleep 0.02; done
	kill "$(cat "$WORK/loop.pid")" 2>/dev/null || true # nettool itself, not its shell
	wait "$LOOP_PID" 2>/dev/null || true
}

# loop_expect_no_failures: wait for the loop; not one connection failed
loop_expect_no_failures() {
	local out
	wait "$LOOP_PID" || true
	out=$(cat "$WORK/loop.out")
	log "$out"
	expect_no_failures "$out"
}
LOOP_PID=""
