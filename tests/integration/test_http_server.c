/* The monitoring port's HTTP server in-process: a runtime, the server, and a handler that
 * answers some requests on the worker and others later from its own thread. Real sockets on
 * 127.0.0.1: keep-alive, pipelining in order, 404, limits, timeouts, the connection cap. */
#include <errno.h>
#include <http_parser.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "actors/http_server.h"
#include "runtime/runtime.h"
#include "tests/support/nd_test.h"

/* ---- the handler: /slow* answered 100 ms later from the answering thread ---- */

typedef struct job {
	struct job *next;
	nd_http_reply_t *reply;
	char path[64];
} job_t;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static job_t *jobs, **jobs_tail = &jobs;
static bool quit;
static pthread_t answerer;

static void answer(nd_http_reply_t *r, const char *path)
{
	if (strcmp(path, "/big") == 0) {
		size_t n = 1u << 20;
		char *body = malloc(n);
		memset(body, 'x', n);
		nd_http_reply_send(r, 200, "application/octet-stream", NULL, body, n);
		free(body);
		return;
	}
	if (strcmp(path, "/404") == 0) {
		nd_http_reply_send(r, 404, "text/plain; charset=utf-8",
				   "X-Content-Type-Options: nosniff\r\n", "404 page not found\n",
				   19);
		return;
	}
	char body[128];
	int n = snprintf(body, sizeof(body), "{\"path\":\"%s\"}", path);
	nd_http_reply_send(r, 200, "application/json", NULL, body, (size_t)n);
}

static void *answer_main(void *arg)
{
	pthread_mutex_lock(&mu);
	for (;;) {
		while (jobs == NULL && !quit)
			pthread_cond_wait(&cv, &mu);
		if (jobs == NULL)
			break;
		job_t *j = jobs;
		jobs = j->next;
		if (jobs == NULL)
			jobs_tail = &jobs;
		pthread_mutex_unlock(&mu);
		usleep(100 * 1000);
		answer(j->reply, j->path);
		free(j);
		pthread_mutex_lock(&mu);
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void handler(void *ctx, const nd_http_request_t *req, nd_http_reply_t *reply)
{
	if (strncmp(req->path, "/slow", 5) != 0) {
		answer(reply, req->path);
		return;
	}
	job_t *j = calloc(1, sizeof(*j));
	j->reply = reply;
	snprintf(j->path, sizeof(j->path), "%s", req->path);
	pthread_mutex_lock(&mu);
	*jobs_tail = j;
	jobs_tail = &j->next;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

/* ---- fixture ---- */

static nd_runtime_t *rt;
static nd_http_server_t *srv;
static int port;

static void start(unsigned max_conns)
{
	nd_runtime_opts_t ro;
	nd_runtime_opts_default(&ro);
	ro.workers = 2;
	cr_assert_eq(nd_runtime_create(&rt, &ro), 0);
	cr_assert_eq(nd_runtime_start(rt), 0);
	quit = false;
	pthread_create(&answerer, NULL, answer_main, NULL);
	nd_http_server_opts_t o = {.host = "127.0.0.1",
				   .port = -1,
				   .header_timeout_ms = 300,
				   .idle_timeout_ms = 5000,
				   .write_timeout_ms = 2000,
				   .max_header_bytes = 4096,
				   .max_conns = max_conns};
	cr_assert_eq(nd_http_server_start(&srv, rt, &o, handler, NULL, &port), 0);
	cr_assert_gt(port, 0);
}

static void finish(void)
{
	pthread_mutex_lock(&mu);
	quit = true;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(answerer, NULL);
	nd_http_server_stop(srv);
	nd_runtime_shutdown(rt);
	cr_assert_eq(nd_runtime_destroy(rt), 0, "runtime leaked actors or messages");
}

/* Connects from 127.0.0.<host> (any 127/8 source works on loopback): distinct peers. */
static int dial_from(int host)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in src = {.sin_family = AF_INET};
	src.sin_addr.s_addr = htonl(0x7f000000u | (uint32_t)host);
	cr_assert_eq(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static int dial(void)
{
	return dial_from(1);
}

static void send_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* the server may close first; the reads tell */
		s += w;
		n -= (size_t)w;
	}
}

static void send_str(int fd, const char *s)
{
	send_all(fd, s, strlen(s));
}

/* Reads into buf until `until` returns true, EOF or timeout. Returns bytes read; *eof set
 * when the server closed. */
typedef bool (*enough_fn)(const char *buf, size_t len);

static size_t read_until(int fd, char *buf, size_t cap, enough_fn until, unsigned timeout_ms,
			 bool *eof)
{
	size_t len = 0;
	*eof = false;
	uint64_t deadline = nd_test_now_ns() + (uint64_t)timeout_ms * 1000000u;
	while (len < cap - 1 && (until == NULL || !until(buf, len))) {
		uint64_t now = nd_test_now_ns();
		if (now >= deadline)
			break;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, (int)((deadline - now) / 1000000u) + 1) <= 0)
			continue;
		ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n <= 0) {
			*eof = true;
			break;
		}
		len += (size_t)n;
		buf[len] = '\0';
	}
	buf[len] = '\0';
	return len;
}

/* Splits complete responses (head + Content-Length body); returns how many. */
static int count_responses(const char *buf, size_t len, const char **starts, int max)
{
	int n = 0;
	size_t pos = 0;
	while (pos < len && n < max) {
		const char *end = strstr(buf + pos, "\r\n\r\n");
		if (end == NULL)
			break;
		size_t head = (size_t)(end - (buf + pos)) + 4;
		const char *cl = strstr(buf + pos, "Content-Length: ");
		size_t body = 0;
		if (cl != NULL && cl < end)
			body = strtoul(cl + 16, NULL, 10);
		if (pos + head + body > len)
			break;
		if (starts != NULL)
			starts[n] = buf + pos;
		n++;
		pos += head + body;
	}
	return n;
}

static bool one_response(const char *buf, size_t len)
{
	return count_responses(buf, len, NULL, 8) >= 1;
}

static bool three_responses(const char *buf, size_t len)
{
	return count_responses(buf, len, NULL, 8) >= 3;
}

static bool never(const char *buf, size_t len)
{
	return false;
}

/* ---- tests ---- */

ND_TEST(http_server, keep_alive_three_requests)
{
	start(16);
	int fd = dial();
	static const char *paths[] = {"/a", "/slow-b", "/c?x=1"};
	for (int i = 0; i < 3; i++) {
		char req[128], buf[2048], want[128];
		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", paths[i]);
		send_str(fd, req);
		bool eof;
		size_t n = read_until(fd, buf, sizeof(buf), one_response, 5000, &eof);
		cr_assert_not(eof, "closed after request %d", i);
		cr_assert(n > 0);
		cr_assert(
		    strncmp(buf,
			    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: ", 55) == 0,
		    "%s", buf);
		const char *p = strchr(paths[i], '?');
		snprintf(want, sizeof(want), "{\"path\":\"%.*s\"}",
			 (int)(p ? (size_t)(p - paths[i]) : strlen(paths[i])), paths[i]);
		cr_assert(strstr(buf, want) != NULL, "%s", buf);
		cr_assert_null(strstr(buf, "Connection"), "%s", buf);
	}
	close(fd);
	finish();
}

ND_TEST(http_server, pipelined_answers_in_order)
{
	start(16);
	int fd = dial();
	/* The slow ones are answered 100 ms later from another thread, the fast one at once. */
	send_str(fd, "GET /slow1 HTTP/1.1\r\nHost: t\r\n\r\n"
		     "GET /fast HTTP/1.1\r\nHost: t\r\n\r\n"
		     "GET /slow2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	char buf[4096];
	bool eof;
	size_t n = read_until(fd, buf, sizeof(buf), three_responses, 5000, &eof);
	const char *r[3];
	cr_assert_eq(count_responses(buf, n, r, 3), 3, "%s", buf);
	cr_assert(strstr(r[0], "{\"path\":\"/slow1\"}") < r[1]);
	cr_assert(strstr(r[1], "{\"path\":\"/fast\"}") < r[2]);
	cr_assert_not_null(strstr(r[2], "{\"path\":\"/slow2\"}"));
	cr_assert_not_null(strstr(r[2], "Connection: close\r\n"));
	read_until(fd, buf, sizeof(buf), never, 3000, &eof);
	cr_assert(eof, "the server closes after Connection: close");
	close(fd);
	finish();
}

ND_TEST(http_server, not_found_like_go)
{
	start(16);
	int fd = dial();
	send_str(fd, "GET /404 HTTP/1.1\r\nHost: t\r\n\r\n");
	char buf[2048];
	bool eof;
	size_t n = read_until(fd, buf, sizeof(buf), one_response, 5000, &eof);
	const char *pre = "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; "
			  "charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nDate: ";
	const char *post = " GMT\r\nContent-Length: 19\r\n\r\n404 page not found\n";
	cr_assert_eq(n, strlen(pre) + 25 + strlen(post), "%s", buf);
	cr_assert(strncmp(buf, pre, strlen(pre)) == 0, "%s", buf);
	cr_assert_str_eq(buf + strlen(pre) + 25, post);
	close(fd);
	finish();
}

ND_TEST(http_server, oversized_header_431_and_close)
{
	start(16);
	int fd = dial();
	size_t big = 16384;
	char *req = malloc(big + 64);
	int h = snprintf(req, 64, "GET / HTTP/1.1\r\nHost: t\r\nX-Big: ");
	memset(req + h, 'a', big);
	memcpy(req + h + big, "\r\n\r\n", 5);
	send_str(fd, req);
	free(req);
	char buf[2048];
	bool eof;
	read_until(fd, buf, sizeof(buf), never, 3000, &eof);
	cr_assert(eof);
	cr_assert_str_eq(buf, "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: "
			      "text/plain; charset=utf-8\r\nConnection: close\r\n\r\n431 Request "
			      "Header Fields Too Large");
	close(fd);
	finish();
}

ND_TEST(http_server, bad_request_400_and_close)
{
	start(16);
	int fd = dial();
	send_str(fd, "GARBAGE\r\n\r\n");
	char buf[2048];
	bool eof;
	read_until(fd, buf, sizeof(buf), never, 3000, &eof);
	cr_assert(eof);
	cr_assert_str_eq(buf, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; "
			      "charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request");
	close(fd);
	finish();
}

ND_TEST(http_server, half_request_closed_after_header_timeout)
{
	start(16);
	int fd = dial();
	send_str(fd, "GET /a HTTP/1.1\r\nHo");
	char buf[256];
	bool eof;
	size_t n = read_until(fd, buf, sizeof(buf), never, 5000, &eof);
	cr_assert(eof, "still open");
	cr_assert_eq(n, 0, "closed without a word, as Go: %s", buf);
	close(fd);
	/* A trickle does not extend the deadline. */
	fd = dial();
	uint64_t t0 = nd_test_now_ns();
	static const char *piece = "GET /a HTTP/1.1\r\nX: ";
	send_str(fd, piece);
	for (int i = 0; i < 40; i++) {
		usleep(50 * 1000);
		send_str(fd, "a");
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 0) > 0)
			break;
	}
	read_until(fd, buf, sizeof(buf), never, 5000, &eof);
	cr_assert(eof);
	cr_assert_lt(nd_test_now_ns() - t0, 1900000000ull, "the trickle kept it open");
	close(fd);
	finish();
}

static bool conns_zero(void *arg)
{
	return nd_http_server_conns(srv) == 0;
}

ND_TEST(http_server, over_the_cap_closed)
{
	start(4);
	int fds[4];
	char buf[2048];
	bool eof;
	for (int i = 0; i < 4; i++) { /* four peers: each within its share of one */
		fds[i] = dial_from(i + 1);
		send_str(fds[i], "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
		read_until(fds[i], buf, sizeof(buf), one_response, 5000, &eof);
		cr_assert_not(eof);
	}
	cr_assert_eq(nd_http_server_conns(srv), 4);
	for (int k = 0; k < 3; k++) {
		int extra = dial_from(10 + k);
		send_str(extra, "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
		size_t n = read_until(extra, buf, sizeof(buf), never, 3000, &eof);
		cr_assert(eof, "connection over the cap stayed open");
		cr_assert_eq(n, 0);
		close(extra);
	}
	for (int i = 0; i < 4; i++)
		close(fds[i]);
	cr_assert(nd_test_wait_until(conns_zero, NULL, 5000));
	int fd = dial();
	send_str(fd, "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
	read_until(fd, buf, sizeof(buf), one_response, 5000, &eof);
	cr_assert(strncmp(buf, "HTTP/1.1 200 OK", 15) == 0, "%s", buf);
	close(fd);
	finish();
}

/* One address cannot take more than its share of the cap: others still get in. */
ND_TEST(http_server, one_peer_cannot_take_every_connection)
{
	start(8); /* a share of 2 per address */
	char buf[2048];
	bool eof;
	int a = dial_from(1), b = dial_from(1);
	int c = dial_from(1); /* the third from the same address */
	size_t n = read_until(c, buf, sizeof(buf), never, 3000, &eof);
	cr_assert(eof, "a peer over its share was kept");
	cr_assert_eq(n, 0);
	int d = dial_from(2);
	send_str(d, "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
	read_until(d, buf, sizeof(buf), one_response, 5000, &eof);
	cr_assert(strncmp(buf, "HTTP/1.1 200 OK", 15) == 0, "another peer was refused: %s", buf);
	close(a);
	close(b);
	close(c);
	close(d);
	finish();
}

ND_TEST(http_server, head_has_no_body)
{
	start(16);
	int fd = dial();
	send_str(fd, "HEAD /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\n\r\n");
	char buf[2048];
	bool eof;
	size_t n = read_until(fd, buf, sizeof(buf), never, 1500, &eof);
	cr_assert_not(eof);
	/* The HEAD answer announces the GET body's length but carries none: the second status
	 * line follows its blank line at once. */
	const char *end = strstr(buf, "\r\n\r\n");
	cr_assert_not_null(end, "%s", buf);
	cr_assert(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", buf);
	cr_assert_not_null(strstr(buf, "Content-Length: 13\r\n"), "%s", buf);
	cr_assert(strncmp(end + 4, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", buf);
	cr_assert(strstr(end + 4, "{\"path\":\"/b\"}") == buf + n - 13, "%s", buf);
	cr_assert_null(strstr(buf, "/a\"}"));
	close(fd);
	finish();
}

ND_TEST(http_server, stop_closes_connections)
{
	start(16);
	int fd = dial();
	send_str(fd, "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
	char buf[2048];
	bool eof;
	read_until(fd, buf, sizeof(buf), one_response, 5000, &eof);
	cr_assert_not(eof);
	nd_http_server_t *s = srv;
	pthread_mutex_lock(&mu);
	quit = true;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(answerer, NULL);
	nd_http_server_stop(s);
	read_until(fd, buf, sizeof(buf), never, 3000, &eof);
	cr_assert(eof);
	close(fd);
	int fd2 = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	cr_assert_neq(connect(fd2, (struct sockaddr *)&a, sizeof(a)), 0, "listener still open");
	close(fd2);
	nd_runtime_shutdown(rt);
	cr_assert_eq(nd_runtime_destroy(rt), 0);
}

ND_TEST(http_server, reader_that_never_reads_is_closed)
{
	start(16);
	int fd = dial();
	int small = 4096;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	/* Far more answer bytes than any socket buffer holds; the client reads none of them. */
	for (int i = 0; i < 32; i++)
		send_str(fd, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
	cr_assert(nd_test_wait_until(conns_zero, NULL, 10000), "not closed at the write deadline");
	static char buf[1 << 16];
	size_t total = 0;
	bool eof = false;
	uint64_t deadline = nd_test_now_ns() + 10000000000ull;
	while (!eof && nd_test_now_ns() < deadline) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			eof = true;
		else
			total += (size_t)n;
	}
	cr_assert(eof, "a stuck reader was not closed (%zu bytes)", total);
	cr_assert_lt(total, 32u << 20, "every answer was written: %zu bytes", total);
	close(fd);
	finish();
}
