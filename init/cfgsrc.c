/* The configuration's sources, read once the data disk is mounted: the documents (the data
 * disk's config.yaml, a NoCloud seed's user-data, then kvm --config's fw_cfg file) over the
 * defaults, then the kernel command line again, last; merged into a new configuration that
 * replaces the boot's in one step. Keys the boot used before (the disk, cgroups) keep the
 * command line's value. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>
#include "cfgdoc.h"
#include "cfgsrc.h"
#include "cmdline.h"
#include "disklabel.h"
#include "fileio.h"
#include "init.h"
#include "log.h"
#include "modules.h"
#include "runport.h"

#define DISK_DOC "/var/lib/docker/onlydocker/config.yaml"
#define FWCFG_DOC "/sys/firmware/qemu_fw_cfg/by_name/" CONFIG_FWCFG "/raw"
#define SEED_DIR "/run/onlydocker/seed"
#define SEED_DOC SEED_DIR "/user-data"
#define SEED_META SEED_DIR "/meta-data"
#define SSH_KEYS_OUT "/run/onlydocker/config_authorized_keys"   /* dom0: /host/run/... (ssh.sh) */

/* A NoCloud seed (cloud-init's format: a filesystem labelled cidata or CIDATA holding user-data
 * and meta-data), mounted read-only for the time it is read. The block devices were probed while
 * the data disk was looked for. */
static int seed_mount(void);
static void seed_umount(void);

/* The sources, in the order they apply: each later one wins key by key. */
static const struct source {
	const char *name;       /* in messages */
	const char *path;
	int (*open)(void);      /* makes path readable: 1, 0 when the source is absent, or -errno */
	void (*close)(void);
	int cloud_config;       /* cloud-init's rule: the document must start with #cloud-config */
	int metadata;           /* a seed's meta-data: its local-hostname alone */
} sources[] = {
	{ "data disk " DISK_DOC, DISK_DOC, NULL, NULL, 0, 0 },
	{ "NoCloud seed meta-data", SEED_META, seed_mount, seed_umount, 0, 1 },
	{ "NoCloud seed user-data", SEED_DOC, seed_mount, seed_umount, 1, 0 },
	{ "fw_cfg " CONFIG_FWCFG, FWCFG_DOC, NULL, NULL, 0, 0 },
};

static char *seed_dev;

static int seed_mount(void)
{
	static const char *const labels[] = { "cidata", "CIDATA" };
	static const char *const types[] = { "iso9660", "vfat" };
	for (size_t i = 0; i < 2 && !seed_dev; i++)
		seed_dev = disk_find_label("/sys/class/block", "/dev", labels[i]);
	if (!seed_dev)
		return 0;
	/* iso9660 is what QEMU, libvirt and Proxmox make; vfat what cloud-localds makes on request. */
	modules_load_quietly("isofs");
	modules_load_quietly("vfat");
	mkdirs(SEED_DIR, 0700);
	int err = 0;
	for (size_t i = 0; i < 2; i++) {
		if (mount(seed_dev, SEED_DIR, types[i], MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0)
			return 1;
		if (!err || errno != EINVAL)
			err = errno;
	}
	warn("config: NoCloud seed %s: cannot mount it (iso9660 or vfat): %s; ignored", seed_dev, strerror(err));
	return -err;
}

static void seed_umount(void)
{
	if (umount2(SEED_DIR, MNT_DETACH) < 0)
		warn("config: unmounting the NoCloud seed %s: %s", seed_dev, strerror(errno));
}

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
		const struct source *s = &sources[i];
		char *text = NULL;
		size_t len = 0;
		int r = s->open ? s->open() : 1;
		if (r <= 0)
			continue;       /* absent, or said why */
		r = load(s, &text, &len);
		if (s->close)
			s->close();
		if (r < 0) {
			warn("config: %s: cannot read: %s; ignored", s->name, strerror(-r));
			continue;
		}
		if (r == 0) {
			if (s->open)    /* a seed without user-data: cloud-init's is optional too */
				info("config: %s: none on the seed %s", s->name, seed_dev);
			continue;
		}
		if (s->cloud_config && (len < 13 || memcmp(text, "#cloud-config", 13))) {
			warn("config: %s: does not start with #cloud-config (a script or another format, which "
			     "onlydocker does not run); ignored", s->name);
			free(text);
			continue;
		}
		r = (s->metadata ? cfgdoc_metadata : cfgdoc_apply)(s->name, text, len, &next, report);
		free(text);
		/* A document read but ignored whole is not a source used; nor is meta-data, the seed's
		 * description (its local-hostname shows as the hostname). */
		if (r >= 0 && !s->metadata)
			snprintf(used + strlen(used), sizeof used - strlen(used), "%s%s", *used ? ", " : "", s->name);
	}
	if (!*used) {
		info("config: no document applied (looked at %s, a NoCloud seed, fw_cfg); the kernel command line alone", DISK_DOC);
		return 0;
	}
	/* cfg is still the command line's alone: what it sets, a document could not have changed. */
	for (size_t i = 0; i < sizeof early / sizeof early[0]; i++)
		if (config_given(&next, early[i]) && !config_given(cfg, early[i]))
			warn("config: %s from a document comes too late for this boot (the data disk is found before "
			     "the documents are read): only the kernel command line sets it; ignored", early[i]);
	cmdline_parse(cmdline, &next, NULL);     /* its problems were said at the start */
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
