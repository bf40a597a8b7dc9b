/* Child processes for integration tests: spawn a server, read its log, signal it, and wait for
 * it with a timeout, so that no test can hang on a child. */
#ifndef ND_TESTS_SUPPORT_ND_PROC_H
#define ND_TESTS_SUPPORT_ND_PROC_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct nd_proc {
	pid_t pid;
	int out_fd;      /* read end of the child's stdout+stderr */
	char log[65536]; /* everything read so far, NUL-terminated */
	size_t log_len;
	bool exited;
	int status; /* waitpid status once exited */
} nd_proc_t;

/* Starts argv[0] (a path) with argv, stdout and stderr captured. Returns 0 or -errno. */
int nd_proc_spawn(nd_proc_t *p, const char *const argv[]);

/* Reads output until `needle` appears or timeout_ms passes. Returns true if it appeared. */
bool nd_proc_wait_output(nd_proc_t *p, const char *needle, unsigned timeout_ms);

/* Waits for exit up to timeout_ms; returns the exit code, 128+signal, or -1 on timeout. */
int nd_proc_wait_exit(nd_proc_t *p, unsigned timeout_ms);

/* Sends sig, if the child is still running. */
void nd_proc_signal(nd_proc_t *p, int sig);

/* Kills (SIGKILL) a child that is still running and reaps it; closes the pipe. */
void nd_proc_cleanup(nd_proc_t *p);

/* Path of a built program, from the environment variable `env` or `fallback`. */
const char *nd_proc_path(const char *env, const char *fallback);

#endif
