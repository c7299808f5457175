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
}

enum kind { K_STR, K_INT, K_BOOL, K_HOST, K_CGROUP };

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
	if (strncmp(word, "od.", 3))
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
			return;
		case K_BOOL:
			if (!strcmp(v, "1") || !strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true"))
				*(int *)field = 1;
			else if (!strcmp(v, "0") || !strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false"))
				*(int *)field = 0;
			else
				say(report, problems, "cmdline: %s='%.64s' is not 0 or 1, default kept", name, v);
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
	return problems;
}
