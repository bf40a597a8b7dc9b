/* Signals are handled in one place: the process blocks them in every thread (workers inherit
 * the mask) and one control thread waits for them synchronously. No handlers run, so nothing
 * has to be async-signal-safe. */
#ifndef ND_RUNTIME_SIGNALS_H
#define ND_RUNTIME_SIGNALS_H

#include <signal.h>

/* Blocks `signals` (0-terminated list) in the calling thread; call before creating threads.
 * Also ignores SIGPIPE process-wide (socket writes report EPIPE instead). Returns 0 or -errno. */
int nd_signals_block(const int *signals);

/* Waits up to timeout_ms (-1: forever) for one of `signals`. Returns the signal number, 0 on
 * timeout, or -errno. The signals must be blocked in every thread. */
int nd_signals_wait(const int *signals, int timeout_ms);

#endif
