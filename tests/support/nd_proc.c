/* posix_spawn with a pipe for output; polling reads and waitpid(WNOHANG) with deadlines. */
#define _GNU_SOURCE
#include "tests/support/nd_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static unsigned long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000u + (unsigned long long)ts.tv_nsec / 1000000u;
}

int nd_proc_spawn(nd_proc_t *p, const char *const argv[])
{
	memset(p, 0, sizeof(*p));
	p->pid = -1;
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0)
		return -errno;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDERR_FILENO);
	/* posix_spawn does not write argv; its prototype predates const. */
	int err = posix_spawn(&p->pid, argv[0], &fa, NULL, (char *const *)(uintptr_t)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (err != 0) {
		close(fds[0]);
		p->pid = -1;
		return -err;
	}
	p->out_fd = fds[0];
	fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
	return 0;
}

/* Reads what is available, waiting up to wait_ms for something. */
static void pump(nd_proc_t *p, int wait_ms)
{
	if (p->out_fd < 0)
		return;
	struct pollfd pfd = {.fd = p->out_fd, .events = POLLIN};
	if (poll(&pfd, 1, wait_ms) <= 0)
		return;
	for (;;) {
		size_t room = sizeof(p->log) - 1 - p->log_len;
		if (room == 0) {
			/* keep the newest half: tests look for recent lines */
			size_t half = sizeof(p->log) / 2;
			memmove(p->log, p->log + p->log_len - half, half);
			p->log_len = half;
			room = sizeof(p->log) - 1 - p->log_len;
		}
		ssize_t n = read(p->out_fd, p->log + p->log_len, room);
		if (n <= 0) {
			if (n == 0) {
				close(p->out_fd);
				p->out_fd = -1;
			}
			break;
		}
		p->log_len += (size_t)n;
		p->log[p->log_len] = '\0';
	}
}

bool nd_proc_wait_output(nd_proc_t *p, const char *needle, unsigned timeout_ms)
{
	unsigned long long deadline = now_ms() + timeout_ms;
	for (;;) {
		if (strstr(p->log, needle) != NULL)
			return true;
		unsigned long long now = now_ms();
		if (now >= deadline || (p->out_fd < 0))
			return strstr(p->log, needle) != NULL;
		pump(p, (int)(deadline - now < 50 ? deadline - now : 50));
	}
}

int nd_proc_wait_exit(nd_proc_t *p, unsigned timeout_ms)
{
	unsigned long long deadline = now_ms() + timeout_ms;
	while (!p->exited) {
		pid_t r = waitpid(p->pid, &p->status, WNOHANG);
		if (r == p->pid) {
			p->exited = true;
			break;
		}
		if (now_ms() >= deadline)
			return -1;
		pump(p, 10);
	}
	pump(p, 0);
	if (WIFEXITED(p->status))
		return WEXITSTATUS(p->status);
	return 128 + WTERMSIG(p->status);
}

void nd_proc_signal(nd_proc_t *p, int sig)
{
	if (p->pid > 0 && !p->exited)
		kill(p->pid, sig);
}

void nd_proc_cleanup(nd_proc_t *p)
{
	if (p->pid > 0 && !p->exited) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, &p->status, 0);
		p->exited = true;
	}
	if (p->out_fd >= 0)
		close(p->out_fd);
	p->out_fd = -1;
}

const char *nd_proc_path(const char *env, const char *fallback)
{
	const char *v = getenv(env);
	return v != NULL && *v != '\0' ? v : fallback;
}
