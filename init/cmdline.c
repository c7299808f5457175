/* Kernel command line parsing: quoted values, repeated keys (the last wins), garbage and overlong
 * input reported and ignored. Pure logic, unit-tested on the host. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmdline.h"

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof *c);
	strcpy(c->hostname, "onlydocker");
	strcpy(c->disk_label, "DOCKER");
	strcpy(c->disk_opts, "noatime");
	c->disk_wait_ms = 5000;
	c->iptables = 1;
	c->shutdown_timeout_ms = 30000;
	c->dom0 = 1;
	c->dhcp_timeout_ms = 30000;
	c->dhcp = -1;
	c->ping_interval_ms = 10000;
	c->ping_misses = 3;
	strcpy(c->ip.dev, "eth0");
}

enum kind { K_STR, K_INT, K_BOOL, K_HOST, K_CGROUP, K_IP, K_SWARM };

struct key {
	const char *name;
	enum kind kind;
	size_t off, size;     /* where in struct config, and the buffer size for strings */
	int min, max, scale;  /* for integers: bounds in the user's unit, and the factor to ours */
};

#define STR(n, f) { n, K_STR, offsetof(struct config, f), sizeof(((struct config *)0)->f), 0, 0, 0 }
#define INT(n, f, lo, hi, sc) { n, K_INT, offsetof(struct config, f), 0, lo, hi, sc }
#define BOOL(n, f) { n, K_BOOL, offsetof(struct config, f), 0, 0, 1, 1 }

static const struct key keys[] = {
	{ "od.hostname", K_HOST, offsetof(struct config, hostname), sizeof(((struct config *)0)->hostname), 0, 0, 0 },
	STR("od.disk.label", disk_label),
	STR("od.disk.opts", disk_opts),
	INT("od.disk.wait", disk_wait_ms, 0, 600, 1000),
	STR("od.disk.format", disk_format),
	{ "od.cgroup", K_CGROUP, offsetof(struct config, cgroup_v1), 0, 0, 0, 0 },
	BOOL("od.debug", debug),
	BOOL("od.iptables", iptables),
	STR("od.dockerd.args", dockerd_args),
	INT("od.shutdown.timeout", shutdown_timeout_ms, 1, 3600, 1000),
	BOOL("od.dom0", dom0),
	INT("od.dhcp.timeout", dhcp_timeout_ms, 1, 3600, 1000),
	BOOL("od.dhcp", dhcp),
	BOOL("od.run", run),
	{ "ip", K_IP, offsetof(struct config, ip), 0, 0, 0, 0 },
	{ "od.swarm", K_SWARM, offsetof(struct config, swarm), 0, 0, 0, 0 },
	STR("od.swarm.join", swarm_join),
	STR("od.swarm.token", swarm_token),
	STR("od.swarm.addr", swarm_addr),
	INT("od.engine.ping", ping_interval_ms, 0, 3600, 1000),
	INT("od.engine.misses", ping_misses, 1, 100, 1),
};

static void say(void (*report)(const char *), int *problems, const char *fmt, const char *a, const char *b)
{
	char msg[512];
	snprintf(msg, sizeof msg, fmt, a, b);
	if (report)
		report(msg);
	(*problems)++;
}

static int valid_hostname(const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || n > 63 || v[0] == '-' || v[n - 1] == '-')
		return 0;
	for (; *v; v++)
		if (!isalnum((unsigned char)*v) && *v != '-')
			return 0;
	return 1;
}

/* One "key[=value]" word, quotes already removed. */
static void apply(const char *word, struct config *c, void (*report)(const char *), int *problems)
{
	char name[64];
	const char *eq = strchr(word, '=');
	size_t nlen = eq ? (size_t)(eq - word) : strlen(word);

	if (nlen == 7 && !strncmp(word, "console", 7) && !eq) {
		c->console_shell = 1;
		return;
	}
	if (strncmp(word, "od.", 3) && strncmp(word, "ip=", 3))
		return;               /* the kernel's or another program's */
	if (nlen >= sizeof name) {
		say(report, problems, "cmdline: key '%.40s...' is too long%s, ignored", word, "");
		return;
	}
	memcpy(name, word, nlen);
	name[nlen] = 0;
	const char *v = eq ? eq + 1 : NULL;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const struct key *k = &keys[i];
		if (strcmp(k->name, name))
			continue;
		char *field = (char *)c + k->off;
		if (k->kind == K_BOOL && !v) {
			*(int *)field = 1;    /* a bare boolean key turns it on */
			return;
		}
		if (!v) {
			say(report, problems, "cmdline: %s needs a value%s, default kept", name, "");
			return;
		}
		switch (k->kind) {
		case K_STR:
		case K_HOST:
			if (strlen(v) >= k->size)
				say(report, problems, "cmdline: value of %s is too long (%s), default kept", name, "max exceeded");
			else if (k->kind == K_HOST && !valid_hostname(v))
				say(report, problems, "cmdline: %s='%.64s' is not a valid hostname, default kept", name, v);
			else
				strcpy(field, v);
			if (k->kind == K_HOST && !strcmp(field, v))
				c->hostname_set = 1;
			return;
		case K_IP: {
			struct ipconf ip;
			char why[160];
			if (ipconf_parse(v, &ip, why, sizeof why) == 0)
				c->ip = ip;
			else
				say(report, problems, "cmdline: ip='%.80s': %s; using DHCP", v, why);
			return;
		}
		case K_BOOL:
			if (!strcmp(v, "1") || !strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true"))
				*(int *)field = 1;
			else if (!strcmp(v, "0") || !strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false"))
				*(int *)field = 0;
			else
				say(report, problems, "cmdline: %s='%.64s' is not 0 or 1, default kept", name, v);
			return;
		case K_SWARM:
			if (!strcmp(v, "init"))
				strcpy(field, v);
			else
				say(report, problems, "cmdline: %s='%.64s' is not init (to join, od.swarm.join=), ignored", name, v);
			return;
		case K_CGROUP:
			if (!strcmp(v, "v1") || !strcmp(v, "v2"))
				*(int *)field = v[1] == '1';
			else
				say(report, problems, "cmdline: %s='%.64s' is not v1 or v2, default kept", name, v);
			return;
		case K_INT: {
			char *end;
			errno = 0;
			long n = strtol(v, &end, 10);
			if (errno || end == v || *end || n < k->min || n > k->max) {
				char range[48];
				snprintf(range, sizeof range, "%d..%d", k->min, k->max);
				say(report, problems, "cmdline: value of %s is not a number in %s, default kept", name, range);
			} else {
				*(int *)field = (int)n * k->scale;
			}
			return;
		}
		}
	}
	say(report, problems, "cmdline: unknown key '%s'%s, ignored", name, "");
}

int cmdline_parse(const char *text, struct config *c, void (*report)(const char *))
{
	int problems = 0;
	char word[CMDLINE_MAX];
	const char *p = text;

	if (!text)
		return 0;
	if (strlen(text) >= CMDLINE_MAX) {
		say(report, &problems, "cmdline: longer than %s bytes%s, ignored whole", "4095", "");
		return problems;
	}
	for (;;) {
		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		/* The kernel's rules: double quotes group, and are dropped, wherever they stand. */
		size_t n = 0;
		int quoted = 0;
		for (; *p && (quoted || !isspace((unsigned char)*p)); p++) {
			if (*p == '"')
				quoted = !quoted;
			else if (n < sizeof word - 1)
				word[n++] = *p;
		}
		word[n] = 0;
		if (quoted) {
			say(report, &problems, "cmdline: unterminated quote in '%.40s'%s, ignored", word, "");
			continue;
		}
		int bad = 0;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)word[i] < 0x20 || (unsigned char)word[i] > 0x7e)
				bad = 1;
		if (bad && !strncmp(word, "od.", 3)) {
			say(report, &problems, "cmdline: '%.40s' has non-printable bytes%s, ignored", "(garbage)", "");
			continue;
		}
		apply(word, c, report, &problems);
	}
	if (!c->hostname_set && c->ip.hostname[0])
		strcpy(c->hostname, c->ip.hostname);
	return problems;
}

static int parse_addr(const char *s, uint32_t *out)
{
	unsigned a[4];
	char tail;
	if (sscanf(s, "%3u.%3u.%3u.%3u%c", &a[0], &a[1], &a[2], &a[3], &tail) != 4 || a[0] > 255 || a[1] > 255 ||
	    a[2] > 255 || a[3] > 255)
		return -EINVAL;
	uint8_t *b = (uint8_t *)out;
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)a[i];
	return 0;
}

/* A netmask's prefix length, or -1 when its ones are not contiguous. */
static int mask_prefix(uint32_t mask_be)
{
	const uint8_t *b = (const uint8_t *)&mask_be;
	uint32_t m = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	int n = 0;
	while (n < 32 && (m & (0x80000000u >> n)))
		n++;
	return n < 32 && (m << n) ? -1 : n;
}

int ipconf_parse(const char *value, struct ipconf *ip, char *why, size_t whylen)
{
	char buf[VALUE_MAX], *f[10] = { 0 };
	int n = 0;

	memset(ip, 0, sizeof *ip);
	strcpy(ip->dev, "eth0");
#define BAD(...) do { snprintf(why, whylen, __VA_ARGS__); return -EINVAL; } while (0)
	if (strlen(value) >= sizeof buf)
		BAD("too long");
	strcpy(buf, value);
	if (!strcmp(buf, "off") || !strcmp(buf, "none")) {
		ip->mode = IP_OFF;
		return 0;
	}
	if (!strcmp(buf, "dhcp") || !strcmp(buf, "on") || !strcmp(buf, "any") || !strcmp(buf, "bootp")) {
		ip->mode = IP_DHCP;
		return 0;
	}
	char *p = buf;
	while (p && n < 10) {
		f[n++] = p;
		if ((p = strchr(p, ':')))
			*p++ = 0;
	}
	if (p)
		BAD("more than 10 fields");
	const char *autoconf = n > 6 ? f[6] : "";
	if (!strcmp(autoconf, "dhcp") || !strcmp(autoconf, "on") || !strcmp(autoconf, "any") || !strcmp(autoconf, "bootp")) {
		ip->mode = IP_DHCP;
	} else if (autoconf[0] && strcmp(autoconf, "off") && strcmp(autoconf, "none") && strcmp(autoconf, "static")) {
		BAD("autoconf '%.16s' is not off, none, static or dhcp", autoconf);
	} else if (!f[0][0]) {
		BAD("no client address: give one, or ip=dhcp");
	} else {
		ip->mode = IP_STATIC;
	}
	if (ip->mode == IP_STATIC) {
		char *slash = strchr(f[0], '/');
		ip->prefix = -1;
		if (slash) {
			char *end;
			*slash = 0;
			long p = strtol(slash + 1, &end, 10);
			if (end == slash + 1 || *end || p < 1 || p > 32)
				BAD("prefix '/%.8s' is not 1..32", slash + 1);
			ip->prefix = (int)p;
		}
		if (parse_addr(f[0], &ip->addr))
			BAD("client address '%.20s' is not an IPv4 address", f[0]);
		if (n > 2 && f[2][0] && parse_addr(f[2], &ip->gw))
			BAD("gateway '%.20s' is not an IPv4 address", f[2]);
		if (n > 3 && f[3][0]) {
			uint32_t mask;
			int p;
			if (parse_addr(f[3], &mask) || (p = mask_prefix(mask)) < 1)
				BAD("netmask '%.20s' is not a netmask", f[3]);
			if (ip->prefix >= 0 && ip->prefix != p)
				BAD("netmask %.20s and prefix /%d disagree", f[3], ip->prefix);
			ip->prefix = p;
		}
		if (ip->prefix < 0) {   /* the kernel's default: the address's old class */
			uint8_t a = ((uint8_t *)&ip->addr)[0];
			ip->prefix = a < 128 ? 8 : a < 192 ? 16 : 24;
		}
	}
	if (n > 4 && f[4][0]) {
		if (!valid_hostname(f[4]))
			BAD("hostname '%.64s' is not valid", f[4]);
		strcpy(ip->hostname, f[4]);
	}
	if (n > 5 && f[5][0]) {
		if (strlen(f[5]) >= sizeof ip->dev || strchr(f[5], '/'))
			BAD("device '%.20s' is not an interface name", f[5]);
		strcpy(ip->dev, f[5]);
	}
	for (int i = 7; i < 9 && i < n; i++) {
		if (!f[i][0])
			continue;
		if (parse_addr(f[i], &ip->dns[ip->ndns]))
			BAD("DNS server '%.20s' is not an IPv4 address", f[i]);
		ip->ndns++;
	}
#undef BAD
	return 0;
}
