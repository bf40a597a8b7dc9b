/* Asynchronous logging. A log call formats the message into a heap node (with the producer's
 * clock reading) and pushes it onto a Vyukov MPSC queue (runtime/mailbox); one logger thread
 * pops, adds the prefix for the output in force at that point of the stream, and writes.
 * Control operations (switch output, flush, stop) travel through the same queue, so they take
 * effect exactly between the lines logged before and after them. The prefix is built on the
 * logger thread for that reason, and because localtime_r takes a process-wide lock that
 * workers should not contend on. */
#define _GNU_SOURCE
#include "runtime/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "runtime/log_syslog.h"
#include "runtime/mailbox.h"

/* ---- lines and control nodes ---------------------------------------------------------- */

enum node_kind { NODE_LINE, NODE_SWITCH, NODE_FLUSH, NODE_STOP };

typedef struct node_head {
	nd_msg_t hdr; /* queue link; first, so the node is its own nd_msg_t */
	uint8_t kind;
} node_head_t;

typedef struct line_node {
	node_head_t h;
	uint8_t level;
	uint32_t len;       /* message bytes, without the NUL */
	size_t charge;      /* bytes counted in queued_bytes, returned when written */
	struct timespec ts; /* when the producer logged it (CLOCK_REALTIME) */
	char text[];        /* the message, NUL-terminated */
} line_node_t;

typedef struct output output_t;

/* On the requester's stack: the requester waits until the logger sets `done`. */
typedef struct ctl_node {
	node_head_t h;
	output_t *out; /* NODE_SWITCH: the new output; ownership moves to the logger thread */
	bool done;     /* under done_mu */
} ctl_node_t;

/* ---- outputs (owned by the logger thread once installed) ------------------------------- */

typedef enum out_kind { OUT_FD, OUT_FILE, OUT_SYSLOG } out_kind_t;

struct output {
	out_kind_t kind;
	int fd; /* OUT_FD (not ours) and OUT_FILE (ours) */
	bool colors, logtime, utc;
	int pid;
	char *path;     /* OUT_FILE */
	int64_t limit;  /* OUT_FILE: rotate once size exceeds it; 0 never */
	int64_t olimit; /* the configured limit; `limit` doubles while rotation fails */
	int64_t size;   /* bytes at open plus bytes written since, as the reference counts */
	nd_log_syslog_t *syslog; /* OUT_SYSLOG */
};

/* ---- shared state ----------------------------------------------------------------------- */

static nd_mailbox_t queue;

/* Futex word the idle logger sleeps on; producers that find the queue idle bump it. */
static _Atomic uint32_t wake_seq;

/* Bit 0: the logger accepts nodes. Above it, in steps of GATE_ONE: producers between their
 * check of bit 0 and the end of their push. Shutdown clears the bit, then waits for the count
 * to reach zero before it pushes STOP, so no node is ever pushed behind STOP. */
#define GATE_OPEN 1UL
#define GATE_ONE 2UL
static atomic_ulong gate;

static atomic_size_t queued_bytes;
static atomic_size_t queue_limit = ND_LOG_QUEUE_LIMIT_DEFAULT;
static atomic_uint_least64_t dropped_pending, dropped_total;

/* Levels for every producer, and the format of synchronous (fallback) lines. */
static atomic_bool opt_debug, opt_trace, opt_logtime = true, opt_utc;

/* Serialises configure, reopen and shutdown; guards the fields below it. */
static pthread_mutex_t cfg_mu = PTHREAD_MUTEX_INITIALIZER;
static bool running;
static pthread_t logger;
static nd_log_opts_t cfg; /* the options in force (strings owned), for reopen */

/* Completion of control nodes. */
static pthread_mutex_t done_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;

/* Logger thread only (handed over by pthread_create and pthread_join). */
static output_t *cur;
static char wbuf[64 * 1024]; /* lines batched for one write(2) per burst */
static size_t wlen;

/* ---- formatting ------------------------------------------------------------------------- */

static const char *const plain_labels[] = {"[FTL] ", "[ERR] ", "[WRN] ",
					   "[INF] ", "[DBG] ", "[TRC] "};
/* The reference's colours (logger/log.go setColoredLabelFormats). */
static const char *const color_labels[] = {"[\x1b[31mFTL\x1b[0m] ",   "[\x1b[31mERR\x1b[0m] ",
					   "[\x1b[0;93mWRN\x1b[0m] ", "[\x1b[32mINF\x1b[0m] ",
					   "[\x1b[36mDBG\x1b[0m] ",   "[\x1b[33mTRC\x1b[0m] "};

/* What stays the same from line to line: the pid text, and the date and time to the second
 * (localtime_r is the costly part of a line). */
typedef struct prefix_cache {
	int pid;
	size_t pidlen;
	char pidtext[24]; /* "[pid] " */
	time_t sec;
	bool utc, valid;
	size_t timelen;
	char timetext[64]; /* "YYYY/MM/DD HH:MM:SS." (room for any int the compiler imagines) */
} prefix_cache_t;

/* "[pid] YYYY/MM/DD HH:MM:SS.uuuuuu [LVL] " as Go's log package with LstdFlags|Lmicroseconds
 * and the reference's "[pid] " prefix writes it. Returns the length; buf must hold 128 bytes.
 * The logger thread keeps one cache; other callers pass a zeroed one. */
static size_t format_prefix(char *buf, prefix_cache_t *pc, int pid, bool logtime, bool utc,
			    bool colors, nd_log_level_t level, const struct timespec *ts)
{
	if (pc->pidlen == 0 || pc->pid != pid) {
		int n = snprintf(pc->pidtext, sizeof(pc->pidtext), "[%d] ", pid);
		pc->pidlen = n > 0 ? (size_t)n : 0;
		pc->pid = pid;
	}
	memcpy(buf, pc->pidtext, pc->pidlen);
	size_t n = pc->pidlen;
	if (logtime) {
		if (!pc->valid || pc->sec != ts->tv_sec || pc->utc != utc) {
			struct tm tm;
			if (utc)
				gmtime_r(&ts->tv_sec, &tm);
			else
				localtime_r(&ts->tv_sec, &tm);
			int t =
			    snprintf(pc->timetext, sizeof(pc->timetext),
				     "%04d/%02d/%02d %02d:%02d:%02d.", tm.tm_year + 1900,
				     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
			pc->timelen = t > 0 ? (size_t)t : 0;
			pc->sec = ts->tv_sec;
			pc->utc = utc;
			pc->valid = true;
		}
		memcpy(buf + n, pc->timetext, pc->timelen);
		n += pc->timelen;
		long us = ts->tv_nsec / 1000;
		for (int i = 5; i >= 0; i--, us /= 10)
			buf[n + (size_t)i] = (char)('0' + us % 10);
		buf[n + 6] = ' ';
		n += 7;
	}
	const char *label = colors ? color_labels[level] : plain_labels[level];
	size_t l = strlen(label);
	memcpy(buf + n, label, l);
	return n + l;
}

/* The reference colours labels only on stderr, and only when it is a character device. */
static bool stderr_wants_colors(void)
{
	struct stat st;
	return fstat(STDERR_FILENO, &st) == 0 && S_ISCHR(st.st_mode);
}

/* Writes everything, waiting out a non-blocking descriptor; gives up on a real error. */
static int write_all(int fd, const struct iovec *in, int iovcnt)
{
	struct iovec iov[4];
	memcpy(iov, in, sizeof(*in) * (size_t)iovcnt);
	struct iovec *v = iov;
	while (iovcnt > 0) {
		ssize_t w = writev(fd, v, iovcnt);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd p = {.fd = fd, .events = POLLOUT};
				poll(&p, 1, -1);
				continue;
			}
			return -errno;
		}
		while (iovcnt > 0 && (size_t)w >= v->iov_len) {
			w -= (ssize_t)v->iov_len;
			v++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			v->iov_base = (char *)v->iov_base + w;
			v->iov_len -= (size_t)w;
		}
	}
	return 0;
}

static struct iovec iov_of(const char *p, size_t n)
{
	/* writev only reads: dropping const here is safe. */
	return (struct iovec){(void *)(uintptr_t)p, n};
}

/* Before the logger starts and after it stops: one write(2) to stderr per line, so lines
 * from different threads do not interleave. */
static void write_sync(nd_log_level_t level, const struct timespec *ts, const char *msg, size_t len)
{
	char head[128];
	prefix_cache_t pc = {0};
	size_t h = format_prefix(
	    head, &pc, (int)getpid(), atomic_load_explicit(&opt_logtime, memory_order_relaxed),
	    atomic_load_explicit(&opt_utc, memory_order_relaxed), stderr_wants_colors(), level, ts);
	bool nl = len == 0 || msg[len - 1] != '\n';
	char *line = malloc(h + len + 1);
	if (line == NULL)
		abort();
	memcpy(line, head, h);
	memcpy(line + h, msg, len);
	if (nl)
		line[h + len] = '\n';
	struct iovec iov = iov_of(line, h + len + nl);
	write_all(STDERR_FILENO, &iov, 1);
	free(line);
}

/* ---- outputs ---------------------------------------------------------------------------- */

static output_t *output_new(out_kind_t kind, bool logtime, bool utc)
{
	output_t *o = calloc(1, sizeof(*o));
	if (o == NULL)
		abort();
	o->kind = kind;
	o->fd = -1;
	o->logtime = logtime;
	o->utc = utc;
	o->pid = (int)getpid();
	return o;
}

static void output_destroy(output_t *o)
{
	if (o == NULL)
		return;
	if (o->kind == OUT_FILE && o->fd >= 0)
		close(o->fd);
	nd_log_syslog_close(o->syslog);
	free(o->path);
	free(o);
}

static output_t *output_stderr(bool logtime, bool utc)
{
	output_t *o = output_new(OUT_FD, logtime, utc);
	o->fd = STDERR_FILENO;
	o->colors = stderr_wants_colors();
	return o;
}

/* Go's error text: strerror without the capital ("no such file or directory"). */
static void go_errstr(char *buf, size_t len, int e)
{
	snprintf(buf, len, "%s", strerror(e));
	if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
		buf[0] = (char)(buf[0] - 'A' + 'a');
}

static int open_log_file(const char *path, int64_t *size)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0660);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	*size = (int64_t)st.st_size;
	return fd;
}

/* Builds the output `o` asks for, in the reference's precedence (server/log.go). */
static int output_create(output_t **out, const nd_log_opts_t *o, char *err, size_t errlen)
{
	output_t *x;
	int rc;
	if (o->file != NULL && o->file[0] != '\0') {
		x = output_new(OUT_FILE, o->logtime, o->utc);
		x->path = strdup(o->file);
		if (x->path == NULL)
			abort();
		x->fd = open_log_file(o->file, &x->size);
		if (x->fd < 0) {
			char e[128];
			rc = x->fd;
			go_errstr(e, sizeof(e), -rc);
			snprintf(err, errlen, "error opening file: open %s: %s", o->file, e);
			goto fail;
		}
		x->limit = x->olimit = o->size_limit > 0 ? o->size_limit : 0;
	} else if ((o->remote_syslog != NULL && o->remote_syslog[0] != '\0') || o->syslog) {
		x = output_new(OUT_SYSLOG, o->logtime, o->utc);
		const char *url = o->remote_syslog != NULL && o->remote_syslog[0] != '\0'
				      ? o->remote_syslog
				      : NULL;
		rc = nd_log_syslog_open(&x->syslog, url, err, errlen);
		if (rc != 0)
			goto fail;
	} else if (o->fd > 0 && o->fd != STDERR_FILENO) {
		x = output_new(OUT_FD, o->logtime, o->utc);
		x->fd = o->fd;
	} else {
		x = output_stderr(o->logtime, o->utc);
	}
	*out = x;
	return 0;
fail:
	output_destroy(x);
	return rc;
}

/* ---- the logger thread ------------------------------------------------------------------ */

static prefix_cache_t pcache;

static void out_flush(void)
{
	if (wlen == 0)
		return;
	if (cur->kind != OUT_SYSLOG && cur->fd >= 0) {
		struct iovec iov = iov_of(wbuf, wlen);
		write_all(cur->fd, &iov, 1);
	}
	wlen = 0;
}

/* strconv.Quote, for the paths the reference prints with %q. */
static size_t go_quote(char *buf, size_t cap, const char *s)
{
	size_t n = 0;
	if (cap < 8)
		return 0;
	buf[n++] = '"';
	for (; *s != '\0' && n + 6 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		const char *esc = NULL;
		switch (c) {
		case '"':
			esc = "\\\"";
			break;
		case '\\':
			esc = "\\\\";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\t':
			esc = "\\t";
			break;
		default:
			break;
		}
		if (esc != NULL)
			n += (size_t)snprintf(buf + n, cap - n, "%s", esc);
		else if (c < 0x20 || c == 0x7f)
			n += (size_t)snprintf(buf + n, cap - n, "\\x%02x", c);
		else
			buf[n++] = (char)c;
	}
	buf[n++] = '"';
	buf[n] = '\0';
	return n;
}

/* The reference's fileLogger.Write after a line pushed the size past the limit: the line stays
 * in the old file, which is renamed to <path>.YYYY.MM.DD.HH.MM.SS.NNNNNNNNN (local time); the
 * new file starts with an INF "Rotated log" line that, quirk kept, ends in "\r\n". */
static void rotate(output_t *o)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct tm tm;
	localtime_r(&now.tv_sec, &tm);
	char *bak;
	if (asprintf(&bak, "%s.%04d.%02d.%02d.%02d.%02d.%02d.%09ld", o->path, tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec) < 0)
		abort();
	char head[128], msg[8192];
	size_t h, m;
	/* Renaming the open file first keeps it usable if the rename fails (the reference
	 * closes first and would write its "Rotated" line into the same file). */
	if (rename(o->path, bak) != 0) {
		char e[128];
		go_errstr(e, sizeof(e), errno);
		o->limit *= 2;
		h = format_prefix(head, &pcache, o->pid, o->logtime, o->utc, false, ND_LOG_ERROR,
				  &now);
		m = (size_t)snprintf(msg, sizeof(msg),
				     "Unable to rename logfile for rotation (rename %s %s: %s), "
				     "will attempt next rotation at size %" PRId64 "\r\n",
				     o->path, bak, e, o->limit);
		m = m < sizeof(msg) ? m : sizeof(msg) - 1;
		struct iovec iov[2] = {iov_of(head, h), iov_of(msg, m)};
		if (write_all(o->fd, iov, 2) == 0)
			o->size += (int64_t)(h + m);
		free(bak);
		return;
	}
	int64_t size;
	int fd = open_log_file(o->path, &size);
	if (fd < 0) {
		/* The reference panics here; the server is better off logging to stderr. */
		char e[128];
		go_errstr(e, sizeof(e), -fd);
		close(o->fd);
		o->kind = OUT_FD;
		o->fd = STDERR_FILENO;
		o->colors = stderr_wants_colors();
		h = format_prefix(head, &pcache, o->pid, o->logtime, o->utc, o->colors,
				  ND_LOG_ERROR, &now);
		m = (size_t)snprintf(msg, sizeof(msg),
				     "Unable to re-open the logfile \"%s\" after rotation: %s; "
				     "logging to stderr\n",
				     o->path, e);
		m = m < sizeof(msg) ? m : sizeof(msg) - 1;
		struct iovec iov[2] = {iov_of(head, h), iov_of(msg, m)};
		write_all(o->fd, iov, 2);
		free(bak);
		return;
	}
	close(o->fd);
	o->fd = fd;
	h = format_prefix(head, &pcache, o->pid, o->logtime, o->utc, false, ND_LOG_INFO, &now);
	m = (size_t)snprintf(msg, sizeof(msg), "Rotated log, backup saved as ");
	m += go_quote(msg + m, sizeof(msg) - m - 2, bak);
	msg[m++] = '\r';
	msg[m++] = '\n';
	struct iovec iov[2] = {iov_of(head, h), iov_of(msg, m)};
	write_all(o->fd, iov, 2);
	o->size = (int64_t)(h + m);
	o->limit = o->olimit;
	free(bak);
}

/* One line to the current output. */
static void emit(nd_log_level_t level, const struct timespec *ts, const char *msg, size_t len)
{
	output_t *o = cur;
	if (o->kind == OUT_SYSLOG) {
		nd_log_syslog_send(o->syslog, level, ts, o->utc, msg, len);
		return;
	}
	char head[128];
	size_t h = format_prefix(head, &pcache, o->pid, o->logtime, o->utc, o->colors, level, ts);
	bool nl = len == 0 || msg[len - 1] != '\n';
	size_t total = h + len + nl;
	if (wlen + total > sizeof(wbuf))
		out_flush();
	if (total > sizeof(wbuf)) {
		struct iovec iov[3] = {iov_of(head, h), iov_of(msg, len), iov_of("\n", nl)};
		write_all(o->fd, iov, 3);
	} else {
		memcpy(wbuf + wlen, head, h);
		memcpy(wbuf + wlen + h, msg, len);
		if (nl)
			wbuf[wlen + h + len] = '\n';
		wlen += total;
	}
	if (o->kind == OUT_FILE && o->limit > 0) {
		o->size += (int64_t)total;
		if (o->size > o->limit) {
			out_flush();
			rotate(o);
		}
	}
}

static void emit_text(nd_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void emit_text(nd_log_level_t level, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	emit(level, &now, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
}

static void report_dropped(void)
{
	/* relaxed: a counter; the lines it counts were never queued, so nothing to order. */
	uint64_t n = atomic_exchange_explicit(&dropped_pending, 0, memory_order_relaxed);
	if (n != 0)
		emit_text(ND_LOG_WARN,
			  "%" PRIu64 " log lines dropped: the logging queue was over %zu bytes", n,
			  atomic_load_explicit(&queue_limit, memory_order_relaxed));
}

static void install(output_t *o)
{
	out_flush();
	output_destroy(cur);
	cur = o;
	/* The reference's setLimit: a file already past the limit is rotated at once, through
	 * an ordinary line that crosses it. */
	if (o->kind == OUT_FILE && o->limit > 0 && o->size > o->limit)
		emit_text(ND_LOG_INFO, "Rotating logfile...");
}

static void ack(ctl_node_t *c)
{
	pthread_mutex_lock(&done_mu);
	c->done = true;
	pthread_cond_broadcast(&done_cv);
	pthread_mutex_unlock(&done_mu);
	/* c may be gone now: it lived on the requester's stack. */
}

static long futex(_Atomic uint32_t *word, int op, uint32_t val)
{
	/* The futex syscall takes the plain word; _Atomic uint32_t has its layout. */
	return syscall(SYS_futex, (uint32_t *)(uintptr_t)word, op, val, NULL, NULL, 0);
}

/* Nothing to pop: write the batch, then sleep unless something arrived. */
static void idle(void)
{
	report_dropped();
	out_flush();
	/* acquire: pairs with the release increment of a producer that found the queue idle.
	 * If this load sees that increment, the acquire also makes the producer's push visible
	 * to mark_idle below, which then fails; if it does not, the producer's increment comes
	 * later and FUTEX_WAIT sees the changed word (the kernel compares it atomically). Read
	 * before mark_idle: a producer can only find the queue idle after mark_idle, so its
	 * increment cannot be missed by a value read before. */
	uint32_t seq = atomic_load_explicit(&wake_seq, memory_order_acquire);
	if (!nd_mailbox_mark_idle_sc(&queue)) {
		sched_yield(); /* a push is linking, or just landed: pop again */
		return;
	}
	futex(&wake_seq, FUTEX_WAIT_PRIVATE, seq);
}

static void *logger_main(void *arg)
{
	pthread_setname_np(pthread_self(), "nd-log");
	for (;;) {
		node_head_t *n = (node_head_t *)nd_mailbox_pop_sc(&queue);
		if (n == NULL) {
			idle();
			continue;
		}
		if (n->kind == NODE_LINE) {
			line_node_t *l = (line_node_t *)n;
			emit((nd_log_level_t)l->level, &l->ts, l->text, l->len);
			/* relaxed: the byte budget is advisory; no data is published by it. */
			atomic_fetch_sub_explicit(&queued_bytes, l->charge, memory_order_relaxed);
			free(l);
			continue;
		}
		ctl_node_t *c = (ctl_node_t *)n;
		switch (n->kind) {
		case NODE_SWITCH:
			install(c->out);
			out_flush();
			ack(c);
			break;
		case NODE_FLUSH:
			report_dropped();
			out_flush();
			ack(c);
			break;
		case NODE_STOP:
			report_dropped();
			out_flush();
			output_destroy(cur);
			cur = NULL;
			return NULL; /* the stopper joins; it does not wait for an ack */
		default:
			abort();
		}
	}
}

/* ---- producers -------------------------------------------------------------------------- */

static void push(node_head_t *n)
{
	if (nd_mailbox_push_mp(&queue, &n->hdr)) {
		/* We took the queue out of idle: we, and only we, wake the logger. release: pairs
		 * with the acquire load in idle(); see there. */
		atomic_fetch_add_explicit(&wake_seq, 1, memory_order_release);
		futex(&wake_seq, FUTEX_WAKE_PRIVATE, 1);
	}
}

static bool gate_enter(void)
{
	/* relaxed: a shortcut for the closed case only; the decision is the RMW below. */
	if ((atomic_load_explicit(&gate, memory_order_relaxed) & GATE_OPEN) == 0)
		return false;
	/* acquire: pairs with the release that opened the gate, so the queue and the logger
	 * thread set up before it are visible. RMWs on `gate` are totally ordered, so either we
	 * count ourselves in before shutdown closes the gate (and it waits for us) or we see it
	 * closed. */
	unsigned long g = atomic_fetch_add_explicit(&gate, GATE_ONE, memory_order_acquire);
	if (g & GATE_OPEN)
		return true;
	/* relaxed: we touched nothing that shutdown must see. */
	atomic_fetch_sub_explicit(&gate, GATE_ONE, memory_order_relaxed);
	return false;
}

static void gate_leave(void)
{
	/* release: our push happens-before shutdown's acquire load that sees the count at
	 * zero, hence before its STOP node, which the logger therefore pops after ours. */
	atomic_fetch_sub_explicit(&gate, GATE_ONE, memory_order_release);
}

/* Queues a line, or returns false when the logger is not accepting (write it yourself).
 * A droppable line over the queue limit is counted and freed. */
static bool enqueue_line(line_node_t *l, bool droppable)
{
	if (!gate_enter())
		return false;
	size_t limit = atomic_load_explicit(&queue_limit, memory_order_relaxed);
	/* relaxed: an advisory budget; concurrent producers may overshoot it by one line each. */
	size_t before = atomic_fetch_add_explicit(&queued_bytes, l->charge, memory_order_relaxed);
	if (before + l->charge > limit && droppable) {
		atomic_fetch_sub_explicit(&queued_bytes, l->charge, memory_order_relaxed);
		gate_leave();
		/* relaxed: counters, read for reporting only. */
		atomic_fetch_add_explicit(&dropped_pending, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&dropped_total, 1, memory_order_relaxed);
		free(l);
		return true;
	}
	push(&l->h);
	gate_leave();
	return true;
}

bool nd_log_enabled(nd_log_level_t level)
{
	/* relaxed: a level change reaching threads a little late is harmless. */
	if (level == ND_LOG_DEBUG)
		return atomic_load_explicit(&opt_debug, memory_order_relaxed);
	if (level == ND_LOG_TRACE)
		return atomic_load_explicit(&opt_trace, memory_order_relaxed);
	return true;
}

/* FATAL lines, and the notices of control operations (rare, and what an operator looks for
 * after a SIGUSR1), are never dropped: they may take the queue past its limit. */
static void logv(nd_log_level_t level, bool droppable, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void logv(nd_log_level_t level, bool droppable, const char *fmt, va_list ap)
{
	if (!nd_log_enabled(level))
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	/* Format once into the stack; only long messages are formatted a second time. */
	char small[512];
	va_list again;
	va_copy(again, ap);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	if (n < 0) {
		n = 0;
		small[0] = '\0';
	}
	size_t len = (size_t)n;
	line_node_t *l = malloc(sizeof(*l) + len + 1);
	if (l == NULL)
		abort();
	if (len < sizeof(small))
		memcpy(l->text, small, len + 1);
	else
		vsnprintf(l->text, len + 1, fmt, again);
	va_end(again);
	l->h.kind = NODE_LINE;
	l->level = (uint8_t)level;
	l->len = (uint32_t)len;
	l->charge = sizeof(*l) + len + 1;
	l->ts = ts;
	if (!enqueue_line(l, droppable)) {
		write_sync(level, &ts, l->text, len);
		free(l);
		return;
	}
	if (level == ND_LOG_FATAL)
		nd_log_flush(); /* the caller exits next */
}

void nd_logv(nd_log_level_t level, const char *fmt, va_list ap)
{
	logv(level, level != ND_LOG_FATAL, fmt, ap);
}

static void notice(nd_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void notice(nd_log_level_t level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	logv(level, false, fmt, ap);
	va_end(ap);
}

void nd_log(nd_log_level_t level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	nd_logv(level, fmt, ap);
	va_end(ap);
}

uint64_t nd_log_dropped(void)
{
	/* relaxed: a statistic. */
	return atomic_load_explicit(&dropped_total, memory_order_relaxed);
}

/* ---- control ---------------------------------------------------------------------------- */

static void wait_done(ctl_node_t *c)
{
	pthread_mutex_lock(&done_mu);
	while (!c->done)
		pthread_cond_wait(&done_cv, &done_mu);
	pthread_mutex_unlock(&done_mu);
}

void nd_log_flush(void)
{
	ctl_node_t c = {.h.kind = NODE_FLUSH};
	if (!gate_enter())
		return; /* synchronous mode: everything is written already */
	push(&c.h);
	gate_leave();
	wait_done(&c);
}

/* With cfg_mu held and the logger running: hands `o` over and waits until it is in use. */
static void switch_to(output_t *o)
{
	ctl_node_t c = {.h.kind = NODE_SWITCH, .out = o};
	push(&c.h);
	wait_done(&c);
}

static int start_locked(void)
{
	nd_mailbox_init(&queue);
	cur = output_stderr(atomic_load_explicit(&opt_logtime, memory_order_relaxed),
			    atomic_load_explicit(&opt_utc, memory_order_relaxed));
	wlen = 0;
	/* The logger takes no signals: created with all blocked, it inherits that mask. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&logger, NULL, logger_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		output_destroy(cur);
		cur = NULL;
		return -rc;
	}
	/* release: the queue initialised above is visible to producers that see the bit. */
	atomic_fetch_or_explicit(&gate, GATE_OPEN, memory_order_release);
	running = true;
	return 0;
}

static char *dup_or_null(const char *s)
{
	if (s == NULL)
		return NULL;
	char *d = strdup(s);
	if (d == NULL)
		abort();
	return d;
}

static void cfg_save(const nd_log_opts_t *o)
{
	free((char *)(uintptr_t)cfg.file);
	free((char *)(uintptr_t)cfg.remote_syslog);
	cfg = *o;
	cfg.file = dup_or_null(o->file);
	cfg.remote_syslog = dup_or_null(o->remote_syslog);
}

/* Returns 0 or -errno. */
static int configure(const nd_log_opts_t *o, char *err, size_t errlen)
{
	char scratch[1];
	if (err == NULL || errlen == 0) {
		err = scratch;
		errlen = sizeof(scratch);
	}
	err[0] = '\0';
	output_t *out;
	int rc = output_create(&out, o, err, errlen);
	if (rc != 0)
		return rc;
	pthread_mutex_lock(&cfg_mu);
	if (!running && (rc = start_locked()) != 0) {
		pthread_mutex_unlock(&cfg_mu);
		output_destroy(out);
		snprintf(err, errlen, "cannot start the logging thread: %s", strerror(-rc));
		return rc;
	}
	/* relaxed: producers read these independently; a line racing the change may use
	 * either setting. */
	atomic_store_explicit(&queue_limit,
			      o->queue_limit ? o->queue_limit : ND_LOG_QUEUE_LIMIT_DEFAULT,
			      memory_order_relaxed);
	switch_to(out);
	atomic_store_explicit(&opt_debug, o->debug, memory_order_relaxed);
	atomic_store_explicit(&opt_trace, o->trace, memory_order_relaxed);
	atomic_store_explicit(&opt_logtime, o->logtime, memory_order_relaxed);
	atomic_store_explicit(&opt_utc, o->utc, memory_order_relaxed);
	cfg_save(o);
	pthread_mutex_unlock(&cfg_mu);
	return 0;
}

int nd_log_configure(const nd_log_opts_t *o, char *err, size_t errlen)
{
	int rc = configure(o, err, errlen);
	if (rc == 0)
		return 0;
	errno = -rc; /* the cause, for callers that want more than the message */
	return -1;
}

void nd_log_reopen(void)
{
	pthread_mutex_lock(&cfg_mu);
	if (!running || cfg.file == NULL || cfg.file[0] == '\0') {
		notice(ND_LOG_INFO, "File log re-open ignored, not a file logger");
		pthread_mutex_unlock(&cfg_mu);
		return;
	}
	char err[512];
	output_t *out;
	if (output_create(&out, &cfg, err, sizeof(err)) != 0) {
		/* The reference exits here; keeping the old file loses nothing. */
		notice(ND_LOG_ERROR, "File log re-open failed, still logging to the old file: %s",
		       err);
		pthread_mutex_unlock(&cfg_mu);
		return;
	}
	switch_to(out);
	notice(ND_LOG_INFO, "File log re-opened");
	pthread_mutex_unlock(&cfg_mu);
}

void nd_log_shutdown(void)
{
	pthread_mutex_lock(&cfg_mu);
	if (!running) {
		pthread_mutex_unlock(&cfg_mu);
		return;
	}
	/* acq_rel: totally ordered with the producers' RMWs (see gate_enter). */
	atomic_fetch_and_explicit(&gate, ~GATE_OPEN, memory_order_acq_rel);
	/* acquire: pairs with gate_leave, so every admitted push precedes STOP. */
	while (atomic_load_explicit(&gate, memory_order_acquire) != 0)
		sched_yield();
	ctl_node_t stop = {.h.kind = NODE_STOP};
	push(&stop.h);
	pthread_join(logger, NULL);
	running = false;
	pthread_mutex_unlock(&cfg_mu);
}
