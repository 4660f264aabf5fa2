#!/bin/busybox sh
# PID 1 of the vmtest guest (see tools/vmtest.sh). Builds a root from the
# host's / (read-only 9p under a tmpfs overlay), mounts the project
# read-write, runs the suite, writes the results, powers off.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.list); do insmod "/modules/$m" || echo "vmtest-init: insmod $m failed"; done

arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^bpfnet\.$1=//p"; }
PROJECT=$(arg project) VER=$(arg ver) RESULTS=$(arg results) OUT=$(arg out)
TESTS=$(arg tests)
CMD=$(arg cmd | sed 's/%20/ /g')
[ -n "$CMD" ] || CMD="bash tests/run.sh"

fail() {
	echo "vmtest-init: $*"
	poweroff -f
}
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose hostroot /host || fail "mount host /"
mount -t tmpfs -o size=1536m tmpfs /rw || fail "tmpfs"
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work /newroot ||
	fail "overlay"
for d in proc sys dev tmp run; do mkdir -p "/newroot/$d"; done
mount -t proc proc /newroot/proc
mount -t sysfs sys /newroot/sys
# switch_root moves this /dev (and /proc, /sys) into the new root; add what
# udev would: bash process substitution needs /dev/fd
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mkdir -p /dev/shm /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /newroot/tmp
mount -t tmpfs tmpfs /newroot/run
# the project last: it may live under /tmp (a CI clone), which the tmpfs
# above would otherwise hide
mkdir -p "/newroot$PROJECT"
mount -t 9p -o trans=virtio,version=9p2000.L project "/newroot$PROJECT" || fail "mount project"
mkdir -p "/newroot/lib/modules/$VER"
mount --bind "/newroot$PROJECT/.vmtest-cache/$VER/root/lib/modules/$VER" "/newroot/lib/modules/$VER"
mount -t cgroup2 cgroup2 /newroot/sys/fs/cgroup
mount -t bpf bpf /newroot/sys/fs/bpf
mount -t debugfs debugfs /newroot/sys/kernel/debug 2>/dev/null

echo "vmtest-init: kernel $(uname -r), running the suite"
# switch_root, not chroot: the kernel runs /sbin/modprobe (module autoload,
# e.g. veth, sch_ingress) from PID 1's root, which must be the full system.
# PID 1 then powers off through sysrq; the host's poweroff needs systemd.
exec switch_root /newroot /bin/bash -c "
	# autoload from inside test namespaces is not reliable in this guest:
	# load what the suite uses up front
	modprobe -a veth sch_ingress cls_bpf || echo 'vmtest-init: modprobe failed'
	cd '$PROJECT' &&
	OUT='$OUT' TESTS='$TESTS' BPFNET_IN_VM=1 $CMD >'$RESULTS/output.txt' 2>&1
	echo \$? >'$RESULTS/status.tmp' && mv '$RESULTS/status.tmp' '$RESULTS/status'
	sync
	echo 'vmtest-init: done'
	echo o >/proc/sysrq-trigger
	sleep 30"
