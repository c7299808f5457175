#!/usr/bin/env bash
# Builds the init's third-party C libraries (libblkid, libmount, libkmod, cJSON, http_parser, libyaml) as musl static
# archives from Debian 13 (trixie) source packages fetched at build time, through initrd/apt.sh's private
# apt state, into BUILD/src (once, then cached).
# Usage: init/libs.sh BUILD_DIR  ->  BUILD_DIR/musl/{lib/*.a,include/...,versions.txt,uapi/}
# Host requirements: musl-tools dpkg-dev autoconf automake libtool pkg-config make gcc linux-libc-dev
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD=$(realpath -m "$1")
SELF=$(realpath "$0")
SRC=$BUILD/src PREFIX=$BUILD/musl WORK=$BUILD/libs-work LOGS=$BUILD/log/libs
UAPI=$PREFIX/uapi
STAMP=$PREFIX/.libs.stamp
PKGS=(util-linux kmod cjson http-parser libyaml)
OUTPUTS=(lib/libblkid.a lib/libmount.a lib/libkmod.a lib/libcjson.a lib/libhttp_parser.a lib/libyaml.a
         include/blkid/blkid.h include/libmount/libmount.h include/libkmod.h include/cJSON.h include/http_parser.h
         include/yaml.h versions.txt)
# libyaml's reading half: what yaml_parser_load() (the document API) needs; no emitter, no dumper.
YAML_SRC=(api reader scanner parser loader)
CFLAGS_MUSL="-Os -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables -fno-unwind-tables"
# Editing this script (flags, options) must rebuild; an unchanged script with all outputs present is a no-op.
STAMP_ID=$(sha256sum "$SELF" | cut -d' ' -f1)

die() { echo "libs.sh: $*" >&2; exit 1; }

complete() {
    [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_ID" ] || return 1
    local f
    for f in "${OUTPUTS[@]}"; do [ -f "$PREFIX/$f" ] || return 1; done
    for f in cjson/cJSON.c cjson/cJSON.h http-parser/http_parser.c http-parser/http_parser.h libyaml/yaml.h \
             libyaml/defines.txt; do
        [ -f "$SRC/$f" ] || return 1
    done
}
complete && exit 0

command -v musl-gcc >/dev/null || die "musl-gcc not found (apt-get install musl-tools)"
mkdir -p "$SRC/dl" "$WORK" "$LOGS"
# Two builds into one BUILD_DIR (e.g. make -j) would trample each other's scratch trees.
exec 9>"$BUILD/.libs.lock"
flock 9

# step PKG STEP CMD...: runs CMD with its output in the package's log ($STEP_LOG if set); a failure names
# package, step and log.
step() {
    local pkg=$1 what=$2 log=${STEP_LOG:-$LOGS/$1.log}
    shift 2
    local t0=$SECONDS
    echo "== $what: $*" >>"$log"
    if ! "$@" >>"$log" 2>&1; then
        tail -n 25 "$log" >&2
        die "$pkg: $what failed (full log: $log)"
    fi
    echo "== $what: done in $((SECONDS - t0)) s" >>"$log"
}

# shellcheck source=initrd/apt.sh
. "$(dirname "$SELF")/../initrd/apt.sh"

# unpack_parts PKG VERSION TREE: the source package from its parts, for a mirror that serves the
# tarballs but not the .dsc (seen here for kmod and http-parser): apt checked each file it fetched
# against trixie's signed Sources index, so the parts are what the .dsc would name. The orig tarball,
# then the debian tarball if there is one, then its quilt series, as dpkg-source would apply them.
unpack_parts() {
    local pkg=$1 ver=$2 tree=$3 orig deb p opts
    orig=$(compgen -G "$SRC/dl/${pkg}_${ver%%-*}.orig.tar.*" | head -n 1 || true)
    [ -n "$orig" ] || die "$pkg: neither a .dsc nor an orig tarball of $ver could be fetched (log: $LOGS/$pkg-fetch.log)"
    mkdir -p "$tree"
    tar -xf "$orig" -C "$tree" --strip-components=1
    deb=$(compgen -G "$SRC/dl/${pkg}_${ver#*:}.debian.tar.*" | head -n 1 || true)
    if [ -n "$deb" ]; then
        tar -xf "$deb" -C "$tree"
        if [ -f "$tree/debian/patches/series" ]; then
            while read -r p opts; do
                case $p in ''|'#'*) continue ;; esac
                patch -d "$tree" -s -N ${opts:--p1} <"$tree/debian/patches/$p" ||
                    die "$pkg: Debian patch $p does not apply"
            done <"$tree/debian/patches/series"
        fi
        echo "libs.sh: $pkg $ver: built from its orig and debian tarballs (the mirror has no .dsc)" >&2
    else
        echo "libs.sh: $pkg $ver: built from its orig tarball alone (the mirror has neither the .dsc nor the debian tarball)" >&2
        grep -qs "^$pkg $ver\$" "$SRC/partial-sources.txt" || echo "$pkg $ver" >>"$SRC/partial-sources.txt"
    fi
}

# fetch PKG: downloads (once) and unpacks the source package; leaves "VERSION DIR" in $SRC/PKG.fetched.
fetch() {
    local pkg=$1 tmp=$SRC/.tmp-$1 dsc ver dir
    if [ -f "$SRC/$pkg.fetched" ]; then
        read -r ver dir <"$SRC/$pkg.fetched"
        [ -d "$SRC/$dir" ] && return 0
    fi
    rm -rf "$tmp" && mkdir -p "$tmp"
    : >"$LOGS/$pkg-fetch.log"
    apt_ready || die "apt: the private $SUITE state could not be set up"
    ver=$(apt-cache "${APT_OPTS[@]}" showsrc --only-source "$pkg" 2>>"$LOGS/$pkg-fetch.log" |
          sed -n 's/^Version: //p' | sort -V | tail -n 1)
    [ -n "$ver" ] || die "$pkg: no source package in $SUITE's Sources index (log: $LOGS/$pkg-fetch.log)"
    if ! compgen -G "$SRC/dl/${pkg}_${ver#*:}.dsc" >/dev/null; then
        # A missing part is not fatal here: unpack_parts decides whether what came is enough.
        (cd "$tmp" && apt-get "${APT_OPTS[@]}" source --download-only "$pkg=$ver") >>"$LOGS/$pkg-fetch.log" 2>&1 ||
            echo "libs.sh: $pkg: apt-get source reported an error (log: $LOGS/$pkg-fetch.log)" >&2
        find "$tmp" -maxdepth 1 -type f -name "${pkg}_*" -exec mv -t "$SRC/dl/" {} +
    fi
    dir=$pkg-${ver#*:}
    dsc=$SRC/dl/${pkg}_${ver#*:}.dsc
    if [ -f "$dsc" ]; then
        STEP_LOG=$LOGS/$pkg-fetch.log step "$pkg" "dpkg-source -x $dsc" dpkg-source -x "$dsc" "$tmp/tree"
    else
        unpack_parts "$pkg" "$ver" "$tmp/tree"
    fi
    rm -rf "${SRC:?}/$dir" && mv "$tmp/tree" "$SRC/$dir" && rm -rf "$tmp"
    echo "$ver $dir" >"$SRC/$pkg.fetched"
}

src_dir() { local v d; read -r v d <"$SRC/$1.fetched"; echo "$SRC/$d"; }
src_ver() { local v d; read -r v d <"$SRC/$1.fetched"; echo "$v"; }

# musl-gcc has no kernel headers; a private copy of the UAPI ones avoids exposing glibc's /usr/include.
make_uapi() {
    [ -f "$UAPI/.stamp" ] && return 0
    local arch; arch=$(gcc -dumpmachine)
    [ -d /usr/include/linux ] && [ -d "/usr/include/$arch/asm" ] || die "uapi: kernel headers missing (apt-get install linux-libc-dev)"
    rm -rf "$UAPI.tmp" && mkdir -p "$UAPI.tmp"
    cp -a /usr/include/linux /usr/include/asm-generic "$UAPI.tmp/"
    cp -a "/usr/include/$arch/asm" "$UAPI.tmp/asm"
    touch "$UAPI.tmp/.stamp"
    rm -rf "$UAPI" && mv "$UAPI.tmp" "$UAPI"
}

# Environment for autoconf builds: musl, size flags, and no host .pc files (host libs are glibc-built).
musl_env() {
    env CC=musl-gcc CFLAGS="$CFLAGS_MUSL" CPPFLAGS="-isystem $UAPI" PKG_CONFIG_PATH= PKG_CONFIG_LIBDIR=/nonexistent "$@"
}

build_util_linux() {  # $1 = tree, $2 = stage
    # Debian's patches touch configure.ac/Makefile.am; regenerating first avoids make re-running configure.
    # (Not autoreconf: it would want gettext's autopoint.)
    step util-linux "aclocal/autoheader/autoconf/automake" \
        bash -c 'aclocal -I m4 && autoheader && autoconf && automake --foreign'
    step util-linux configure musl_env ./configure --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
        --runstatedir=/run --disable-all-programs --enable-libblkid --enable-libmount \
        --disable-shared --enable-static --disable-nls --disable-rpath --disable-pylibmount --disable-bash-completion \
        --disable-asciidoc --disable-poman --disable-makeinstall-chown --disable-makeinstall-setuid \
        --without-python --without-systemd --without-udev --without-selinux --without-readline --without-ncurses \
        --without-ncursesw --without-tinfo --without-libz --without-libmagic --without-cap-ng --without-audit \
        --without-utempter --without-user --without-btrfs --without-smack --without-econf --without-cryptsetup
    step util-linux make make -j"$(nproc)" libblkid.la libmount.la
    mkdir -p "$2/lib" "$2/include/blkid" "$2/include/libmount"
    cp .libs/libblkid.a .libs/libmount.a "$2/lib/"
    cp libblkid/src/blkid.h "$2/include/blkid/"
    cp libmount/src/libmount.h "$2/include/libmount/"
}

build_kmod() {
    # gtk-doc is absent: automake still reads the include in docs/Makefile.am, so an empty stub satisfies it.
    [ -f libkmod/docs/gtk-doc.make ] || : >libkmod/docs/gtk-doc.make
    step kmod autoreconf autoreconf -fi
    step kmod configure musl_env ./configure --prefix=/usr --sysconfdir=/etc --disable-manpages \
        --disable-test-modules --disable-python --disable-debug --disable-coverage \
        --without-xz --without-zstd --without-zlib --without-openssl
    # kmod refuses --enable-static; its convenience library (all libkmod + shared objects) is the static archive.
    step kmod make make -j"$(nproc)" libkmod/libkmod-internal.la
    mkdir -p "$2/lib" "$2/include"
    cp libkmod/.libs/libkmod-internal.a "$2/lib/libkmod.a"
    cp libkmod/libkmod.h "$2/include/"
}

# Single-file libraries: compiled directly.
build_single() {  # $1 = pkg, $2 = tree, $3 = stage, $4 = file stem, $5 = library name
    local pkg=$1 stem=$4 lib=$5
    step "$pkg" compile musl-gcc $CFLAGS_MUSL -c "$2/$stem.c" -o "$stem.o"
    step "$pkg" archive ar rcs "lib$lib.a" "$stem.o"
    mkdir -p "$3/lib" "$3/include"
    cp "lib$lib.a" "$3/lib/"
    cp "$2/$stem.h" "$3/include/"
}

# libyaml without its autotools: the few files of its parser, with the version its configure
# would define (from the package's own configure.ac).
yaml_defines() {  # $1 = tree
    local maj min pat
    maj=$(sed -n 's/^m4_define(\[YAML_MAJOR\], *\([0-9]*\)).*/\1/p' "$1/configure.ac")
    min=$(sed -n 's/^m4_define(\[YAML_MINOR\], *\([0-9]*\)).*/\1/p' "$1/configure.ac")
    pat=$(sed -n 's/^m4_define(\[YAML_PATCH\], *\([0-9]*\)).*/\1/p' "$1/configure.ac")
    [ -n "$maj" ] && [ -n "$min" ] && [ -n "$pat" ] || die "libyaml: no version in configure.ac"
    echo "-DYAML_VERSION_MAJOR=$maj -DYAML_VERSION_MINOR=$min -DYAML_VERSION_PATCH=$pat -DYAML_VERSION_STRING=\"$maj.$min.$pat\""
}

build_libyaml() {  # $1 = tree, $2 = stage
    local defs f objs=()
    defs=$(yaml_defines "$1")
    for f in "${YAML_SRC[@]}"; do
        # shellcheck disable=SC2086
        step libyaml "compile $f" musl-gcc $CFLAGS_MUSL $defs -I"$1/include" -c "$1/src/$f.c" -o "$f.o"
        objs+=("$f.o")
    done
    step libyaml archive ar rcs libyaml.a "${objs[@]}"
    mkdir -p "$2/lib" "$2/include"
    cp libyaml.a "$2/lib/"
    cp "$1/include/yaml.h" "$2/include/"
}

# Plain copies of the single-file sources, for the unit tests that compile them with the host gcc.
plain_copy() {  # $1 = pkg, $2 = file stem
    local tree; tree=$(src_dir "$1")
    mkdir -p "$SRC/$1"
    cp -p "$tree/$2.c" "$tree/$2.h" "$SRC/$1/"
}

# build PKG: builds in a scratch copy of the tree into $WORK/stage-PKG; $WORK/PKG.done lets a rerun after a
# later package's failure skip it.
build() {
    local pkg=$1 tree stage=$WORK/stage-$1 id
    tree=$(src_dir "$pkg")
    id="$STAMP_ID $(src_ver "$pkg")"
    [ -f "$WORK/$pkg.done" ] && [ "$(cat "$WORK/$pkg.done")" = "$id" ] && [ -d "$stage" ] && return 0
    rm -f "$WORK/$pkg.done"
    rm -rf "$WORK/$pkg" "$stage" && cp -a "$tree" "$WORK/$pkg" && mkdir -p "$stage"
    : >"$LOGS/$pkg.log"
    echo "libs.sh: building $pkg $(src_ver "$pkg")" >&2
    (
        cd "$WORK/$pkg"
        case $pkg in
            util-linux)  build_util_linux "$PWD" "$stage" ;;
            kmod)        build_kmod "$PWD" "$stage" ;;
            cjson)       build_single cjson "$PWD" "$stage" cJSON cjson ;;
            http-parser) build_single http-parser "$PWD" "$stage" http_parser http_parser ;;
            libyaml)     build_libyaml "$PWD" "$stage" ;;
        esac
    )
    rm -rf "${WORK:?}/$pkg"
    echo "$id" >"$WORK/$pkg.done"
}

for p in "${PKGS[@]}"; do fetch "$p"; done
plain_copy cjson cJSON
plain_copy http-parser http_parser
# libyaml's parser sources too, and the flags they need, for the fuzz target (compiled with clang).
mkdir -p "$SRC/libyaml"
for f in "${YAML_SRC[@]}"; do cp -p "$(src_dir libyaml)/src/$f.c" "$SRC/libyaml/"; done
cp -p "$(src_dir libyaml)/src/yaml_private.h" "$(src_dir libyaml)/include/yaml.h" "$SRC/libyaml/"
yaml_defines "$(src_dir libyaml)" >"$SRC/libyaml/defines.txt"
make_uapi
for p in "${PKGS[@]}"; do build "$p"; done

# Install: the stamp goes first and comes back last, so an interrupted install never looks complete.
rm -f "$STAMP"
mkdir -p "$PREFIX/lib" "$PREFIX/include"
for p in "${PKGS[@]}"; do cp -a "$WORK/stage-$p/." "$PREFIX/"; done
# A package the mirror served without its .dsc and debian tarball says so beside its version.
for p in "${PKGS[@]}"; do
    note=$(grep -qs "^$p " "$SRC/partial-sources.txt" && echo " (orig tarball only: the mirror lacks its .dsc)" || true)
    echo "$p $(src_ver "$p")$note"
done >"$PREFIX/versions.txt.tmp"
mv "$PREFIX/versions.txt.tmp" "$PREFIX/versions.txt"
echo "$STAMP_ID" >"$STAMP"
complete || die "install: outputs missing after install"
echo "libs.sh: musl libraries ready in $PREFIX" >&2
