/* kvm --run inside the appliance, between its own files: the container's life (run.c,
 * runstream.c) and the port to the host that carries its streams and its exit status (runport.c).
 * What the rest of init calls is in init.h. */
#ifndef OD_RUN_H
#define OD_RUN_H
#include <stddef.h>
/* What kvm shares (the port's and the fw_cfg file's names, the frame types, EXIT_OWN, FRAME_MAX,
 * STDIN_WINDOW): generated from init/runport.conf into build/gen/runport.h. */
#include "runport.h"

enum {
	RUN_F_STDIN = F_STDIN, RUN_F_STDOUT = F_STDOUT, RUN_F_STDERR = F_STDERR,   /* docker's attach stream types */
	RUN_F_EXIT = F_EXIT, RUN_F_ERROR = F_ERROR, RUN_F_TAKEN = F_TAKEN,         /* to the host */
	RUN_F_STOP = F_STOP, RUN_F_KILL = F_KILL,                                  /* from the host */
};
#define RUNPORT_HIGH (1u << 20)     /* queued bytes above which the engine's stream is not read */
#define RUNPORT_LOW (256u << 10)
/* Stdin is credit-based, so the host's frames are always read and its STOP and KILL never wait
 * behind data: the host sends at most this much stdin ahead of what a TAKEN frame (a 32-bit
 * big-endian count) said was handed to the container (runport.conf's STDIN_WINDOW). */
#define RUN_STDIN_WINDOW ((unsigned)STDIN_WINDOW)

struct runport_ops {
	void (*stdin_data)(const char *data, size_t len);      /* len 0: the host's stdin ended */
	void (*stop)(const char *signal_name);
	void (*kill)(void);
	void (*drained)(void);                                  /* the queue fell below RUNPORT_LOW */
};
int runport_open(const struct runport_ops *ops);
int runport_attach(int fd, const struct runport_ops *ops);     /* an open port (or, in tests, a socket) */
int runport_send(unsigned type, const void *data, size_t len);
int runport_send_raw(const void *data, size_t len);     /* bytes already framed (the attach stream) */
size_t runport_pending(void);
int runport_flush(int timeout_ms);      /* blocking, bounded: for the way out */

/* run.c and runstream.c: the container's state, and the steps each calls of the other */
#define CALL_MS 30000           /* an engine call's deadline */
/* EXIT_OWN (runport.h, 125): docker run's status when the failure is not the container's */
enum rst { R_OFF, R_BOOT, R_IMAGE, R_CREATE, R_RUN, R_FINISH, R_DONE };
extern struct run_ctx {
	enum rst state;
	char id[80];
	int code;                       /* the exit status, -1 until known */
	int started, stop_sig, killed, interactive;
} run;
void run_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void run_finish(void);                  /* run.c: commit, remove, report, power off */
void runstream_attach(void);            /* runstream.c: attach, wait and start */
void runstream_end(void);
void runstream_stop(void);              /* stop, or kill if run.killed, the running container */
void runstream_stdin(const char *data, size_t len);
void runstream_drained(void);

#endif
