/* Formatting into a stack buffer, then one write(2). Options live in relaxed atomics: a line
 * racing a reconfiguration may use either setting, which is harmless. */
#include "runtime/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static atomic_bool opt_debug, opt_trace, opt_logtime = true, opt_utc;
static atomic_int opt_fd = -1;

static const char *const labels[] = {"[FTL]", "[ERR]", "[WRN]", "[INF]", "[DBG]", "[TRC]"};

void nd_log_configure(const nd_log_opts_t *opts)
{
	atomic_store_explicit(&opt_debug, opts->debug, memory_order_relaxed);
	atomic_store_explicit(&opt_trace, opts->trace, memory_order_relaxed);
	atomic_store_explicit(&opt_logtime, opts->logtime, memory_order_relaxed);
	atomic_store_explicit(&opt_utc, opts->utc, memory_order_relaxed);
	atomic_store_explicit(&opt_fd, opts->fd, memory_order_relaxed);
}

bool nd_log_enabled(nd_log_level_t level)
{
	if (level == ND_LOG_DEBUG)
		return atomic_load_explicit(&opt_debug, memory_order_relaxed);
	if (level == ND_LOG_TRACE)
		return atomic_load_explicit(&opt_trace, memory_order_relaxed);
	return true;
}

void nd_logv(nd_log_level_t level, const char *fmt, va_list ap)
{
	if (!nd_log_enabled(level))
		return;
	char line[4096];
	size_t n = (size_t)snprintf(line, sizeof(line), "[%d] ", (int)getpid());
	if (atomic_load_explicit(&opt_logtime, memory_order_relaxed)) {
		struct timeval tv;
		gettimeofday(&tv, NULL);
		struct tm tm;
		if (atomic_load_explicit(&opt_utc, memory_order_relaxed))
			gmtime_r(&tv.tv_sec, &tm);
		else
			localtime_r(&tv.tv_sec, &tm);
		n += strftime(line + n, sizeof(line) - n, "%Y/%m/%d %H:%M:%S", &tm);
		n += (size_t)snprintf(line + n, sizeof(line) - n, ".%06ld ", (long)tv.tv_usec);
	}
	n += (size_t)snprintf(line + n, sizeof(line) - n, "%s ", labels[level]);
	if (n < sizeof(line)) {
		int m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		n = m < 0 ? n : n + (size_t)m;
	}
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2; /* truncated: keep the newline */
	line[n++] = '\n';
	int fd = atomic_load_explicit(&opt_fd, memory_order_relaxed);
	if (fd < 0)
		fd = STDERR_FILENO;
	const char *p = line;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			break;
		p += w;
		n -= (size_t)w;
	}
}

void nd_log(nd_log_level_t level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	nd_logv(level, fmt, ap);
	va_end(ap);
}
