/* Fuzz target: what the kernel hands init as text: uevent messages (the MODALIAS of an added
 * device), OOM kill summaries from /dev/kmsg, and /proc/pressure totals. The first byte picks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fileio.h"
#include "loop.h"
#include "oomwatch.h"
#include "pressure.h"
#include "uevent.h"

void watch_add(struct watch *w, int fd, short ev, void (*fn)(int, short, void *), void *arg)
{
	(void)w; (void)fd; (void)ev; (void)fn; (void)arg;
}
int read_file(const char *path, char *buf, size_t size) { (void)path; (void)buf; (void)size; return -2; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 8192)
		return 0;
	char text[8193];
	memcpy(text, data + 1, size - 1);
	text[size - 1] = 0;
	switch (data[0] % 3) {
	case 0: {
		const char *a = uevent_added_alias((const char *)data + 1, size - 1);
		if (a)
			(void)strlen(a);        /* must end inside the message */
		break;
	}
	case 1: {
		struct oom_kill k;
		char line[400];
		if (oom_parse(text, &k) == 0)
			oom_describe(&k, line, sizeof line);
		break;
	}
	default:
		psi_parse_total(text, "some");
		psi_parse_total(text, "full");
	}
	return 0;
}
