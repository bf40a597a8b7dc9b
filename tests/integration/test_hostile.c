/* Hostile and broken clients: none of them may crash or hang natsd, grow its memory without
 * bound, or disturb other clients. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/support/nd_servers.h"
#include "tests/support/nd_test.h"

static nd_test_server_t server;

static void setup(void)
{
	cr_assert_eq(nd_test_server_start(&server, ND_SERVER_NATSD, NULL), 0,
		     "natsd did not start: %s", server.proc.log);
}

static void teardown(void)
{
	int code = nd_test_server_stop(&server);
	cr_expect_eq(code, 0, "natsd exited %d: %s", code, server.proc.log);
}

TestSuite(hostile, .init = setup, .fini = teardown, .timeout = 240);

/* Resident memory bounds are checked in builds without AddressSanitizer: its shadow memory
 * and quarantine of freed blocks make the server's RSS say nothing about its own use. */
#if defined(__SANITIZE_ADDRESS__)
#define CHECK_RSS 0
#else
#define CHECK_RSS 1
#endif

/* Resident memory of the server in KiB. */
static long server_rss_kib(void)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)server.proc.pid);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	long kib = -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static int client(const char *connect_json)
{
	int fd = nd_test_connect(server.port);
	cr_assert_geq(fd, 0);
	char buf[4096];
	nd_test_read_until(fd, buf, sizeof(buf), "\r\n", 5000);
	cr_assert(strncmp(buf, "INFO ", 5) == 0, "no INFO: %s", buf);
	char line[256];
	snprintf(line, sizeof(line), "CONNECT %s\r\nPING\r\n", connect_json);
	nd_test_write(fd, line, strlen(line));
	nd_test_read_until(fd, buf, sizeof(buf), "PONG\r\n", 5000);
	cr_assert_not_null(strstr(buf, "PONG"), "no PONG: %s", buf);
	return fd;
}

/* The server is still fine: a fresh client gets a PONG and its own messages. */
static void assert_server_healthy(void)
{
	int fd = client("{\"verbose\":false,\"pedantic\":false}");
	static const char ops[] = "SUB health 1\r\nPUB health 2\r\nok\r\nPING\r\n";
	nd_test_write(fd, ops, sizeof(ops) - 1);
	char buf[4096];
	nd_test_read_until(fd, buf, sizeof(buf), "PONG\r\n", 5000);
	cr_assert_not_null(strstr(buf, "MSG health 1 2\r\nok\r\n"), "server unhealthy: %s", buf);
	close(fd);
}

static bool wait_closed(int fd, unsigned timeout_ms)
{
	static char sink[1 << 16];
	uint64_t deadline = nd_test_now_ns() + (uint64_t)timeout_ms * 1000000u;
	while (nd_test_now_ns() < deadline) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = read(fd, sink, sizeof(sink));
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			return true;
	}
	return false;
}

ND_TEST(hostile, a_client_that_never_reads_is_cut_off_and_memory_stays_bounded)
{
	long rss0 = server_rss_kib();
	int slow = client("{\"verbose\":false,\"pedantic\":false}");
	nd_test_write(slow, "SUB flood 1\r\nPING\r\n", 19);
	int good = client("{\"verbose\":false,\"pedantic\":false}");
	nd_test_write(good, "SUB flood 1\r\nPING\r\n", 19);
	char buf[65536];
	nd_test_read_until(good, buf, sizeof(buf), "PONG\r\n", 5000);
	usleep(100000);
	int pub = client("{\"verbose\":false,\"pedantic\":false}");
	/* 128 MiB of 64 KiB messages: twice max_pending (64 MiB). The good subscriber reads. */
	static char msg[65536 + 64];
	int h = snprintf(msg, sizeof(msg), "PUB flood 65536\r\n");
	memset(msg + h, 'x', 65536);
	memcpy(msg + h + 65536, "\r\n", 2);
	size_t mlen = (size_t)h + 65536 + 2;
	long peak = 0;
	size_t good_bytes = 0;
	for (int i = 0; i < 2048; i++) {
		nd_test_write(pub, msg, mlen);
		/* keep the good subscriber drained */
		for (;;) {
			struct pollfd p = {.fd = good, .events = POLLIN};
			if (poll(&p, 1, 0) <= 0)
				break;
			ssize_t n = read(good, buf, sizeof(buf));
			if (n <= 0)
				break;
			good_bytes += (size_t)n;
		}
		if (i % 128 == 0) {
			long r = server_rss_kib();
			if (r > peak)
				peak = r;
		}
	}
	cr_assert(wait_closed(slow, 15000), "the slow consumer was not disconnected");
	/* Everything the good subscriber was sent still arrives. */
	uint64_t deadline = nd_test_now_ns() + 20000000000ull;
	while (good_bytes < 2048ull * (65536 + 20) && nd_test_now_ns() < deadline) {
		struct pollfd p = {.fd = good, .events = POLLIN};
		if (poll(&p, 1, 200) <= 0)
			continue;
		ssize_t n = read(good, buf, sizeof(buf));
		if (n <= 0)
			break;
		good_bytes += (size_t)n;
	}
	cr_assert_geq(good_bytes, 2048ull * (65536 + 19),
		      "the good subscriber lost data: %zu bytes", good_bytes);
	/* max_pending bounds the slow consumer's backlog; allow the good one's and slack. */
	if (CHECK_RSS)
		cr_assert_lt(peak - rss0, 160 * 1024, "server grew by %ld KiB", peak - rss0);
	/* The publisher was not disconnected. */
	nd_test_write(pub, "PING\r\n", 6);
	nd_test_read_until(pub, buf, sizeof(buf), "PONG\r\n", 5000);
	cr_assert_not_null(strstr(buf, "PONG"), "publisher lost: %s", buf);
	close(slow);
	close(good);
	close(pub);
	assert_server_healthy();
}

ND_TEST(hostile, garbage_gets_an_error_or_a_close_and_nothing_else)
{
	srand(1234);
	for (int round = 0; round < 200; round++) {
		int fd = nd_test_connect(server.port);
		cr_assert_geq(fd, 0);
		char junk[512];
		size_t n = 1 + (size_t)(rand() % (int)sizeof(junk));
		for (size_t i = 0; i < n; i++)
			junk[i] =
			    (char)(round % 2 ? rand()
					     : "PUBSUBCONNECT \r\n{}0123456789*.>"[rand() % 32]);
		send(fd, junk, n, MSG_NOSIGNAL);
		char buf[8192];
		bool eof;
		nd_test_read_idle(fd, buf, sizeof(buf), 50, &eof);
		close(fd);
	}
	assert_server_healthy();
}

ND_TEST(hostile, a_huge_control_line_is_refused_early)
{
	int fd = client("{\"verbose\":false,\"pedantic\":false}");
	static char flood[1 << 20];
	memset(flood, 'x', sizeof(flood));
	memcpy(flood, "SUB ", 4);
	/* Never a newline. The server must stop reading long before the megabyte is in. */
	send(fd, flood, sizeof(flood), MSG_NOSIGNAL | MSG_DONTWAIT);
	char buf[8192];
	nd_test_read_until(fd, buf, sizeof(buf), "exceeded", 5000);
	cr_assert_not_null(strstr(buf, "-ERR 'maximum control line exceeded'"), "got: %s", buf);
	cr_assert(wait_closed(fd, 5000));
	close(fd);
	assert_server_healthy();
}

ND_TEST(hostile, half_sent_payloads_do_not_hold_the_server)
{
	enum { N = 50 };
	long rss0 = server_rss_kib();
	int fds[N];
	for (int i = 0; i < N; i++) {
		fds[i] = client("{\"verbose\":false,\"pedantic\":false}");
		/* Announce 1 MiB, send 100 bytes, stall. */
		static const char head[] = "PUB stalled 1048576\r\n";
		nd_test_write(fds[i], head, sizeof(head) - 1);
		char part[100];
		memset(part, 'p', sizeof(part));
		nd_test_write(fds[i], part, sizeof(part));
	}
	assert_server_healthy();
	long grown = server_rss_kib() - rss0;
	/* At most one max_payload buffer per such connection. */
	if (CHECK_RSS)
		cr_assert_lt(grown, N * 1100 + 16 * 1024, "grew %ld KiB", grown);
	for (int i = 0; i < N; i++)
		close(fds[i]);
}

ND_TEST(hostile, ten_thousand_connect_disconnect_cycles, .timeout = 600)
{
	for (int i = 0; i < 200; i++) /* warm up pools and caches */
		close(client("{\"verbose\":false}"));
	long rss0 = server_rss_kib();
	for (int i = 0; i < 10000; i++) {
		int fd = client("{\"verbose\":false,\"pedantic\":false}");
		if (i % 3 == 0)
			nd_test_write(fd, "SUB a.b 1\r\nSUB a.* 2\r\n", 22);
		close(fd);
	}
	assert_server_healthy();
	long grown = server_rss_kib() - rss0;
	if (CHECK_RSS)
		cr_assert_lt(grown, 8 * 1024, "server grew by %ld KiB over 10,000 connections",
			     grown);
}
