/* Fuzz target: the configuration document (cfgdoc_apply: libyaml, then our walk onto the key
 * table), which whoever writes the user data, the seed or the data disk's file controls. */
#include <stdint.h>
#include <string.h>
#include "cfgdoc.h"

static void quiet(const char *msg) { (void)msg; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config c;
	config_defaults(&c);
	cfgdoc_apply("fuzz", (const char *)data, size, &c, quiet);
	cfgdoc_metadata("fuzz", (const char *)data, size, &c, quiet);     /* a seed's meta-data */
	config_finalise(&c);
	cfgdoc_free(&c);
	return 0;
}
