/* The frame header that kvm --run's port shares with docker's attach stream (whose stdout and
 * stderr frames pass through unchanged): the type, three zero bytes, then the payload's length as
 * 32 bits big-endian. tools/onlydocker/runport.py writes and reads the same header. */
#pragma once
#include <stddef.h>

#define FRAME_HDR 8

static inline void frame_hdr_put(unsigned char h[FRAME_HDR], unsigned type, size_t len)
{
	h[0] = (unsigned char)type;
	h[1] = h[2] = h[3] = 0;
	h[4] = (unsigned char)(len >> 24);
	h[5] = (unsigned char)(len >> 16);
	h[6] = (unsigned char)(len >> 8);
	h[7] = (unsigned char)len;
}

static inline size_t frame_hdr_len(const unsigned char h[FRAME_HDR])
{
	return (size_t)h[4] << 24 | (size_t)h[5] << 16 | (size_t)h[6] << 8 | h[7];
}
