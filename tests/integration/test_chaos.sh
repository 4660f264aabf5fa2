#!/usr/bin/env bash
# The agent killed -9 at random moments, over and over, while endpoints
# churn and clients connect: the datapath must never serve a state no
# agent meant, and once an agent is left running the maps must be exactly
# what the services say.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent_lib.sh"

ROUNDS=${CHAOS_ROUNDS:-100}
[ -n "${BPFNET_IN_VM:-}" ] && ROUNDS=${CHAOS_ROUNDS:-20} # emulated: each start takes seconds

write_services() {
	local IFS=,
	printf '{"apiVersion":"v1","kind":"List","items":[%s]}\n' "$*" >"$WORK/services.json.tmp"
	mv "$WORK/services.json.tmp" "$WORK/services.json"
}

# version N of the endpoints: three of web0..web3, the fourth terminating
# (it stays up, as a pod that is shutting down gracefully does)
endpoints_v() {
	local n=$1 i eps=() out=10.244.0.1$(($1 % 4))
	for i in 0 1 2 3; do
		[ "10.244.0.1$i" = "$out" ] && eps+=("10.244.0.1$i:terminating") || eps+=("10.244.0.1$i")
	done
	write_services "$(service default web 10.96.0.80 80 TCP)" \
		"$(slice default web-1 web TCP 8080 "${eps[@]}")" \
		"$(service default dns 10.96.0.10 53 UDP)" \
		"$(slice default dns-1 dns UDP 5353 "${eps[@]}")" \
		"$(service default "extra$((n % 3))" 10.96.1.$((n % 3)) 80 TCP)" \
		"$(slice default "extra$((n % 3))-1" "extra$((n % 3))" TCP 8080 "$out")"
}

agent_bg() {
	nsenter --net="/run/netns/$NODE_NS" "$AGENT" --services-file "$WORK/services.json" \
		--pin-dir "$PIN" --cgroup none --http-addr "$HTTP" >>"$WORK/agent.log" 2>&1 &
	AGENT_PID=$!
	PIDS+=("$AGENT_PID")
}

chaos_kill9_during_churn() {
	local r version=0 churn out want got
	web_pods 4
	endpoints_v 0
	agent_bg
	wait_ready
	loop_start 9999
	# endpoint churn all along, every version a correct one
	(
		while :; do
			version=$((version + 1))
			endpoints_v "$version"
			echo "$version" >"$WORK/version"
			sleep 0.07
		done
	) &
	churn=$!
	PIDS+=("$churn")
	for r in $(seq 1 "$ROUNDS"); do
		sleep "0.$((RANDOM % 400))"
		kill -9 "$AGENT_PID" 2>/dev/null || true
		wait "$AGENT_PID" 2>/dev/null || true
		agent_bg
	done
	kill "$churn"
	wait "$churn" 2>/dev/null || true
	endpoints_v "$(($(cat "$WORK/version") + 1))" # the last word
	wait_ready
	loop_stop
	out=$(cat "$WORK/loop.out")
	log "$ROUNDS kills; client: $(grep -v "^id" <<<"$out" | tr "\n" " ")"
	expect_no_failures "$out"
	# the maps say exactly what the file says
	sleep 0.5
	want=$(jq -c '[.items[] | select(.kind == "Service") | .spec.clusterIP] | sort' "$WORK/services.json")
	got=$("$CLI" --pin-dir "$PIN" service list -o json | jq -c '[.[].frontend | split(":")[0]] | unique | sort')
	[ "$want" = "$got" ] || fail "frontends $got, want $want"
	want=$(jq -c '[.items[] | select(.kind == "EndpointSlice" and .metadata.name == "web-1")
		| .endpoints[] | select(.conditions.ready) | .addresses[0] + ":8080"] | sort' "$WORK/services.json")
	got=$("$CLI" --pin-dir "$PIN" service get 10.96.0.80:80/tcp -o json |
		jq -c '[.[0].backends[] | .address + ":" + (.port | tostring)] | sort')
	[ "$want" = "$got" ] || fail "web backends $got, want $want"
	# nothing stray: 4 web backends (one terminating, kept for its flows)
	# and 4 DNS ones; the extra service shares one of web's
	got=$("$CLI" --pin-dir "$PIN" backend list -o json | jq length)
	[ "$got" = 8 ] || fail "$got backend entries, want 8: $("$CLI" --pin-dir "$PIN" backend list)"
}

run_case chaos_kill9_during_churn chaos_kill9_during_churn
