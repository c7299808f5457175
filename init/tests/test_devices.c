/* Unit tests of how init finds things on the machine: modules by modalias with softdeps honoured
 * (libkmod over a fixture module tree that depmod indexes), and the data disk by label (libblkid
 * over image files made by mkfs), with the all-zero guard for formatting. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "disklabel.h"
#include "modules.h"

static char dir[256];

static void sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("fixture command failed: %s", cmd);
}

/* A "module" is an object file with a .modinfo section: all depmod reads for aliases and softdeps. */
static void fake_module(const char *name, const char *modinfo)
{
	sh("printf '%%s\\n' 'static const char i[] __attribute__((used, section(\".modinfo\"))) = \"name=%s\\0license=GPL\\0%s\";' "
	   "> %s/%s.c && gcc -c -o %s/lib/modules/0.0-odtest/kernel/%s.ko %s/%s.c",
	   name, modinfo, dir, name, dir, name, dir, name);
}

static int setup_modules(void **st)
{
	(void)st;
	snprintf(dir, sizeof dir, "/tmp/od-devices-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	sh("mkdir -p %s/lib/modules/0.0-odtest/kernel", dir);
	fake_module("odtest_bus", "alias=pci:v00001AF4d00001000sv*sd*bc*sc*i*");
	fake_module("odtest_crc", "alias=crypto-odcrc");
	fake_module("odtest_nft", "alias=nfnetlink-subsys-10\\0softdep=pre: odtest_crc");
	sh("depmod -b %s 0.0-odtest 2>/dev/null", dir);
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	sh("rm -rf %s", dir);
	return 0;
}

static char order[512];
static void record(struct kmod_module *m, bool install, const char *options)
{
	(void)install; (void)options;
	strcat(order, kmod_module_get_name(m));
	strcat(order, " ");
}

static int dry_run(const char *name)
{
	char path[300];
	snprintf(path, sizeof path, "%s/lib/modules/0.0-odtest", dir);
	struct kmod_ctx *kc = kmod_new(path, (const char *const[]){ "/nonexistent", NULL });
	assert_non_null(kc);
	order[0] = 0;
	int rc = modules_probe(kc, name, 1, KMOD_PROBE_DRY_RUN, record);
	kmod_unref(kc);
	return rc;
}

static void modalias_resolves_to_its_module(void **st)
{
	(void)st;
	/* A virtio PCI device's modalias, as coldplug reads it from sysfs. */
	assert_int_equal(dry_run("pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00"), 1);
	assert_string_equal(order, "odtest_bus ");
}

static void softdep_pre_loads_first(void **st)
{
	(void)st;
	/* nf_tables needs crc32c through a softdep that busybox's modprobe ignores. */
	dry_run("nfnetlink-subsys-10");
	assert_string_equal(order, "odtest_crc odtest_nft ");
	dry_run("odtest_nft");
	assert_string_equal(order, "odtest_crc odtest_nft ");
}

static void unknown_alias_is_enoent(void **st)
{
	(void)st;
	assert_int_equal(dry_run("usb:v1234p5678d0100dc00dsc00dp00ic03isc01ip01in00"), -ENOENT);
	assert_string_equal(order, "");
}

/* ---- labels ---- */
static int setup_disks(void **st)
{
	(void)st;
	snprintf(dir, sizeof dir, "/tmp/od-disks-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	/* sys/ names the devices as /sys/class/block does; dev/ holds them (image files here). */
	sh("mkdir -p %s/sys %s/dev && cd %s && touch sys/vda sys/vdb sys/vdc sys/vdd sys/ram0 && "
	   "truncate -s 64M dev/vda dev/vdb dev/vdc dev/vdd dev/ram0 && "
	   "mkfs.ext4 -q -L OTHER dev/vda && mkfs.ext4 -q -L DOCKER dev/vdb && mkfs.vfat -n DOCKER dev/vdc >/dev/null && "
	   "mkfs.ext4 -q -L DOCKER dev/ram0 && printf data | dd of=dev/vdd bs=1 seek=700000 conv=notrunc 2>/dev/null",
	   dir, dir, dir);
	return 0;
}

static void label_of_each_kind(void **st)
{
	(void)st;
	char path[300], label[64];
	snprintf(path, sizeof path, "%s/dev/vda", dir);
	assert_int_equal(disk_label_of(path, label, sizeof label), 0);
	assert_string_equal(label, "OTHER");
	snprintf(path, sizeof path, "%s/dev/vdc", dir);
	assert_int_equal(disk_label_of(path, label, sizeof label), 0);
	assert_string_equal(label, "DOCKER");
	assert_int_equal(disk_type_of(path, label, sizeof label), 0);
	assert_string_equal(label, "vfat");
	snprintf(path, sizeof path, "%s/dev/vdb", dir);
	assert_int_equal(disk_type_of(path, label, sizeof label), 0);
	assert_string_equal(label, "ext4");
	snprintf(path, sizeof path, "%s/dev/vdd", dir);
	assert_int_equal(disk_type_of(path, label, sizeof label), -ENOENT);
	assert_int_equal(disk_label_of(path, label, sizeof label), -ENOENT);
	snprintf(path, sizeof path, "%s/dev/nothere", dir);
	assert_true(disk_label_of(path, label, sizeof label) < 0);
}

static void find_label_first_by_name_skipping_ramdisks(void **st)
{
	(void)st;
	char sys[300], dev[300], want[320];
	snprintf(sys, sizeof sys, "%s/sys", dir);
	snprintf(dev, sizeof dev, "%s/dev", dir);
	char *got = disk_find_label(sys, dev, "DOCKER");
	snprintf(want, sizeof want, "%s/vdb", dev);   /* vdc has the label too: warned, not taken */
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
	got = disk_find_label(sys, dev, "OTHER");
	snprintf(want, sizeof want, "%s/vda", dev);
	assert_string_equal(got, want);
	free(got);
	assert_null(disk_find_label(sys, dev, "MISSING"));
	assert_null(disk_find_label("/nonexistent", dev, "DOCKER"));
}

static void find_serial_reads_each_disks_serial(void **st)
{
	(void)st;
	char sys[300], dev[300], want[320];
	sh("cd %s && mkdir -p ser/vda ser/vdb ser/vdc ser/loop0 && printf 'docker\\n' > ser/vda/serial && "
	   "printf 'onlydocker-engine\\n' > ser/vdc/serial && printf 'onlydocker-engine-x' > ser/vdb/serial", dir);
	snprintf(sys, sizeof sys, "%s/ser", dir);
	snprintf(dev, sizeof dev, "%s/dev", dir);
	/* In sysfs but not yet in /dev (devtmpfs lags the sysfs entry): not found yet. */
	sh("rm -f %s/vdc", dev);
	assert_null(disk_find_serial(sys, dev, "onlydocker-engine"));
	sh("mkdir -p %s && touch %s/vdc", dev, dev);
	char *got = disk_find_serial(sys, dev, "onlydocker-engine");
	snprintf(want, sizeof want, "%s/vdc", dev);     /* not vdb: the whole serial must match */
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
	assert_null(disk_find_serial(sys, dev, "onlydocker"));
	assert_null(disk_find_serial("/nonexistent", dev, "docker"));
}

static int blank(const char *name)
{
	char path[300];
	snprintf(path, sizeof path, "%s/dev/%s", dir, name);
	return disk_is_blank(path);
}

static void format_guard_needs_a_disk_holding_nothing(void **st)
{
	(void)st;
	sh("cd %s && truncate -s 8M dev/zero dev/gpt dev/tail dev/part && truncate -s 100K dev/tiny && "
	   /* a GPT whose start was wiped with dd bs=1M count=1: its backup is still at the end */
	   "python3 \"$OLDPWD/init/tests/mkgpt.py\" dev/gpt && dd if=/dev/zero of=dev/gpt bs=1M count=1 conv=notrunc status=none && "
	   "printf data | dd of=dev/tail bs=1 seek=8000000 conv=notrunc status=none && "
	   /* an ext4 where a first partition starts, the table before it gone */
	   "mke2fs -q -F -t ext4 -E offset=1048576 dev/part 4M", dir);
	assert_int_equal(blank("zero"), 1);
	assert_int_equal(blank("gpt"), 0);
	assert_int_equal(blank("tail"), 0);
	assert_int_equal(blank("part"), 0);
	assert_int_equal(blank("vdd"), 0);      /* "data" at 700000 */
	assert_int_equal(blank("vdb"), 0);      /* an ext4 */
	assert_int_equal(blank("tiny"), 0);
	assert_int_equal(blank("nothere"), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest modules[] = {
		cmocka_unit_test(modalias_resolves_to_its_module), cmocka_unit_test(softdep_pre_loads_first),
		cmocka_unit_test(unknown_alias_is_enoent),
	};
	const struct CMUnitTest disks[] = {
		cmocka_unit_test(label_of_each_kind), cmocka_unit_test(find_label_first_by_name_skipping_ramdisks),
		cmocka_unit_test(format_guard_needs_a_disk_holding_nothing), cmocka_unit_test(find_serial_reads_each_disks_serial),
	};
	int rc = cmocka_run_group_tests_name("modules", modules, setup_modules, teardown);
	return rc | cmocka_run_group_tests_name("disks", disks, setup_disks, teardown);
}
