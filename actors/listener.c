/* Accept loop on one worker. Placement is round-robin: deterministic, and even for the small
 * connection counts of benchmarks (SO_REUSEPORT hashing can put both ends of a 1:1 test on one
 * worker). */
#define _GNU_SOURCE
#include "actors/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "actors/client.h"
#include "runtime/io.h"
#include "runtime/log.h"
#include "runtime/timer.h"
#include "runtime/worker.h"

#define ACCEPTS_PER_TURN 64
#define ACCEPT_BACKOFF_MS 100 /* out of file descriptors: try again later, do not spin */

typedef struct listener {
	nd_server_t *srv;
	int fd;
	nd_io_t io;
	nd_timer_t backoff;
	/* tls { connection_rate_limit }: new TLS connections in the current second. */
	uint64_t rate_second;
	int64_t rate_count, rate_rejected;
} listener_t;

/* The reference's TLS rate limiter: past connection_rate_limit new connections in one
 * second, the next ones are refused until the second is over. */
static bool rate_limited(listener_t *l)
{
	nd_opts_snap_t *snap = nd_server_opts(l->srv);
	const nd_opts_t *o = nd_opts_snap_get(snap);
	int64_t limit = o->tls.set ? o->tls.connection_rate_limit : 0;
	nd_opts_snap_unref(snap);
	if (limit <= 0)
		return false;
	uint64_t sec = nd_worker_now_ms(nd_actor_home(nd_actor_of_state(l))) / 1000;
	if (sec != l->rate_second) {
		if (l->rate_rejected > 0)
			nd_log_warn("Rejected %lld connections due to TLS rate limiting",
				    (long long)l->rate_rejected);
		l->rate_second = sec;
		l->rate_count = l->rate_rejected = 0;
	}
	if (l->rate_count >= limit) {
		l->rate_rejected++;
		return true;
	}
	l->rate_count++;
	return false;
}

/* A listening socket on [::]:port that also takes IPv4 (IPV6_V6ONLY off), or -errno. */
static int bind_dual_stack(int port, int *bound)
{
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1, zero = 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in6 a = {.sin6_family = AF_INET6,
				 .sin6_port = htons((uint16_t)port),
				 .sin6_addr = IN6ADDR_ANY_INIT};
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) != 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 4096) != 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	socklen_t l = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &l);
	*bound = ntohs(a.sin6_port);
	return fd;
}

int nd_listener_bind(const char *host, int port, int *bound)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res;
	char service[16];
	snprintf(service, sizeof(service), "%d", port < 0 ? 0 : port);
	const char *h = (host == NULL || *host == '\0') ? NULL : host;
	/* Go listens on "0.0.0.0" with one dual-stack socket, so IPv6 clients (localhost as ::1)
	 * get in too: do the same, and fall back to IPv4 alone without IPv6. */
	if (h == NULL || strcmp(h, "0.0.0.0") == 0) {
		int fd6 = bind_dual_stack(port < 0 ? 0 : port, bound);
		if (fd6 >= 0)
			return fd6;
	}
	int rc = getaddrinfo(h, service, &hints, &res);
	if (rc != 0) {
		nd_log_error("cannot resolve listen address %s: %s", host, gai_strerror(rc));
		return -EINVAL;
	}
	int err = -EADDRNOTAVAIL;
	int fd = -1;
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			err = -errno;
			continue;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 4096) == 0)
			break;
		err = -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return err;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	*bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						: ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

int nd_peer_address(const struct sockaddr_storage *peer, char ip[INET6_ADDRSTRLEN])
{
	if (peer->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)peer;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) /* IPv4 on the dual-stack socket */
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], ip, INET6_ADDRSTRLEN);
		else
			inet_ntop(AF_INET6, &in6->sin6_addr, ip, INET6_ADDRSTRLEN);
		return ntohs(in6->sin6_port);
	}
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)peer;
	inet_ntop(AF_INET, &in4->sin_addr, ip, INET6_ADDRSTRLEN);
	return ntohs(in4->sin_port);
}

/* max_connections: the reference sends INFO, then the error, then closes. */
static void refuse(nd_server_t *s, int fd, uint64_t cid, const struct sockaddr_storage *peer)
{
	char ip[INET6_ADDRSTRLEN] = "";
	int port = nd_peer_address(peer, ip);
	size_t len;
	nd_opts_snap_t *snap = nd_server_opts(s);
	char *info = nd_server_client_info(s, nd_opts_snap_get(snap), cid, ip, NULL, false, &len);
	nd_opts_snap_unref(snap);
	static const char err[] = "-ERR 'maximum connections exceeded'\r\n";
	/* A new socket's send buffer takes this at once; if not, the client loses the text only. */
	ssize_t w = send(fd, info, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (w == (ssize_t)len)
		w = send(fd, err, sizeof(err) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)w;
	free(info);
	nd_log_error(strchr(ip, ':') != NULL ? "[%s]:%d - cid:%llu - maximum connections exceeded"
					     : "%s:%d - cid:%llu - maximum connections exceeded",
		     ip, port, (unsigned long long)cid);
	close(fd);
}

static void on_accept(nd_actor_t *self, nd_io_t *io, int events)
{
	listener_t *l = nd_actor_state(self);
	nd_runtime_t *rt = nd_server_runtime(l->srv);
	for (int i = 0; i < ACCEPTS_PER_TURN; i++) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		int fd =
		    accept4(l->fd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			if (errno == ECONNABORTED || errno == EPROTO)
				continue;
			nd_log_error("Error accepting client connection: %s", strerror(errno));
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				nd_io_set(&l->io, 0);
				nd_timer_start(&l->backoff, ACCEPT_BACKOFF_MS);
			}
			return;
		}
		if (rate_limited(l)) {
			static const char err[] =
			    "-ERR 'Connection throttling is active. Please try again later.'\r\n";
			ssize_t w = send(fd, err, sizeof(err) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			(void)w;
			close(fd);
			continue;
		}
		uint64_t cid = nd_server_next_cid(l->srv);
		if (!nd_server_client_admit(l->srv)) {
			refuse(l->srv, fd, cid, &peer);
			continue;
		}
		nd_client_spawn(l->srv, nd_runtime_next_worker(rt), fd, cid, &peer);
	}
}

static void on_backoff(nd_actor_t *self, nd_timer_t *t)
{
	listener_t *l = nd_actor_state(self);
	nd_io_set(&l->io, ND_IO_READ);
}

static void listener_start(nd_actor_t *self)
{
	listener_t *l = nd_actor_state(self);
	nd_io_init(&l->io, self, l->fd, on_accept);
	nd_timer_init(&l->backoff, self, on_backoff);
	nd_io_set(&l->io, ND_IO_READ);
}

static void listener_stop(nd_actor_t *self)
{
	listener_t *l = nd_actor_state(self);
	nd_io_set(&l->io, 0);
	nd_timer_stop(&l->backoff);
	close(l->fd);
	l->fd = -1;
	nd_server_listener_closed(l->srv); /* lame duck mode waits for this */
}

static void listener_free(nd_actor_t *self)
{
	listener_t *l = nd_actor_state(self);
	if (l->fd >= 0)
		close(l->fd); /* never started */
}

static void listener_message(nd_actor_t *self, nd_msg_t *msg)
{
	nd_msg_free(msg);
}

static const nd_actor_class_t listener_class = {.name = "listener",
						.on_start = listener_start,
						.on_message = listener_message,
						.on_stop = listener_stop,
						.on_free = listener_free};

nd_actor_t *nd_listener_start(nd_server_t *s, int fd)
{
	nd_runtime_t *rt = nd_server_runtime(s);
	nd_actor_t *a =
	    nd_actor_create(rt, &listener_class, sizeof(listener_t), nd_runtime_worker(rt, 0));
	listener_t *l = nd_actor_state(a);
	l->srv = s;
	l->fd = fd;
	nd_actor_start(a);
	return a;
}
