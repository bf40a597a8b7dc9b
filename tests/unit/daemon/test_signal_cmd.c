/* --signal against processes this test forks itself (each one named uniquely, so that the
 * pid-less form can never find anybody else's server): the signal for each command, pids from
 * numbers and files, and the reference's error texts in the reference's order. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/signal_cmd.h"
#include "tests/support/nd_test.h"

static const int signals[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};

/* A name no other process has: 15 characters at most (the kernel's limit for comm). */
static const char *unique_name(void)
{
	static char name[16];
	snprintf(name, sizeof(name), "ndsig%d", (int)getpid());
	return name;
}

/* Forks a child named `name` that waits to be signalled with default dispositions. */
static pid_t spawn_child(const char *name)
{
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		sigset_t set;
		sigemptyset(&set);
		for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
			signal(signals[i], SIG_DFL);
			sigaddset(&set, signals[i]);
		}
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		prctl(PR_SET_NAME, name);
		if (write(fds[1], "x", 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	char c;
	close(fds[1]);
	cr_assert_eq(read(fds[0], &c, 1), 1);
	close(fds[0]);
	return pid;
}

/* Waits (up to 10 s) for a child and returns the signal that killed it, 0 if none. */
static int reap(pid_t pid)
{
	int status;
	for (int i = 0; i < 10000; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
		usleep(1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	cr_assert_fail("child %d did not die", (int)pid);
	return -1;
}

static void expect_error(const char *arg, const char *msg)
{
	char *err;
	cr_assert_eq(nd_signal_cmd(arg, unique_name(), &err), -1, "%s", arg);
	cr_assert_str_eq(err, msg, "%s", arg);
	free(err);
}

ND_TEST(signal_cmd, each_command_sends_its_signal)
{
	static const struct {
		const char *cmd;
		int sig;
	} cases[] = {
	    {"stop", SIGKILL},   {"quit", SIGINT},   {"term", SIGTERM},
	    {"reopen", SIGUSR1}, {"reload", SIGHUP}, {"ldm", SIGUSR2},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pid_t pid = spawn_child(unique_name());
		char arg[64], *err;
		snprintf(arg, sizeof(arg), "%s=%d", cases[i].cmd, (int)pid);
		cr_assert_eq(nd_signal_cmd(arg, unique_name(), &err), 0, "%s: %s", arg, err);
		cr_assert_null(err);
		cr_assert_eq(reap(pid), cases[i].sig, "%s", arg);
	}
}

ND_TEST(signal_cmd, pid_from_a_file)
{
	char dir[] = "/tmp/nd_signal_cmd_XXXXXX", path[64], arg[96], msg[128], *err;
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/natsd.pid", dir);

	/* The server's own format: the number, no newline. */
	pid_t pid = spawn_child(unique_name());
	FILE *f = fopen(path, "w");
	fprintf(f, "%d", (int)pid);
	fclose(f);
	snprintf(arg, sizeof(arg), "term=%s", path);
	cr_assert_eq(nd_signal_cmd(arg, unique_name(), &err), 0, "%s", err);
	cr_assert_eq(reap(pid), SIGTERM);

	/* A trailing newline makes the content no number; the message shows it raw. */
	f = fopen(path, "w");
	fprintf(f, "%d\n", (int)pid);
	fclose(f);
	snprintf(msg, sizeof(msg), "invalid pid: %d\n", (int)pid);
	expect_error(arg, msg);

	/* Something that cannot be read as a file is taken as the pid itself. */
	snprintf(arg, sizeof(arg), "term=%s", dir);
	snprintf(msg, sizeof(msg), "invalid pid: %s", dir);
	expect_error(arg, msg);
	expect_error("term=/nonexistent/x.pid", "invalid pid: /nonexistent/x.pid");

	unlink(path);
	rmdir(dir);
}

ND_TEST(signal_cmd, bad_pids_and_parameters)
{
	expect_error("reload=abc", "invalid pid: abc");
	expect_error("reload=1_0", "invalid pid: 1_0");
	expect_error("reload= 5", "invalid pid:  5");
	expect_error("reload=0x10", "invalid pid: 0x10");
	expect_error("reload=99999999999", "invalid pid: 99999999999");
	/* natsd refuses what kill(2) would take as a process group or "everybody". */
	expect_error("reload=0", "invalid pid: 0");
	expect_error("reload=-1", "invalid pid: -1");
	expect_error("quit=99999999", "no such process");
	expect_error("quit=+99999999", "no such process");
	expect_error("reload=1=2", "invalid signal parameters: [2]");
	expect_error("reload=1=2=3", "invalid signal parameters: [2 3]");
	expect_error("reload=1=", "invalid signal parameters: []");
	expect_error("reload=abc=2", "invalid signal parameters: [2]");
}

ND_TEST(signal_cmd, the_pid_is_checked_before_the_command)
{
	expect_error("bogus=99999999", "unknown signal \"bogus\"");
	expect_error("RELOAD=99999999", "unknown signal \"RELOAD\"");
	expect_error("=99999999", "unknown signal \"\"");
	expect_error("bo\tgus=99999999", "unknown signal \"bo\\tgus\"");
	expect_error("bogus=abc", "invalid pid: abc");
	/* Without a pid the process is looked up first. */
	char msg[64];
	snprintf(msg, sizeof(msg), "no %s processes running", unique_name());
	expect_error("bogus", msg);
}

ND_TEST(signal_cmd, without_a_pid_the_process_is_found_by_name)
{
	char msg[128], *err;
	snprintf(msg, sizeof(msg), "no %s processes running", unique_name());
	expect_error("quit", msg);
	expect_error("quit=", msg);

	/* An empty pid file reads as no pid at all (the reference's quirk). */
	char path[] = "/tmp/nd_signal_cmd_XXXXXX", arg[64];
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	snprintf(arg, sizeof(arg), "quit=%s", path);
	expect_error(arg, msg);

	pid_t a = spawn_child(unique_name()), b = spawn_child(unique_name());
	pid_t lo = a < b ? a : b, hi = a < b ? b : a;
	snprintf(msg, sizeof(msg), "multiple %s processes running:\n%d\n%d", unique_name(), (int)lo,
		 (int)hi);
	expect_error("quit", msg);
	pid_t found[4];
	cr_assert_eq(nd_signal_cmd_find(unique_name(), getpid(), found, 4), 2);
	cr_assert_eq(found[0], lo);
	cr_assert_eq(found[1], hi);
	cr_assert_eq(nd_signal_cmd_find(unique_name(), a, found, 4), 1, "self is excluded");
	cr_assert_eq(found[0], b);
	cr_assert_eq(nd_signal_cmd_find(unique_name(), getpid(), found, 1), 2);

	kill(a, SIGKILL);
	cr_assert_eq(reap(a), SIGKILL);
	cr_assert_eq(nd_signal_cmd(arg, unique_name(), &err), 0, "%s", err);
	cr_assert_eq(reap(b), SIGINT);
	unlink(path);
}
