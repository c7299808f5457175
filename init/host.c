/* The host's identity and plumbing before the engine: entropy, hostname, loopback, the
 * documents' timezone, and the files in /etc that dockerd and the system containers read. */
#define _GNU_SOURCE
#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <unistd.h>
#include "cmdline.h"
#include "fileio.h"
#include "init.h"
#include "log.h"

#define ENTROPY_WAIT_MS 30000
/* tzdata's zone files: the engine image's (mkinitrd.sh), linked here in the root. */
#define ZONEINFO "/usr/share/zoneinfo"

/* Go's crypto/rand blocks until the pool is ready; learn how long that takes, bounded. */
void entropy_wait(void)
{
	char b;
	int64_t t0 = now_ms();
	if (getrandom(&b, 1, GRND_NONBLOCK) == 1) {
		info("entropy: pool ready, no wait");
		return;
	}
	int fd = open("/dev/random", O_RDONLY | O_CLOEXEC);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r = fd >= 0 ? poll(&p, 1, ENTROPY_WAIT_MS) : -1;
	if (fd >= 0)
		close(fd);
	if (r == 1)
		info("entropy: pool ready after %lld ms", (long long)(now_ms() - t0));
	else
		warn("entropy: pool not ready after %lld ms; going on (Go programs may block)", (long long)(now_ms() - t0));
}

static void loopback_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { 0 };
	strcpy(ifr.ifr_name, "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0 ||
	    (ifr.ifr_flags |= IFF_UP, ioctl(s, SIOCSIFFLAGS, &ifr) < 0))
		warn("host: loopback up: %s", strerror(errno));
	if (s >= 0)
		close(s);
}

/* dhcpcd sets promote_secondaries itself, but /proc/sys is read-only in its container. */
static void promote_secondaries(void)
{
	DIR *d = opendir("/proc/sys/net/ipv4/conf");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char path[300];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/sys/net/ipv4/conf/%s/promote_secondaries", e->d_name);
		write_file(path, "1");
	}
	if (d)
		closedir(d);
}

/* The document's timezone: /etc/localtime a link to its zone file, as Debian has it (programs
 * learn the zone's name from the link, and /etc/timezone), and dom0's image links both to the
 * host's. A zone that is not there (or not a zone file) is one line, and UTC stays. */
static void timezone_setup(void)
{
	const cJSON *tz = cJSON_GetObjectItem(cfg->doc, "timezone");
	if (!tz)
		return;
	const char *zone = cJSON_GetObjectItem(tz, "zone")->valuestring, *at = cJSON_GetObjectItem(tz, "at")->valuestring;
	char path[128], magic[5], line[80];
	snprintf(path, sizeof path, ZONEINFO "/%s", zone);
	if (read_file(path, magic, sizeof magic) < 4 || memcmp(magic, "TZif", 4)) {
		warn("config: %s: timezone '%s' is not a zone of %s; UTC kept", at, zone, ZONEINFO);
		return;
	}
	unlink("/etc/.localtime.new");
	snprintf(line, sizeof line, "%s\n", zone);
	if (symlink(path, "/etc/.localtime.new") < 0 || rename("/etc/.localtime.new", "/etc/localtime") < 0
	    || write_file("/etc/timezone", line) < 0) {
		warn("host: timezone %s: /etc/localtime: %s; UTC kept", zone, strerror(errno));
		unlink("/etc/localtime");
		return;
	}
	info("host: timezone %s", zone);
}

void host_setup(void)
{
	char buf[256];
	if (sethostname(cfg->hostname, strlen(cfg->hostname)) < 0)
		warn("host: sethostname %s: %s", cfg->hostname, strerror(errno));
	loopback_up();
	promote_secondaries();
	mkdirs("/etc", 0755);
	snprintf(buf, sizeof buf, "%s\n", cfg->hostname);
	write_file("/etc/hostname", buf);
	snprintf(buf, sizeof buf, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t%s\n",
		 cfg->hostname);
	write_file("/etc/hosts", buf);
	timezone_setup();
	write_file("/etc/os-release", "NAME=onlydocker\nID=onlydocker\nPRETTY_NAME=\"onlydocker (Linux kernel + Docker engine)\"\n");
	/* The DHCP container writes the servers here in place; /etc/resolv.conf follows it. */
	mkdirs("/run/resolvconf", 0755);
	write_file("/run/resolvconf/resolv.conf", "# onlydocker: no DHCP lease yet\n");
	unlink("/etc/resolv.conf");
	if (symlink("/run/resolvconf/resolv.conf", "/etc/resolv.conf") < 0)
		warn("host: /etc/resolv.conf: %s", strerror(errno));
	info("host: hostname %s, loopback up, /etc written", cfg->hostname);
}
