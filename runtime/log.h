/* Process-wide logging in the reference server's line format:
 *   [pid] 2026/11/26 06:41:31.123456 [INF] message
 * (the time only with logtime), to stderr, a file (with size-limit rotation and reopen) or
 * syslog. Any thread may log without blocking: a call formats the message into a heap node and
 * pushes it onto a lock-free queue; one logger thread does every write, rotation and reopen.
 * Before the thread is started, and after it is shut down, lines go straight to stderr. */
#ifndef ND_RUNTIME_LOG_H
#define ND_RUNTIME_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum nd_log_level {
	ND_LOG_FATAL,
	ND_LOG_ERROR,
	ND_LOG_WARN,
	ND_LOG_INFO,
	ND_LOG_DEBUG,
	ND_LOG_TRACE,
} nd_log_level_t;

/* Default cap on the bytes of lines waiting for the logger thread (opts.queue_limit == 0). */
#define ND_LOG_QUEUE_LIMIT_DEFAULT ((size_t)64 << 20)

/* Where lines go, in the reference's order of precedence: file, then remote_syslog, then
 * syslog, then fd. A zeroed struct means: stderr, no time, info and above. */
typedef struct nd_log_opts {
	bool debug;   /* write DBG lines (-D) */
	bool trace;   /* write TRC lines (-V) */
	bool logtime; /* prefix the date and time (-T, default true in the daemon) */
	bool utc;     /* times in UTC instead of local time (not in the reference) */
	/* A descriptor the caller keeps open and owns, used when no file or syslog is set;
	 * 0 or negative means stderr (0 is stdin, never a log target, so zero means stderr). */
	int fd;
	const char *file;          /* log_file / -l: append to this path (mode 0660) */
	int64_t size_limit;        /* log_size_limit: rotate the file past this size; 0 never */
	bool syslog;               /* syslog / -s: the local syslog daemon (/dev/log) */
	const char *remote_syslog; /* remote_syslog / -r: udp://host:port, tcp://host:port or
				      unix:///path */
	/* Bytes of lines waiting for the logger thread past which new lines are dropped
	 * (counted, and reported later as one WRN line) instead of making the caller wait;
	 * 0 = ND_LOG_QUEUE_LIMIT_DEFAULT. FATAL lines and nd_log_reopen's notices are never
	 * dropped. Not in the reference, whose callers block on the write instead. */
	size_t queue_limit;
} nd_log_opts_t;

/* Applies `o` (copied; the caller keeps its strings): opens the new output in the calling
 * thread, starts the logger thread if it is not running, then switches outputs in order: lines
 * logged before the call go to the old output, lines logged after it returns to the new one.
 * Opening a file that exceeds size_limit logs "Rotating logfile..." and rotates it, as the
 * reference does. Returns 0 on success. On failure returns -1, nothing changes, `err` (if
 * not NULL; errlen bytes, always NUL-terminated) gets a message in the reference's words
 * (e.g. "error opening file: open /x/y.log: permission denied") and errno the cause
 * (EINVAL for a malformed remote_syslog).
 * Control threads only (start-up, reload, signal handling): it blocks until the logger thread
 * has applied the change; never call it from a worker or while holding a lock a logging
 * thread may need. Serialised with nd_log_reopen and nd_log_shutdown. */
int nd_log_configure(const nd_log_opts_t *o, char *err, size_t errlen);

/* SIGUSR1, as the reference's ReOpenLogFile: with a file output, opens the file again (after
 * logrotate renamed it), switches to it in order and logs "File log re-opened" into the new
 * file (a new file over size_limit is rotated at once, with "Rotating logfile..."); otherwise
 * logs "File log re-open ignored, not a file logger". If the open fails the old file stays in
 * use and an ERR line says why (the reference exits instead). Control threads only, like
 * nd_log_configure. */
void nd_log_reopen(void);

/* Returns once every line queued before the call has been written (write(2) returned; no
 * fsync). Blocks; any thread except from inside the logger. No-op when the logger thread is
 * not running (lines are then written synchronously). */
void nd_log_flush(void);

/* Flushes, stops and joins the logger thread and closes its file or socket. Later calls log
 * synchronously to stderr; nd_log_configure may start the thread again. Control threads only;
 * threads still logging concurrently are safe (their lines go to the old output or stderr). */
void nd_log_shutdown(void);

/* Lines dropped because the queue was over its limit, since the process started. The logger
 * also reports them as one "[WRN] N log lines dropped ..." line when it catches up. */
uint64_t nd_log_dropped(void);

/* True if lines of `level` are written (to skip formatting costly arguments). One relaxed
 * load; any thread. */
bool nd_log_enabled(nd_log_level_t level);

/* Logs one line at `level` if enabled. The message is formatted in the calling thread; the
 * write happens later on the logger thread. Never blocks (past malloc), except FATAL, which
 * waits until the line is written because the caller is about to exit. A trailing newline in
 * the message is not doubled, as with Go's log package. Any thread. */
void nd_log(nd_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void nd_logv(nd_log_level_t level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#define nd_log_fatal(...) nd_log(ND_LOG_FATAL, __VA_ARGS__)
#define nd_log_error(...) nd_log(ND_LOG_ERROR, __VA_ARGS__)
#define nd_log_warn(...) nd_log(ND_LOG_WARN, __VA_ARGS__)
#define nd_log_info(...) nd_log(ND_LOG_INFO, __VA_ARGS__)
#define nd_log_debug(...)                                                                          \
	do {                                                                                       \
		if (nd_log_enabled(ND_LOG_DEBUG))                                                  \
			nd_log(ND_LOG_DEBUG, __VA_ARGS__);                                         \
	} while (0)
#define nd_log_trace(...)                                                                          \
	do {                                                                                       \
		if (nd_log_enabled(ND_LOG_TRACE))                                                  \
			nd_log(ND_LOG_TRACE, __VA_ARGS__);                                         \
	} while (0)

#endif
