#!/bin/sh
# onlydocker dom0 entrypoint: prints the ready banner, then runs a login shell that has the console
# ($CONSOLE, default /dev/console) as its controlling tty, so ^C and job control work there.
# It exits when that shell exits; init then recreates dom0. Remote access (sshd, when there is an
# authorized key) is /usr/lib/onlydocker/ssh.sh's, started here before the shell.

. /etc/dom0-release
console=${CONSOLE:-/dev/console}

# CONSOLE=none: the root debug shell has the console (the bare `console` kernel word), so dom0
# runs detached: no shell of its own, just alive for `docker exec` until it is stopped.
if [ "$console" = none ]; then
	/usr/lib/onlydocker/ssh.sh start /dev/console
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

# sshd, in the background, or the one line that says why not (before the banner, so that it never
# lands inside what the shell prints).
/usr/lib/onlydocker/ssh.sh start "$console"

# Line editing asks the terminal where its cursor is (ESC [ 6 n) at every prompt. A real terminal
# answers; a dumb serial line or a script does not, and then typed-ahead input can be eaten. So ask
# once here, waiting at most 0.3 s for the answer (a terminal answers in milliseconds): with one, line editing as usual; without,
# the line's echo is turned off but for newlines (so output starts on a line of its own), which
# makes busybox's shell read plain lines (no queries, no editing) and leaves a script's input
# exactly as sent.
if [ "${DOM0_EDITING:-ask}" = ask ]; then
	saved=$(stty -g <"$console" 2>/dev/null) || saved=
	stty -echo -icanon min 0 time 3 <"$console" 2>/dev/null
	printf '\033[6n' >"$console"
	reply=$(dd bs=32 count=1 <"$console" 2>/dev/null | tr -d '\033')
	[ -n "$saved" ] && stty "$saved" <"$console" 2>/dev/null
	case "$reply" in *R*) DOM0_EDITING=on ;; *) DOM0_EDITING=off ;; esac
fi
if [ "$DOM0_EDITING" = off ]; then
	stty -echo echonl <"$console" 2>/dev/null
	echo "dom0: no terminal answered on $console: plain lines, no line editing ('stty echo' brings it back)" >"$console"
fi
export DOM0_EDITING

banner="onlydocker dom0 $DOM0_VERSION ready"
echo "$banner"
echo "$banner" >"$console"

# The shell runs as a foreground child, neither by exec nor with '&': the container's first
# process already leads a session, where busybox setsid would fork and return at once, and a
# '&' child starts with SIGINT ignored, which ^C could then never undo. A foreground child is
# no group leader, so setsid makes it a new session and -c takes the console as its ctty.
cd "$HOME" 2>/dev/null || cd /
setsid -c sh -l <"$console" >"$console" 2>&1
