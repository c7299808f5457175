/* Base64 decoding (RFC 4648, the standard alphabet; '=' padding optional at the end): what
 * cloud-init's `encoding: b64` means. One function, shared by the document's check (cfgdoc_host.c)
 * and the writer (writefiles.c), so that what was accepted is what gets written. */
#include <errno.h>
#include <string.h>
#include "base64.h"

static int value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

long base64_decode(const char *in, unsigned char *out)
{
	unsigned acc = 0;
	int bits = 0, pad = 0, chars = 0;
	long n = 0;
	for (const char *p = in; *p; p++) {
		if (strchr(" \t\r\n", *p))
			continue;
		if (*p == '=') {
			pad++;
			continue;
		}
		int v = value(*p);
		if (v < 0 || pad)       /* padding only at the end */
			return -EINVAL;
		chars++;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* A group's last 1 character carries no whole byte; padding, when given, completes the group. */
	if (chars % 4 == 1 || pad > 2 || (pad && (chars + pad) % 4))
		return -EINVAL;
	return n;
}
