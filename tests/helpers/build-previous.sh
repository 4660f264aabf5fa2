#!/usr/bin/env bash
# Build the last release whose maps have the layout this one migrates from
# (ct_v1: one conntrack table, no reply source in the entry), for the
# upgrade tests: an old agent pins the old maps, a new one takes over.
#
#   build-previous.sh OUTDIR    binaries in OUTDIR/bin, BPF objects in OUTDIR/bpf
#
# Built once per commit from the repository's own history; exit 2 (with
# the reason) when there is no history to build it from (a tarball).
set -euo pipefail
cd "$(dirname "$0")/../.."
PREVIOUS=e5d84b241ea3fa21db70825ab60bc4f5bb11b047 # the last commit with ct_v1
OUTDIR=$(realpath -m "$1")
[ -f "$OUTDIR/.built-$PREVIOUS" ] && exit 0
if ! git rev-parse -q --verify "$PREVIOUS^{commit}" >/dev/null 2>&1; then
	echo "no git history with $PREVIOUS: the previous release cannot be built"
	exit 2
fi
src=$(mktemp -d /tmp/bpfnet-previous-XXXXXX)
trap 'rm -rf "$src"' EXIT
git archive "$PREVIOUS" | tar -x -C "$src"
rm -rf "$OUTDIR"
# its own dependency step would run apt again: ours installed everything
mkdir -p "$OUTDIR" && touch "$OUTDIR/.deps-installed"
make -s -C "$src" OUT="$OUTDIR" -j"$(nproc)" all >"$OUTDIR/build.log" 2>&1 ||
	{ tail -n 20 "$OUTDIR/build.log"; exit 1; }
touch "$OUTDIR/.built-$PREVIOUS"
