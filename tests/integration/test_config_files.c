/* `natsd -c FILE -t` over the configuration corpus (tests/config): every file is checked by
 * natsd and compared with what nats-server 2.9.10 prints for it, recorded in FILE.expect (exit
 * code on the first line, then the exact output). When Debian's nats-server is installed, it
 * is run on the same file too and must still print the recording: the comparison is with the
 * real thing, not with a guess. Files run from the corpus directory with a clean environment
 * plus their `# ENV:` variables, so messages name them relatively, as the recording does.
 *
 * natsd prints "natsd: " where the reference prints "nats-server: ". Files marked
 * `# ORDER: unordered` are compared as sets of lines (the reference iterates a Go map). The
 * few files natsd answers differently on purpose are listed in tests/config/known-differences
 * with the reason; crash/ holds files that crash the reference (cycles), where natsd must fail
 * cleanly instead. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/nd_servers.h"
#include "tests/support/nd_test.h"

#ifndef ND_CONFIG_DIR
#define ND_CONFIG_DIR "tests/config"
#endif

#define OUT_MAX (256 * 1024)

typedef struct result {
	int code; /* exit code, 128+signal, or -1 on timeout */
	char out[OUT_MAX];
	size_t n;
} result_t;

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);
	size_t r;
	while ((r = fread(b + n, 1, cap - n - 1, f)) > 0) {
		n += r;
		if (cap - n - 1 == 0)
			b = realloc(b, cap *= 2);
	}
	fclose(f);
	b[n] = '\0';
	*len = n;
	return b;
}

/* The `# ENV: K=V` lines of a file as "K=V" strings (plus PATH), into env. */
static size_t file_env(const char *text, char **env, size_t max)
{
	size_t n = 0;
	env[n++] = strdup("PATH=/usr/sbin:/usr/bin:/bin");
	const char *p = text;
	while ((p = strstr(p, "# ENV:")) != NULL && n + 1 < max) {
		p += 6;
		while (*p == ' ')
			p++;
		const char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		while (l > 0 && (p[l - 1] == ' ' || p[l - 1] == '\r'))
			l--;
		env[n++] = strndup(p, l);
	}
	env[n] = NULL;
	return n;
}

/* Runs `bin -c name -t` in dir with env; stdout and stderr together into r. */
static void run_check(const char *bin, const char *dir, const char *name, char **env, result_t *r)
{
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		if (chdir(dir) != 0)
			_exit(127);
		char c_flag[] = "-c", t_flag[] = "-t";
		char *argv[] = {(char *)(uintptr_t)bin, c_flag, (char *)(uintptr_t)name, t_flag,
				NULL};
		execve(bin, argv, env);
		_exit(127);
	}
	close(fds[1]);
	r->n = 0;
	uint64_t deadline = nd_test_now_ns() + 30ull * 1000000000ull;
	for (;;) {
		struct pollfd pfd = {fds[0], POLLIN, 0};
		int64_t left = (int64_t)(deadline - nd_test_now_ns()) / 1000000;
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		char tmp[4096];
		ssize_t k = read(fds[0], tmp, sizeof(tmp));
		if (k <= 0)
			break;
		size_t take = (size_t)k < OUT_MAX - 1 - r->n ? (size_t)k : OUT_MAX - 1 - r->n;
		memcpy(r->out + r->n, tmp, take);
		r->n += take;
	}
	r->out[r->n] = '\0';
	close(fds[0]);
	int st;
	waitpid(pid, &st, 0);
	r->code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Replaces the first "nats-server: " with "natsd: " (the program's own prefix). */
static void as_natsd(const char *in, size_t n, char *out, size_t *outn)
{
	const char *p = memmem(in, n, "nats-server: ", 13);
	if (p == NULL) {
		memcpy(out, in, n);
		*outn = n;
		return;
	}
	size_t before = (size_t)(p - in);
	memcpy(out, in, before);
	memcpy(out + before, "natsd: ", 7);
	memcpy(out + before + 7, p + 13, n - before - 13);
	*outn = n - 6;
}

static int cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *without_prefix(char *line)
{
	if (strncmp(line, "natsd: ", 7) == 0)
		return line + 7;
	if (strncmp(line, "nats-server: ", 13) == 0)
		return line + 13;
	return line;
}

/* Equal as sorted sets of lines (after the prefix of the first line is dropped). */
static bool same_lines(const char *a, size_t an, const char *b, size_t bn)
{
	char *x = strndup(a, an), *y = strndup(b, bn);
	char *lx[512], *ly[512];
	size_t nx = 0, ny = 0;
	for (char *s = strtok(x, "\n"); s && nx < 512; s = strtok(NULL, "\n"))
		lx[nx++] = without_prefix(s);
	for (char *s = strtok(y, "\n"); s && ny < 512; s = strtok(NULL, "\n"))
		ly[ny++] = without_prefix(s);
	bool same = nx == ny;
	qsort(lx, nx, sizeof(char *), cmp_lines);
	qsort(ly, ny, sizeof(char *), cmp_lines);
	for (size_t i = 0; same && i < nx; i++)
		same = strcmp(lx[i], ly[i]) == 0;
	free(x);
	free(y);
	return same;
}

static bool is_known_difference(const char *known, const char *name)
{
	if (known == NULL)
		return false;
	size_t l = strlen(name);
	for (const char *p = known; (p = strstr(p, name)) != NULL; p += l)
		if ((p == known || p[-1] == '\n') && (p[l] == ' ' || p[l] == '\n' || p[l] == '\t'))
			return true;
	return false;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int conf_only(const struct dirent *e)
{
	size_t l = strlen(e->d_name);
	return l > 5 && strcmp(e->d_name + l - 5, ".conf") == 0;
}

ND_TEST(config_files, check_mode_answers_like_nats_server, .timeout = 600)
{
	bool live = nd_reference_available();
	if (!live && getenv("CI") != NULL)
		cr_assert_fail("nats-server is not installed (CI must install it)");
	size_t known_len;
	char *known = read_file(ND_CONFIG_DIR "/known-differences", &known_len);
	struct dirent **list;
	int n = scandir(ND_CONFIG_DIR, &list, conf_only, by_name);
	cr_assert_gt(n, 40, "the corpus is missing");
	static result_t ours, theirs;
	static char want[OUT_MAX];
	int failures = 0, checked = 0, skipped = 0;
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", ND_CONFIG_DIR, name);
		size_t tl, el;
		char *text = read_file(path, &tl);
		snprintf(path, sizeof(path), "%s/%.*s.expect", ND_CONFIG_DIR,
			 (int)(strlen(name) - 5), name);
		char *expect = read_file(path, &el);
		cr_assert_not_null(text);
		cr_assert_not_null(expect, "%s has no .expect", name);
		char *env[16];
		size_t ne = file_env(text, env, 16);
		bool unordered = strstr(text, "# ORDER: unordered") != NULL;
		int want_code = atoi(expect);
		const char *want_out = strchr(expect, '\n');
		want_out = want_out ? want_out + 1 : expect + el;
		size_t want_raw = el - (size_t)(want_out - expect);

		if (live) {
			run_check(nd_reference_path(), ND_CONFIG_DIR, name, env, &theirs);
			bool same =
			    theirs.code == want_code &&
			    (unordered ? same_lines(theirs.out, theirs.n, want_out, want_raw)
				       : theirs.n == want_raw &&
					     memcmp(theirs.out, want_out, want_raw) == 0);
			if (!same) {
				failures++;
				cr_log_error("%s: nats-server no longer prints the recording:\n%s",
					     name, theirs.out);
			}
		}
		if (is_known_difference(known, name)) {
			skipped++;
		} else {
			size_t wn;
			as_natsd(want_out, want_raw, want, &wn);
			run_check(nd_natsd_path(), ND_CONFIG_DIR, name, env, &ours);
			bool same = ours.code == want_code &&
				    (unordered ? same_lines(ours.out, ours.n, want, wn)
					       : ours.n == wn && memcmp(ours.out, want, wn) == 0);
			checked++;
			if (!same) {
				failures++;
				cr_log_error(
				    "%s differs\n=== natsd (exit %d):\n%s=== nats-server (exit "
				    "%d):\n%.*s",
				    name, ours.code, ours.out, want_code, (int)wn, want);
			}
		}
		for (size_t k = 0; k < ne; k++)
			free(env[k]);
		free(text);
		free(expect);
		free(list[i]);
	}
	free(list);
	free(known);
	cr_log_info("%d files checked, %d known differences", checked, skipped);
	cr_assert_eq(failures, 0, "%d of %d configuration files differ", failures, n);
}

/* Include and variable cycles crash the reference (stack overflow); natsd reports them. */
ND_TEST(config_files, cycles_are_errors_not_crashes, .timeout = 120)
{
	struct dirent **list;
	int n = scandir(ND_CONFIG_DIR "/crash", &list, conf_only, by_name);
	cr_assert_geq(n, 4);
	static result_t ours;
	for (int i = 0; i < n; i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/crash/%s", ND_CONFIG_DIR, list[i]->d_name);
		size_t tl;
		char *text = read_file(path, &tl);
		char *env[16];
		size_t ne = file_env(text, env, 16);
		run_check(nd_natsd_path(), ND_CONFIG_DIR "/crash", list[i]->d_name, env, &ours);
		cr_expect_eq(ours.code, 1, "%s: exit %d: %s", list[i]->d_name, ours.code, ours.out);
		cr_expect(strstr(ours.out, "cycle") != NULL, "%s: %s", list[i]->d_name, ours.out);
		cr_expect(strchr(ours.out, '\n') == ours.out + ours.n - 1, "%s: one line: %s",
			  list[i]->d_name, ours.out);
		for (size_t k = 0; k < ne; k++)
			free(env[k]);
		free(text);
		free(list[i]);
	}
	free(list);
}
