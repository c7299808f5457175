/* Time: where the NTP servers come from (od.ntp, else the documents' `ntp:`, else the DHCP leases'
 * option 42, else none), said once at boot; the ntp system container's part of that (whether it
 * runs, its environment); and chronyd's log, which its container writes into a FIFO that init
 * reads and relays: the first sync and every step of the clock on the console, the rest as debug
 * lines. chronyd itself runs in that container (images/dhcpcd/ntp.sh). */
#define _GNU_SOURCE
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "cfgdoc.h"
#include "cmdline.h"
#include "init.h"
#include "log.h"
#include "loop.h"

/* The configuration's servers or pools, space separated. */
#define NAMES_TEXT (NTP_NAMES_MAX * (NTP_NAME_MAX + 1))

static struct watch fifo_watch;
static char line[512];
static size_t have;
static int synced;

/* Where the servers come from: od.ntp (the command line's, or a document's onlydocker.ntp), else
 * the documents' ntp key; servers and pools space separated, as ntp.sh takes them. */
struct sources {
	int off;
	const char *from;
	char servers[NAMES_TEXT], pools[NAMES_TEXT];
};

static void names(const cJSON *list, char *out, size_t size)
{
	const cJSON *item;
	size_t len = 0;
	cJSON_ArrayForEach(item, list) {
		int n = cJSON_IsString(item) ? snprintf(out + len, size - len, "%s%s", len ? " " : "", item->valuestring) : 0;
		if (n < 0 || (size_t)n >= size - len) {
			out[len] = 0;   /* what fits; cfgdoc_time.c bounds the lists below this */
			break;
		}
		len += (size_t)n;
	}
}

static void sources(struct sources *s)
{
	const cJSON *doc = cJSON_GetObjectItemCaseSensitive(cfg->doc, "ntp");
	memset(s, 0, sizeof *s);
	if (cfg->ntp[0]) {
		s->from = "od.ntp";
		s->off = !strcmp(cfg->ntp, "off");
		if (!s->off)
			for (char *p = strcpy(s->servers, cfg->ntp); (p = strchr(p, ',')); )
				*p = ' ';
		return;
	}
	s->from = "the configuration's ntp";
	s->off = cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(doc, "enabled"));
	names(cJSON_GetObjectItemCaseSensitive(doc, "servers"), s->servers, sizeof s->servers);
	names(cJSON_GetObjectItemCaseSensitive(doc, "pools"), s->pools, sizeof s->pools);
}

/* The ntp container runs when there are servers to ask or a lease may bring some. */
int timesync_wanted(void)
{
	struct sources s;
	sources(&s);
	return !s.off && (s.servers[0] || s.pools[0] || net_wants_dhcp());
}

/* NTP_SERVERS and NTP_POOLS for ntp.sh; empty ones let it read the leases'. */
void timesync_env(cJSON *env)
{
	struct sources s;
	char v[NAMES_TEXT + 16];
	sources(&s);
	snprintf(v, sizeof v, "NTP_SERVERS=%s", s.servers);
	cJSON_AddItemToArray(env, cJSON_CreateString(v));
	snprintf(v, sizeof v, "NTP_POOLS=%s", s.pools);
	cJSON_AddItemToArray(env, cJSON_CreateString(v));
}

/* chronyd -d prefixes each line with the time it had then: before the step, misleading; dropped. */
static const char *message(const char *l)
{
	int n = 0;
	unsigned y, mo, d, h, mi, s;
	if (sscanf(l, "%4u-%2u-%2uT%2u:%2u:%2uZ %n", &y, &mo, &d, &h, &mi, &s, &n) == 6 && n > 0)
		return l + n;
	return l;
}

static void relay(const char *l)
{
	const char *m = message(l);
	if (!strncmp(m, "Selected source", 15) && !synced) {
		synced = 1;
		info("time: first sync: chronyd: %s", m);
	} else if (!strncmp(m, "System clock wrong by", 21)) {
		info("time: chronyd: %s", m);
	} else if (!strncmp(m, "System clock was stepped by", 27)) {
		char now[32];
		time_t t = time(NULL);
		struct tm tm;
		strftime(now, sizeof now, "%Y-%m-%d %H:%M:%S", gmtime_r(&t, &tm));
		info("time: chronyd: %s; the clock now says %s UTC", m, now);
	} else if (strstr(m, "Could not") || strstr(m, "Fatal") || strstr(m, "error")) {
		warn("time: chronyd: %s", m);
	} else {
		debug("time: chronyd: %s", m);
	}
}

static void on_fifo(int fd, short rev, void *arg)
{
	(void)rev; (void)arg;
	char buf[1024];
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (have < sizeof line - 1)
					line[have++] = buf[i];
				continue;
			}
			line[have] = 0;
			if (have)
				relay(line);    /* an overlong line: its start, which names what it is */
			have = 0;
		}
	}
}

/* The FIFO the ntp container's chronyd writes its log to: held open for reading and writing by
 * init, so that chronyd (and each new container) can open it at any time and never sees it closed. */
static int fifo_open(void)
{
	if (mkdir(NTP_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (mkfifo(NTP_DIR "/log", 0600) < 0 && errno != EEXIST)
		return -errno;
	int fd = open(NTP_DIR "/log", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	watch_add(&fifo_watch, fd, POLLIN, on_fifo, NULL);
	return 0;
}

/* chronyd asks the kernel for receive timestamps, and the first socket that does flips a static
 * key in the network receive path: code patched while other CPUs may run it. Under QEMU's TCG
 * with two CPUs that patching raced a CPU inside __netif_receive_skb_core and panicked the guest
 * (an int3 oops at chronyd's start: once in six boots of test_time without this, never in seven
 * with it; a race, so no proof). Flipped here, before any port is up, by a socket held for good,
 * the key never changes again. Returns 0 or -errno. */
static int rx_timestamps_early(void)
{
	int on = 1, fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return 0;               /* fd kept open: the key stays on */
}

/* Once the configuration is final and the network's mode known: where time comes from, said once. */
void timesync_setup(void)
{
	struct sources s;
	sources(&s);
	if (s.off) {
		info("time: NTP is off (%s); the clock is the hardware's", s.from);
		return;
	}
	if (s.servers[0] || s.pools[0])
		info("time: NTP servers from %s: %s%s%s%s", s.from, s.servers, s.servers[0] && s.pools[0] ? ", " : "",
		     s.pools[0] ? "pools " : "", s.pools);
	else if (net_wants_dhcp())
		info("time: NTP servers from the DHCP lease (option 42), when it gives some");
	else {
		info("time: no NTP servers (none configured, no DHCP); the clock is the hardware's");
		return;
	}
	int r = rx_timestamps_early();
	if (r < 0)
		warn("time: receive timestamps: %s", strerror(-r));
	r = fifo_open();
	if (r < 0)
		warn("time: %s/log: %s; chronyd's log stays in its container's (docker logs ntp)", NTP_DIR, strerror(-r));
}
