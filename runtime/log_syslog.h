/* The logger's syslog client: the local daemon (/dev/log) or a remote one over UDP, TCP or a
 * unix socket, with messages shaped as Go's log/syslog shapes them for the reference server.
 * Not a general syslog library: private to runtime/log.c, which owns the only instance. */
#ifndef ND_RUNTIME_LOG_SYSLOG_H
#define ND_RUNTIME_LOG_SYSLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "runtime/log.h"

typedef struct nd_log_syslog nd_log_syslog_t;

/* Connects to the local syslog daemon (url == NULL) or to `url` (udp://host:port,
 * tcp://host:port, unix:///path), resolving the host name once: reconnections reuse the
 * address. Returns 0 with *out (the caller owns it), or -errno (-EINVAL for a malformed url)
 * with the reference's message in err ("error connecting to syslog: ..." or "error invalid
 * network type: ..."). May block (name lookup, TCP connect): control threads only. */
int nd_log_syslog_open(nd_log_syslog_t **out, const char *url, char *err, size_t errlen);

/* Sends one message of `len` bytes at the severity the reference uses for `level` (INF and
 * TRC notice, WRN warning, ERR err, FTL crit, DBG debug), stamped with `ts`. On failure
 * reconnects and retries once, then drops the message, as Go's writer does. The thread that
 * owns `s` (the logger thread). */
void nd_log_syslog_send(nd_log_syslog_t *s, nd_log_level_t level, const struct timespec *ts,
			bool utc, const char *msg, size_t len);

/* Closes the socket and frees `s` (NULL is a no-op). */
void nd_log_syslog_close(nd_log_syslog_t *s);

#endif
