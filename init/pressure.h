/* pressure.c: the kernel's pressure stall totals. */
#ifndef OD_PRESSURE_H
#define OD_PRESSURE_H
/* The total= (microseconds stalled) of the "some" or "full" line of a /proc/pressure file's
 * text, or -ENOENT (no such line), -EINVAL (no number). */
long long psi_parse_total(const char *text, const char *kind);
/* The same, read from /proc/pressure/<resource> (memory, cpu, io); -errno when unreadable. */
long long psi_total(const char *resource, const char *kind);
#endif
