#!/bin/bash
# Owns the third-party inputs of the initramfs: downloads Debian 13's kernel, engine and library
# packages (through the private apt state of initrd/apt.sh) into BUILD_DIR/debs (a cache), unpacks
# them into BUILD_DIR/pkgroot and BUILD_DIR/kernel, and records what was used in BUILD_DIR/versions.txt.
# Usage: initrd/fetch.sh BUILD_DIR        Host needs: apt, dpkg (dpkg-deb), coreutils, gawk|mawk.
set -euo pipefail

# The appliance's packages (tzdata: the zone files of the documents' `timezone`); their shared-library dependency packages are added by walking apt's graph.
PACKAGES=(docker.io docker-cli docker-compose docker-buildx containerd runc crun tini iptables busybox-static
          dhcpcd-base chrony apparmor e2fsprogs zlib1g openssh-server openssh-client openssh-sftp-server
          libxtables12 libip4tc2 libip6tc2 libnftnl11 libnetfilter-conntrack3 libnfnetlink0 libmnl0
          tzdata)
KERNEL_META=linux-image-amd64

die() { echo "fetch.sh: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: fetch.sh BUILD_DIR"
BUILD=$1
mkdir -p "$BUILD/debs"
BUILD=$(cd "$BUILD" && pwd)
# shellcheck source=initrd/apt.sh
. "$(dirname "$0")/apt.sh"
apt_ready || die "the private $SUITE apt state could not be set up"

# Prints the first alternative of every Depends/PreDepends of the given packages (virtuals skipped)
# as "PACKAGE DEPENDENCY" lines; extra arguments (--recurse) go to apt-cache.
dep_edges() {
    apt-cache "${APT_OPTS[@]}" depends --no-recommends --no-suggests --no-conflicts --no-breaks \
        --no-replaces --no-enhances "$@" | awk '
        /^[^ ]/ { pkg = $1; alt = 0; next }
        /^ [ |](Pre)?Depends: / { if (!alt && $2 !~ /^</) print pkg, $2; alt = (substr($0, 2, 1) == "|") }'
}

# Only library packages are followed: the appliance takes binaries, not maintainer scripts' tools.
# One recursive query (each apt-cache call costs ~0.4 s) and the walk is done over its edges.
mapfile -t libclosure < <(dep_edges --recurse "${PACKAGES[@]}" | awk -v roots="${PACKAGES[*]}" '
    { edges[$1] = edges[$1] " " $2 }
    END {
        n = split(roots, queue, " ")
        for (i = 1; i <= n; i++) seen[queue[i]] = 1
        for (i = 1; i <= n; i++) {
            m = split(edges[queue[i]], deps, " ")
            for (j = 1; j <= m; j++)
                if (deps[j] ~ /^lib/ && !(deps[j] in seen)) { seen[deps[j]] = 1; queue[++n] = deps[j] }
        }
        for (p in seen) print p
    }')

kernel_pkg=$(dep_edges "$KERNEL_META" 2>/dev/null | awk '$2 ~ /^linux-image-/ {print $2; exit}') || true
[ -n "$kernel_pkg" ] ||
    die "cannot resolve the kernel package that $KERNEL_META depends on (apt-get update?)"
mapfile -t wanted < <(printf '%s\n' "${libclosure[@]}" "$kernel_pkg" | sort -u)

# Candidate version and architecture of each package name -> the file name apt-get download writes.
declare -A debfile=()
while read -r pkg ver arch; do
    debfile[$pkg]="${pkg}_${ver//:/%3a}_${arch}.deb"
done < <(apt-cache "${APT_OPTS[@]}" show --no-all-versions "${wanted[@]}" 2>/dev/null |
         awk '/^Package: /{p=$2} /^Version: /{v=$2} /^Architecture: /{a=$2} /^$/{if (p) print p, v, a; p=""}
              END{if (p) print p, v, a}')
for p in "${wanted[@]}"; do
    [ -n "${debfile[$p]:-}" ] || die "package '$p' not found in the apt archive (is 'apt-get update' done?)"
done

missing=()
for p in "${wanted[@]}"; do [ -f "$BUILD/debs/${debfile[$p]}" ] || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
    # Downloaded into a scratch dir and moved in whole, so the cache never holds a truncated .deb.
    dl=$(mktemp -d "$BUILD/debs/.download.XXXXXX")
    trap 'rm -rf "$dl"' EXIT
    echo "fetch.sh: downloading ${missing[*]}"
    # Lists older than the archive name files it no longer has: refreshed once, then tried again.
    if ! (cd "$dl" && apt-get "${APT_OPTS[@]}" download -q "${missing[@]}") >&2; then
        [ -z "${FETCH_RETRIED:-}" ] || die "apt-get download failed again after refreshing the lists"
        echo "fetch.sh: apt-get download reported an error; refreshing the $SUITE lists" >&2
        rm -rf "$dl"
        apt_update || die "apt-get update of $SUITE failed"
        FETCH_RETRIED=1 exec "$0" "$BUILD"
    fi
    for p in "${missing[@]}"; do
        [ -f "$dl/${debfile[$p]}" ] || die "download of package '$p' (${debfile[$p]}) failed"
        mv "$dl/${debfile[$p]}" "$BUILD/debs/"
    done
    rm -rf "$dl"
    trap - EXIT
fi

stamp="$BUILD/.fetch-stamp"
manifest=$(for p in "${wanted[@]}"; do echo "${debfile[$p]}"; done)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$manifest" ] && [ -d "$BUILD/pkgroot" ] &&
   [ -f "$BUILD/kernel/kver" ] && [ -f "$BUILD/versions.txt" ]; then
    echo "fetch.sh: $BUILD/pkgroot and $BUILD/kernel are up to date"
    exit 0
fi

# Unpacked into a scratch dir, swapped in, and the stamp written last: no stamp, no trusted output.
rm -f "$stamp"
tmp="$BUILD/.fetch-tmp"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/pkgroot" "$tmp/kroot" "$tmp/kernel/lib/modules"
for p in "${wanted[@]}"; do
    deb="$BUILD/debs/${debfile[$p]}"
    if [ "$p" = "$kernel_pkg" ]; then dest="$tmp/kroot"; else dest="$tmp/pkgroot"; fi
    dpkg-deb -x "$deb" "$dest" || die "cannot unpack $deb (package '$p')"
    # shellcheck disable=SC2016  # dpkg-deb expands ${Package}, not the shell
    dpkg-deb -W --showformat='${Package} ${Version}\n' "$deb" >> "$tmp/versions.txt"
done

# Debian 13 is merged-/usr: packages ship usr/bin, usr/lib..., and the ELF interpreter is still
# /lib64/ld-linux-x86-64.so.2. The root gets the usual links, so both spellings name one file.
for d in bin sbin lib lib64; do
    if [ -d "$tmp/pkgroot/$d" ] && [ ! -L "$tmp/pkgroot/$d" ]; then   # a package not yet moved
        mkdir -p "$tmp/pkgroot/usr/$d"
        cp -a "$tmp/pkgroot/$d/." "$tmp/pkgroot/usr/$d/" && rm -rf "${tmp:?}/pkgroot/$d"
    fi
    mkdir -p "$tmp/pkgroot/usr/$d"
    ln -s "usr/$d" "$tmp/pkgroot/$d"
done

kmods=$tmp/kroot/usr/lib/modules
[ -d "$kmods" ] || kmods=$tmp/kroot/lib/modules
kvers=("$kmods"/*/)
[ ${#kvers[@]} -eq 1 ] && [ -d "${kvers[0]}" ] ||
    die "package '$kernel_pkg' has no single usr/lib/modules/KVER"
kver=$(basename "${kvers[0]}")
[ -f "$tmp/kroot/boot/vmlinuz-$kver" ] || die "package '$kernel_pkg' has no boot/vmlinuz-$kver"
mv "$tmp/kroot/boot/vmlinuz-$kver" "$tmp/kernel/vmlinuz"
mv "$tmp/kroot/boot/config-$kver" "$tmp/kernel/config"
mv "$kmods/$kver" "$tmp/kernel/lib/modules/"
# Debian 13 compresses its modules with xz. Unpacked once here, so the initramfs holds plain .ko:
# init's libkmod is built without xz, and nothing is decompressed at boot (the signature is
# inside the compressed file and stays valid).
find "$tmp/kernel/lib/modules/$kver" -name '*.ko.xz' -print0 | xargs -0 -r -P "$(nproc)" -n 200 xz -d ||
    die "cannot decompress the modules of package '$kernel_pkg'"
depmod -b "$tmp/kernel" "$kver" || die "depmod over the decompressed modules of $kver failed"
echo "$kver" > "$tmp/kernel/kver"
sort -o "$tmp/versions.txt" "$tmp/versions.txt"

rm -rf "$BUILD/pkgroot" "$BUILD/kernel" "$BUILD/versions.txt"
mv "$tmp/pkgroot" "$tmp/kernel" "$tmp/versions.txt" "$BUILD/"
rm -rf "$tmp"
trap - EXIT
echo "$manifest" > "$stamp.tmp" && mv "$stamp.tmp" "$stamp"
echo "fetch.sh: ${#wanted[@]} packages unpacked; kernel $kver"
