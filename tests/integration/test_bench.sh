#!/usr/bin/env bash
# Every part of `make bench` at its smallest size (SMOKE=1): a benchmark
# that no longer runs fails here, not on the day someone wants its figures.
# The figures themselves are not checked: timing belongs to make bench.
set -u
. "$(dirname "$0")/lib.sh"

# bench_part PART MARKER: the part runs to its end and prints MARKER
bench_part() {
	local out rc=0
	out=$(SMOKE=1 PARTS=$1 OUT=$OUT bash tests/bench/run.sh 2>&1) || rc=$?
	log "$(tail -n 4 <<<"$out")"
	[ "$rc" = 0 ] || fail "PARTS=$1 exited with $rc: $(tail -n 20 <<<"$out")"
	grep -q -- "$2" <<<"$out" || fail "PARTS=$1 did not print '$2'"
}

bench_tc() { bench_part tc "vs 10 services"; }
bench_pkt() { bench_part pkt "failed connections or requests"; }
bench_connect() { bench_part connect "translation costs"; }
bench_agent() { bench_part agent "agent peak RSS"; }
bench_cni() { bench_part cni "ms per ADD+DEL"; }

run_case bench_smoke_tc bench_tc
run_case bench_smoke_pkt bench_pkt
run_case bench_smoke_connect bench_connect
run_case bench_smoke_agent bench_agent
run_case bench_smoke_cni bench_cni
