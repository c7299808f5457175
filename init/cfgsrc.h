/* The configuration's sources beyond the kernel command line: the documents (the data disk's
 * config.yaml, a NoCloud seed's user-data, kvm --config's fw_cfg file), read once the data disk is
 * mounted and merged under the command line into the boot's configuration, once (cfgsrc.c). */
#ifndef OD_CFGSRC_H
#define OD_CFGSRC_H
/* cmdline: the kernel's, parsed again last (NULL: none). 1 if a document was applied, else 0. */
int config_sources(const char *cmdline);
#endif
