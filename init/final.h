/* Shutdown's final phase, once the engine phase (shutdown.c) is over: one straight-line function
 * that ends every process, makes the disks clean and calls reboot(2). Its inputs are all in the
 * plan, so a unit test runs it as PID 1 with a fake reboot and a mount table of its own. */
#ifndef OD_FINAL_H
#define OD_FINAL_H
#include <stdint.h>

enum power_action { PA_NONE, PA_HALT, PA_POWEROFF, PA_REBOOT };

struct final_plan {
	enum power_action action;
	int64_t requested_ms;           /* when it was asked for (now_ms()), for the total */
	int grace_ms;                   /* after SIGTERM, and again after SIGKILL */
	int unmount_ms;                 /* sync and the unmounts, in a child given up on after this */
	const char *mountinfo;          /* the mount table to undo: /proc/self/mountinfo */
	const char *swaps;              /* the swap areas to turn off: /proc/swaps */
	int (*reboot)(int cmd);         /* reboot(2), in a child; a test's recorder */
	void (*last_words)(void);       /* once every process is gone, before the disks (kvm --run's status) */
};

/* Returns only when the machine did not go down: 0 after a halt (the kernel returned, as it does
 * for halt), else the errno reboot(2) failed with. PID 1 then stays, halted. */
int final_phase(const struct final_plan *p);

/* The unmounting alone (in final_phase's child): every mount of the table but /, /dev, /proc and
 * /sys undone in reverse order, pass after pass while one makes progress; what is left is
 * remounted read-only. Returns how many block-backed mounts are not clean. */
int unmount_all(const char *mountinfo, const char *swaps);

const char *power_action_name(enum power_action a);

#endif
