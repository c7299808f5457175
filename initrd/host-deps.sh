#!/usr/bin/env bash
# The build host's tools: installed with apt-get only when missing, so a second run is instant.
set -euo pipefail
pkgs=(musl-tools libmount-dev libblkid-dev libkmod-dev dosfstools linux-libc-dev gcc make libcmocka-dev autoconf automake libtool pkg-config dpkg-dev
      cpio zstd lz4 xz-utils kmod squashfs-tools e2fsprogs qemu-system-x86 qemu-utils busybox-static python3 binutils
      openssh-client                    # qemu-tests/test_ssh.py: ssh and ssh-keygen on the host side
      xorriso mtools                    # qemu-tests/test_config.py: NoCloud seeds (iso9660 cidata, vfat CIDATA)
      libcjson-dev libhttp-parser-dev libyaml-dev   # the unit tests, which need no Debian 13 fetch
      clang libclang-rt-14-dev)   # fuzzing and the sanitizer builds of the unit tests (clang 14, bookworm)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "host-deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update -qq || { echo "host-deps: apt-get update failed" >&2; exit 1; }
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
	|| { echo "host-deps: apt-get install ${missing[*]} failed" >&2; exit 1; }
