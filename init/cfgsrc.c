/* The configuration's sources, read once the data disk is mounted: the documents (the data
 * disk's config.yaml, then kvm --config's fw_cfg file) over the defaults, then the kernel command
 * line again, last; merged into a new configuration that replaces the boot's in one step. Keys
 * the boot used before (the disk, cgroups, the console) keep the command line's value. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cfgdoc.h"
#include "cmdline.h"
#include "fileio.h"
#include "init.h"
#include "log.h"
#include "modules.h"
#include "runport.h"

#define DISK_DOC "/var/lib/docker/onlydocker/config.yaml"
#define FWCFG_DOC "/sys/firmware/qemu_fw_cfg/by_name/" CONFIG_FWCFG "/raw"
#define SSH_KEYS_OUT "/run/onlydocker/config_authorized_keys"   /* dom0: /host/run/... (ssh.sh) */

/* The sources, in the order they apply: each later one wins key by key. */
static const struct source {
	const char *name;       /* in messages */
	const char *path;
} sources[] = {
	{ "data disk " DISK_DOC, DISK_DOC },
	{ "fw_cfg " CONFIG_FWCFG, FWCFG_DOC },
};

static void report(const char *msg) { warn("%s", msg); }

/* One document, whole, into a buffer of its own; 0 when there is none. */
static int load(const struct source *s, char **text, size_t *len)
{
	FILE *f = fopen(s->path, "rb");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	char *buf = malloc(CFGDOC_MAX + 1);
	size_t n = buf ? fread(buf, 1, CFGDOC_MAX + 1, f) : 0;
	int bad = ferror(f);
	fclose(f);
	if (!buf)
		return -ENOMEM;
	if (bad) {
		free(buf);
		return -EIO;
	}
	*text = buf;
	*len = n;
	return 1;
}

/* Keys the boot has acted on before the documents are read: a document cannot change them now. */
static const char *const early[] = { "od.disk.label", "od.disk.opts", "od.disk.wait", "od.disk.format", "od.cgroup" };

int config_sources(const char *cmdline)
{
	static struct config next;
	char used[300] = "";
	config_defaults(&next);
	/* kvm --config's file: fw_cfg's sysfs files appear with its driver, which coldplug would
	 * load later; it is small. */
	modules_load_quietly("qemu_fw_cfg");
	for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++) {
		char *text = NULL;
		size_t len = 0;
		int r = load(&sources[i], &text, &len);
		if (r < 0) {
			warn("config: %s: cannot read: %s; ignored", sources[i].name, strerror(-r));
			continue;
		}
		if (r == 0)
			continue;
		cfgdoc_apply(sources[i].name, text, len, &next, report);
		free(text);
		snprintf(used + strlen(used), sizeof used - strlen(used), "%s%s", *used ? ", " : "", sources[i].name);
	}
	if (!*used) {
		info("config: no document (none at %s, none from fw_cfg); the kernel command line alone", DISK_DOC);
		return 0;
	}
	struct config early_from_doc = next;
	cmdline_parse(cmdline, &next, NULL);     /* its problems were said at the start */
	for (size_t i = 0; i < sizeof early / sizeof early[0]; i++)
		if (config_given(&early_from_doc, early[i]) && !config_given(cfg, early[i]))
			warn("config: %s from a document comes too late for this boot (the data disk is found before "
			     "the documents are read): only the kernel command line sets it; ignored", early[i]);
	config_finalise(&next);
	config_replace(&next, early, sizeof early / sizeof early[0]);
	if (*cfg->ssh_keys) {
		mkdirs("/run/onlydocker", 0755);
		int r = write_file(SSH_KEYS_OUT, cfg->ssh_keys);
		if (r < 0)
			warn("config: %s: %s; ssh_authorized_keys not passed on", SSH_KEYS_OUT, strerror(-r));
	}
	info("config: documents applied: %s; then the kernel command line", used);
	return 1;
}
