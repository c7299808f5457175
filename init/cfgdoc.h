/* The configuration document (#cloud-config YAML, cloud-init's vocabulary where it has a word,
 * the rest under `onlydocker:`, which mirrors the od. keys): parsed with libyaml into the same
 * struct config the command line fills, key by key through cmdline.c's table. */
#ifndef OD_CFGDOC_H
#define OD_CFGDOC_H

#include <stddef.h>
#include "cmdline.h"

#define CFGDOC_MAX (256 << 10)          /* a document longer than this is refused whole */

/* Applies the document `text` (len bytes; need not end in NUL) from `source` (its name in
 * messages) onto c. Never stops at a problem: each is one report() line naming the source, the
 * line and column and the key, and everything valid still applies. Returns the number of
 * problems, or -EINVAL when nothing could be read at all (not YAML, not a mapping, too long). */
int cfgdoc_apply(const char *source, const char *text, size_t len, struct config *c,
		 void (*report)(const char *msg));
void cfgdoc_free(struct config *c);     /* c->doc */
/* A NoCloud seed's meta-data (YAML): local-hostname as the hostname; the other keys are not ours
 * and pass unsaid. Returns as cfgdoc_apply(). */
int cfgdoc_metadata(const char *source, const char *text, size_t len, struct config *c,
		    void (*report)(const char *msg));

/* c->doc, the structured keys, each checked whole (a bad entry is said and left out, or marked):
 *   "onboot": [ {name, image, command[], entrypoint[], env[], binds[], privileged, cap_add[],
 *               network, timeout, required} | {name, "invalid": true, required} ... ]
 *   "services": { NAME: {image, command[], ..., network, ports[], restart} | null (a bad entry:
 *               whatever runs under that name is left alone) }
 *   "compose": "/var/lib/docker/.../compose.yaml"
 *   "write_files": [ {path, content (absent: empty), base64 (true: content is base64, known good),
 *               mode, uid, gid (absent: 0644 root's, or an appended file's own), append,
 *               entry ("write_files entry 2"), at ("SOURCE: line L, column C")} ... ], every
 *               document's, in the sources' order; path absolute and clean (no '.', '..', '//')
 *   "write_files_dirs": [ "/opt/x" ... ]: declared beyond /etc and /var/lib/docker/onlydocker,
 *               clean, none in or holding /proc, /sys, /dev, /var/lib/docker
 *   "timezone": {zone: "Europe/Berlin" (letters, digits, _ + - /; no '.'), at}
 *   "ntp": {enabled, servers[], pools[], ntp_client}: each server a host name or an address of at
 *               most NTP_NAME_MAX bytes, at most NTP_NAMES_MAX servers and as many pools
 * Optional fields are absent when not given. */

#define NTP_NAME_MAX 253
#define NTP_NAMES_MAX 8

/* [IP:]HOSTPORT:CONTAINERPORT[/tcp|udp|sctp]: 0, or -EINVAL. ip "" when not given. */
int cfgdoc_port(const char *v, char *ip, size_t ipn, unsigned *host, unsigned *cont, char *proto, size_t pn);
#endif
