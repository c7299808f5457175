#!/bin/sh
# onlydocker: the ntp system container's entrypoint (the dhcpcd image, run with another
# entrypoint). Writes chronyd's configuration from what init passes and runs chronyd in the
# foreground; it sets the system clock (CAP_SYS_TIME) and never serves time. chronyd is the engine
# image's, bound read-only at its mount point: /usr/sbin/chronyd here runs it with the engine's glibc.
# Servers: NTP_SERVERS and NTP_POOLS (space separated, the configuration's), else the DHCP leases'
# (option 42), which the dhcp container's hook 60-ntp writes into $dir/dhcp as chrony sources
# files before telling chronyd to reload them through the command socket both containers share.
# chronyd's log goes to $dir/log, a FIFO init reads and relays (the first sync, each step).
# `ntp.sh --config` prints the configuration and exits (images/rootfs_check.py).
set -eu
dir=${ONLYDOCKER_NTP_DIR:-/run/ntp}
conf=/run/chrony.conf

{
	echo "# written by ntp.sh at each start"
	for s in ${NTP_SERVERS:-}; do echo "server $s iburst"; done
	for p in ${NTP_POOLS:-}; do echo "pool $p iburst"; done
	# The configuration's servers win over the lease's: the lease's are not read then.
	if [ -z "${NTP_SERVERS:-}${NTP_POOLS:-}" ]; then echo "sourcedir $dir/dhcp"; fi
	# A machine whose hardware clock is far off (or was never set) is stepped at once, in the
	# first three updates; later corrections are slewed, as running containers expect.
	echo "makestep 1 3"
	# The kernel copies the system time to the hardware clock every 11 minutes once synchronised.
	echo "rtcsync"
	# A client only: no NTP server port, no UDP command port; commands on a unix socket only.
	echo "port 0"
	echo "cmdport 0"
	echo "bindcmdaddress $dir/chrony/chronyd.sock"
	echo "pidfile /run/chronyd.pid"
} >"$conf"
if [ "${1:-}" = --config ]; then
	cat "$conf"
	exit 0
fi
# chronyd refuses a command socket in a directory others may write to.
mkdir -p "$dir/dhcp"
mkdir -p -m 0750 "$dir/chrony"
# -d: the foreground, its log on stderr; -u root: the image has no _chrony user, and the
# container's capabilities are the bound (SYS_TIME and the default set).
if [ -p "$dir/log" ]; then
	exec chronyd -d -u root -f "$conf" 2>>"$dir/log"
fi
exec chronyd -d -u root -f "$conf"
