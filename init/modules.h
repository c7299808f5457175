/* Module lookup and loading through libkmod (modules.c), shared by the boot (bootmods.c) and `modprobe`. */
#ifndef OD_MODULES_H
#define OD_MODULES_H
#include <libkmod.h>
#include <stdbool.h>
int modules_coldplug(void);
int modules_load_quietly(const char *name);    /* one that is absent or built in is no error */
            /* every device's driver; the modules loaded, or -errno */
int modules_probe(struct kmod_ctx *kc, const char *name, int quiet, unsigned flags,
		  void (*action)(struct kmod_module *m, bool install, const char *options));
#endif
