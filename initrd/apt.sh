# Owns the private apt state through which everything inside the appliance comes from Debian 13
# "trixie" (binary and source packages): its own sources list, lists and cache under BUILD/apt.
# The machine's apt configuration is read for its mirror only and never written.
# Source it with BUILD set; then apt_ready, and apt-get/apt-cache "${APT_OPTS[@]}" ...
# Host needs: apt, gawk|mawk, the archive keyring (debian-archive-keyring, already on Debian 12).

SUITE=trixie
APT_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
APT_DIR=$BUILD/apt
# Private in every part apt reads: no machine sources, pins or status leak into what we resolve.
APT_OPTS=(-o "Dir::Etc::SourceList=$APT_DIR/sources.list" -o Dir::Etc::SourceParts=/dev/null
          -o "Dir::State::Lists=$APT_DIR/lists" -o "Dir::Cache=$APT_DIR/cache"
          -o "Dir::Cache::pkgcache=$APT_DIR/cache/pkgcache.bin" -o "Dir::Cache::srcpkgcache=$APT_DIR/cache/srcpkgcache.bin"
          -o Dir::State::status=/dev/null -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
          -o APT::Architecture=amd64 -o APT::Architectures=amd64 -o APT::Sandbox::User=root
          -o Acquire::Languages=none)

# The machine's Debian mirror (the URI of its first bookworm entry), so trixie comes from the same
# place; deb.debian.org when none is configured. Both one-line and deb822 files are read.
apt_machine_mirror() {
    local f uri=
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        uri=$(awk '$1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; i++ }
                   if ($(i + 1) == "bookworm") { print $i; exit } }' "$f")
        [ -n "$uri" ] && break
    done
    if [ -z "$uri" ]; then
        for f in /etc/apt/sources.list.d/*.sources; do
            [ -f "$f" ] || continue
            uri=$(awk 'BEGIN { RS = ""; FS = "\n" }
                 { u = ""; s = ""
                   for (n = 1; n <= NF; n++) { if ($n ~ /^URIs:/) u = $n; if ($n ~ /^Suites:/) s = $n }
                   if ((s " ") ~ /[ \t]bookworm[ \t]/) { sub(/^URIs:[ \t]*/, "", u); split(u, a, " "); print a[1]; exit } }' "$f")
            [ -n "$uri" ] && break
        done
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}

apt_write_sources() {
    local main sec key="[signed-by=$APT_KEYRING]" t
    main=$(apt_machine_mirror)
    main=${main%/}
    case $main in */debian) sec=${main%/debian}/debian-security ;; *) sec=http://deb.debian.org/debian-security ;; esac
    mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial"
    {
        for t in deb deb-src; do
            echo "$t $key $main $SUITE main"
            echo "$t $key $main $SUITE-updates main"
            echo "$t $key $sec $SUITE-security main"
        done
    } >"$APT_DIR/sources.list.tmp"
    mv "$APT_DIR/sources.list.tmp" "$APT_DIR/sources.list"
}

# apt_update: fetch trixie's indexes into the private lists (a few seconds).
apt_update() {
    [ -f "$APT_KEYRING" ] || { echo "apt.sh: $APT_KEYRING missing (apt-get install debian-archive-keyring)" >&2; return 1; }
    apt_write_sources
    echo "apt.sh: apt-get update (private $SUITE state in $APT_DIR)" >&2
    apt-get "${APT_OPTS[@]}" update -qq >&2 || { echo "apt.sh: apt-get update of $SUITE failed" >&2; return 1; }
    compgen -G "$APT_DIR/lists/*_${SUITE}_main_binary-amd64_Packages*" >/dev/null &&
        compgen -G "$APT_DIR/lists/*_${SUITE}_main_source_Sources*" >/dev/null ||
        { echo "apt.sh: apt-get update fetched no $SUITE Packages/Sources index" >&2; return 1; }
    date +%s >"$APT_DIR/updated"
}

# apt_ready: the private lists exist (fetched once; apt_update again when a download fails because
# the archive has moved on).
apt_ready() {
    [ -f "$APT_DIR/updated" ] && [ -f "$APT_DIR/sources.list" ] && return 0
    apt_update
}
