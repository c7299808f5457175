/* Fuzz target: the engine's HTTP/1.1 responses as engine_http.c parses them with http_parser,
 * kept whole or streamed to a chunk callback (the first byte chooses), cut at the second byte's
 * offset as two reads from the socket would be. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine_req.h"

static size_t streamed;
static void chunk(struct ereq *r, const char *data, size_t len, void *arg)
{
	(void)r; (void)arg;
	for (size_t i = 0; i < len; i++)
		streamed += (unsigned char)data[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	struct ereq r;
	memset(&r, 0, sizeof r);
	snprintf(r.what, sizeof r.what, "GET /fuzz");
	if (data[0] & 1)
		r.chunk = chunk;
	http_parser_init(&r.hp, HTTP_RESPONSE);
	r.hp.data = &r;
	const char *in = (const char *)data + 2;
	size_t n = size - 2, cut = data[1] % (n + 1);
	size_t done = http_parser_execute(&r.hp, &engine_http_settings, in, cut);
	if (done == cut && !r.hp.http_errno)
		http_parser_execute(&r.hp, &engine_http_settings, in + cut, n - cut);
	if (r.body.data && strlen(r.body.data) > r.body.len)   /* kept NUL-terminated at its length */
		__builtin_trap();
	buf_free(&r.body);
	return 0;
}
