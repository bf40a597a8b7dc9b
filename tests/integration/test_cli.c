/* The natsd binary's command line: what goes to stdout and stderr and the exit status for help,
 * version, flag errors, commands and -t; and --signal against servers this test starts itself
 * (only ever by pid: the pid-less form would signal whatever natsd runs on the machine). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/nd_servers.h"
#include "tests/support/nd_test.h"

extern char **environ;

/* A finished run of natsd: exit status and each stream on its own. */
struct run {
	int code; /* exit status, or 128 + signal */
	char out[8192], err[8192];
	size_t out_len, err_len;
};

static unsigned long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000u + (unsigned long long)ts.tv_nsec / 1000000u;
}

/* Runs natsd with the NULL-terminated arguments and collects stdout and stderr apart (the
 * shared helper merges them). Fails the test if it runs longer than 10 s. */
static void run_natsd(struct run *r, const char *const *args)
{
	const char *argv[32] = {nd_natsd_path()};
	int n = 1;
	for (; args[n - 1] != NULL; n++) {
		cr_assert(n < 31);
		argv[n] = args[n - 1];
	}
	argv[n] = NULL;
	memset(r, 0, sizeof(*r));

	int out[2], err[2];
	cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(err, O_CLOEXEC), 0);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, err[1], STDERR_FILENO);
	pid_t pid;
	/* posix_spawn does not write argv; its prototype predates const. */
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)(uintptr_t)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	close(err[1]);
	cr_assert_eq(rc, 0, "spawn %s: %s", argv[0], strerror(rc));

	struct pollfd pfd[2] = {{.fd = out[0], .events = POLLIN}, {.fd = err[0], .events = POLLIN}};
	char *bufs[2] = {r->out, r->err};
	size_t *lens[2] = {&r->out_len, &r->err_len};
	unsigned long long deadline = now_ms() + 10000;
	while ((pfd[0].fd >= 0 || pfd[1].fd >= 0) && now_ms() < deadline) {
		if (poll(pfd, 2, 100) <= 0)
			continue;
		for (int i = 0; i < 2; i++) {
			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			size_t room = sizeof(r->out) - 1 - *lens[i];
			ssize_t got = read(pfd[i].fd, bufs[i] + *lens[i], room);
			if (got > 0) {
				*lens[i] += (size_t)got;
			} else if (got == 0 || errno != EINTR || room == 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	int status;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			cr_assert_fail("natsd %s did not finish", args[0] ? args[0] : "");
		}
		usleep(1000);
	}
	r->code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#define RUN(r, ...) run_natsd(r, (const char *[]){__VA_ARGS__, NULL})

static const char *usage(void)
{
	static char text[8192];
	if (text[0] == '\0') {
		FILE *f = fopen(ND_USAGE_FILE, "r");
		cr_assert_not_null(f, "%s", ND_USAGE_FILE);
		size_t n = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
		text[n] = '\0';
	}
	return text;
}

static void expect(const struct run *r, int code, const char *out, const char *err)
{
	cr_assert_eq(r->code, code, "exit %d, stderr: %s", r->code, r->err);
	cr_assert_str_eq(r->out, out);
	cr_assert_str_eq(r->err, err);
}

/* A flag error: the Go-style line, then the usage, both on stderr; exit 1. */
static void expect_flag_error(const struct run *r, const char *line)
{
	char *want = NULL;
	if (asprintf(&want, "%s\n%s", line, usage()) < 0)
		abort();
	expect(r, 1, "", want);
	free(want);
}

ND_TEST(cli, help_goes_to_stdout)
{
	static const char *forms[] = {"-h", "--help", "-help", "help", "HELP", "-h=true"};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct run r;
		RUN(&r, forms[i]);
		expect(&r, 0, usage(), "");
	}
}

ND_TEST(cli, version)
{
	static const char *forms[] = {"-v", "--version", "version", "VERSION", "-h"};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct run r;
		RUN(&r, forms[i], "-v"); /* -h -v: the version wins */
		expect(&r, 0, "natsd: v" ND_VERSION "\n", "");
	}
}

ND_TEST(cli, help_tls)
{
	struct run r;
	RUN(&r, "--help_tls");
	cr_assert_eq(r.code, 0);
	cr_assert_not_null(strstr(r.out, "TLS"), "%s", r.out);
	cr_assert_str_eq(r.err, "");
}

ND_TEST(cli, flag_errors_are_usage_errors)
{
	struct run r;
	RUN(&r, "--bogus");
	expect_flag_error(&r, "flag provided but not defined: -bogus");
	RUN(&r, "-VD");
	expect_flag_error(&r, "flag provided but not defined: -VD");
	RUN(&r, "-p");
	expect_flag_error(&r, "flag needs an argument: -p");
	RUN(&r, "-p", "abc");
	expect_flag_error(&r, "invalid value \"abc\" for flag -p: parse error");
	RUN(&r, "-p", "99999999999999999999");
	expect_flag_error(&r,
			  "invalid value \"99999999999999999999\" for flag -p: value out of range");
	RUN(&r, "-D=x");
	expect_flag_error(&r, "invalid boolean value \"x\" for -D: parse error");
	RUN(&r, "--log_size_limit", "1MB");
	expect_flag_error(&r, "invalid value \"1MB\" for flag -log_size_limit: parse error");
}

ND_TEST(cli, unrecognized_commands)
{
	struct run r;
	RUN(&r, "foo");
	expect(&r, 1, "", "natsd: unrecognized command: \"foo\"\n");
	RUN(&r, "-D", "false");
	expect(&r, 1, "", "natsd: unrecognized command: \"false\"\n");
	RUN(&r, "-");
	expect(&r, 1, "", "natsd: unrecognized command: \"-\"\n");
	RUN(&r, "-t", "-c", "x.conf", "extra");
	expect(&r, 1, "", "natsd: unrecognized command: \"extra\"\n");
}

ND_TEST(cli, check_needs_a_config_file)
{
	struct run r;
	RUN(&r, "-t");
	expect(&r, 1, "",
	       "natsd: must specify [-c, --config] option to check configuration file syntax\n");
	RUN(&r, "-t", "-c", "");
	expect(&r, 1, "",
	       "natsd: must specify [-c, --config] option to check configuration file syntax\n");
}

/* Until the library applies every key: refused clearly, never ignored. */
ND_TEST(cli, flags_not_supported_yet)
{
	struct run r;
	RUN(&r, "--routes", "nats://127.0.0.1:6222");
	expect(&r, 1, "", "natsd: solicited routes require cluster capabilities, e.g. --cluster\n");
	RUN(&r, "--cluster", "nats://127.0.0.1");
	expect(&r, 1, "", "natsd: --cluster: address 127.0.0.1: missing port in address\n");
	RUN(&r, "--routes", "nats://[::1");
	expect(&r, 1, "", "natsd: --routes: error parsing route url [\"nats://[::1\"]\n");
	RUN(&r, "-DV", "-ms", "8443");
	expect(&r, 1, "", "natsd: TLS cert and key required for HTTPS\n");
	RUN(&r, "-p", "70000");
	cr_assert_eq(r.code, 1);
	cr_assert_not_null(strstr(r.err, "70000"), "%s", r.err);
}

/* The --tls* flags as the reference's overrideTLS checks them (serving TLS: test_tls). */
ND_TEST(cli, tls_flags)
{
	struct run r;
	RUN(&r, "--tls");
	expect(&r, 1, "", "natsd: TLS Server certificate must be present and valid\n");
	RUN(&r, "--tlsverify");
	expect(&r, 1, "", "natsd: TLS Server certificate must be present and valid\n");
	RUN(&r, "--tlscert", ND_CERTS_DIR "/server-cert.pem");
	expect(&r, 1, "", "natsd: TLS Server private key must be present and valid\n");
	RUN(&r, "--tlscert", ND_CERTS_DIR "/server-cert.pem", "--tlskey", "/nonexistent/k.pem");
	expect(&r, 1, "",
	       "natsd: error parsing X509 certificate/key pair: open /nonexistent/k.pem: no such "
	       "file or directory\n");
	RUN(&r, "--tlscert", ND_CERTS_DIR "/server-cert.pem", "--tlskey",
	    ND_CERTS_DIR "/server-key.pem", "--tlscacert", "/nonexistent/ca.pem");
	expect(&r, 1, "", "natsd: open /nonexistent/ca.pem: no such file or directory\n");

	char path[] = "/tmp/natsd-tls-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	const char conf[] =
	    "port: -1\ncluster { port: -1, tls { cert_file: \"" ND_CERTS_DIR
	    "/server-cert.pem\", key_file: \"" ND_CERTS_DIR "/server-key.pem\" } }\n";
	cr_assert_eq(write(fd, conf, sizeof(conf) - 1), (ssize_t)(sizeof(conf) - 1));
	close(fd);
	RUN(&r, "-c", path, "-t");
	cr_assert_eq(r.code, 0, "%s", r.err);
	unlink(path);
}

/* A pid file that cannot be written stops the start, as in the reference: no server runs
 * without the file its service manager watches. */
ND_TEST(cli, unwritable_pid_file_is_fatal)
{
	struct run r;
	RUN(&r, "-a", "127.0.0.1", "-p", "-1", "-P", "/nonexistent-dir/natsd.pid");
	cr_assert_eq(r.code, 1, "exit %d: %s", r.code, r.err);
	cr_assert_not_null(
	    strstr(r.err,
		   "Could not write pidfile: open /nonexistent-dir/natsd.pid: no such file or "
		   "directory"),
	    "%s", r.err);
	cr_assert_null(strstr(r.err, "Server is ready"), "%s", r.err);
}

ND_TEST(cli, signal_errors)
{
	struct run r;
	RUN(&r, "--signal", "bogus=99999999");
	expect(&r, 1, "", "natsd: unknown signal \"bogus\"\n");
	RUN(&r, "--signal", "RELOAD=99999999");
	expect(&r, 1, "", "natsd: unknown signal \"RELOAD\"\n");
	RUN(&r, "--signal", "reload=abc");
	expect(&r, 1, "", "natsd: invalid pid: abc\n");
	RUN(&r, "-sl", "quit=99999999");
	expect(&r, 1, "", "natsd: no such process\n");
	RUN(&r, "-sl", "reload=1=2");
	expect(&r, 1, "", "natsd: invalid signal parameters: [2]\n");
	/* --signal comes before -t and config files. */
	RUN(&r, "-t", "-c", "x.conf", "--signal=reload=abc");
	expect(&r, 1, "", "natsd: invalid pid: abc\n");
}

/* Starts natsd and writes its pid file the way natsd and the reference do (no newline); -P is
 * not applied by the daemon yet. */
static void start_server(nd_test_server_t *s, char *pidfile, size_t size)
{
	/* -D: the reference logs each trapped signal at debug level. */
	const char *debug[] = {"-D", NULL};
	cr_assert_eq(nd_test_server_start(s, ND_SERVER_NATSD, debug), 0, "log: %s", s->proc.log);
	snprintf(pidfile, size, "/tmp/nd_test_cli_%d.pid", (int)getpid());
	FILE *f = fopen(pidfile, "w");
	cr_assert_not_null(f);
	fprintf(f, "%d", (int)s->proc.pid);
	fclose(f);
}

ND_TEST(cli, signal_quit_through_a_pid_file)
{
	nd_test_server_t s;
	char pidfile[64], arg[96];
	start_server(&s, pidfile, sizeof(pidfile));

	/* An unknown command is refused before anything is sent. */
	snprintf(arg, sizeof(arg), "bogus=%s", pidfile);
	struct run r;
	RUN(&r, "--signal", arg);
	expect(&r, 1, "", "natsd: unknown signal \"bogus\"\n");
	cr_assert_eq(nd_proc_wait_exit(&s.proc, 200), -1, "the server exited");

	snprintf(arg, sizeof(arg), "quit=%s", pidfile);
	RUN(&r, "--signal", arg);
	expect(&r, 0, "", "");
	int code = nd_proc_wait_exit(&s.proc, 10000);
	nd_proc_cleanup(&s.proc);
	unlink(pidfile);
	cr_assert_eq(code, 0, "exit %d, log: %s", code, s.proc.log);
	cr_assert_not_null(strstr(s.proc.log, "Trapped \"interrupt\" signal"), "%s", s.proc.log);
}

ND_TEST(cli, signal_reload_then_term_by_pid)
{
	nd_test_server_t s;
	char pidfile[64], arg[64];
	start_server(&s, pidfile, sizeof(pidfile));
	unlink(pidfile);

	struct run r;
	snprintf(arg, sizeof(arg), "reload=%d", (int)s.proc.pid);
	RUN(&r, "-sl", arg);
	expect(&r, 0, "", "");
	cr_assert_eq(nd_proc_wait_exit(&s.proc, 300), -1, "exited on SIGHUP: %s", s.proc.log);

	snprintf(arg, sizeof(arg), "term=%d", (int)s.proc.pid);
	RUN(&r, "--signal", arg);
	expect(&r, 0, "", "");
	int code = nd_proc_wait_exit(&s.proc, 10000);
	nd_proc_cleanup(&s.proc);
	cr_assert_eq(code, 0, "exit %d, log: %s", code, s.proc.log);
	cr_assert_not_null(strstr(s.proc.log, "Trapped \"terminated\" signal"), "%s", s.proc.log);
}
