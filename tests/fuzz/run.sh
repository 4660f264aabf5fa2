#!/usr/bin/env bash
# Fuzz every parser of outside input (libFuzzer, ASan, UBSan).
#
#   run.sh smoke SECONDS   (make test) each target for SECONDS from its seeds,
#                          then every saved regression input once
#   run.sh full SECONDS    (make fuzz) each target for 10 M inputs (FUZZ_RUNS),
#                          at most SECONDS; a crash is saved into
#                          tests/fuzz/regress/TARGET/ to be committed with its
#                          fix, and from then on runs in every make test
#
# Prints, per target, the inputs executed and the rate; the target for a
# full run is >= 10 M executions per parser with no crash. Exit status is
# non-zero on any crash, leak or timeout.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-build}
MODE=${1:-smoke}
SECONDS_EACH=${2:-3}
TARGETS=(json_framer list_reader model kubeconfig cni_request cli_args)
WORK=$(mktemp -d /tmp/bpfnet-fuzz-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
failed=0

for t in "${TARGETS[@]}"; do
	bin=$OUT/fuzz/fuzz_$t
	[ -x "$bin" ] || { echo "FAIL fuzz/$t: $bin not built"; failed=1; continue; }
	mkdir -p "$WORK/$t"
	# crashes go where they become regression inputs (a smoke run keeps its
	# own, reported, so a test run never writes into the tree)
	if [ "$MODE" = full ]; then
		art=tests/fuzz/regress/$t/ runs=(-runs="${FUZZ_RUNS:-10000000}")
	else
		art=$WORK/$t- runs=()
	fi
	start=$(date +%s.%N)
	"$bin" -max_total_time="$SECONDS_EACH" "${runs[@]}" -print_final_stats=1 -timeout=5 \
		-rss_limit_mb=1024 -artifact_prefix="$art" "$WORK/$t" "tests/fuzz/corpus/$t" \
		>"$WORK/$t.log" 2>&1
	rc=$?
	execs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$WORK/$t.log")
	rate=$(awk '/stat::average_exec_per_sec/ { print $2 }' "$WORK/$t.log")
	# and every input that once went wrong, once each
	regress=()
	for f in "tests/fuzz/regress/$t"/*; do
		[ -f "$f" ] && [ "$(basename "$f")" != README ] && regress+=("$f")
	done
	if [ $rc = 0 ] && [ ${#regress[@]} -gt 0 ]; then
		"$bin" "${regress[@]}" >"$WORK/$t.regress.log" 2>&1 || rc=$?
		[ $rc = 0 ] || cat "$WORK/$t.regress.log" >>"$WORK/$t.log"
	fi
	if [ $rc = 0 ]; then
		note=""
		[ "$MODE" = full ] && [ "${execs:-0}" -lt 10000000 ] && note=" (below the 10 M target)"
		printf 'PASS fuzz/%s: %s inputs in %.0f s, %s/s, %d regression inputs%s\n' "$t" \
			"${execs:-?}" "$(echo "$(date +%s.%N) - $start" | bc -l)" "${rate:-?}" \
			"${#regress[@]}" "$note"
	else
		echo "FAIL fuzz/$t (status $rc)"
		grep -E 'ERROR|SUMMARY|artifact|Test unit written' "$WORK/$t.log" | head -n 8 | sed 's/^/    /'
		if [ "$MODE" != full ]; then
			mkdir -p "$OUT/fuzz/artifacts"
			cp "$WORK/$t-"* "$OUT/fuzz/artifacts/" 2>/dev/null &&
				echo "    input kept in $OUT/fuzz/artifacts/ (add it to tests/fuzz/regress/$t/ with the fix)"
		fi
		failed=1
	fi
done
exit $failed
