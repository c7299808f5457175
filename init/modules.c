/* Kernel modules through libkmod: one module by name or alias (dependencies and softdeps first,
 * libkmod's order), and coldplug, every device's driver by its modalias as udev does. The same
 * code answers as `modprobe` for dockerd, iptables, the kernel and the boot (bootmods.c). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libkmod.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fileio.h"
#include "init.h"
#include "log.h"
#include "modules.h"

static struct kmod_ctx *ctx;

static struct kmod_ctx *kmod(void)
{
	if (!ctx) {
		ctx = kmod_new(NULL, NULL);
		if (ctx)
			kmod_load_resources(ctx);
	}
	return ctx;
}

/* Loads what an alias or a name resolves to, dependencies and softdeps first (libkmod's order).
 * flags and action are libkmod's: the unit tests pass KMOD_PROBE_DRY_RUN and record the order.
 * Returns modules inserted, or -errno. */
int modules_probe(struct kmod_ctx *kc, const char *name, int quiet, unsigned flags,
		  void (*action)(struct kmod_module *m, bool install, const char *options))
{
	struct kmod_list *list = NULL, *l;
	int loaded = 0, rc;

	rc = kmod_module_new_from_lookup(kc, name, &list);
	if (rc < 0)
		return rc;
	if (!list)
		return -ENOENT;
	kmod_list_foreach(l, list) {
		struct kmod_module *m = kmod_module_get_module(l);
		int st = kmod_module_get_initstate(m);
		if (st == KMOD_MODULE_COMING && !(flags & KMOD_PROBE_DRY_RUN)) {
			/* Someone else is loading it right now (the background set, dockerd): libkmod
			 * would call that done. Loading it again makes the kernel wait for the other
			 * load to finish (and answer EEXIST), so the caller finds it live on return. */
			kmod_module_insert_module(m, 0, NULL);
			kmod_module_unref(m);
			continue;
		}
		if (st == KMOD_MODULE_LIVE || st == KMOD_MODULE_BUILTIN) {
			kmod_module_unref(m);
			continue;
		}
		rc = kmod_module_probe_insert_module(m, KMOD_PROBE_APPLY_BLACKLIST | flags, NULL, NULL, NULL, action);
		if (rc == 0)
			loaded++;
		else if (rc != -EEXIST && !quiet)
			warn("modules: %s (for %s): %s", kmod_module_get_name(m), name, strerror(-rc));
		kmod_module_unref(m);
	}
	kmod_module_unref_list(list);
	return loaded;
}

static int probe(const char *name, int quiet)
{
	return kmod() ? modules_probe(ctx, name, quiet, 0, NULL) : -ENOMEM;
}

/* Walks /sys/devices for modalias files; returns the number of modules loaded by this pass. */
static int scan(int dirfd, int depth, char *seen, size_t *seen_len, size_t seen_cap)
{
	DIR *d = fdopendir(dirfd);
	struct dirent *e;
	int loaded = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (e->d_type == DT_DIR && depth < 12) {
			int fd = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd >= 0)
				loaded += scan(fd, depth + 1, seen, seen_len, seen_cap);
		} else if (e->d_type == DT_REG && !strcmp(e->d_name, "modalias")) {
			char alias[256];
			int fd = openat(dirfd, "modalias", O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			ssize_t n = read(fd, alias, sizeof alias - 1);
			close(fd);
			if (n <= 0)
				continue;
			alias[n] = 0;
			alias[strcspn(alias, "\n")] = 0;
			/* Many devices share an alias (CPUs, PCI bridges): look each one up once. */
			char key[258];
			snprintf(key, sizeof key, "\n%s\n", alias);
			if (memmem(seen, *seen_len, key, strlen(key)))
				continue;
			size_t k = strlen(key) - 1;
			if (*seen_len + k + 1 < seen_cap) {
				memcpy(seen + *seen_len, key, k);
				*seen_len += k;
				seen[*seen_len] = 0;
			}
			int r = probe(alias, 1);
			if (r > 0)
				loaded += r;
		}
	}
	closedir(d);
	return loaded;
}

/* The data disk's drivers before the rest: PID 1 waits for the disk, and nothing else on the way to
 * dockerd needs a device. Storage and virtio PCI functions first (class 01, vendor 1af4), then the
 * block and SCSI devices on the virtio bus they bring. Returns the modules loaded. */
static int storage_first(void)
{
	static const struct { const char *bus, *attr; const char *const want[3]; } steps[] = {
		{ "/sys/bus/pci/devices", "class", { "0x01" } },
		{ "/sys/bus/pci/devices", "vendor", { "0x1af4" } },
		{ "/sys/bus/virtio/devices", "device", { "0x0002", "0x0008" } },
	};
	int loaded = 0;
	for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
		DIR *d = opendir(steps[s].bus);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			char path[300], val[64], alias[256];
			int match = 0;
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof path, "%s/%s/%s", steps[s].bus, e->d_name, steps[s].attr);
			if (read_file(path, val, sizeof val) <= 0)
				continue;
			for (int i = 0; i < 3 && steps[s].want[i]; i++)
				match |= !strncmp(val, steps[s].want[i], strlen(steps[s].want[i]));
			snprintf(path, sizeof path, "%s/%s/modalias", steps[s].bus, e->d_name);
			if (match && read_file(path, alias, sizeof alias) > 0) {
				int r = probe(alias, 1);
				loaded += r > 0 ? r : 0;
			}
		}
		if (d)
			closedir(d);
	}
	return loaded;
}

/* Coldplug: every device's modalias, looked up once each. Returns the modules loaded. */
int modules_coldplug(void)
{
	int64_t t0 = now_ms();
	int total = 0, pass;
	static char seen[64 * 1024];
	size_t seen_len = 1;

	if (!kmod()) {
		err("modules: libkmod context: %s", strerror(errno));
		return -ENOMEM;
	}
	seen[0] = '\n';
	total = storage_first();
	/* A loaded bus driver (virtio_pci) brings new devices with aliases of their own: rescan. */
	for (pass = 0; pass < 4; pass++) {
		int fd = open("/sys/devices", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			break;
		int n = scan(fd, 0, seen, &seen_len, sizeof seen);
		total += n;
		if (n == 0)
			break;
	}
	info("modules: coldplug loaded %d modules in %d passes, %lld ms", total, pass + 1, (long long)(now_ms() - t0));
	return total;
}

/* One module (and what it needs) now; one that another process is loading is waited for. */
int modules_load(const char *name)
{
	return probe(name, 0);
}

int modules_load_quietly(const char *name) { return probe(name, 1); }

/* `modprobe [-q] [-v] [-a] [-b] [-s] [--] name [name...]`: enough of kmod's for dockerd and
 * iptables, which ask for modules by name or alias. Removal is not offered. */
int modprobe_main(int argc, char **argv)
{
	int quiet = 0, all = 0, rc = 0, i;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (!strcmp(argv[i], "--coldplug")) {   /* ours: every device's driver first */
			if (modules_coldplug() < 0)
				rc = 1;
			if (i + 1 == argc)
				return rc;
			continue;
		}
		for (const char *o = argv[i] + 1; *o; o++)
			switch (*o) {
			case 'q': quiet = 1; break;
			case 'a': all = 1; break;
			case 'v': case 'b': case 's': break;
			case 'r':
				fprintf(stderr, "modprobe: removing modules is not supported here\n");
				return 1;
			default:
				fprintf(stderr, "modprobe: unknown option -%c\n", *o);
				return 1;
			}
	}
	if (i >= argc) {
		fprintf(stderr, "usage: modprobe [-q] [-a] [--] MODULE...\n");
		return 1;
	}
	/* Without -a, the words after the name are module parameters, which we do not take. */
	for (int end = all ? argc : i + 1; i < end; i++) {
		int r = probe(argv[i], 1);
		if (r < 0) {
			if (!quiet)
				fprintf(stderr, "modprobe: %s: %s\n", argv[i], r == -ENOENT ? "module not found" : strerror(-r));
			rc = 1;
		}
	}
	return rc;
}
