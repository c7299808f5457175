/* The system containers (syscont.c), run through the Engine API: their names and the calls others make. */
#ifndef OD_SYSCONT_H
#define OD_SYSCONT_H
#define DHCP_NAME "dhcp"
#define DOM0_NAME "dom0"
#define NTP_NAME "ntp"
#define IMAGES_DIR "/usr/share/onlydocker/images"   /* a link into the engine image */
/* At shutdown, with every container stopped: a fresh dom0 for the next boot to start at once. */
void syscont_prepare_next(int timeout_ms, void (*done)(void));
void syscont_stop_last(int timeout_ms, void (*done)(void));     /* dhcp, after the other containers */
int syscont_is_last(const char *name);
/* The named container, once made, waits for syscont_release() (the boot's gate: a required
 * onboot entry) before it starts; held before the engine is up. */
void syscont_hold(const char *name);
void syscont_release(const char *name);                          /* the one syscont_stop_last() stops */
void containers_stop_all(int timeout_ms, void (*done)(void));   /* stopall.c: all but dhcp, in parallel */
#endif
