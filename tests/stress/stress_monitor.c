/* Race test of the operations paths across threads: clients connect, subscribe, publish and
 * close (some without reading) while other threads hammer the monitoring endpoints (/connz
 * gathers snapshots from every connection actor, /subsz their subscriptions, closed
 * connections go into the ring) and the main thread reloads the configuration (every
 * connection gets its new snapshot by message). Run under ThreadSanitizer; every answer must
 * be a complete 200 and the server must shut down without leaks. Bounded: fixed iterations. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "actors/opts.h"
#include "actors/server.h"
#include "runtime/log.h"
#include "tests/stress/stress.h"

enum { CLIENT_THREADS = 3, CLIENT_ROUNDS = 150, HTTP_THREADS = 2, HTTP_ROUNDS = 60 };

static nd_server_t *srv;
static atomic_int http_port;
static atomic_long answers;

static int dial(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "connect to %d", port);
	struct timeval tv = {.tv_sec = 10};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Reads until needle appears (or EOF/timeout). Returns bytes read. */
static size_t read_until(int fd, char *buf, size_t cap, const char *needle)
{
	size_t n = 0;
	buf[0] = '\0';
	while (n < cap - 1 && strstr(buf, needle) == NULL) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
	}
	return n;
}

static void *client_thread(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	char buf[8192];
	for (unsigned i = 0; i < CLIENT_ROUNDS; i++) {
		int fd = dial(nd_server_port(srv));
		read_until(fd, buf, sizeof(buf), "\r\n");
		char cmd[512];
		int n =
		    snprintf(cmd, sizeof(cmd),
			     "CONNECT {\"verbose\":false,\"name\":\"c%u-%u\"}\r\nSUB foo.%u 1\r\n"
			     "SUB foo.* q 2\r\nPUB foo.%u 5\r\nhello\r\nPING\r\n",
			     id, i, i, i);
		CHECK(write(fd, cmd, (size_t)n) == n, "write");
		if (i % 3 != 0) /* every third one leaves without reading its answers */
			read_until(fd, buf, sizeof(buf), "PONG\r\n");
		close(fd);
	}
	return NULL;
}

static void *http_thread(void *arg)
{
	static const char *const paths[] = {"/connz?subs=detail&state=any", "/varz",
					    "/subsz?subs=1", "/connz?sort=msgs_from&limit=5"};
	char *buf = malloc(1 << 20);
	for (unsigned i = 0; i < HTTP_ROUNDS; i++) {
		int fd = dial(atomic_load(&http_port));
		char req[256];
		int n = snprintf(req, sizeof(req),
				 "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
				 paths[i % 4]);
		CHECK(write(fd, req, (size_t)n) == n, "write");
		size_t got = read_until(fd, buf, 1 << 20, "\x01"); /* to EOF */
		close(fd);
		CHECK(got > 12 && strncmp(buf, "HTTP/1.1 200", 12) == 0, "answer to %s: %.200s",
		      paths[i % 4], buf);
		CHECK(strchr(buf, '{') != NULL, "no JSON in %.200s", buf);
		atomic_fetch_add(&answers, 1);
	}
	free(buf);
	(void)arg;
	return NULL;
}

int main(void)
{
	nd_log_opts_t lo = {.logtime = false};
	nd_log_configure(&lo, NULL, 0);
	nd_opts_t o;
	nd_opts_default(&o);
	free(o.host);
	o.host = strdup("127.0.0.1");
	o.port = -1;
	o.http_port = -1;
	o.workers = 2;
	char err[256];
	CHECK(nd_server_create(&srv, &o, err, sizeof(err)) == 0, "create: %s", err);
	CHECK(nd_server_start(srv) == 0, "start");
	atomic_store(&http_port, nd_server_http_port(srv));

	pthread_t c[CLIENT_THREADS], h[HTTP_THREADS];
	for (unsigned i = 0; i < CLIENT_THREADS; i++)
		pthread_create(&c[i], NULL, client_thread, (void *)(uintptr_t)i);
	for (unsigned i = 0; i < HTTP_THREADS; i++)
		pthread_create(&h[i], NULL, http_thread, NULL);
	/* Reloads while all that runs: a changed limit reaches every connection by message. */
	for (int i = 0; i < 20; i++) {
		o.max_payload = (i % 2) ? 1 << 20 : 1 << 19;
		char *rerr = NULL;
		CHECK(nd_server_reload(srv, &o, &rerr) == 0, "reload: %s", rerr ? rerr : "");
		usleep(20000);
	}
	for (unsigned i = 0; i < CLIENT_THREADS; i++)
		pthread_join(c[i], NULL);
	for (unsigned i = 0; i < HTTP_THREADS; i++)
		pthread_join(h[i], NULL);
	CHECK(atomic_load(&answers) == HTTP_THREADS * HTTP_ROUNDS, "answers");
	nd_server_shutdown(srv);
	long leaks = nd_server_destroy(srv);
	nd_opts_deinit(&o);
	CHECK(leaks == 0, "%ld runtime objects leaked", leaks);
	nd_log_shutdown();
	printf("stress_monitor: %d connections, %ld monitoring answers, 20 reloads\n",
	       CLIENT_THREADS * CLIENT_ROUNDS, atomic_load(&answers));
	return 0;
}
