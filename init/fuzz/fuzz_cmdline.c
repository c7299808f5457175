/* Fuzz target: the kernel command line (cmdline_parse) and ip= (ipconf_parse), which anyone who
 * edits a boot entry controls. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cmdline.h"

static void quiet(const char *msg) { (void)msg; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[CMDLINE_MAX + 1], why[200];
	size_t n = size < CMDLINE_MAX ? size : CMDLINE_MAX;
	memcpy(text, data, n);
	text[n] = 0;
	struct config c;
	config_defaults(&c);
	cmdline_parse(text, &c, quiet);
	struct ipconf ip = { 0 };
	ipconf_parse(text, &ip, why, sizeof why);
	return 0;
}
