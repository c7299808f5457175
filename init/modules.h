/* Module lookup and loading through libkmod, shared by coldplug, the fixed set and `modprobe`. */
#ifndef OD_MODULES_H
#define OD_MODULES_H
#include <libkmod.h>
#include <stdbool.h>
int modules_probe(struct kmod_ctx *kc, const char *name, int quiet, unsigned flags,
		  void (*action)(struct kmod_module *m, bool install, const char *options));
#endif
