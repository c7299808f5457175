#!/bin/sh
# onlydocker dom0 entrypoint: prints the ready banner, then runs a login shell that has the console
# ($CONSOLE, default /dev/console) as its controlling tty, so ^C and job control work there.
# It exits when that shell exits; init then recreates dom0.

. /etc/dom0-release
console=${CONSOLE:-/dev/console}

# CONSOLE=none: the root debug shell has the console (the bare `console` kernel word), so dom0
# runs detached: no shell of its own, just alive for `docker exec` until it is stopped.
if [ "$console" = none ]; then
	echo "onlydocker dom0 $DOM0_VERSION ready (detached: the console belongs to the debug shell)"
	trap 'exit 0' TERM INT
	while :; do sleep 3600 & wait $!; done
fi

# /dev/console opens non-blocking and names no real line; the line behind it (ttyS0, tty1...)
# is the kernel's last active console.
if [ "$console" = /dev/console ] && [ -r /sys/class/tty/console/active ]; then
	read -r active </sys/class/tty/console/active || true
	active=${active##* }
	[ -n "$active" ] && [ -c "/dev/$active" ] && console=/dev/$active
fi
if ! [ -c "$console" ]; then
	echo "dom0: console $console is not a character device" >&2
	exit 1
fi

banner="onlydocker dom0 $DOM0_VERSION ready"
echo "$banner"
echo "$banner" >"$console"

# The shell runs as a foreground child, neither by exec nor with '&': the container's first
# process already leads a session, where busybox setsid would fork and return at once, and a
# '&' child starts with SIGINT ignored, which ^C could then never undo. A foreground child is
# no group leader, so setsid makes it a new session and -c takes the console as its ctty.
cd "$HOME" 2>/dev/null || cd /
setsid -c sh -l <"$console" >"$console" 2>&1
