/* The same binary under other names: modprobe (the kernel's usermode helper and our own module
 * loads) and poweroff, reboot, halt (the debug shell's). They are ordinary processes, so they get
 * back the signals main() blocked for PID 1's sake: a hung modprobe must die of SIGTERM at shutdown. */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include "init.h"

int applet_run(const char *name, int argc, char **argv)
{
	int modprobe = !strcmp(name, "modprobe");
	if (!modprobe && strcmp(name, "poweroff") && strcmp(name, "reboot") && strcmp(name, "halt"))
		return -1;
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	return modprobe ? modprobe_main(argc, argv) : control_main(name, argc, argv);
}
