#!/bin/bash
# Owns the initramfs layout: assembles /init, the engine, iptables, busybox, their exact shared
# libraries, the kernel modules subset and the bundled images from fetch.sh's output into one cpio.
# Usage: initrd/mkinitrd.sh BUILD_DIR INIT_BINARY IMAGES_DIR OUTPUT ENGINE_OUT [FULL_OUT]
#   OUTPUT: the initramfs without the engine image, which goes to ENGINE_OUT (a squashfs that ./kvm
#   attaches as a read-only disk); FULL_OUT: an initramfs that holds it too, for loaders that take
#   only a kernel and an initrd. (env INITRD_COMPRESSION overrides the compression)
# Host needs: cpio, kmod (depmod), squashfs-tools, binutils (readelf), lz4, zstd, gzip, coreutils, findutils; run as root.
#
# Compression, measured on this machine: a 165 MiB cpio (no images, 88 modules), kernel 6.1.0-56,
# `qemu-system-x86_64 -accel tcg -m 512`, guest uptime when /init starts (3 boots each; a 2 MB
# initramfs starts /init at 3.2 s), compressed size, host compression time:
#   lz4 -l -9   64 MiB   5.0-5.8 s   6 s     <- default: unpacks fastest under TCG
#   lz4 -l -1   78 MiB   5.6-6.6 s   0.6 s
#   zstd -9     49 MiB   6.6-7.2 s   5 s
#   zstd -19    43 MiB   7.5-9.5 s   140 s
#   zstd -3     53 MiB   7.8-9.0 s   1.2 s
#   gzip -6     55 MiB   8.4-11 s    10 s   (gzip -9: 54 MiB, 33 s)
#   none       165 MiB   4.5-5.4 s          (fails to unpack with -m 512: needs -m 1024)
set -euo pipefail

# The modules a docker host in a VM needs; their dependencies and softdeps are added below.
MODULES=(virtio_pci virtio_net virtio_blk virtio_scsi sd_mod virtio_rng virtio_console
         ext4 overlay loop squashfs isofs vfat nls_cp437 nls_utf8 nls_ascii fuse 9p 9pnet_virtio virtiofs
         bridge br_netfilter veth macvlan ipvlan vxlan dummy tun llc stp
         nf_tables nft_compat nft_chain_nat nft_ct nft_nat nft_masq nft_reject_inet nf_nat nf_conntrack
         nf_conntrack_netlink xt_conntrack xt_MASQUERADE xt_addrtype xt_nat xt_tcpudp xt_mark
         xt_comment ipt_REJECT ip_tables iptable_nat iptable_filter
         ip_vs ip_vs_rr ip_vs_wrr xt_ipvs xt_state xt_u32 xt_policy xt_REDIRECT xt_multiport nft_redir
         iptable_mangle xt_bpf xfrm_user esp4
         gcm ghash_generic ghash_clmulni_intel ctr seqiv echainiv af_packet button evdev qemu_fw_cfg)
# Our /init answers to these names; busybox must not shadow them.
INIT_NAMES=(sbin/modprobe sbin/poweroff sbin/reboot sbin/halt)
IPTABLES_NAMES=(iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore
                iptables-nft iptables-nft-save iptables-nft-restore
                ip6tables-nft ip6tables-nft-save ip6tables-nft-restore)
COMPRESSION=${INITRD_COMPRESSION:-lz4}
ENGINE_DIR=usr/lib/onlydocker/engine   # init's ENGINEFS_DIR, without the leading /
MULTIARCH=x86_64-linux-gnu

die() { echo "mkinitrd.sh: $*" >&2; exit 1; }
[ $# -eq 5 ] || [ $# -eq 6 ] || die "usage: mkinitrd.sh BUILD_DIR INIT_BINARY IMAGES_DIR OUTPUT ENGINE_OUT [FULL_OUT]"
BUILD=$1 INIT=$2 IMAGES=$3 OUTPUT=$4 ENGINE_OUT=$5 FULL_OUT=${6:-}
# A failed build must not leave older images that look current.
rm -f "$OUTPUT" "$ENGINE_OUT" ${FULL_OUT:+"$FULL_OUT"}
PKG=$BUILD/pkgroot
[ -f "$BUILD/.fetch-stamp" ] && [ -d "$PKG" ] && [ -f "$BUILD/kernel/kver" ] ||
    die "$BUILD/pkgroot or $BUILD/kernel missing: run initrd/fetch.sh $BUILD"
[ -f "$INIT" ] || die "init binary '$INIT' not found"
[ -d "$IMAGES" ] || die "images directory '$IMAGES' not found"
KVER=$(cat "$BUILD/kernel/kver")
KMOD=$BUILD/kernel/lib/modules/$KVER
[ -d "$KMOD" ] || die "kernel modules $KMOD missing"
case $COMPRESSION in
    gzip) compress=(gzip -6 -n) ;;
    lz4)  compress=(lz4 -l -9 -q) ;;   # the kernel reads only lz4's legacy format
    zstd) compress=(zstd -9 -T0 -q) ;;  # -19 saves 6 MiB for 27x the time and unpacks no faster
    none) compress=(cat) ;;
    *) die "unknown INITRD_COMPRESSION '$COMPRESSION' (gzip, lz4, zstd, none)" ;;
esac

umask 022
mkdir -p "$(dirname "$OUTPUT")"
ROOT=$(mktemp -d "$OUTPUT.staging.XXXXXX")
ENGINE=$ROOT.engine
trap 'rm -rf "$ROOT" "$ROOT.cpio" "$OUTPUT.tmp" "$ENGINE" "$ENGINE_OUT.tmp" "$ROOT.squashfs" ${FULL_OUT:+"$FULL_OUT.tmp"}' EXIT

# Copies PATH (relative to pkgroot) to the same path in the image, following symlink chains so
# that both the links and their targets land (Debian's links are relative, /lib64's absolute).
copy_pkg() {
    local rel=$1 target
    if [ -e "$ROOT/$rel" ] || [ -L "$ROOT/$rel" ]; then return 0; fi
    [ -e "$PKG/$rel" ] || [ -L "$PKG/$rel" ] || die "'$rel' is missing from $PKG"
    mkdir -p "$ROOT/$(dirname "$rel")"
    cp -a "$PKG/$rel" "$ROOT/$rel"
    if [ -L "$PKG/$rel" ]; then
        target=$(readlink "$PKG/$rel")
        case $target in /*) copy_pkg "${target#/}" ;; *) copy_pkg "$(dirname "$rel")/$target" ;; esac
    fi
}
# Copies a pkgroot file, dereferenced, to another path in the image.
install_pkg() {
    [ -e "$PKG/$1" ] || die "'$1' is missing from $PKG (package not fetched?)"
    mkdir -p "$ROOT/$(dirname "$2")"
    cp -L --preserve=mode "$PKG/$1" "$ROOT/$2"
}

mkdir -p "$ROOT"/{proc,sys,dev,run,tmp,etc,mnt,root,var/lib/docker,usr/bin,usr/sbin,usr/lib,usr/lib64}
# Merged /usr, as Debian 13 is: /bin, /sbin, /lib and /lib64 are links into /usr.
for d in bin sbin lib lib64; do ln -s "usr/$d" "$ROOT/$d"; done
chmod 1777 "$ROOT/tmp"; chmod 700 "$ROOT/root"
# The kernel opens /dev/console for /init's stdio before anything can mount devtmpfs.
mknod -m 600 "$ROOT/dev/console" c 5 1

cp "$INIT" "$ROOT/init"; chmod 755 "$ROOT/init"
for n in "${INIT_NAMES[@]}"; do ln -s /init "$ROOT/$n"; done

# The engine: dockerd finds containerd, runc, docker-init and docker-proxy through PATH.
install_pkg usr/sbin/dockerd usr/bin/dockerd
install_pkg usr/bin/containerd usr/bin/containerd
install_pkg usr/bin/containerd-shim-runc-v2 usr/bin/containerd-shim-runc-v2
install_pkg usr/sbin/runc usr/bin/runc
install_pkg usr/bin/crun usr/bin/crun
install_pkg usr/bin/docker-init usr/bin/docker-init
install_pkg usr/sbin/docker-proxy usr/bin/docker-proxy
# The docker CLI and its compose and buildx plugins: for dom0, which reaches them through a read-only
# bind mount of the engine image (its own image stays busybox and a few links).
install_pkg usr/bin/docker usr/bin/docker
for plugin in docker-compose docker-buildx; do
    install_pkg "usr/libexec/docker/cli-plugins/$plugin" "usr/libexec/docker/cli-plugins/$plugin"
done
# OpenSSH for dom0 (it starts sshd only when there is an authorized key): sshd, its
# sshd-session and sshd-auth (OpenSSH 10 runs each connection in these), sftp-server, ssh-keygen
# for the host keys and the moduli for group exchange. Here, not in dom0's image: with their ~15
# MiB of libraries (libcrypto, krb5...) dom0.tar would grow eightfold and every first boot would
# load it; from the engine image they cost only what a login reads.
install_pkg usr/sbin/sshd usr/sbin/sshd
for f in sshd-session sshd-auth sftp-server; do install_pkg "usr/lib/openssh/$f" "usr/lib/openssh/$f"; done
install_pkg etc/ssh/moduli usr/lib/openssh/moduli
install_pkg usr/bin/ssh-keygen usr/bin/ssh-keygen
# The client too, and scp: from dom0 to another machine (a swarm's other nodes), as admins expect.
install_pkg usr/bin/ssh usr/bin/ssh
install_pkg usr/bin/scp usr/bin/scp
# chrony for the ntp container, and chronyc for the dhcp container's hook 60-ntp: here, not in the
# dhcpcd image, which would grow from 12 to 22 MB with gnutls and its libraries (loaded at every
# first boot). Both containers bind this image read-only and run them through its own loader and
# glibc (the image's chronyd and chronyc are scripts that do so: images/build.py).
install_pkg usr/sbin/chronyd usr/sbin/chronyd
install_pkg usr/bin/chronyc usr/bin/chronyc
# Debian's kernel enables AppArmor: dockerd then loads its docker-default profile for every
# unprivileged container, and cannot start one without the parser.
install_pkg sbin/apparmor_parser usr/sbin/apparmor_parser
install_pkg etc/apparmor/parser.conf etc/apparmor/parser.conf
# mke2fs, for od.disk.format= only (init formats nothing unasked, nothing that is not all zero).
install_pkg sbin/mke2fs usr/sbin/mke2fs
install_pkg usr/share/apparmor-features/features usr/share/apparmor-features/features
# tzdata's zone files, for the document's `timezone` (host.c links /etc/localtime into them) and TZ=
# in dom0; in the engine image (below), as nothing reads them before it is mounted. Trixie's tzdata
# has no posix/ or right/ trees (tzdata-legacy does); left out too: the zic source (tzdata.zi), the
# leap second tables and the link to /etc/localtime. The zone tables stay, for tzselect and the like.
copy_pkg usr/share/zoneinfo
rm -f "$ROOT"/usr/share/zoneinfo/{localtime,tzdata.zi,leapseconds,leap-seconds.list,zonenow.tab}

# iptables: the nft backend only, under the names dockerd and users call; extensions are dlopen()ed.
install_pkg usr/sbin/xtables-nft-multi usr/sbin/xtables-nft-multi
for n in "${IPTABLES_NAMES[@]}"; do ln -s xtables-nft-multi "$ROOT/usr/sbin/$n"; done
copy_pkg usr/lib/$MULTIARCH/xtables

install_pkg bin/busybox bin/busybox
for applet in $("$PKG/bin/busybox" --list); do
    case " init linuxrc busybox ${INIT_NAMES[*]//sbin\//} " in *" $applet "*) continue ;; esac
    ln -s busybox "$ROOT/bin/$applet"
done

# Shared libraries: exactly the NEEDED closure of every ELF file in the image, plus libgcc_s,
# which glibc dlopen()s for thread cancellation and unwinding.
copy_lib() {
    local d
    for d in usr/lib/$MULTIARCH usr/lib; do
        if [ -e "$PKG/$d/$1" ]; then copy_pkg "$d/$1"; return 0; fi
    done
    die "library '$1' needed by '$2' is not in $PKG (missing from fetch.sh's packages?)"
}
copy_lib libgcc_s.so.1 glibc
declare -A scanned=()
while :; do
    new=0
    while IFS= read -r -d '' f; do
        [ -z "${scanned[$f]:-}" ] || continue
        scanned[$f]=1; new=1
        [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
        interp=$(readelf -l "$f" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
        [ -z "$interp" ] || copy_pkg "${interp#/}"
        for so in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do copy_lib "$so" "${f#"$ROOT"}"; done
    done < <(find "$ROOT" -path "$ROOT/usr/lib/modules" -prune -o -type f -print0)
    [ $new = 1 ] || break
done

# Kernel modules: the list above closed over dependencies and softdeps, using depmod's view of the
# whole tree (aliases resolve softdeps such as libcrc32c's "pre: crc32c"); built-ins need nothing.
mapfile -t modpaths < <(depmod -n -b "$BUILD/kernel" "$KVER" 2>/dev/null |
    awk -v want="${MODULES[*]}" -v builtin="$KMOD/modules.builtin" '
    function norm(s) { gsub("-", "_", s); return s }
    function modname(p) { sub(".*/", "", p); sub("\\.ko.*", "", p); return norm(p) }
    function add(name,   i, n, parts) {
        if (name in added) return
        added[name] = 1
        print path[name]
        n = split(deps[name], parts, " ")
        for (i = 1; i <= n; i++) add(modname(parts[i]))
        n = split(soft[name], parts, " ")
        for (i = 1; i <= n; i++) want_one(parts[i], 0)
    }
    function want_one(w, must,   n, i, targets) {
        if (norm(w) in path) { add(norm(w)); return }
        if (w in alias) {
            n = split(alias[w], targets, " ")
            for (i = 1; i <= n; i++) add(targets[i])
            return
        }
        if (norm(w) in isbuiltin) return
        if (must) { print "ERROR " w; exit 1 }
    }
    /^[^ ]*\.ko(\.[a-z]+)?:/ { p = substr($1, 1, length($1) - 1); m = modname(p); path[m] = p
                               deps[m] = substr($0, length($1) + 2); next }
    $1 == "alias" && $2 !~ /^symbol:/ { alias[$2] = alias[$2] " " norm($3); next }
    $1 == "softdep" { for (i = 3; i <= NF; i++) if ($i != "pre:" && $i != "post:") soft[norm($2)] = soft[norm($2)] " " $i }
    END {
        while ((getline line < builtin) > 0) isbuiltin[modname(line)] = 1
        n = split(want, list, " ")
        for (k = 1; k <= n; k++) want_one(list[k], 1)
    }')
for p in "${modpaths[@]}"; do
    case $p in
        ERROR*) die "kernel module '${p#ERROR }' is neither a module nor built into $KVER" ;;
        # fetch.sh decompresses Debian 13's .ko.xz: init's libkmod is built without xz.
        *.ko) ;;
        *) die "compressed kernel module '$p' is not handled (expected plain .ko from fetch.sh)" ;;
    esac
done
[ ${#modpaths[@]} -gt 0 ] || die "no kernel modules resolved (depmod failed?)"
for p in "${modpaths[@]}"; do
    mkdir -p "$ROOT/lib/modules/$KVER/$(dirname "$p")"
    cp -a "$KMOD/$p" "$ROOT/lib/modules/$KVER/$p"
done
cp -a "$KMOD"/modules.{builtin,builtin.modinfo,order} "$ROOT/lib/modules/$KVER/"
depmod -b "$ROOT" "$KVER" || die "depmod over the module subset failed"

mkdir -p "$ROOT/usr/share/onlydocker/images"
shopt -s nullglob
images=("$IMAGES"/*.tar)
[ ${#images[@]} -gt 0 ] || die "no image archives (*.tar) in $IMAGES: build the bundled images first"
for i in "${images[@]}"; do cp "$i" "$ROOT/usr/share/onlydocker/images/"; done

M=lib/modules/$KVER
required=(init usr/sbin/chronyd usr/bin/chronyc usr/sbin/sshd usr/lib/openssh/sshd-session usr/lib/openssh/sshd-auth usr/bin/ssh-keygen usr/bin/ssh usr/bin/dockerd usr/bin/containerd usr/bin/containerd-shim-runc-v2 usr/bin/runc
          usr/bin/docker-init usr/bin/docker-proxy usr/sbin/apparmor_parser usr/sbin/mke2fs usr/sbin/iptables usr/sbin/ip6tables
          "usr/lib/$MULTIARCH/xtables/libxt_conntrack.so" usr/share/zoneinfo/Etc/UTC bin/busybox bin/sh lib64/ld-linux-x86-64.so.2
          "$M/modules.dep" "$M/modules.dep.bin" "$M/modules.alias.bin" "$M/modules.softdep")
for r in "${required[@]}"; do [ -e "$ROOT/$r" ] || die "required file /$r is missing from the image"; done

# The engine image: everything that only runs once init has mounted it (the glibc programs and
# their libraries, the bundled image archives) moves into one zstd squashfs, mounted read-only at
# /$ENGINE_DIR, and leaves a link behind. The initramfs and the tmpfs root then hold ~60 MiB of
# compressed bytes instead of ~210 MiB of files, and what the engine reads is page cache the kernel
# can drop. What init, busybox and the kernel need before the mount stays in the root.
# zstd: 58 MiB where lz4 -Xhc gives 77 MiB and xz 53 MiB, which takes twice as long to build and
# is several times slower to read under TCG.
ENGINE_PATHS=(usr/bin/dockerd usr/bin/containerd usr/bin/containerd-shim-runc-v2 usr/bin/runc usr/bin/crun
              usr/bin/docker-init usr/bin/docker-proxy usr/sbin/apparmor_parser usr/sbin/mke2fs
              usr/sbin/xtables-nft-multi usr/lib/$MULTIARCH usr/lib64 usr/share/onlydocker/images
              usr/bin/docker usr/libexec/docker usr/sbin/sshd usr/lib/openssh usr/bin/ssh-keygen usr/bin/ssh usr/bin/scp
              usr/share/zoneinfo usr/sbin/chronyd usr/bin/chronyc)
mkdir -p "$ENGINE"
for p in "${ENGINE_PATHS[@]}"; do
    [ -e "$ROOT/$p" ] && [ ! -L "$ROOT/$p" ] || die "engine image: /$p is missing or a link"
    mkdir -p "$ENGINE/$(dirname "$p")"
    mv "$ROOT/$p" "$ENGINE/$p"
    ln -s "/$ENGINE_DIR/$p" "$ROOT/$p"
done
find "$ENGINE" -exec touch -h -d @0 {} +
mkdir -p "$ROOT/$ENGINE_DIR"
mksquashfs "$ENGINE" "$ROOT.squashfs" -comp zstd -noappend -quiet -no-progress -all-root \
    -no-xattrs -mkfs-time 0 -all-time 0 >/dev/null || die "mksquashfs of the engine image failed"
echo "mkinitrd.sh: engine image: $(( $(du -sk --apparent-size "$ENGINE" | cut -f1) / 1024 )) MiB in," \
     "$(( $(stat -c %s "$ROOT.squashfs") / 1024 / 1024 )) MiB squashfs (zstd)"
rm -rf "$ENGINE"

# write_cpio OUT: the staging root as a compressed cpio. Same inputs, same bytes: fixed owner and
# mtimes, sorted entries, renumbered inodes.
write_cpio() {
    find "$ROOT" -exec touch -h -d @0 {} +
    (cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet) \
        > "$ROOT.cpio"
    local raw; raw=$(stat -c %s "$ROOT.cpio")
    "${compress[@]}" < "$ROOT.cpio" > "$1.tmp"
    rm -f "$ROOT.cpio"
    echo "mkinitrd.sh: $1: $(( raw / 1024 )) KiB cpio, $(( $(stat -c %s "$1.tmp") / 1024 )) KiB $COMPRESSION;" \
         "${#modpaths[@]} modules, ${#images[@]} images"
}
# The engine image apart: the kernel unpacks ~20 MiB instead of ~120, and never holds the
# squashfs twice (compressed initrd + unpacked file), which at 256 MiB it cannot.
write_cpio "$OUTPUT"
if [ -n "$FULL_OUT" ]; then
    touch -d @0 "$ROOT.squashfs"
    cp "$ROOT.squashfs" "$ROOT/$ENGINE_DIR.squashfs"
    write_cpio "$FULL_OUT"
fi
mv "$ROOT.squashfs" "$ENGINE_OUT.tmp"
# Outputs appear together, the initramfs last: a build that stopped leaves none that looks whole.
mv "$ENGINE_OUT.tmp" "$ENGINE_OUT"
[ -z "$FULL_OUT" ] || mv "$FULL_OUT.tmp" "$FULL_OUT"
mv "$OUTPUT.tmp" "$OUTPUT"
