/* The logger against the reference's behaviour: line format with and without time, colours on
 * a terminal, levels, file output, size-limit rotation (backup name, the "\r\n" first line, the
 * crossing line left behind), reopen after a logrotate-style rename, dropped-line accounting,
 * many threads at once, flush, the synchronous fallback, and syslog over UDP, TCP and a unix
 * socket. Criterion runs each test in its own process, so each starts with a fresh logger.
 * The syslog tag is the base name of argv[0], which is Criterion's worker here. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "runtime/log.h"
#include "tests/support/nd_test.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static char dir[64];

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/nd_test_log.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	struct dirent *e;
	char p[512];
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static char *path_in_dir(const char *name)
{
	char *p;
	cr_assert(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

/* The whole file, NUL-terminated (empty string if missing); caller frees. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (f != NULL) {
		char chunk[4096];
		size_t n;
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			fwrite(chunk, 1, n, m);
		fclose(f);
	}
	fclose(m);
	return buf;
}

static bool matches(const char *re, const char *s)
{
	regex_t r;
	cr_assert_eq(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0, "bad regex %s", re);
	bool ok = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Files in dir whose names start with `prefix`; returns how many, first one in *first. */
static int find_files(const char *prefix, char **first)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	*first = NULL;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
			continue;
		if (n++ == 0)
			*first = path_in_dir(e->d_name);
	}
	closedir(d);
	return n;
}

static void configure_or_fail(const nd_log_opts_t *o)
{
	char err[512];
	int rc = nd_log_configure(o, err, sizeof(err));
	cr_assert_eq(rc, 0, "configure: %d %s", rc, err);
}

#define TIME_RE "[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}"

/* ---- format and levels ------------------------------------------------------------------ */

ND_TEST(log, format_with_and_without_time)
{
	make_dir();
	char *f = path_in_dir("fmt.log");
	char re[256];
	configure_or_fail(&(nd_log_opts_t){.file = f, .logtime = true});
	nd_log_info("hello %d", 42);
	nd_log_flush();
	char *got = slurp(f);
	snprintf(re, sizeof(re), "^\\[%d\\] " TIME_RE " \\[INF\\] hello 42\n$", (int)getpid());
	cr_assert(matches(re, got), "got '%s'", got);
	free(got);

	configure_or_fail(&(nd_log_opts_t){.file = f, .logtime = false});
	nd_log_warn("no time");
	nd_log_flush();
	got = slurp(f);
	snprintf(re, sizeof(re), "\n\\[%d\\] \\[WRN\\] no time\n$", (int)getpid());
	cr_assert(matches(re, got), "got '%s'", got);
	free(got);
	nd_log_shutdown();
	free(f);
	remove_dir();
}

ND_TEST(log, labels_levels_and_newlines)
{
	make_dir();
	char *f = path_in_dir("levels.log");
	configure_or_fail(&(nd_log_opts_t){.file = f});
	cr_assert_not(nd_log_enabled(ND_LOG_DEBUG));
	cr_assert_not(nd_log_enabled(ND_LOG_TRACE));
	cr_assert(nd_log_enabled(ND_LOG_INFO));
	nd_log_debug("hidden debug");
	nd_log_trace("hidden trace");
	nd_log_error("e");
	nd_log_warn("w");
	nd_log_info("ends in newline\n");
	nd_log_info("%s", "");
	configure_or_fail(&(nd_log_opts_t){.file = f, .debug = true, .trace = true});
	cr_assert(nd_log_enabled(ND_LOG_DEBUG));
	cr_assert(nd_log_enabled(ND_LOG_TRACE));
	nd_log_debug("d");
	nd_log_trace("t");
	nd_log_fatal("f"); /* written before nd_log returns: no flush here */
	char *got = slurp(f);
	char want[512];
	int pid = (int)getpid();
	snprintf(want, sizeof(want),
		 "[%d] [ERR] e\n[%d] [WRN] w\n[%d] [INF] ends in newline\n[%d] [INF] \n"
		 "[%d] [DBG] d\n[%d] [TRC] t\n[%d] [FTL] f\n",
		 pid, pid, pid, pid, pid, pid, pid);
	cr_assert_str_eq(got, want);
	free(got);
	configure_or_fail(&(nd_log_opts_t){.file = f});
	cr_assert_not(nd_log_enabled(ND_LOG_DEBUG), "reconfigured without -D");
	nd_log_shutdown();
	free(f);
	remove_dir();
}

/* The reference colours labels only on a terminal stderr; a pty stands in for one. */
ND_TEST(log, colours_on_a_terminal_stderr)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY);
	cr_assert(master >= 0);
	cr_assert_eq(grantpt(master), 0);
	cr_assert_eq(unlockpt(master), 0);
	int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	cr_assert(slave >= 0);
	struct termios t;
	tcgetattr(slave, &t);
	cfmakeraw(&t);
	tcsetattr(slave, TCSANOW, &t);
	int saved = dup(STDERR_FILENO);
	dup2(slave, STDERR_FILENO);
	configure_or_fail(&(nd_log_opts_t){.debug = true, .trace = true});
	nd_log_fatal("x");
	nd_log_error("x");
	nd_log_warn("x");
	nd_log_info("x");
	nd_log_debug("x");
	nd_log_trace("x");
	nd_log_shutdown();
	dup2(saved, STDERR_FILENO);
	close(saved);
	char buf[1024];
	size_t n = 0;
	struct pollfd p = {.fd = master, .events = POLLIN};
	while (n < sizeof(buf) - 1 && poll(&p, 1, 200) > 0) {
		ssize_t r = read(master, buf + n, sizeof(buf) - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	char want[512];
	int pid = (int)getpid();
	snprintf(want, sizeof(want),
		 "[%d] [\x1b[31mFTL\x1b[0m] x\n[%d] [\x1b[31mERR\x1b[0m] x\n"
		 "[%d] [\x1b[0;93mWRN\x1b[0m] x\n[%d] [\x1b[32mINF\x1b[0m] x\n"
		 "[%d] [\x1b[36mDBG\x1b[0m] x\n[%d] [\x1b[33mTRC\x1b[0m] x\n",
		 pid, pid, pid, pid, pid, pid);
	cr_assert_str_eq(buf, want);
	close(slave);
	close(master);
}

/* ---- files ------------------------------------------------------------------------------ */

ND_TEST(log, file_is_appended_with_mode_0660)
{
	make_dir();
	char *f = path_in_dir("append.log");
	FILE *pre = fopen(f, "w");
	fputs("old content\n", pre);
	fclose(pre);
	chmod(f, 0600);
	char *g = path_in_dir("new.log");
	mode_t old = umask(0);
	configure_or_fail(&(nd_log_opts_t){.file = g});
	umask(old);
	struct stat st;
	cr_assert_eq(stat(g, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0660);
	configure_or_fail(&(nd_log_opts_t){.file = f});
	nd_log_info("new line");
	nd_log_flush();
	char *got = slurp(f), want[128];
	snprintf(want, sizeof(want), "old content\n[%d] [INF] new line\n", (int)getpid());
	cr_assert_str_eq(got, want);
	free(got);
	nd_log_shutdown();
	free(f);
	free(g);
	remove_dir();
}

ND_TEST(log, unopenable_file_is_refused_and_changes_nothing)
{
	make_dir();
	char *f = path_in_dir("keep.log");
	configure_or_fail(&(nd_log_opts_t){.file = f});
	char err[512];
	int rc = nd_log_configure(&(nd_log_opts_t){.file = "/nonexistent-dir/x.log", .debug = true},
				  err, sizeof(err));
	cr_assert_eq(rc, -1);
	cr_assert_eq(errno, ENOENT);
	cr_assert_str_eq(err, "error opening file: open /nonexistent-dir/x.log: no such file or "
			      "directory");
	cr_assert_not(nd_log_enabled(ND_LOG_DEBUG), "a failed configure changes nothing");
	nd_log_info("still here");
	nd_log_flush();
	char *got = slurp(f);
	cr_assert_not_null(strstr(got, "[INF] still here\n"), "got '%s'", got);
	free(got);
	nd_log_shutdown();
	free(f);
	remove_dir();
}

ND_TEST(log, switching_outputs_keeps_the_order)
{
	make_dir();
	char *a = path_in_dir("a.log"), *b = path_in_dir("b.log");
	configure_or_fail(&(nd_log_opts_t){.file = a});
	for (int i = 0; i < 1000; i++)
		nd_log_info("to a %d", i);
	configure_or_fail(&(nd_log_opts_t){.file = b});
	nd_log_info("to b");
	nd_log_shutdown();
	char *ga = slurp(a), *gb = slurp(b);
	cr_assert_eq(count_lines(ga), 1000);
	cr_assert_not_null(strstr(ga, "[INF] to a 999\n"));
	cr_assert_eq(count_lines(gb), 1);
	cr_assert_not_null(strstr(gb, "[INF] to b\n"));
	free(ga);
	free(gb);
	free(a);
	free(b);
	remove_dir();
}

#define BACKUP_RE "\\.[0-9]{4}\\.[0-9]{2}\\.[0-9]{2}\\.[0-9]{2}\\.[0-9]{2}\\.[0-9]{2}\\.[0-9]{9}$"

ND_TEST(log, rotation_at_the_size_limit)
{
	make_dir();
	char *f = path_in_dir("rot.log");
	configure_or_fail(&(nd_log_opts_t){.file = f, .size_limit = 300, .logtime = true});
	/* About 90 bytes a line: the fourth one crosses the limit. */
	for (int i = 0; i < 5; i++)
		nd_log_info("line %d ........................................", i);
	nd_log_flush();
	char *bak;
	cr_assert_eq(find_files("rot.log.", &bak), 1, "one backup");
	cr_assert(matches(BACKUP_RE, bak), "backup name %s", bak);
	char *old = slurp(bak), *now = slurp(f);
	/* The old file ends with the line that crossed the limit. */
	size_t olen = strlen(old);
	cr_assert(olen > 300, "old file %zu bytes", olen);
	const char *last = old + olen - 1;
	while (last > old && last[-1] != '\n')
		last--;
	cr_assert((size_t)(last - old) <= 300, "the line before the crossing one was under");
	cr_assert(matches("\\[INF\\] line [0-9] \\.+\n$", old), "old '%s'", old);
	/* The new file starts with the "\r\n"-terminated note, then the remaining lines. */
	char re[512];
	snprintf(re, sizeof(re),
		 "^\\[%d\\] " TIME_RE " \\[INF\\] Rotated log, backup saved as \"%s\"\r\n",
		 (int)getpid(), bak);
	cr_assert(matches(re, now), "new '%s'", now);
	int in_old = count_lines(old), in_new = count_lines(now) - 1;
	cr_assert_eq(in_old + in_new, 5, "old %d new %d", in_old, in_new);
	char want[64];
	snprintf(want, sizeof(want), "[INF] line %d .", in_old);
	if (in_new > 0)
		cr_assert_not_null(strstr(now, want), "new '%s'", now);
	free(old);
	free(now);
	free(bak);
	nd_log_shutdown();
	free(f);
	remove_dir();
}

ND_TEST(log, many_rotations_lose_nothing)
{
	make_dir();
	char *f = path_in_dir("many.log");
	configure_or_fail(&(nd_log_opts_t){.file = f, .size_limit = 2000});
	for (int i = 0; i < 2000; i++)
		nd_log_info("line %05d", i);
	nd_log_shutdown();
	/* Every file but the current one is over the limit; all lines are there once. */
	DIR *d = opendir(dir);
	struct dirent *e;
	int lines = 0, files = 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char *p = path_in_dir(e->d_name);
		char *s = slurp(p);
		files++;
		for (char *q = s; (q = strstr(q, "] line ")) != NULL; q++)
			lines++;
		if (strcmp(e->d_name, "many.log") != 0)
			cr_assert(strlen(s) > 2000, "%s has %zu bytes", p, strlen(s));
		free(s);
		free(p);
	}
	closedir(d);
	cr_assert_eq(lines, 2000);
	cr_assert(files > 10, "%d files", files);
	free(f);
	remove_dir();
}

ND_TEST(log, a_file_over_the_limit_is_rotated_at_open)
{
	make_dir();
	char *f = path_in_dir("big.log");
	FILE *pre = fopen(f, "w");
	for (int i = 0; i < 100; i++)
		fputs("0123456789\n", pre);
	fclose(pre);
	configure_or_fail(&(nd_log_opts_t){.file = f, .size_limit = 500});
	nd_log_info("after");
	nd_log_flush();
	char *bak;
	cr_assert_eq(find_files("big.log.", &bak), 1);
	char *old = slurp(bak), *now = slurp(f);
	cr_assert(matches("^(0123456789\n){100}\\[[0-9]+\\] \\[INF\\] Rotating logfile...\n$", old),
		  "old '%s'", old);
	cr_assert(matches("^\\[[0-9]+\\] \\[INF\\] Rotated log, backup saved as \"[^\"]+\"\r\n"
			  "\\[[0-9]+\\] \\[INF\\] after\n$",
			  now),
		  "new '%s'", now);
	free(old);
	free(now);
	free(bak);
	nd_log_shutdown();
	free(f);
	remove_dir();
}

ND_TEST(log, reopen_after_logrotate_renamed_the_file)
{
	make_dir();
	char *f = path_in_dir("app.log"), *moved = path_in_dir("app.log.1");
	configure_or_fail(&(nd_log_opts_t){.file = f});
	nd_log_info("before");
	nd_log_flush();
	cr_assert_eq(rename(f, moved), 0);
	nd_log_info("still the old file");
	nd_log_reopen();
	nd_log_info("after");
	nd_log_flush();
	char *old = slurp(moved), *now = slurp(f), want[256];
	int pid = (int)getpid();
	snprintf(want, sizeof(want), "[%d] [INF] before\n[%d] [INF] still the old file\n", pid,
		 pid);
	cr_assert_str_eq(old, want);
	snprintf(want, sizeof(want), "[%d] [INF] File log re-opened\n[%d] [INF] after\n", pid, pid);
	cr_assert_str_eq(now, want);
	free(old);
	free(now);
	nd_log_shutdown();
	free(f);
	free(moved);
	remove_dir();
}

/* The reference exits when the reopen fails; natsd keeps the old file and says why in it. */
ND_TEST(log, failed_reopen_keeps_the_old_file)
{
	make_dir();
	char *f = path_in_dir("gone.log"), *moved = path_in_dir("gone.log.1");
	configure_or_fail(&(nd_log_opts_t){.file = f});
	cr_assert_eq(rename(f, moved), 0);
	cr_assert_eq(mkdir(f, 0700),
		     0); /* a directory cannot be opened for writing, even by root */
	nd_log_reopen();
	nd_log_info("after");
	nd_log_flush();
	char *old = slurp(moved), want[512];
	int pid = (int)getpid();
	snprintf(want, sizeof(want),
		 "[%d] [ERR] File log re-open failed, still logging to the old file: error opening "
		 "file: open %s: is a directory\n[%d] [INF] after\n",
		 pid, f, pid);
	cr_assert_str_eq(old, want);
	free(old);
	nd_log_shutdown();
	rmdir(f);
	free(f);
	free(moved);
	remove_dir();
}

ND_TEST(log, reopen_without_a_file_is_ignored)
{
	make_dir();
	char *f = path_in_dir("fd.log");
	int fd = open(f, O_WRONLY | O_CREAT | O_APPEND, 0600);
	configure_or_fail(&(nd_log_opts_t){.fd = fd});
	nd_log_reopen();
	nd_log_shutdown();
	close(fd);
	char *got = slurp(f), want[128];
	snprintf(want, sizeof(want), "[%d] [INF] File log re-open ignored, not a file logger\n",
		 (int)getpid());
	cr_assert_str_eq(got, want);
	free(got);
	free(f);
	remove_dir();
}

/* ---- queue limit, concurrency, flush, fallback ------------------------------------------- */

typedef struct reader {
	int fd;
	char *buf;
	size_t len;
} reader_t;

static void *read_all(void *arg)
{
	reader_t *r = arg;
	FILE *m = open_memstream(&r->buf, &r->len);
	char chunk[4096];
	ssize_t n;
	while ((n = read(r->fd, chunk, sizeof(chunk))) > 0)
		fwrite(chunk, 1, (size_t)n, m);
	fclose(m);
	return NULL;
}

/* A full pipe stalls the logger: the queue fills to its (tiny) limit, later lines are
 * dropped without blocking the producer, and one WRN line counts them afterwards. */
ND_TEST(log, lines_over_the_queue_limit_are_dropped_and_counted)
{
	enum { LINES = 2000 };
	int p[2];
	cr_assert_eq(pipe(p), 0);
	fcntl(p[1], F_SETPIPE_SZ, 4096);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	char junk[512];
	memset(junk, '#', sizeof(junk));
	while (write(p[1], junk, sizeof(junk)) > 0)
		;
	configure_or_fail(&(nd_log_opts_t){.fd = p[1], .queue_limit = 8192});
	/* Nobody reads the pipe yet: a producer that waited for the logger would hang here. */
	for (int i = 0; i < LINES; i++)
		nd_log_info(
		    "line %05d ................................................................",
		    i);
	reader_t r = {.fd = p[0]};
	pthread_t t;
	pthread_create(&t, NULL, read_all, &r);
	nd_log_flush();
	nd_log_shutdown();
	close(p[1]);
	pthread_join(t, NULL);
	close(p[0]);
	uint64_t dropped = nd_log_dropped();
	cr_assert(dropped > 0, "nothing dropped");
	char *s = r.buf;
	while (*s == '#')
		s++;
	int got = 0, prev = -1;
	char *line = s, *nl;
	uint64_t reported = 0; /* one WRN line each time the logger caught up */
	while ((nl = strchr(line, '\n')) != NULL) {
		*nl = '\0';
		int seq;
		if (sscanf(line, "[%*d] [INF] line %d", &seq) == 1) {
			cr_assert(seq > prev, "out of order: %d after %d", seq, prev);
			cr_assert(matches("^\\[[0-9]+\\] \\[INF\\] line [0-9]{5} \\.{64}$", line),
				  "mangled: %s", line);
			prev = seq;
			got++;
		} else {
			unsigned long long n;
			cr_assert_eq(sscanf(line, "[%*d] [WRN] %llu log lines dropped", &n), 1,
				     "unexpected line '%s'", line);
			reported += n;
		}
		line = nl + 1;
	}
	cr_assert_eq(reported, dropped, "WRN lines counted %llu of %llu",
		     (unsigned long long)reported, (unsigned long long)dropped);
	cr_assert_eq((uint64_t)got + dropped, LINES, "written %d + dropped %llu", got,
		     (unsigned long long)dropped);
	free(r.buf);
}

enum { THREADS = 8, PER_THREAD = 5000 };

static void *log_many(void *arg)
{
	int id = (int)(intptr_t)arg;
	for (int i = 0; i < PER_THREAD; i++)
		nd_log_info("t%d n%d %s", id, i,
			    "the quick brown fox jumps over the lazy dog 0123456789");
	return NULL;
}

ND_TEST(log, many_threads_lines_intact_and_in_order_per_thread)
{
	make_dir();
	char *f = path_in_dir("mt.log");
	configure_or_fail(&(nd_log_opts_t){.file = f, .logtime = true});
	pthread_t t[THREADS];
	for (intptr_t i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, log_many, (void *)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	nd_log_flush();
	char *s = slurp(f);
	int next[THREADS] = {0}, lines = 0;
	char re[256];
	snprintf(re, sizeof(re),
		 "^\\[%d\\] " TIME_RE " \\[INF\\] t[0-7] n[0-9]+ the quick brown fox jumps over "
		 "the lazy dog 0123456789$",
		 (int)getpid());
	regex_t r;
	cr_assert_eq(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
	for (char *line = s, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		*nl = '\0';
		cr_assert_eq(regexec(&r, line, 0, NULL, 0), 0, "mangled line '%s'", line);
		int id, n;
		cr_assert_eq(sscanf(strstr(line, "[INF] "), "[INF] t%d n%d", &id, &n), 2);
		cr_assert_eq(n, next[id], "thread %d: %d after %d", id, n, next[id] - 1);
		next[id]++;
		lines++;
	}
	regfree(&r);
	cr_assert_eq(lines, THREADS * PER_THREAD);
	cr_assert_eq(nd_log_dropped(), 0);
	free(s);
	nd_log_shutdown();
	free(f);
	remove_dir();
}

ND_TEST(log, flush_returns_after_the_write)
{
	make_dir();
	char *f = path_in_dir("flush.log");
	configure_or_fail(&(nd_log_opts_t){.file = f});
	for (int round = 0; round < 50; round++) {
		nd_log_info("round %d", round);
		nd_log_flush();
		struct stat st;
		cr_assert_eq(stat(f, &st), 0);
		char *s = slurp(f);
		cr_assert_eq(count_lines(s), round + 1, "round %d", round);
		free(s);
	}
	nd_log_shutdown();
	free(f);
	remove_dir();
}

/* stderr is replaced by a file for the test: before configure and after shutdown every line
 * is on it when the call returns, with no flush. */
ND_TEST(log, synchronous_before_configure_and_after_shutdown)
{
	make_dir();
	char *e = path_in_dir("stderr.txt"), *f = path_in_dir("file.log");
	int efd = open(e, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int saved = dup(STDERR_FILENO);
	dup2(efd, STDERR_FILENO);
	nd_log_flush(); /* no thread yet: returns at once */
	nd_log_error("early");
	char *s = slurp(e);
	bool early = matches("^\\[[0-9]+\\] " TIME_RE " \\[ERR\\] early\n$", s);
	free(s);
	nd_log_opts_t o = {.file = f};
	char err[256];
	int rc = nd_log_configure(&o, err, sizeof(err));
	nd_log_info("into the file");
	nd_log_shutdown();
	nd_log_warn("late");
	s = slurp(e);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(efd);
	cr_assert(early, "early line not written synchronously");
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert(matches("^\\[[0-9]+\\] " TIME_RE " \\[ERR\\] early\n"
			  "\\[[0-9]+\\] \\[WRN\\] late\n$",
			  s),
		  "stderr '%s'", s);
	free(s);
	s = slurp(f);
	cr_assert(matches("^\\[[0-9]+\\] \\[INF\\] into the file\n$", s), "file '%s'", s);
	free(s);
	/* And the thread can be started again. */
	configure_or_fail(&(nd_log_opts_t){.file = f});
	nd_log_info("again");
	nd_log_shutdown();
	s = slurp(f);
	cr_assert_eq(count_lines(s), 2);
	free(s);
	free(e);
	free(f);
	remove_dir();
}

/* ---- syslog ----------------------------------------------------------------------------- */

static int recv_timeout(int fd, char *buf, size_t cap)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, 5000) != 1)
		return -1;
	ssize_t n = recv(fd, buf, cap - 1, 0);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return (int)n;
}

#define RFC3339_RE "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})"

ND_TEST(log, remote_syslog_over_udp)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t alen = sizeof(a);
	getsockname(s, (struct sockaddr *)&a, &alen);
	char url[64], host[256];
	snprintf(url, sizeof(url), "udp://127.0.0.1:%u", ntohs(a.sin_port));
	gethostname(host, sizeof(host));
	configure_or_fail(
	    &(nd_log_opts_t){.remote_syslog = url, .debug = true, .trace = true, .logtime = true});
	/* Facility kern (0), as the reference dials with LOG_DEBUG; its severity per level. */
	static const struct {
		nd_log_level_t level;
		int pri;
	} cases[] = {{ND_LOG_INFO, 5},  {ND_LOG_WARN, 4},  {ND_LOG_ERROR, 3},
		     {ND_LOG_DEBUG, 7}, {ND_LOG_TRACE, 5}, {ND_LOG_FATAL, 2}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		nd_log(cases[i].level, "message %zu", i);
		char buf[1024], re[512];
		cr_assert(recv_timeout(s, buf, sizeof(buf)) > 0, "no datagram %zu", i);
		snprintf(re, sizeof(re), "^<%d>" RFC3339_RE " %s %s\\[%d\\]: message %zu\n$",
			 cases[i].pri, host, program_invocation_short_name, (int)getpid(), i);
		cr_assert(matches(re, buf), "got '%s' want /%s/", buf, re);
	}
	nd_log_shutdown();
	close(s);
}

ND_TEST(log, remote_syslog_over_tcp)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	cr_assert_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	listen(l, 1);
	socklen_t alen = sizeof(a);
	getsockname(l, (struct sockaddr *)&a, &alen);
	char url[64];
	snprintf(url, sizeof(url), "TCP://127.0.0.1:%u", ntohs(a.sin_port));
	configure_or_fail(&(nd_log_opts_t){.remote_syslog = url});
	int c = accept(l, NULL, NULL);
	nd_log_error("one");
	nd_log_warn("two\n");
	nd_log_shutdown();
	char buf[1024];
	size_t n = 0;
	ssize_t r;
	while ((r = read(c, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	char re[512];
	snprintf(re, sizeof(re),
		 "^<3>" RFC3339_RE " [^ ]+ %s\\[[0-9]+\\]: one\n<4>" RFC3339_RE
		 " [^ ]+ %s\\[[0-9]+\\]: two\n$",
		 program_invocation_short_name, program_invocation_short_name);
	cr_assert(matches(re, buf), "got '%s'", buf);
	close(c);
	close(l);
}

ND_TEST(log, remote_syslog_over_a_unix_socket_uses_the_local_form)
{
	make_dir();
	char *sp = path_in_dir("syslog.sock");
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sp);
	cr_assert_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	listen(l, 1);
	char url[256];
	snprintf(url, sizeof(url), "unix://%s", sp);
	configure_or_fail(&(nd_log_opts_t){.remote_syslog = url});
	int c = accept(l, NULL, NULL);
	nd_log_info("local form");
	nd_log_shutdown();
	char buf[512];
	ssize_t n = read(c, buf, sizeof(buf) - 1);
	cr_assert(n > 0);
	buf[n] = '\0';
	char re[512];
	snprintf(re, sizeof(re),
		 "^<5>(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 1-3][0-9] "
		 "[0-9]{2}:[0-9]{2}:[0-9]{2} %s\\[%d\\]: local form\n$",
		 program_invocation_short_name, (int)getpid());
	cr_assert(matches(re, buf), "got '%s'", buf);
	close(c);
	close(l);
	free(sp);
	remove_dir();
}

ND_TEST(log, remote_syslog_errors_in_the_reference_words)
{
	static const struct {
		const char *url;
		int errnum;
		const char *err;
	} cases[] = {
	    {"udp://localhost", EINVAL,
	     "error connecting to syslog: \"dial udp: address localhost: missing port in "
	     "address\""},
	    {"tcp://", EINVAL, "error connecting to syslog: \"dial tcp: missing address\""},
	    {"foo://x:1", EINVAL, "error invalid network type: \"foo\""},
	    {"localhost:514", EINVAL, "error invalid network type: \"localhost\""},
	    {"unix://", EINVAL, "error connecting to syslog: \"dial unix: missing address\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[512];
		int rc = nd_log_configure(&(nd_log_opts_t){.remote_syslog = cases[i].url}, err,
					  sizeof(err));
		cr_assert_eq(rc, -1, "%s: %d", cases[i].url, rc);
		cr_assert_eq(errno, cases[i].errnum, "%s: errno %d", cases[i].url, errno);
		cr_assert_str_eq(err, cases[i].err);
	}
	nd_log_shutdown();
}

/* Whether this machine runs a syslog daemon is not up to the test: either the logger connects
 * to /dev/log (or the other paths Go tries), or it refuses with the reference's message. */
ND_TEST(log, local_syslog_connects_or_says_why)
{
	char err[512];
	int rc = nd_log_configure(&(nd_log_opts_t){.syslog = true}, err, sizeof(err));
	if (rc != 0)
		cr_assert_str_eq(err, "error connecting to syslog: \"Unix syslog delivery error\"");
	else
		nd_log_info("natsd unit test: local syslog");
	nd_log_shutdown();
}
