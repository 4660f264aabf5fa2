#!/usr/bin/env bash
# Install the Debian packages bpfnet builds, tests and runs with.
# Idempotent and non-interactive: installs only what is missing.
set -euo pipefail

PACKAGES=(
	make gcc libc6-dev linux-libc-dev pkg-config
	clang llvm libclang-rt-14-dev bpftool libbpf-dev libelf-dev zlib1g-dev
	libmnl-dev libcjson-dev libcurl4-openssl-dev libyaml-dev
	iproute2 util-linux procps dnsmasq-base bc jq curl
	qemu-system-x86 busybox-static cpio kmod xz-utils zstd
	python3 openssl containernetworking-plugins podman runc iptables
)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]} (run as root)" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
