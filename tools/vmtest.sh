#!/usr/bin/env bash
# make vmtest: run the test suite inside VMs booting Debian's kernels.
#
#   KERNELS="linux-image-amd64 linux-image-6.12-amd64"   metapackages to test
#                                                        (default: 6.1 only)
#   VMTEST_TIMEOUT=seconds                               per kernel (default 1500)
#   VMTEST_CMD="..."          run this in the guest instead of the suite (debugging)
#
# Each kernel is fetched from Debian's mirror by package name (resolved
# through the metapackage now, so security updates are followed) and cached
# in .vmtest-cache/. QEMU boots it with software emulation (this host's KVM
# cannot run stock kernels), no network device, the host's / shared
# read-only under a tmpfs overlay and the project shared read-write, so the
# guest runs the binaries built on the host. The guest runs tests/run.sh
# and writes its output back; this script prints it per kernel, prefixed
# with the kernel, and the closing "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
PROJECT=$(pwd)
OUT=${OUT:-build}
CACHE=$PROJECT/.vmtest-cache
KERNELS=${KERNELS:-linux-image-amd64}
VMTEST_TIMEOUT=${VMTEST_TIMEOUT:-1500}
GUEST_MODULES="virtio_pci 9pnet_virtio 9p overlay"

die() { echo "vmtest: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root"
for tool in qemu-system-x86_64 busybox cpio depmod; do
	command -v "$tool" >/dev/null || die "$tool missing (make deps)"
done
[ -x "$OUT/tests/bpfnet-unit" ] || die "$OUT/tests/bpfnet-unit missing: build first (make test builds it)"

# fetch META: echo the kernel version; package extracted under $CACHE/VER
fetch() {
	local meta=$1 pkg ver dir
	pkg=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-/ { print $2; exit }')
	if [ -z "$pkg" ]; then
		apt-get update -qq >/dev/null 2>&1
		pkg=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-/ { print $2; exit }')
	fi
	[ -n "$pkg" ] || { echo "vmtest: cannot resolve $meta" >&2; return 1; }
	ver=${pkg#linux-image-}
	ver=${ver%-unsigned}
	dir=$CACHE/$ver
	if [ ! -f "$dir/.complete" ]; then
		rm -rf "$dir"
		mkdir -p "$dir/deb"
		(cd "$dir/deb" && apt-get download "$pkg" >/dev/null 2>&1) ||
			{ echo "vmtest: download of $pkg failed" >&2; return 1; }
		dpkg-deb -x "$dir"/deb/*.deb "$dir/root" || return 1
		rm -rf "$dir/deb"
		depmod -b "$dir/root" "$ver" || return 1
		touch "$dir/.complete"
	fi
	echo "$ver"
}

# module closure of GUEST_MODULES in load order, from modules.dep
module_closure() {
	local moddir=$1 m
	declare -A seen=()
	local order=()
	visit() {
		local name=$1 path deps d
		path=$(awk -F: -v n="$name" '{ f = $1; sub(".*/", "", f); sub("\\.ko.*", "", f);
			gsub("-", "_", f); if (f == n) { print $1; exit } }' "$moddir/modules.dep")
		[ -n "$path" ] || return 0 # built in
		[ -n "${seen[$path]:-}" ] && return 0
		seen[$path]=1
		deps=$(awk -F: -v p="$path" '$1 == p { print $2; exit }' "$moddir/modules.dep")
		for d in $deps; do
			d=${d##*/}
			d=${d%%.ko*}
			visit "${d//-/_}"
		done
		order+=("$path")
	}
	for m in $GUEST_MODULES; do visit "$m"; done
	printf '%s\n' "${order[@]}"
}

make_initrd() {
	local ver=$1 root=$CACHE/$1/root initrd=$CACHE/$1/initrd.cpio.gz tmp m
	# rebuilt whenever this script or the guest's init changed
	[ -f "$initrd" ] && [ "$initrd" -nt "$0" ] && [ "$initrd" -nt tools/vmtest-init.sh ] &&
		return 0
	tmp=$(mktemp -d)
	mkdir -p "$tmp"/{bin,proc,sys,dev,modules,host,rw,newroot}
	cp "$(command -v busybox)" "$tmp/bin/busybox"
	: >"$tmp/modules.list"
	for m in $(module_closure "$root/lib/modules/$ver"); do
		case $m in
		*.xz) xz -dc "$root/lib/modules/$ver/$m" >"$tmp/modules/$(basename "${m%.xz}")" ;;
		*.zst) zstd -qdc "$root/lib/modules/$ver/$m" >"$tmp/modules/$(basename "${m%.zst}")" ;;
		*) cp "$root/lib/modules/$ver/$m" "$tmp/modules/" ;;
		esac
		basename "${m%.*z*}" | sed 's/\.ko$//; s/$/.ko/' >>"$tmp/modules.list"
	done
	cp tools/vmtest-init.sh "$tmp/init"
	chmod +x "$tmp/init"
	(cd "$tmp" && find . | cpio -o -H newc --quiet | gzip -1) >"$initrd"
	rm -rf "$tmp"
}

total_pass=0 total_fail=0 total_skip=0
for meta in $KERNELS; do
	ver=$(fetch "$meta") || { echo "FAIL vmtest/$meta (kernel not available)"; total_fail=$((total_fail + 1)); continue; }
	make_initrd "$ver" || { echo "FAIL vmtest/$ver (initramfs)"; total_fail=$((total_fail + 1)); continue; }
	results=$PROJECT/$OUT/vmtest/$ver
	rm -rf "$results"
	mkdir -p "$results"
	echo "== kernel $ver ($meta): booting under QEMU TCG"
	start=$(date +%s)
	timeout "$VMTEST_TIMEOUT" qemu-system-x86_64 -nodefaults -display none -no-reboot \
		-machine pc -cpu max -smp 1 -m 2048 \
		-kernel "$CACHE/$ver/root/boot/vmlinuz-$ver" -initrd "$CACHE/$ver/initrd.cpio.gz" \
		-append "console=ttyS0 quiet panic=-1 bpfnet.project=$PROJECT bpfnet.ver=$ver bpfnet.results=$results bpfnet.out=$OUT${TESTS:+ bpfnet.tests=$TESTS}${VMTEST_CMD:+ bpfnet.cmd=${VMTEST_CMD// /%20}}" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs local,path="$PROJECT",mount_tag=project,security_model=none,multidevs=remap \
		-serial file:"$results/console.log" </dev/null
	qrc=$?
	echo "   guest finished in $(($(date +%s) - start)) s (qemu exit $qrc)"
	if [ ! -f "$results/status" ]; then
		echo "FAIL vmtest/$ver (the guest did not finish; see $results/console.log)"
		tail -n 20 "$results/console.log" | sed 's/^/    /'
		total_fail=$((total_fail + 1))
		continue
	fi
	# the guest's lines, named by kernel; its closing line becomes ours
	sed -n 's/^\(PASS\|FAIL\|SKIP\) /\1 '"$ver"'\//p; /^    /p' "$results/output.txt"
	p=$(grep -c '^PASS ' "$results/output.txt")
	f=$(grep -c '^FAIL ' "$results/output.txt")
	s=$(grep -c '^SKIP ' "$results/output.txt")
	if [ "$(cat "$results/status")" != 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $ver/suite (exit status $(cat "$results/status"))"
		f=1
	fi
	echo "   kernel $ver: $p passed, $f failed, $s skipped"
	total_pass=$((total_pass + p)) total_fail=$((total_fail + f)) total_skip=$((total_skip + s))
done
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
