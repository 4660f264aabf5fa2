#!/usr/bin/env bash
# bpfnetd against a Kubernetes API: tests/helpers/test-apiserver.py serves
# the API (list/watch, bookmarks, 410, TLS, tokens) inside the case's node
# namespace, and its control port lets a case change objects, cut watches,
# compact history, or make the server hang, slow or fail.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent_lib.sh"

PYTHON=${PYTHON:-/usr/bin/python3}
APISERVER=$(realpath "$(dirname "$0")/../helpers/test-apiserver.py")
FIXTURE=$(realpath "$(dirname "$0")/../fixtures/k8s-cluster.json")
API=127.0.0.1:6443
CONTROL=127.0.0.1:6444
API_PID=""
# the client is userspace only: the VM's kernel adds nothing, emulation adds minutes
HOST_ONLY="the Kubernetes API client is kernel-independent; it is tested on the host run"

# ---- the API server ----

start_api() {
	rm -f "$WORK/api.ready"
	nsenter --net="/run/netns/$NODE_NS" "$PYTHON" "$APISERVER" --listen "$API" --control "$CONTROL" \
		--ready-file "$WORK/api.ready" "$@" >>"$WORK/api.log" 2>&1 &
	API_PID=$!
	PIDS+=("$API_PID")
	local i
	for i in $(seq 1 100); do
		[ -f "$WORK/api.ready" ] && return 0
		sleep 0.05
	done
	fail "test API server did not start: $(tail -n 5 "$WORK/api.log")"
}

stop_api() {
	kill "$API_PID"
	wait "$API_PID" 2>/dev/null || true
}

# api METHOD PATH [JSON]: the server's control port
api() {
	if [ $# -ge 3 ]; then
		in_node curl -fsS --max-time 5 -X "$1" "http://$CONTROL$2" -d "$3"
	else
		in_node curl -fsS --max-time 5 -X "$1" "http://$CONTROL$2"
	fi
}

# requests JQ: the API requests the server saw, filtered by a jq expression
requests() { api GET /requests | jq -c "$1"; }

# ---- certificates and kubeconfigs ----

# make_pki: a CA, a server certificate for 127.0.0.1, a client certificate,
# and an unrelated CA; EC keys keep it fast.
make_pki() {
	local d=$WORK/pki
	mkdir -p "$d"
	(
		cd "$d"
		for ca in ca other-ca; do
			openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
				-keyout $ca.key -out $ca.crt -days 2 -subj "/CN=$ca" 2>/dev/null
		done
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key \
			-out server.csr -subj /CN=kube-apiserver 2>/dev/null
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
			-extfile server.ext -out server.crt 2>/dev/null
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout client.key \
			-out client.csr -subj "/O=system:nodes/CN=system:node:node-a" 2>/dev/null
		printf 'extendedKeyUsage=clientAuth\n' >client.ext
		openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
			-extfile client.ext -out client.crt 2>/dev/null
	) || fail "openssl could not make the test certificates"
}

b64() { base64 -w0 <"$1"; }

# kubeconfig FILE CLUSTER_FIELDS USER_FIELDS: a kubeconfig whose current
# context is "test"; a decoy context points elsewhere.
kubeconfig() {
	cat >"$1" <<EOF
apiVersion: v1
kind: Config
preferences: {}
clusters:
- name: decoy
  cluster:
    server: https://127.0.0.1:1
- name: test-cluster
  cluster:
$2
contexts:
- name: decoy
  context: {cluster: decoy, user: decoy}
- context:
    cluster: test-cluster
    user: "test-user"
    namespace: default
  name: test
current-context: test
users:
- name: decoy
  user: {token: wrong}
- name: test-user
  user:
$3
EOF
}

# ---- the agent ----

start_kube_agent() {
	nsenter --net="/run/netns/$NODE_NS" "$AGENT" --pin-dir "$PIN" --cgroup "${CGROUP:-none}" \
		--http-addr "$HTTP" --node-name node-a --state-dir "$WORK/state" "$@" \
		>>"$WORK/agent.log" 2>&1 &
	AGENT_PID=$!
	PIDS+=("$AGENT_PID")
}

stop_agent() {
	kill "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null || true
}

frontends() { "$CLI" --pin-dir "$PIN" service list -o json; }
# has_frontend NAME[:PORT]: the service's frontend is in the maps
has_frontend() { frontends | jq -e --arg n "$1" 'any(.[]; .name == $n)' >/dev/null; }
no_frontend() { ! has_frontend "$1"; }
backends_of() { # backends_of NAME: its backend addresses, sorted, space separated
	frontends | jq -r --arg n "$1" '[.[] | select(.name == $n) | .backends[] | "\(.address):\(.port)"] | sort | join(" ")'
}

# expect_backends NAME "IP:PORT ...": waits up to 2 s
expect_backends() {
	local i got=""
	for i in $(seq 1 40); do
		got=$(backends_of "$1")
		[ "$got" = "$2" ] && return 0
		sleep 0.05
	done
	fail "$1: backends '$got', want '$2'"
}


svc_json() { # svc_json NAME VIP PORT: a realistic Service for the control port
	jq -c --arg n "$1" --arg ip "$2" --argjson p "$3" \
		'.items[] | select(.kind == "Service" and .metadata.name == "web")
		 | .metadata.name = $n | .spec.clusterIP = $ip | .spec.clusterIPs = [$ip]
		 | .spec.ports[0].port = $p | del(.metadata.uid, .spec.sessionAffinityConfig)
		 | .spec.sessionAffinity = "None" | .spec.selector.app = $n' "$FIXTURE"
}

slice_json() { # slice_json NAME SERVICE PORT EP...: EP is IP (ready) or IP:terminating
	local name=$1 svc=$2 port=$3
	shift 3
	jq -c --arg n "$name" --arg s "$svc" --argjson p "$port" \
		'.items[] | select(.kind == "EndpointSlice" and .metadata.name == "web-abcde")
		 | .metadata.name = $n | .metadata.labels["kubernetes.io/service-name"] = $s
		 | .ports[0].port = $p | del(.metadata.uid)
		 | .endpoints = [$ARGS.positional[] | (endswith(":terminating")) as $t
		   | {addresses: [sub(":terminating$"; "")], nodeName: "node-a",
		      conditions: {ready: ($t | not), serving: true, terminating: $t}}]' \
		--args "$@" <"$FIXTURE"
}

# serve_app: shop/app (10.96.0.80:80) on web0 and web1 through the API,
# and an agent that has synced it
serve_app() {
	api POST /objects "$(svc_json app 10.96.0.80 80)" >/dev/null
	api POST /objects "$(slice_json app-1 app 8080 10.244.0.10 10.244.0.11)" >/dev/null
	start_kube_agent --k8s-api-server "http://$API" --k8s-insecure-http
	wait_ready
}

# ---- cases ----

# Over TLS with a kubeconfig (CA file, bearer token, a non-default context
# elsewhere): the list is translated, our node's pod CIDRs are published,
# and each kind of watch event reaches the maps.
kube_list_then_watch_events() {
	make_pki
	start_api --objects "$FIXTURE" --tls-cert "$WORK/pki/server.crt" \
		--tls-key "$WORK/pki/server.key" --token s3cret
	kubeconfig "$WORK/kubeconfig" "    server: https://$API
    certificate-authority: pki/ca.crt" "    token: s3cret"
	start_kube_agent --kubeconfig "$WORK/kubeconfig"
	wait_ready
	expect_backends default/kubernetes:https "192.168.1.10:6443"
	expect_backends kube-system/kube-dns:dns "10.244.0.11:53 10.244.0.12:53"
	expect_backends kube-system/kube-dns:dns-tcp "10.244.0.11:53 10.244.0.12:53"
	# ready endpoints only: the terminating one waits until no ready one is left
	expect_backends shop/web:http "10.244.0.21:8080"
	frontends | jq -e '.[] | select(.name == "shop/web:http") | .flags | index("affinity_client_ip")' \
		>/dev/null || fail "sessionAffinity not carried: $(frontends | jq -c '.[] | select(.name == "shop/web:http")')"
	no_frontend shop/db:pg || fail "headless service translated"
	[ "$(frontends | jq length)" = 5 ] || fail "frontends: $(frontends | jq -c 'map(.name)')"
	jq -e '.name == "node-a" and .podCIDRs == ["10.244.0.0/24"]' "$WORK/state/node.json" \
		>/dev/null || fail "node.json: $(cat "$WORK/state/node.json")"
	# the protocol as used: a paginated list, then a watch from its version with bookmarks
	requests '[.[] | select(.path == "/api/v1/services")][0].query' | jq -e '.limit == "500"' \
		>/dev/null || fail "first request was not a paginated list"
	requests '[.[] | select(.path == "/api/v1/services" and .query.watch == "true")][0].query' |
		jq -e '.allowWatchBookmarks == "true" and (.resourceVersion | tonumber) > 1000' >/dev/null ||
		fail "watch request: $(requests '[.[] | select(.query.watch)][0]')"
	requests '.[0] | [.auth, .user_agent]' | has '"Bearer s3cret","bpfnetd/' ||
		fail "credentials or user agent not sent"

	api POST /objects "$(svc_json api 10.96.20.1 8443)" >/dev/null
	api POST /objects "$(slice_json api-1 api 8443 10.244.0.31 10.244.0.32)" >/dev/null
	expect_backends shop/api:http "10.244.0.31:8443 10.244.0.32:8443"
	api POST /objects "$(slice_json api-1 api 8443 10.244.0.32)" >/dev/null # MODIFIED
	expect_backends shop/api:http "10.244.0.32:8443"
	api DELETE /objects/EndpointSlice/kube-system/kube-dns-x7k2p >/dev/null
	expect_backends kube-system/kube-dns:dns ""
	api DELETE /objects/Service/shop/api >/dev/null
	wait_for no_frontend shop/api:http
	# a node event for our node rewrites node.json
	api POST /objects "$(jq -c '.items[] | select(.kind == "Node" and .metadata.name == "node-a")
		| .spec.podCIDRs = ["10.244.7.0/24"]' "$FIXTURE")" >/dev/null
	wait_for jq -e '.podCIDRs == ["10.244.7.0/24"]' "$WORK/state/node.json"
	[ "$(metric bpfnet_api_errors_total)" = 0 ] || fail "API errors: $(grep level=warn "$WORK/agent.log")"
}

# A plain http:// server would get the bearer token in clear: the agent
# refuses it, saying how to allow it, unless --k8s-insecure-http.
kube_plain_http_needs_its_flag() {
	local rc=0
	start_api --objects "$FIXTURE"
	start_kube_agent --k8s-api-server "http://$API"
	wait "$AGENT_PID" || rc=$?
	[ "$rc" = 1 ] || fail "agent exit status $rc, want 1"
	grep -q 'plain http.*--k8s-insecure-http' "$WORK/agent.log" || fail "no clear refusal logged"
	[ "$(requests 'length')" = 0 ] || fail "the agent talked to the server anyway"
}

# A 429 with Retry-After: the agent comes back no sooner than told (its own
# first backoff would be 0.1-0.2 s).
kube_retry_after_is_obeyed() {
	local path gap
	start_api --objects "$FIXTURE"
	api POST /knobs '{"throttle_next": 1, "retry_after": 3}' >/dev/null
	start_kube_agent --k8s-api-server "http://$API" --k8s-insecure-http
	wait_long 20 http_get /readyz
	path=$(requests '.[0].path' | tr -d '"')
	gap=$(requests "[.[] | select(.path == \"$path\")] | .[1].t - .[0].t")
	log "first request ($path) throttled; the next one $gap s later"
	awk -v g="$gap" 'BEGIN { exit !(g >= 2.9) }' || fail "came back after $gap s, told 3"
}

# Pages of 2 objects, and every response cut into 7-byte chunks: the list
# follows continue tokens, and watch events are reassembled whatever the
# chunk boundaries, including one object of several megabytes.
kube_pages_and_chunked_stream() {
	start_api --objects "$FIXTURE"
	api POST /knobs '{"page_max": 2, "chunk": 7}' >/dev/null
	start_kube_agent --k8s-api-server "http://$API" --k8s-insecure-http
	wait_ready
	[ "$(frontends | jq length)" = 5 ] || fail "frontends: $(frontends | jq -c 'map(.name)')"
	[ "$(requests '[.[] | select(.path == "/api/v1/services" and .query.continue)] | length')" -ge 2 ] ||
		fail "the service list was not paginated"
	api POST /objects "$(svc_json api 10.96.20.1 8443)" >/dev/null
	api POST /objects "$(slice_json api-1 api 8443 10.244.0.31)" >/dev/null
	expect_backends shop/api:http "10.244.0.31:8443"
	# a 3 MB annotation (last-applied-configuration can be large), in 64 KiB chunks
	api POST /knobs '{"chunk": 65536}' >/dev/null
	head -c 2300000 /dev/urandom | base64 -w0 >"$WORK/big"
	jq -c --rawfile big "$WORK/big" '.metadata.annotations.big = $big' <<<"$(slice_json api-1 api 8443 10.244.0.31 10.244.0.33)" \
		>"$WORK/big.json"
	in_node curl -fsS -X POST "http://$CONTROL/objects" --data-binary @"$WORK/big.json" >/dev/null
	expect_backends shop/api:http "10.244.0.31:8443 10.244.0.33:8443"
	[ "$(metric bpfnet_api_errors_total)" = 0 ] || fail "API errors: $(grep level=warn "$WORK/agent.log")"
}

# Watches cut mid-stream resume from the last resourceVersion seen (no
# relist); what changed meanwhile arrives.
kube_resume_after_dropped_watch() {
	local lists_before rv_before
	start_api --objects "$FIXTURE"
	start_kube_agent --k8s-api-server "http://$API" --k8s-insecure-http
	wait_ready
	api POST /objects "$(svc_json api 10.96.20.1 8443)" >/dev/null
	wait_for has_frontend shop/api:http
	rv_before=$(api GET /state | jq .rv)
	lists_before=$(requests '[.[] | select(.query.watch == null)] | length')
	api POST /knobs '{"fail_next": 1000}' >/dev/null # reconnects fail until we say
	api POST /drop >/dev/null
	api POST /objects "$(slice_json api-1 api 8443 10.244.0.31)" >/dev/null
	sleep 0.5
	api POST /knobs '{"fail_next": 0}' >/dev/null
	expect_backends shop/api:http "10.244.0.31:8443"
	[ "$(requests '[.[] | select(.query.watch == null)] | length')" = "$lists_before" ] ||
		fail "relisted instead of resuming the watch"
	# the service watch saw the last event before the cut, at rv_before
	requests '[.[] | select(.path == "/api/v1/services" and .query.watch)] | last | .query.resourceVersion' |
		has "\"$rv_before\"" || fail "service watch did not resume from rv $rv_before"
	[ "$(metric bpfnet_api_reconnects_total)" -ge 3 ] || fail "reconnects not counted"
	[ "$(metric bpfnet_api_errors_total)" -ge 3 ] || fail "failed attempts not counted"
}

# History compacted while the agent was away: its resume gets 410 (as an
# ERROR event, then as HTTP 410), it lists again, and what was deleted in
# between is swept. An expired continue token restarts the list.
kube_relist_after_410() {
	start_api --objects "$FIXTURE"
	start_kube_agent --k8s-api-server "http://$API" --k8s-insecure-http
	wait_ready
	local variant vip=1
	for variant in event http; do
		vip=$((vip + 1))
		api POST /knobs "{\"fail_next\": 1000, \"gone_as_http\": $([ $variant = http ] && echo true || echo false)}" >/dev/null
		api POST /drop >/dev/null
		api DELETE /objects/Service/shop/web >/dev/null
		api POST /objects "$(svc_json "new-$variant" "10.96.20.$vip" 80)" >/dev/null
		api POST /compact >/dev/null
		api POST /knobs '{"fail_next": 0}' >/dev/null
		wait_long 20 no_frontend shop/web:http
		wait_long 20 has_frontend "shop/new-$variant:http"
		api POST /objects "$(jq -c '.items[] | select(.kind == "Service" and .metadata.name == "web")' "$FIXTURE")" >/dev/null
		wait_for has_frontend shop/web:http
	done
	grep -c 'msg=api relist kind=Service' "$WORK/agent.log" | grep -qx 2 ||
		fail "expected 2 service relists: $(grep relist "$WORK/agent.log")"
	[ "$(metric bpfnet_api_relists_total)" -ge 2 ] || fail "relists not counted"
	# a continue token that expired mid-list: the list starts over. (A
	# change while the agent is cut off makes every kind's version older
	# than the compaction, whatever bookmarks it had seen.)
	api POST /knobs '{"page_max": 1, "expire_continue": true, "fail_next": 1000}' >/dev/null
	api POST /drop >/dev/null
	api POST /objects "$(svc_json after 10.96.20.9 80)" >/dev/null
	api POST /compact >/dev/null
	api POST /knobs '{"fail_next": 0}' >/dev/null
	wait_long 20 grep -q 'reason="continue token expired"' "$WORK/agent.log"
	wait_long 20 has_frontend shop/after:http
	[ "$(frontends | jq length)" = 8 ] || fail "frontends: $(frontends | jq -c 'map(.name)')"
}

# A server that keeps the connection but sends nothing (no events, no
# bookmarks) beyond the watch's own timeout is given up on.
kube_half_dead_watch_detected() {
	start_api --objects "$FIXTURE"
	start_kube_agent --k8s-api-server "http://$API" --k8s-insecure-http --k8s-watch-timeout 2
	wait_ready
	api POST /knobs '{"hang": true}' >/dev/null
	wait_long 20 grep -q 'error="no data for' "$WORK/agent.log"
	api POST /knobs '{"hang": false}' >/dev/null
	api POST /objects "$(svc_json api 10.96.20.1 8443)" >/dev/null
	wait_long 20 has_frontend shop/api:http
}

# The API goes away while pods use a service through the datapath: traffic
# goes on, /readyz stays up; a new API server with other contents (and
# no history the agent knows) comes back and the agent converges on it.
kube_api_down_datapath_serves() {
	web_pods 2
	start_api --objects "$FIXTURE"
	serve_app
	expect_backends shop/app:http "10.244.0.10:8080 10.244.0.11:8080"
	loop_start 5
	sleep 0.5
	stop_api
	sleep 2
	http_get /readyz | has ready || fail "not ready while the API is down"
	jq -c '.items += [$svc, $sl] | .items |= map(select(.metadata.name != "kube-dns"))' \
		--argjson svc "$(svc_json app 10.96.0.80 80)" \
		--argjson sl "$(slice_json app-1 app 8080 10.244.0.11)" "$FIXTURE" >"$WORK/v2.json"
	start_api --objects "$WORK/v2.json" --start-rv 5000
	wait_long 20 no_frontend kube-system/kube-dns:dns
	expect_backends shop/app:http "10.244.0.11:8080"
	loop_expect_no_failures
}

# In a pod: the service-account token and CA, the server from
# KUBERNETES_SERVICE_HOST/PORT. The token rotates; the agent reads it again.
kube_in_cluster_token_rotation() {
	make_pki
	mkdir -p "$WORK/sa"
	cp "$WORK/pki/ca.crt" "$WORK/sa/ca.crt"
	echo "token-one" >"$WORK/sa/token"
	start_api --objects "$FIXTURE" --tls-cert "$WORK/pki/server.crt" \
		--tls-key "$WORK/pki/server.key" --token token-one
	KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=6443 \
		start_kube_agent --serviceaccount-dir "$WORK/sa"
	wait_ready
	grep -q 'server=https://127.0.0.1:6443 credentials=in-cluster tls_verify=1' "$WORK/agent.log" ||
		fail "in-cluster config not used: $(grep 'kubernetes api' "$WORK/agent.log")"
	# the kubelet writes the new token; the server stops accepting the old one
	api POST /tokens '["token-two"]' >/dev/null
	echo "token-two" >"$WORK/sa/token.new"
	mv "$WORK/sa/token.new" "$WORK/sa/token"
	api POST /drop >/dev/null
	api POST /objects "$(svc_json api 10.96.20.1 8443)" >/dev/null
	wait_long 20 has_frontend shop/api:http
	requests 'last | .auth' | has "Bearer token-two" || fail "rotated token not sent"
}

# TLS is verified: a server whose certificate the CA did not sign is
# refused until the kubeconfig says insecure-skip-tls-verify. Client
# certificates from *-data fields authenticate.
kube_tls_verification_and_client_certs() {
	make_pki
	start_api --objects "$FIXTURE" --tls-cert "$WORK/pki/server.crt" \
		--tls-key "$WORK/pki/server.key" --client-ca "$WORK/pki/ca.crt"
	kubeconfig "$WORK/wrong-ca" "    server: https://$API
    certificate-authority-data: $(b64 "$WORK/pki/other-ca.crt")" \
		"    client-certificate-data: $(b64 "$WORK/pki/client.crt")
    client-key-data: $(b64 "$WORK/pki/client.key")"
	start_kube_agent --kubeconfig "$WORK/wrong-ca"
	wait_long 20 grep -q 'msg=api request failed.*certificate' "$WORK/agent.log"
	http_get /readyz >/dev/null 2>&1 && fail "ready against an unverified server"
	[ "$(metric bpfnet_api_errors_total)" -ge 1 ] || fail "TLS failure not counted"
	stop_agent

	kubeconfig "$WORK/insecure" "    server: https://$API
    insecure-skip-tls-verify: true" \
		"    client-certificate-data: $(b64 "$WORK/pki/client.crt")
    client-key-data: $(b64 "$WORK/pki/client.key")"
	start_kube_agent --kubeconfig "$WORK/insecure"
	wait_ready
	stop_agent

	kubeconfig "$WORK/good" "    server: https://$API
    certificate-authority-data: $(b64 "$WORK/pki/ca.crt")" \
		"    client-certificate: pki/client.crt
    client-key: pki/client.key"
	start_kube_agent --kubeconfig "$WORK/good"
	wait_ready
	[ "$(frontends | jq length)" = 5 ] || fail "frontends: $(frontends | jq -c 'map(.name)')"
	stop_agent

	# without a client certificate the server's TLS refuses us
	kubeconfig "$WORK/nocert" "    server: https://$API
    certificate-authority-data: $(b64 "$WORK/pki/ca.crt")" "    token: x"
	start_kube_agent --kubeconfig "$WORK/nocert"
	wait_long 20 grep -q 'msg=api request failed' "$WORK/agent.log"
	# configuration errors are refused at start, with the reason
	kubeconfig "$WORK/exec" "    server: https://$API" "    exec: {command: aws}"
	out=$(in_node "$AGENT" --kubeconfig "$WORK/exec" --pin-dir "$PIN" 2>&1) && fail "exec accepted"
	has 'exec/auth-provider' <<<"$out" || fail "no reason given: $out"
}

# Malformed objects in the list and in the stream, and garbage events:
# each is rejected and counted; everything else continues.
kube_rejects_bad_objects_alone() {
	jq -c '.items += [
		(.items[] | select(.kind == "Service" and .metadata.name == "web")
		 | .metadata.name = "bad-ip" | .spec.clusterIP = "10.96.0.999" | .spec.clusterIPs = ["10.96.0.999"]),
		(.items[] | select(.kind == "EndpointSlice" and .metadata.name == "web-abcde")
		 | .metadata.name = "bad-port" | .ports[0].port = 70000)]' "$FIXTURE" >"$WORK/bad.json"
	start_api --objects "$WORK/bad.json"
	start_kube_agent --k8s-api-server "http://$API" --k8s-insecure-http
	wait_ready
	[ "$(frontends | jq length)" = 5 ] || fail "frontends: $(frontends | jq -c 'map(.name)')"
	[ "$(metric 'bpfnet_rejected_objects_total{kind="service"}')" = 1 ] || fail "bad service not counted"
	[ "$(metric 'bpfnet_rejected_objects_total{kind="endpointslice"}')" = 1 ] || fail "bad slice not counted"
	api POST /knobs '{"raw_event": "{\"type\": \"ADDED\", \"object\": [1, 2]}\n{not json}\n"}' >/dev/null
	wait_for test "$(metric 'bpfnet_rejected_objects_total{kind="other"}')" -ge 2
	api POST /objects "$(svc_json api 10.96.20.1 8443)" >/dev/null
	api POST /objects "$(slice_json api-1 api 8443 10.244.0.31)" >/dev/null
	expect_backends shop/api:http "10.244.0.31:8443"
	http_get /readyz | has ready || fail "not ready"
}

# Scale up, roll (terminating first, then gone, its server stopped last)
# and scale down through watch events while a client loop runs: not one
# failed connection.
kube_scale_and_roll_without_failures() {
	web_pods 3
	start_api
	serve_app
	loop_start 6
	sleep 1
	api POST /objects "$(slice_json app-1 app 8080 10.244.0.10 10.244.0.11 10.244.0.12)" >/dev/null
	expect_backends shop/app:http "10.244.0.10:8080 10.244.0.11:8080 10.244.0.12:8080"
	sleep 1
	api POST /objects "$(slice_json app-1 app 8080 10.244.0.10:terminating 10.244.0.11 10.244.0.12)" >/dev/null
	sleep 1
	api POST /objects "$(slice_json app-1 app 8080 10.244.0.11 10.244.0.12)" >/dev/null
	expect_backends shop/app:http "10.244.0.11:8080 10.244.0.12:8080"
	sleep 0.5
	kill "${PIDS[0]}" # web0's TCP server stops after it left the service
	sleep 0.5
	api POST /objects "$(slice_json app-1 app 8080 10.244.0.11:terminating 10.244.0.12)" >/dev/null
	sleep 0.5
	api POST /objects "$(slice_json app-1 app 8080 10.244.0.12)" >/dev/null
	expect_backends shop/app:http "10.244.0.12:8080"
	loop_expect_no_failures
}

# kill -9 and restart against the API while a client loop runs: nothing is
# published before Services and EndpointSlices are both listed, so no
# service is ever seen without its backends, and nothing is rewritten.
kube_restart_hitless() {
	web_pods 2
	start_api
	serve_app
	loop_start 5
	sleep 1
	kill -9 "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null || true
	# slices answer slowly: services arrive first and must wait for them
	api POST /knobs '{"chunk": 40, "delay": 0.02}' >/dev/null
	start_kube_agent --k8s-api-server "http://$API" --k8s-insecure-http
	wait_long 20 http_get /readyz
	[ "$(metric 'bpfnet_map_writes_total{op="service_write"}')" = 0 ] ||
		fail "restart rewrote services: $(http_get /metrics | grep map_writes)"
	loop_expect_no_failures
}

# many_services N: a List of N services (10.96.1.I:80), each with two
# slices of two endpoints, so a service can be listed with half its
# backends while the other slice is still on its way
many_services() {
	jq -c --argjson n "$1" '
		(.items[] | select(.kind == "Service" and .metadata.name == "web")) as $svc
		| (.items[] | select(.kind == "EndpointSlice" and .metadata.name == "web-abcde")) as $sl
		| {apiVersion: "v1", kind: "List", items: [range($n) as $i
		  | ($svc | .metadata.name = "s\($i)" | del(.metadata.uid, .spec.sessionAffinityConfig)
		     | .spec.sessionAffinity = "None" | .spec.clusterIP = "10.96.1.\($i)"
		     | .spec.clusterIPs = [.spec.clusterIP] | .spec.ports[0].port = 80
		     | .spec.selector.app = "s\($i)"),
		    (range(2) as $h | $sl | .metadata.name = "s\($i)-\($h)" | del(.metadata.uid)
		     | .metadata.labels["kubernetes.io/service-name"] = "s\($i)" | .ports[0].port = 8080
		     | .endpoints = [range(2) as $e | {addresses: ["10.244.\(1 + $h).\($i * 2 + $e)"],
		       nodeName: "node-a", conditions: {ready: true, serving: true, terminating: false}}])]}
	' "$FIXTURE"
}

# A cold start publishes no service before every slice is listed: at no
# moment does a service serve from part of its backends, though its slices
# arrive pages apart. Pages of 4 from a slow server.
kube_cold_start_publishes_only_whole_services() {
	local n=40 partial i
	many_services $n >"$WORK/many.json"
	start_api --objects "$WORK/many.json"
	api POST /knobs '{"chunk": 512, "delay": 0.01}' >/dev/null
	start_kube_agent --k8s-api-server "http://$API" --k8s-insecure-http --k8s-page-size 4
	for i in $(seq 1 300); do
		partial=$(frontends 2>/dev/null | jq '[.[] | select((.backends | length) != 4)] | map(.name)') ||
			partial="[]" # no maps pinned yet
		[ "$partial" = "[]" ] || fail "published with part of its backends: $partial"
		http_get /readyz >/dev/null 2>&1 && break
		sleep 0.05
	done
	http_get /readyz >/dev/null || fail "not ready after the slow lists"
	[ "$(frontends | jq '[.[] | select((.backends | length) == 4)] | length')" = "$n" ] ||
		fail "not every service published whole: $(frontends | jq -c 'map([.name, (.backends | length)])')"
	[ "$(metric 'bpfnet_map_writes_total{op="service_write"}')" = "$n" ] ||
		fail "each service written once: $(http_get /metrics | grep map_writes)"
}

run_case kube_plain_http_needs_its_flag kube_plain_http_needs_its_flag
run_case kube_retry_after_is_obeyed kube_retry_after_is_obeyed
run_case kube_list_then_watch_events kube_list_then_watch_events
run_case kube_pages_and_chunked_stream kube_pages_and_chunked_stream
run_case kube_resume_after_dropped_watch kube_resume_after_dropped_watch
run_case kube_relist_after_410 kube_relist_after_410
run_case kube_half_dead_watch_detected kube_half_dead_watch_detected
run_case kube_api_down_datapath_serves kube_api_down_datapath_serves
run_case kube_in_cluster_token_rotation kube_in_cluster_token_rotation
run_case kube_tls_verification_and_client_certs kube_tls_verification_and_client_certs
run_case kube_rejects_bad_objects_alone kube_rejects_bad_objects_alone
run_case kube_scale_and_roll_without_failures kube_scale_and_roll_without_failures
run_case kube_restart_hitless kube_restart_hitless
run_case kube_cold_start_publishes_only_whole_services kube_cold_start_publishes_only_whole_services
