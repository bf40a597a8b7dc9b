/* Process-wide logging in the reference server's line format:
 *   [pid] 2026/11/26 06:41:31.123456 [INF] message
 * (the time only with logtime). Each line is one write(2), so lines from different threads
 * never interleave. */
#ifndef ND_RUNTIME_LOG_H
#define ND_RUNTIME_LOG_H

#include <stdarg.h>
#include <stdbool.h>

typedef enum nd_log_level {
	ND_LOG_FATAL,
	ND_LOG_ERROR,
	ND_LOG_WARN,
	ND_LOG_INFO,
	ND_LOG_DEBUG,
	ND_LOG_TRACE,
} nd_log_level_t;

typedef struct nd_log_opts {
	bool debug;
	bool trace;
	bool logtime; /* prefix the date and time */
	bool utc;     /* in UTC instead of local time */
	int fd;       /* where lines go; -1 means stderr */
} nd_log_opts_t;

/* Sets the options; any thread, takes effect for lines started afterwards. The caller keeps
 * ownership of opts->fd. */
void nd_log_configure(const nd_log_opts_t *opts);

/* True if lines of `level` are written (to skip formatting costly arguments). */
bool nd_log_enabled(nd_log_level_t level);

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
