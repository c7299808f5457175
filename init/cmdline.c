/* The configuration: its keys, each row with its own parser, the defaults, the kernel command
 * line's words (quoted values, repeated keys: the last wins; garbage and overlong input reported
 * and ignored), and the finalising step. Then read-only: the rest of init sees `const *cfg`. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
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

/* One key: where its value goes, and the function that parses a value into it. A parser returns 0,
 * or -EINVAL with why[] saying what was wrong (the key keeps what it had). v is NULL for a bare
 * word ("od.debug", "console"). */
struct key;
typedef int (*parse_fn)(const struct key *k, const char *v, void *field, char *why, size_t n);
struct key {
	const char *name;
	parse_fn parse;
	size_t off, size;     /* where in struct config, and the buffer size for strings */
	int min, max, scale;  /* for integers: bounds in the user's unit, and the factor to ours */
	int cmdline_only;     /* the kernel's words and kvm's: never from a configuration document */
};

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

#define WHY(...) (snprintf(why, n, __VA_ARGS__), -EINVAL)

static int need_value(const struct key *k, const char *v, char *why, size_t n)
{
	return v ? 0 : WHY("%s needs a value, default kept", k->name);
}

static int parse_str(const struct key *k, const char *v, void *field, char *why, size_t n)
{
	if (need_value(k, v, why, n))
		return -EINVAL;
	if (strlen(v) >= k->size)
		return WHY("value of %s is too long (max exceeded), default kept", k->name);
	strcpy(field, v);
	return 0;
}

static int parse_host(const struct key *k, const char *v, void *field, char *why, size_t n)
{
	if (v && strlen(v) < k->size && !valid_hostname(v))
		return WHY("%s='%.64s' is not a valid hostname, default kept", k->name, v);
	return parse_str(k, v, field, why, n);
}

static int parse_int(const struct key *k, const char *v, void *field, char *why, size_t n)
{
	if (need_value(k, v, why, n))
		return -EINVAL;
	char *end;
	errno = 0;
	long x = strtol(v, &end, 10);
	if (errno || end == v || *end || x < k->min || x > k->max)
		return WHY("value of %s is not a number in %d..%d, default kept", k->name, k->min, k->max);
	*(int *)field = (int)x * k->scale;
	return 0;
}

/* A bare boolean key turns it on. */
static int parse_bool(const struct key *k, const char *v, void *field, char *why, size_t n)
{
	if (!v || !strcmp(v, "1") || !strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true"))
		*(int *)field = 1;
	else if (!strcmp(v, "0") || !strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false"))
		*(int *)field = 0;
	else
		return WHY("%s='%.64s' is not 0 or 1, default kept", k->name, v);
	return 0;
}

static int parse_cgroup(const struct key *k, const char *v, void *field, char *why, size_t n)
{
	if (need_value(k, v, why, n))
		return -EINVAL;
	if (strcmp(v, "v1") && strcmp(v, "v2"))
		return WHY("%s='%.64s' is not v1 or v2, default kept", k->name, v);
	*(int *)field = v[1] == '1';
	return 0;
}

static int parse_swarm(const struct key *k, const char *v, void *field, char *why, size_t n)
{
	if (need_value(k, v, why, n))
		return -EINVAL;
	if (strcmp(v, "init"))
		return WHY("%s='%.64s' is not init (to join, od.swarm.join=), ignored", k->name, v);
	strcpy(field, v);
	return 0;
}

/* NTP servers, comma separated (each a host name or an address: they become chronyd's
 * configuration lines), at most 8 as a document's ntp.servers; or off. */
static int parse_ntp(const struct key *k, const char *v, void *field, char *why, size_t n)
{
	if (need_value(k, v, why, n))
		return -EINVAL;
	int names = 1, ok = strlen(v) < k->size && *v && strcmp(v, ",");
	for (const char *p = v; ok && *p; p++) {
		int first = p == v || p[-1] == ',';
		names += *p == ',';
		ok = (isalnum((unsigned char)*p) || (strchr(".-:", *p) && !first) || (*p == ',' && !first && p[1]))
		     && names <= 8;
	}
	if (!ok)
		return WHY("%s='%.64s' is not off or up to 8 host names or addresses, comma separated; ignored", k->name, v);
	strcpy(field, v);
	return 0;
}

static int parse_ip(const struct key *k, const char *v, void *field, char *why, size_t n)
{
	struct ipconf ip;
	char e[160];
	if (need_value(k, v, why, n))
		return -EINVAL;
	if (ipconf_parse(v, &ip, e, sizeof e) < 0)
		return WHY("ip='%.80s': %s; using DHCP", v, e);
	*(struct ipconf *)field = ip;
	return 0;
}

/* Words that are the kernel's, but say something to us: given at all (console: bare only). */
static int parse_given(const struct key *k, const char *v, void *field, char *why, size_t n)
{
	(void)why; (void)n;
	if (k->max && v)        /* console=ttyS0 is the kernel's console, not the debug shell */
		return 1;
	*(int *)field = 1;
	return 0;
}

#define F(f) offsetof(struct config, f), sizeof(((struct config *)0)->f)
static const struct key keys[] = {
	{ "console", parse_given, F(console_shell), 0, 1, 0, 1 },
	{ "loglevel", parse_given, F(loglevel_given), 0, 0, 0, 1 },
	{ "od.hostname", parse_host, F(hostname), 0, 0, 0, 0 },
	{ "od.disk.label", parse_str, F(disk_label), 0, 0, 0, 0 },
	{ "od.disk.opts", parse_str, F(disk_opts), 0, 0, 0, 0 },
	{ "od.disk.wait", parse_int, F(disk_wait_ms), 0, 600, 1000, 0 },
	{ "od.disk.format", parse_str, F(disk_format), 0, 0, 0, 0 },
	{ "od.cgroup", parse_cgroup, F(cgroup_v1), 0, 0, 0, 0 },
	{ "od.debug", parse_bool, F(debug), 0, 0, 0, 0 },
	{ "od.iptables", parse_bool, F(iptables), 0, 0, 0, 0 },
	{ "od.dockerd.args", parse_str, F(dockerd_args), 0, 0, 0, 0 },
	{ "od.shutdown.timeout", parse_int, F(shutdown_timeout_ms), 1, 3600, 1000, 0 },
	{ "od.dom0", parse_bool, F(dom0), 0, 0, 0, 0 },
	{ "od.dhcp.timeout", parse_int, F(dhcp_timeout_ms), 1, 3600, 1000, 0 },
	{ "od.dhcp", parse_bool, F(dhcp), 0, 0, 0, 0 },
	{ "od.run", parse_bool, F(run), 0, 0, 0, 1 },
	{ "ip", parse_ip, F(ip), 0, 0, 0, 0 },
	{ "od.swarm", parse_swarm, F(swarm), 0, 0, 0, 0 },
	{ "od.swarm.join", parse_str, F(swarm_join), 0, 0, 0, 0 },
	{ "od.swarm.token", parse_str, F(swarm_token), 0, 0, 0, 0 },
	{ "od.swarm.addr", parse_str, F(swarm_addr), 0, 0, 0, 0 },
	{ "od.ntp", parse_ntp, F(ntp), 0, 0, 0, 0 },
	{ "od.engine.ping", parse_int, F(ping_interval_ms), 0, 3600, 1000, 0 },
	{ "od.engine.misses", parse_int, F(ping_misses), 1, 100, 1, 0 },
};
#define NKEYS (sizeof keys / sizeof keys[0])
_Static_assert(NKEYS <= 64, "config.given has a bit per key");

static void __attribute__((format(printf, 3, 4))) say(void (*report)(const char *), int *problems, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (report)
		report(msg);
	(*problems)++;
}

/* One "key[=value]" word, quotes already removed: its row's parser, or unknown if ours. */
static void apply(const char *word, struct config *c, void (*report)(const char *), int *problems)
{
	const char *eq = strchr(word, '=');
	size_t len = eq ? (size_t)(eq - word) : strlen(word);
	char why[400];
	for (size_t i = 0; i < NKEYS; i++)
		if (strlen(keys[i].name) == len && !strncmp(keys[i].name, word, len)) {
			int r = keys[i].parse(&keys[i], eq ? eq + 1 : NULL, (char *)c + keys[i].off, why, sizeof why);
			if (r < 0)
				say(report, problems, "cmdline: %s", why);
			else if (r == 0)
				c->given |= 1ull << i;
			return;
		}
	if (strncmp(word, "od.", 3))
		return;         /* the kernel's or another program's */
	if (len >= 64)
		say(report, problems, "cmdline: key '%.40s...' is too long, ignored", word);
	else
		say(report, problems, "cmdline: unknown key '%.*s', ignored", (int)len, word);
}

int config_set(struct config *c, const char *key, const char *value, char *why, size_t n)
{
	for (size_t i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i].name, key))
			continue;
		if (keys[i].cmdline_only) {
			snprintf(why, n, "%s is the kernel command line's (or kvm's) alone", key);
			return -EPERM;
		}
		int r = keys[i].parse(&keys[i], value, (char *)c + keys[i].off, why, n);
		if (r < 0)
			return r;
		c->given |= 1ull << i;
		return 0;
	}
	snprintf(why, n, "unknown key");
	return -ENOENT;
}

static struct config boot;
const struct config *const cfg = &boot;

/* What one key implies for others, decided once all sources are parsed. */
void config_finalise(struct config *c)
{
	if (!config_given(c, "od.hostname") && c->ip.hostname[0])
		strcpy(c->hostname, c->ip.hostname);
	if (c->run) {           /* kvm --run: one container, as fast as can be, and no one at the console */
		c->console_shell = c->dom0 = 0;
		if (c->dhcp < 0)
			c->dhcp = 0;
	}
	/* The console is a person's (dom0's shell): kernel chatter (audit, link up) stays in dmesg,
	 * unless the command line chose a loglevel or asked for debug. */
	c->quiet_kernel = !c->debug && !c->loglevel_given;
}

void config_boot(const char *text, void (*report)(const char *msg))
{
	config_defaults(&boot);
	cmdline_parse(text, &boot, report);
	config_finalise(&boot);
}

void config_replace(struct config *next, const char *const *kept, size_t nkept)
{
	for (size_t k = 0; k < nkept; k++)
		for (size_t i = 0; i < NKEYS; i++)
			if (!strcmp(keys[i].name, kept[k])) {
				memcpy((char *)next + keys[i].off, (char *)&boot + keys[i].off, keys[i].size);
				next->given = (next->given & ~(1ull << i)) | (boot.given & (1ull << i));
			}
	boot = *next;
}

int config_given(const struct config *c, const char *key)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (!strcmp(keys[i].name, key))
			return !!(c->given & (1ull << i));
	return 0;
}

int cmdline_parse(const char *text, struct config *c, void (*report)(const char *))
{
	int problems = 0;
	char word[CMDLINE_MAX];
	const char *p = text;

	if (!text)
		return 0;
	if (strlen(text) >= CMDLINE_MAX) {
		say(report, &problems, "cmdline: longer than %d bytes, ignored whole", CMDLINE_MAX - 1);
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
			say(report, &problems, "cmdline: unterminated quote in '%.40s', ignored", word);
			continue;
		}
		int bad = 0;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)word[i] < 0x20 || (unsigned char)word[i] > 0x7e)
				bad = 1;
		if (bad && !strncmp(word, "od.", 3)) {
			say(report, &problems, "cmdline: '(garbage)' has non-printable bytes, ignored");
			continue;
		}
		apply(word, c, report, &problems);
	}
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
