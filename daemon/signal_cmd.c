/* --signal, as nats-server 2.9's ProcessSignal does it: split CMD=PID, read PID from a file if
 * it names a readable one, parse it like Go's strconv.Atoi, otherwise find the one process with
 * our name; then map CMD to a signal and send it. The checks come in the reference's order, so
 * the same bad input gets the same message (`bogus=abc` is an invalid pid, not an unknown
 * signal). */
#define _GNU_SOURCE
#include "daemon/signal_cmd.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/cli.h"

/* More than any real pid file; keeps `--signal reload=/dev/zero` from reading forever. */
#define PIDFILE_MAX 4096

static const struct {
	const char *cmd;
	int sig;
} commands[] = {
    {"stop", SIGKILL},   {"quit", SIGINT},   {"term", SIGTERM},
    {"reopen", SIGUSR1}, {"reload", SIGHUP}, {"ldm", SIGUSR2},
};

static __attribute__((format(printf, 2, 3))) int set_err(char **err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		abort();
	va_end(ap);
	return -1;
}

/* The whole content of the file `path` if it can be read, else NULL (the reference then takes
 * `path` itself as the pid). A file longer than PIDFILE_MAX is cut there; it is no pid. */
static char *read_pid_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *buf = malloc(PIDFILE_MAX + 1);
	size_t len = 0;
	if (buf == NULL)
		abort();
	while (len < PIDFILE_MAX) {
		ssize_t n = read(fd, buf + len, PIDFILE_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) { /* a directory, say */
			free(buf);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

/* strconv.Atoi: an optional sign and decimal digits, nothing else. A pid must also be a
 * positive pid_t: the reference passes 0 and negative numbers to kill(2), which would signal
 * our process group or every process we may signal, and truncates larger numbers. */
static int parse_pid(const char *s, pid_t *out)
{
	const char *p = s;
	long long v = 0;
	if (*p == '+' || *p == '-')
		p++;
	if (*p == '\0')
		return -EINVAL;
	for (; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		if (v <= INT_MAX) /* keep accumulating only while it can still matter */
			v = v * 10 + (*p - '0');
	}
	if (*s == '-' || v <= 0 || v > INT_MAX)
		return -EINVAL;
	*out = (pid_t)v;
	return 0;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

int nd_signal_cmd_find(const char *procname, pid_t self, pid_t *pids, size_t max)
{
	DIR *d = opendir("/proc");
	if (d == NULL)
		return -errno;
	size_t count = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		pid_t pid;
		if (parse_pid(e->d_name, &pid) != 0 || pid == self)
			continue;
		char path[64], comm[32];
		snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
		FILE *f = fopen(path, "re");
		if (f == NULL)
			continue; /* gone since readdir */
		if (fgets(comm, sizeof(comm), f) == NULL)
			comm[0] = '\0';
		fclose(f);
		comm[strcspn(comm, "\n")] = '\0';
		if (strcmp(comm, procname) != 0)
			continue;
		if (count < max)
			pids[count] = pid;
		count++;
	}
	closedir(d);
	if (count > 0 && max > 0)
		qsort(pids, count < max ? count : max, sizeof(*pids), cmp_pid);
	return count > INT_MAX ? INT_MAX : (int)count;
}

/* Go's text for an errno is the C library's with a lower-case first letter. */
static const char *go_strerror(int errnum, char *buf, size_t size)
{
	snprintf(buf, size, "%s", strerror(errnum));
	buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

int nd_signal_cmd(const char *arg, const char *procname, char **err)
{
	*err = NULL;
	const char *eq = strchr(arg, '=');
	char *cmd = strndup(arg, eq != NULL ? (size_t)(eq - arg) : strlen(arg));
	char *file = NULL;
	const char *pidstr = "";
	pid_t pid = 0;
	int rc = -1;
	if (cmd == NULL)
		abort();

	if (eq != NULL) {
		const char *rest = strchr(eq + 1, '=');
		if (rest != NULL) {
			/* Go prints the extra fields as %v of a []string: [a b c]. */
			char *fields = strdup(rest + 1);
			if (fields == NULL)
				abort();
			for (char *p = fields; *p != '\0'; p++)
				if (*p == '=')
					*p = ' ';
			set_err(err, "invalid signal parameters: [%s]", fields);
			free(fields);
			goto out;
		}
		file = read_pid_file(eq + 1);
		pidstr = file != NULL ? file : eq + 1;
	}

	if (*pidstr == '\0') {
		pid_t found[64];
		int n = nd_signal_cmd_find(procname, getpid(), found, 64);
		if (n < 0) {
			set_err(err, "unable to resolve pid, try providing one");
			goto out;
		}
		if (n == 0) {
			set_err(err, "no %s processes running", procname);
			goto out;
		}
		if (n > 1) {
			char *list;
			size_t size;
			FILE *f = open_memstream(&list, &size);
			if (f == NULL)
				abort();
			fprintf(f, "multiple %s processes running:", procname);
			for (int i = 0; i < n && i < 64; i++)
				fprintf(f, "\n%d", (int)found[i]);
			if (fclose(f) != 0)
				abort();
			*err = list;
			goto out;
		}
		pid = found[0];
	} else if (parse_pid(pidstr, &pid) != 0) {
		set_err(err, "invalid pid: %s", pidstr);
		goto out;
	}

	int sig = 0;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(cmd, commands[i].cmd) == 0)
			sig = commands[i].sig;
	if (sig == 0) {
		char *q = nd_cli_quote(cmd);
		set_err(err, "unknown signal %s", q);
		free(q);
		goto out;
	}
	if (kill(pid, sig) != 0) {
		char buf[128];
		set_err(err, "%s", go_strerror(errno, buf, sizeof(buf)));
		goto out;
	}
	rc = 0;
out:
	free(file);
	free(cmd);
	return rc;
}
