#!/bin/sh
# onlydocker dom0's remote access: merges the authorized keys (the data disk's file, kvm
# --ssh-key's fw_cfg file and the configuration documents' ssh_authorized_keys: the one place that does), keeps the host keys on the data disk, prints
# their fingerprints, and runs sshd, respawned, only when there is a key. sshd's log goes to the
# console through a rate limit. Usage: ssh.sh start CONSOLE | ssh.sh keys (the merged keys, printed)

. /etc/dom0-release
STATE=/host/var/lib/docker/onlydocker          # the data disk (or init's tmpfs without one)
DISK_KEYS=$STATE/authorized_keys
FWCFG_KEYS=/sys/firmware/qemu_fw_cfg/by_name/${SSH_KEYS_FWCFG:-opt/org.onlydocker/ssh_keys}/raw
CONFIG_KEYS=/host/run/onlydocker/config_authorized_keys   # the documents' ssh_authorized_keys (init's cfgsrc.c)
HOST_KEYS=$STATE/ssh
MERGED=/run/onlydocker/authorized_keys         # sshd_config's AuthorizedKeysFile
KEY_TYPES="ed25519 ecdsa rsa"                  # Debian's three, as sshd_config's HostKey lines
LOG_MAX=20                                     # sshd lines on the console per LOG_WINDOW seconds
LOG_WINDOW=60

# Every source's key lines (comments and blank lines left out), each key once, into $MERGED
# (root's alone, as sshd's StrictModes wants); prints how many keys it holds.
merge_keys() {
	mkdir -p "${MERGED%/*}" && chmod 755 "${MERGED%/*}" || return 1
	(umask 077; cat "$DISK_KEYS" "$FWCFG_KEYS" "$CONFIG_KEYS" 2>/dev/null |
		awk '{ sub(/\r$/, "") } /^[ \t]*(#|$)/ { next } !seen[$0]++' >"$MERGED.tmp") &&
		mv "$MERGED.tmp" "$MERGED" && grep -c . "$MERGED"
}

# The data disk's /var/lib/docker, as init mounted it: tmpfs when there is no disk.
disk_is_tmpfs() {
	awk '$2 == "/var/lib/docker" { t = $3 } END { exit t != "tmpfs" }' /proc/1/mounts
}

# Host keys made once and kept with the disk; each written under a temporary name and renamed, so
# a power cut during ssh-keygen leaves no half key that sshd would refuse at every boot after.
host_keys() {
	mkdir -p "$HOST_KEYS" && chmod 700 "$HOST_KEYS" || return 1
	for t in $KEY_TYPES; do
		k=$HOST_KEYS/ssh_host_${t}_key
		[ -s "$k" ] && [ -s "$k.pub" ] && continue
		rm -f "$k.new" "$k.new.pub"
		ssh-keygen -q -t "$t" -N '' -C "root@$(hostname)" -f "$k.new" </dev/null >/dev/null || return 1
		mv "$k.new.pub" "$k.pub" && mv "$k.new" "$k" || return 1
		say "made host key $k"
	done
	if disk_is_tmpfs; then
		say "no data disk: these host keys live for this boot only (ssh's known_hosts will not know the next boot's)"
	fi
	for t in $KEY_TYPES; do
		say "host key $(ssh-keygen -l -f "$HOST_KEYS/ssh_host_${t}_key.pub")"
	done
}

# sshd in the foreground, started again when it ends (1 s, doubling to 60 s while it keeps dying
# within a minute); the keys are merged again before each start.
supervise() {
	delay=1
	while :; do
		merge_keys >/dev/null
		t0=$(cut -d. -f1 /proc/uptime)
		/usr/sbin/sshd -D -e -f /etc/ssh/sshd_config </dev/null
		rc=$?
		[ $(($(cut -d. -f1 /proc/uptime) - t0)) -ge 60 ] && delay=1
		say "sshd ended (status $rc); starting it again in $delay s"
		sleep "$delay"
		[ "$delay" -lt 60 ] && delay=$((delay * 2))
	done
}

# Our own lines, on the console at once (fd 3): a few per sshd start.
say() {
	echo "dom0: ssh: $*" >&3
}

# sshd's lines: at most LOG_MAX a LOG_WINDOW on the console, each prefixed; what is left out is
# counted and said with the first line of a later window. The normal end of a session is left
# out (docker over ssh makes a session per connection). PerSourcePenalties (sshd's default) also
# refuses a source that keeps failing, so one brute-forcer cannot fill even this.
rate_limit() {
	awk -v max="$LOG_MAX" -v window="$LOG_WINDOW" '
	{ sub(/\r$/, ""); now = systime() }
	/^(Received disconnect from|Disconnected from user) / { next }
	now - start >= window {
		if (dropped) printf "dom0: ssh: %d lines of sshd not shown (at most %d a %d s)\n", dropped, max, window
		start = now; n = 0; dropped = 0
	}
	++n <= max { print "dom0: ssh: " $0; fflush(); next }
	{ dropped++ }'
}

start() {
	console=$1
	n=$(merge_keys) || n=0
	if [ "${n:-0}" -eq 0 ]; then
		echo "dom0: ssh: no authorized key (none in /var/lib/docker/onlydocker/authorized_keys, none from kvm --ssh-key, none in the configuration's ssh_authorized_keys): sshd not started, nothing listens on port 22" >"$console"
		return 0
	fi
	echo "dom0: ssh: $n authorized key(s); starting sshd" >"$console"
	mkdir -p /run/sshd && chmod 755 /run/sshd
	# In the background: an RSA key takes seconds to make under emulation, and the console's
	# shell must not wait for it.
	{ if host_keys; then supervise; else say "could not make the host keys in $HOST_KEYS: sshd not started"; fi; } \
		3>"$console" 2>&1 | rate_limit >"$console" &
}

case $1 in
start) start "${2:-/dev/console}" ;;
keys) merge_keys >/dev/null && cat "$MERGED" ;;
*) echo "usage: ssh.sh start CONSOLE | ssh.sh keys" >&2; exit 2 ;;
esac
