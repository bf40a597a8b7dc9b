/* The daemon's life: starts with defaults, says it is ready, exits 0 on SIGINT and SIGTERM,
 * and refuses bad flags with a usage error and a non-zero exit. */
#include <signal.h>

#include "tests/support/nd_proc.h"
#include "tests/support/nd_test.h"

static const char *natsd_path(void)
{
	return nd_proc_path("NATSD_BIN", ND_NATSD_BIN);
}

static void run_until_signal(int sig)
{
	nd_proc_t p;
	const char *argv[] = {natsd_path(), NULL};
	cr_assert_eq(nd_proc_spawn(&p, argv), 0);
	cr_assert(nd_proc_wait_output(&p, "Server is ready", 10000), "log: %s", p.log);
	nd_proc_signal(&p, sig);
	int code = nd_proc_wait_exit(&p, 10000);
	nd_proc_cleanup(&p);
	cr_assert_eq(code, 0, "exit %d, log: %s", code, p.log);
	cr_assert_not_null(strstr(p.log, "Server Exiting"), "log: %s", p.log);
}

ND_TEST(daemon, exits_cleanly_on_sigterm)
{
	run_until_signal(SIGTERM);
}

ND_TEST(daemon, exits_cleanly_on_sigint)
{
	run_until_signal(SIGINT);
}

ND_TEST(daemon, ignores_sighup_and_keeps_running)
{
	nd_proc_t p;
	const char *argv[] = {natsd_path(), NULL};
	cr_assert_eq(nd_proc_spawn(&p, argv), 0);
	cr_assert(nd_proc_wait_output(&p, "Server is ready", 10000));
	nd_proc_signal(&p, SIGHUP);
	cr_assert_eq(nd_proc_wait_exit(&p, 300), -1, "exited on SIGHUP");
	nd_proc_signal(&p, SIGTERM);
	cr_assert_eq(nd_proc_wait_exit(&p, 10000), 0);
	nd_proc_cleanup(&p);
}

/* SIGUSR1 reopens the log file; logging to stderr, the reference says so and carries on. */
ND_TEST(daemon, sigusr1_without_a_log_file_is_ignored)
{
	nd_proc_t p;
	const char *argv[] = {natsd_path(), "-p", "-1", NULL};
	cr_assert_eq(nd_proc_spawn(&p, argv), 0);
	cr_assert(nd_proc_wait_output(&p, "Server is ready", 10000));
	nd_proc_signal(&p, SIGUSR1);
	cr_assert(
	    nd_proc_wait_output(&p, "[INF] File log re-open ignored, not a file logger\n", 10000),
	    "log: %s", p.log);
	nd_proc_signal(&p, SIGTERM);
	cr_assert_eq(nd_proc_wait_exit(&p, 10000), 0);
	nd_proc_cleanup(&p);
}

ND_TEST(daemon, rejects_unknown_flags)
{
	nd_proc_t p;
	const char *argv[] = {natsd_path(), "--no-such-flag", NULL};
	cr_assert_eq(nd_proc_spawn(&p, argv), 0);
	int code = nd_proc_wait_exit(&p, 10000);
	nd_proc_cleanup(&p);
	cr_assert_eq(code, 1);
	cr_assert_not_null(strstr(p.log, "flag provided but not defined: -no-such-flag"), "log: %s",
			   p.log);
	cr_assert_not_null(strstr(p.log, "Usage"), "log: %s", p.log);
}

ND_TEST(daemon, rejects_bad_worker_counts)
{
	static const char *bad[] = {"abc", "-1", "", "99999"};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		nd_proc_t p;
		const char *argv[] = {natsd_path(), "--workers", bad[i], NULL};
		cr_assert_eq(nd_proc_spawn(&p, argv), 0);
		int code = nd_proc_wait_exit(&p, 10000);
		nd_proc_cleanup(&p);
		cr_assert_eq(code, 1, "--workers '%s' exited %d", bad[i], code);
	}
}

ND_TEST(daemon, prints_version_and_help)
{
	nd_proc_t p;
	const char *argv[] = {natsd_path(), "--version", NULL};
	cr_assert_eq(nd_proc_spawn(&p, argv), 0);
	cr_assert_eq(nd_proc_wait_exit(&p, 10000), 0);
	nd_proc_cleanup(&p);
	cr_assert_not_null(strstr(p.log, "natsd: v"), "log: %s", p.log);
	const char *argv2[] = {natsd_path(), "-h", NULL};
	cr_assert_eq(nd_proc_spawn(&p, argv2), 0);
	cr_assert_eq(nd_proc_wait_exit(&p, 10000), 0);
	nd_proc_cleanup(&p);
	cr_assert_not_null(strstr(p.log, "Usage"), "log: %s", p.log);
}
