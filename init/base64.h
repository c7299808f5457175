/* base64.c: RFC 4648 base64 decoding, for the documents' write_files content (cloud-init's b64). */
#ifndef OD_BASE64_H
#define OD_BASE64_H
#include <stddef.h>

/* Decodes in (NUL-terminated; blanks and newlines between groups are skipped, as `base64 -d`
 * does) into out, which must hold base64_max(strlen(in)) bytes. Returns the decoded length, or
 * -EINVAL when in is not base64 (a foreign character, padding in the middle, a lone last char). */
long base64_decode(const char *in, unsigned char *out);
#define base64_max(n) ((n) / 4 * 3 + 3)
#endif
