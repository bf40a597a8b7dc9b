/* Byte transcripts, replayed against natsd and against Debian's nats-server, whose answers must
 * agree after normalising what legitimately differs (ids, ports, versions).
 *
 * Transcript format (tests/transcripts/ *.txt), one step per line:
 *   # text            a comment
 *   > bytes           send bytes on connection 1; "N> bytes" sends on connection N (1-9),
 *                     opening it on first use
 *   ~ ms              wait
 *   @ conf text       (before any send) start both servers with a configuration file holding
 *                     text (escapes apply, so \n separates lines); several @ lines append
 * After every send the runner waits 40 ms (so that connections see each other's effects in
 * order); at the end it reads every connection until it has been quiet for 300 ms.
 * Escapes in bytes: \r \n \t \\ \xNN, and {N*c} for N copies of the character c.
 *
 * ND_TRANSCRIPT=part runs only the transcripts whose name contains part; ND_TRANSCRIPT_SHOW=1
 * prints both outputs.
 *
 * Normalisation: an INFO line becomes "INFO <key,key,...>" (key names in order, which must
 * match) plus the values of proto, headers and max_payload. A connection the server closed ends
 * with "<closed>". */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/support/nd_servers.h"
#include "tests/support/nd_test.h"

#ifndef ND_TRANSCRIPT_DIR
#define ND_TRANSCRIPT_DIR "tests/transcripts"
#endif

#define MAX_CONNS 9
#define OUT_MAX (4 * 1024 * 1024)

typedef struct buf {
	char *p;
	size_t n, cap;
} buf_t;

static void buf_put(buf_t *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		if (b->p == NULL)
			abort();
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void buf_puts(buf_t *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes the escapes of a transcript line into out. */
static void unescape(const char *s, buf_t *out)
{
	out->n = 0;
	buf_put(out, "", 0);
	while (*s != '\0') {
		if (*s == '\\' && s[1] != '\0') {
			char c = s[1];
			s += 2;
			if (c == 'r')
				buf_put(out, "\r", 1);
			else if (c == 'n')
				buf_put(out, "\n", 1);
			else if (c == 't')
				buf_put(out, "\t", 1);
			else if (c == 'x' && hexval(s[0]) >= 0 && hexval(s[1]) >= 0) {
				char v = (char)(hexval(s[0]) * 16 + hexval(s[1]));
				buf_put(out, &v, 1);
				s += 2;
			} else
				buf_put(out, &c, 1);
		} else if (*s == '{' && strchr(s, '*') != NULL && strchr(s, '}') != NULL) {
			char *end;
			long n = strtol(s + 1, &end, 10);
			if (end != s + 1 && *end == '*' && end[2] == '}') {
				for (long i = 0; i < n; i++)
					buf_put(out, end + 1, 1);
				s = end + 3;
			} else {
				buf_put(out, s, 1);
				s++;
			}
		} else {
			buf_put(out, s, 1);
			s++;
		}
	}
}

/* Renders received bytes: printable as is, the rest escaped, INFO lines normalised. */
static void render(const char *data, size_t n, bool closed, buf_t *out)
{
	size_t i = 0;
	while (i < n) {
		if (n - i >= 5 && memcmp(data + i, "INFO ", 5) == 0) {
			const char *eol = memchr(data + i, '\n', n - i);
			size_t end = eol ? (size_t)(eol - data) + 1 : n;
			buf_puts(out, "INFO <");
			const char *p = data + i;
			bool first = true;
			while ((p = memchr(p, '"', (size_t)(data + end - p))) != NULL) {
				const char *q = memchr(p + 1, '"', (size_t)(data + end - p - 1));
				if (q == NULL)
					break;
				if (q + 1 < data + end && q[1] == ':') {
					if (!first)
						buf_puts(out, ",");
					first = false;
					buf_put(out, p + 1, (size_t)(q - p - 1));
					size_t klen = (size_t)(q - p - 1);
					if ((klen == 5 && memcmp(p + 1, "proto", 5) == 0) ||
					    (klen == 7 && memcmp(p + 1, "headers", 7) == 0) ||
					    (klen == 11 && memcmp(p + 1, "max_payload", 11) == 0)) {
						const char *v = q + 2, *ve = v;
						while (ve < data + end && *ve != ',' && *ve != '}')
							ve++;
						buf_puts(out, "=");
						buf_put(out, v, (size_t)(ve - v));
					}
					p = q + 2;
				} else {
					p = q + 1;
				}
			}
			buf_puts(out, ">\\r\\n\n");
			i = end;
			continue;
		}
		unsigned char c = (unsigned char)data[i++];
		char tmp[8];
		if (c == '\r')
			buf_puts(out, "\\r");
		else if (c == '\n')
			buf_puts(out, "\\n\n");
		else if (c == '\\')
			buf_puts(out, "\\\\");
		else if (c >= 32 && c < 127)
			buf_put(out, (const char *)&c, 1);
		else {
			snprintf(tmp, sizeof(tmp), "\\x%02x", c);
			buf_puts(out, tmp);
		}
	}
	if (closed)
		buf_puts(out, "<closed>\n");
}

/* Runs one transcript against a server; renders every connection's output into out. Runs on
 * its own thread (both servers at once), so problems are reported in the output, not asserted:
 * the comparison then fails with the reason in plain sight. */
static void run(nd_server_kind_t kind, const char *path, buf_t *out)
{
	const char *who = kind == ND_SERVER_NATSD ? "natsd" : "nats-server";
	nd_test_server_t srv;
	char msg[512];
	/* A configuration from the transcript's "@ conf" lines, in a file of its own per run. */
	char conf_path[256] = "";
	const char *extra[3] = {NULL, NULL, NULL};
	FILE *pre = fopen(path, "r");
	if (pre != NULL) {
		buf_t conf = {0}, piece = {0};
		char *l = NULL;
		size_t lcap = 0;
		ssize_t ll;
		while ((ll = getline(&l, &lcap, pre)) >= 0) {
			while (ll > 0 && (l[ll - 1] == '\n' || l[ll - 1] == '\r'))
				l[--ll] = '\0';
			if (strncmp(l, "@ conf ", 7) == 0) {
				unescape(l + 7, &piece);
				buf_put(&conf, piece.p, piece.n);
				buf_puts(&conf, "\n");
			}
		}
		free(l);
		fclose(pre);
		if (conf.n > 0) {
			snprintf(conf_path, sizeof(conf_path), "/tmp/nd-transcript-%d-%d.conf",
				 (int)getpid(), (int)kind);
			FILE *cf = fopen(conf_path, "w");
			if (cf != NULL) {
				fwrite(conf.p, 1, conf.n, cf);
				fclose(cf);
			}
			extra[0] = "-c";
			extra[1] = conf_path;
		}
		free(conf.p);
		free(piece.p);
	}
	int started = nd_test_server_start(&srv, kind, extra[0] ? extra : NULL);
	if (conf_path[0] != '\0')
		unlink(conf_path);
	if (started != 0) {
		snprintf(msg, sizeof(msg), "!!! %s did not start\n", who);
		buf_puts(out, msg);
		buf_puts(out, srv.proc.log);
		return;
	}
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(msg, sizeof(msg), "!!! cannot open %s\n", path);
		buf_puts(out, msg);
		nd_test_server_stop(&srv);
		return;
	}
	int fds[MAX_CONNS + 1];
	for (int i = 0; i <= MAX_CONNS; i++)
		fds[i] = -1;
	buf_t line = {0}, bytes = {0};
	char *raw = NULL;
	size_t rawcap = 0;
	ssize_t len;
	while ((len = getline(&raw, &rawcap, f)) >= 0) {
		while (len > 0 && (raw[len - 1] == '\n' || raw[len - 1] == '\r'))
			raw[--len] = '\0';
		if (len == 0 || raw[0] == '#' || raw[0] == '@')
			continue;
		if (raw[0] == '~') {
			usleep((useconds_t)atoi(raw + 1) * 1000u);
			continue;
		}
		int conn = 1;
		const char *p = raw;
		if (p[0] >= '1' && p[0] <= '9' && p[1] == '>') {
			conn = p[0] - '0';
			p++;
		}
		if (p[0] != '>') {
			snprintf(msg, sizeof(msg), "!!! bad transcript line: %.200s\n", raw);
			buf_puts(out, msg);
			continue;
		}
		p++;
		if (*p == ' ')
			p++;
		if (fds[conn] < 0) {
			fds[conn] = nd_test_connect(srv.port);
			if (fds[conn] < 0) {
				nd_proc_wait_output(&srv.proc, "\x01", 100); /* collect the log */
				snprintf(msg, sizeof(msg), "!!! connect to %s failed; its log:\n",
					 who);
				buf_puts(out, msg);
				buf_puts(out, srv.proc.log);
				break;
			}
			usleep(20000);
		}
		unescape(p, &bytes);
		/* A write to a connection the server closed is part of the transcript, not a
		 * failure of the run: record nothing and go on. */
		size_t off = 0;
		while (off < bytes.n) {
			ssize_t w = send(fds[conn], bytes.p + off, bytes.n - off, MSG_NOSIGNAL);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		usleep(40000);
	}
	free(raw);
	fclose(f);
	char *data = malloc(OUT_MAX);
	for (int i = 1; i <= MAX_CONNS; i++) {
		if (fds[i] < 0)
			continue;
		bool eof = false;
		size_t n = nd_test_read_idle(fds[i], data, OUT_MAX, 300, &eof);
		char hdr[32];
		snprintf(hdr, sizeof(hdr), "--- connection %d\n", i);
		buf_puts(out, hdr);
		render(data, n, eof, out);
		buf_puts(out, "\n");
		close(fds[i]);
	}
	free(data);
	free(line.p);
	free(bytes.p);
	nd_test_server_stop(&srv);
}

typedef struct run_arg {
	nd_server_kind_t kind;
	const char *path;
	buf_t out;
} run_arg_t;

static void *run_thread(void *arg)
{
	run_arg_t *r = arg;
	run(r->kind, r->path, &r->out);
	return NULL;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

ND_TEST(transcripts, natsd_answers_like_nats_server, .timeout = 900)
{
	if (!nd_reference_available()) {
		cr_assert(getenv("CI") == NULL,
			  "nats-server is not installed (CI must install it)");
		cr_skip_test("nats-server is not installed");
	}
	DIR *dir = opendir(ND_TRANSCRIPT_DIR);
	cr_assert_not_null(dir, "no transcript directory %s", ND_TRANSCRIPT_DIR);
	char *names[1024];
	size_t count = 0;
	struct dirent *e;
	while ((e = readdir(dir)) != NULL && count < 1024) {
		size_t l = strlen(e->d_name);
		if (l > 4 && strcmp(e->d_name + l - 4, ".txt") == 0)
			names[count++] = strdup(e->d_name);
	}
	closedir(dir);
	qsort(names, count, sizeof(char *), cmp_names);
	const char *only = getenv("ND_TRANSCRIPT");
	int failures = 0, ran = 0;
	for (size_t i = 0; i < count; i++) {
		if (only != NULL && strstr(names[i], only) == NULL) {
			free(names[i]);
			continue;
		}
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", ND_TRANSCRIPT_DIR, names[i]);
		/* Both servers at once: the transcript's timing applies to each independently. */
		run_arg_t a = {ND_SERVER_NATSD, path, {0}}, b = {ND_SERVER_REFERENCE, path, {0}};
		pthread_t ta, tb;
		pthread_create(&ta, NULL, run_thread, &a);
		pthread_create(&tb, NULL, run_thread, &b);
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		buf_t ours = a.out, theirs = b.out;
		ran++;
		if (getenv("ND_TRANSCRIPT_SHOW") != NULL)
			fprintf(stderr, "=== %s natsd:\n%s=== nats-server:\n%s", names[i], ours.p,
				theirs.p);
		if (strcmp(ours.p, theirs.p) != 0) {
			failures++;
			cr_log_error("transcript %s differs\n=== natsd:\n%s=== nats-server:\n%s",
				     names[i], ours.p, theirs.p);
		}
		free(ours.p);
		free(theirs.p);
		free(names[i]);
	}
	cr_assert_gt(ran, 0, "no transcript ran");
	cr_assert_eq(failures, 0, "%d of %d transcripts differ from nats-server", failures, ran);
}
