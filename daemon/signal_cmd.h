/* `natsd --signal CMD[=PID]`: sends a running server the signal for CMD (stop, quit, term,
 * reopen, reload, ldm) as the reference's --signal does, finding the process from a pid, a pid
 * file, or by its name. It is not the running server's signal handling (daemon/main.c). */
#ifndef ND_DAEMON_SIGNAL_CMD_H
#define ND_DAEMON_SIGNAL_CMD_H

#include <stddef.h>
#include <sys/types.h>

/* Performs `--signal arg`. Without a pid (or with an empty one) the target is the only process
 * other than this one whose executable name (/proc/PID/comm) is `procname`. Returns 0 once the
 * signal is sent; otherwise -1 and *err is a malloc'd message for the user, without a
 * program-name prefix (the caller frees it). Main thread of a short-lived process. */
int nd_signal_cmd(const char *arg, const char *procname, char **err);

/* Finds the processes named `procname` other than `self`, in ascending pid order. Stores up to
 * max pids and returns how many there are (possibly more than max), or -errno if /proc cannot
 * be read. */
int nd_signal_cmd_find(const char *procname, pid_t self, pid_t *pids, size_t max);

#endif
