/* Server processes and raw sockets for integration tests. */
#include "tests/support/nd_servers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/support/nd_test.h"

#ifndef ND_NATSD_BIN
#define ND_NATSD_BIN "natsd"
#endif

const char *nd_natsd_path(void)
{
	return nd_proc_path("NATSD_BIN", ND_NATSD_BIN);
}

const char *nd_reference_path(void)
{
	static const char *cands[] = {"/usr/sbin/nats-server", "/usr/bin/nats-server"};
	const char *env = getenv("NATS_SERVER_BIN");
	if (env != NULL && *env != '\0')
		return env;
	for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++)
		if (access(cands[i], X_OK) == 0)
			return cands[i];
	return cands[0];
}

bool nd_reference_available(void)
{
	return access(nd_reference_path(), X_OK) == 0;
}

int nd_test_server_start(nd_test_server_t *s, nd_server_kind_t kind, const char *const *extra)
{
	const char *argv[64];
	int n = 0;
	argv[n++] = kind == ND_SERVER_NATSD ? nd_natsd_path() : nd_reference_path();
	argv[n++] = "-a";
	argv[n++] = "127.0.0.1";
	argv[n++] = "-p";
	argv[n++] = "-1";
	for (int i = 0; extra != NULL && extra[i] != NULL && n < 62; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	memset(s, 0, sizeof(*s));
	if (nd_proc_spawn(&s->proc, argv) != 0)
		return -1;
	static const char needle[] = "Listening for client connections on 127.0.0.1:";
	if (!nd_proc_wait_output(&s->proc, needle, 10000) ||
	    !nd_proc_wait_output(&s->proc, "Server is ready", 10000)) {
		nd_proc_cleanup(&s->proc);
		return -1;
	}
	s->port = atoi(strstr(s->proc.log, needle) + sizeof(needle) - 1);
	snprintf(s->url, sizeof(s->url), "nats://127.0.0.1:%d", s->port);
	return s->port > 0 ? 0 : -1;
}

int nd_test_server_stop(nd_test_server_t *s)
{
	nd_proc_signal(&s->proc, SIGTERM);
	int code = nd_proc_wait_exit(&s->proc, 10000);
	nd_proc_cleanup(&s->proc);
	return code;
}

int nd_test_connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

size_t nd_test_read_idle(int fd, char *buf, size_t max, unsigned idle_ms, bool *eof)
{
	size_t got = 0;
	*eof = false;
	while (got < max) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, (int)idle_ms);
		if (r <= 0)
			break;
		ssize_t n = read(fd, buf + got, max - got);
		if (n == 0) {
			*eof = true;
			break;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			*eof = true; /* reset by peer counts as closed */
			break;
		}
		got += (size_t)n;
	}
	return got;
}

size_t nd_test_read_until(int fd, char *buf, size_t max, const char *needle, unsigned timeout_ms)
{
	size_t got = 0;
	uint64_t deadline = nd_test_now_ns() + (uint64_t)timeout_ms * 1000000u;
	buf[0] = '\0';
	while (got + 1 < max && strstr(buf, needle) == NULL) {
		uint64_t now = nd_test_now_ns();
		if (now >= deadline)
			break;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, (int)((deadline - now) / 1000000u) + 1) <= 0)
			continue;
		ssize_t n = read(fd, buf + got, max - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
	}
	return got;
}

void nd_test_write(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		cr_assert_gt(w, 0, "write failed: %s", strerror(errno));
		p += w;
		n -= (size_t)w;
	}
}
