/* Syslog the way the reference server does it (logger/syslog.go over Go's log/syslog):
 *  - local (`syslog: true`): a unix datagram, then stream, socket at /dev/log,
 *    /var/run/syslog or /var/run/log; facility daemon; "<PRI>Jan _2 15:04:05 tag[pid]: msg".
 *  - remote (`remote_syslog`): udp:// or tcp:// host:port (the port is required, as in the
 *    reference) or unix:///path (a stream socket); facility kern, because the reference dials
 *    with priority LOG_DEBUG whose facility bits are zero; network form
 *    "<PRI>2006-01-02T15:04:05Z07:00 hostname tag[pid]: msg", unix sockets the local form.
 * Messages carry no level label and end with one "\n". */
#define _GNU_SOURCE
#include "runtime/log_syslog.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

enum { FAC_KERN = 0, FAC_DAEMON = 3 << 3 };
enum { SEV_CRIT = 2, SEV_ERR = 3, SEV_WARNING = 4, SEV_NOTICE = 5, SEV_DEBUG = 7 };

struct nd_log_syslog {
	int fd;
	int socktype;
	struct sockaddr_storage addr; /* resolved once; reconnections reuse it */
	socklen_t addrlen;
	bool local; /* Go's local form: no hostname, time.Stamp */
	int facility;
	int pid;
	char hostname[256];
	char tag[256];
};

static int reconnect(nd_log_syslog_t *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = socket(s->addr.ss_family, s->socktype | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return -errno;
	if (connect(s->fd, (struct sockaddr *)&s->addr, s->addrlen) != 0) {
		int e = errno;
		close(s->fd);
		s->fd = -1;
		return -e;
	}
	return 0;
}

static int try_unix(nd_log_syslog_t *s, int socktype, const char *path)
{
	struct sockaddr_un *un = (struct sockaddr_un *)&s->addr;
	if (strlen(path) >= sizeof(un->sun_path))
		return -ENAMETOOLONG;
	memset(&s->addr, 0, sizeof(s->addr));
	un->sun_family = AF_UNIX;
	strcpy(un->sun_path, path);
	s->addrlen = (socklen_t)sizeof(*un);
	s->socktype = socktype;
	return reconnect(s);
}

/* Go's unixSyslog: every path with a datagram socket, then every path with a stream one. */
static int open_local(nd_log_syslog_t *s, char *err, size_t errlen)
{
	static const char *const paths[] = {"/dev/log", "/var/run/syslog", "/var/run/log"};
	static const int types[] = {SOCK_DGRAM, SOCK_STREAM};
	int rc = -ENOENT;
	for (size_t t = 0; t < 2; t++)
		for (size_t p = 0; p < 3; p++)
			if ((rc = try_unix(s, types[t], paths[p])) == 0)
				return 0;
	snprintf(err, errlen, "error connecting to syslog: \"Unix syslog delivery error\"");
	return rc;
}

/* Splits "host:port" or "[v6]:port" as Go's net.SplitHostPort does, with its messages. */
static int split_host_port(char *hp, char **host, char **port, const char *net, char *err,
			   size_t errlen)
{
	char *colon;
	if (hp[0] == '[') {
		char *end = strchr(hp, ']');
		if (end == NULL) {
			snprintf(
			    err, errlen,
			    "error connecting to syslog: \"dial %s: address %s: missing ']' in "
			    "address\"",
			    net, hp);
			return -EINVAL;
		}
		colon = end[1] == ':' ? end + 1 : NULL;
		if (colon == NULL) {
			snprintf(
			    err, errlen,
			    "error connecting to syslog: \"dial %s: address %s: missing port in "
			    "address\"",
			    net, hp);
			return -EINVAL;
		}
		*end = '\0';
		*host = hp + 1;
	} else {
		colon = strrchr(hp, ':');
		if (colon == NULL) {
			snprintf(
			    err, errlen,
			    "error connecting to syslog: \"dial %s: address %s: missing port in "
			    "address\"",
			    net, hp);
			return -EINVAL;
		}
		if (strchr(hp, ':') != colon) {
			snprintf(
			    err, errlen,
			    "error connecting to syslog: \"dial %s: address %s: too many colons "
			    "in address\"",
			    net, hp);
			return -EINVAL;
		}
		*host = hp;
	}
	*colon = '\0';
	*port = colon + 1;
	return 0;
}

static int open_inet(nd_log_syslog_t *s, const char *net, int socktype, char *hostport, char *err,
		     size_t errlen)
{
	if (hostport[0] == '\0') {
		snprintf(err, errlen, "error connecting to syslog: \"dial %s: missing address\"",
			 net);
		return -EINVAL;
	}
	char *host, *port;
	int rc = split_host_port(hostport, &host, &port, net, err, errlen);
	if (rc != 0)
		return rc;
	struct addrinfo hints = {.ai_socktype = socktype, .ai_flags = AI_ADDRCONFIG}, *res;
	/* An empty host means this machine, as in Go's Dial. */
	int g = getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints, &res);
	if (g != 0) {
		snprintf(err, errlen, "error connecting to syslog: \"dial %s: lookup %s: %s\"", net,
			 host, gai_strerror(g));
		return g == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
	}
	rc = -EHOSTUNREACH;
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(s->addr))
			continue;
		memcpy(&s->addr, ai->ai_addr, ai->ai_addrlen);
		s->addrlen = ai->ai_addrlen;
		s->socktype = socktype;
		if ((rc = reconnect(s)) == 0)
			break;
	}
	freeaddrinfo(res);
	if (rc != 0)
		snprintf(err, errlen, "error connecting to syslog: \"dial %s %s:%s: connect: %s\"",
			 net, host, port, strerror(-rc));
	return rc;
}

/* Go's url.Parse, reduced to what getNetworkAndAddr reads: the scheme (lower-cased), the
 * authority for udp and tcp, the path for unix. */
static int open_remote(nd_log_syslog_t *s, const char *url, char *err, size_t errlen)
{
	size_t n = 0;
	if (isalpha((unsigned char)url[0]))
		while (isalnum((unsigned char)url[n]) || url[n] == '+' || url[n] == '-' ||
		       url[n] == '.')
			n++;
	char scheme[16] = "";
	if (url[n] == ':' && n < sizeof(scheme)) {
		for (size_t i = 0; i < n; i++)
			scheme[i] = (char)tolower((unsigned char)url[i]);
		scheme[n] = '\0';
	} else {
		n = 0;
	}
	const char *rest = url[n] == ':' ? url + n + 1 : url;
	const char *authority = "", *path = rest;
	size_t alen = 0;
	if (rest[0] == '/' && rest[1] == '/') {
		authority = rest + 2;
		alen = strcspn(authority, "/?#");
		path = authority + alen;
	} else if (rest[0] != '/') {
		path = ""; /* opaque: no path */
	}
	if (strcmp(scheme, "udp") == 0 || strcmp(scheme, "tcp") == 0) {
		char *hostport = strndup(authority, alen);
		if (hostport == NULL)
			abort();
		int rc = open_inet(s, scheme, scheme[0] == 'u' ? SOCK_DGRAM : SOCK_STREAM, hostport,
				   err, errlen);
		free(hostport);
		return rc;
	}
	if (strcmp(scheme, "unix") == 0) {
		size_t plen = strcspn(path, "?#");
		char p[sizeof(((struct sockaddr_un *)0)->sun_path)];
		if (plen == 0) {
			snprintf(err, errlen,
				 "error connecting to syslog: \"dial unix: missing "
				 "address\"");
			return -EINVAL;
		}
		if (plen >= sizeof(p)) {
			snprintf(err, errlen,
				 "error connecting to syslog: \"dial unix %.*s: "
				 "invalid argument\"",
				 (int)plen, path);
			return -ENAMETOOLONG;
		}
		memcpy(p, path, plen);
		p[plen] = '\0';
		s->local = true; /* Go formats unix-socket messages in the local form */
		int rc = try_unix(s, SOCK_STREAM, p);
		if (rc != 0)
			snprintf(err, errlen,
				 "error connecting to syslog: \"dial unix %s: connect: "
				 "%s\"",
				 p, strerror(-rc));
		return rc;
	}
	snprintf(err, errlen, "error invalid network type: \"%s\"", scheme);
	return -EINVAL;
}

/* Go falls back to the socket's local address when the host has no name. */
static void set_hostname(nd_log_syslog_t *s)
{
	if (gethostname(s->hostname, sizeof(s->hostname)) == 0 && s->hostname[0] != '\0') {
		s->hostname[sizeof(s->hostname) - 1] = '\0';
		return;
	}
	struct sockaddr_storage a;
	socklen_t alen = sizeof(a);
	char ip[INET6_ADDRSTRLEN] = "";
	s->hostname[0] = '\0';
	if (getsockname(s->fd, (struct sockaddr *)&a, &alen) != 0)
		return;
	if (a.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&a;
		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(s->hostname, sizeof(s->hostname), "%s:%u", ip, ntohs(in->sin_port));
	} else if (a.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a;
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		snprintf(s->hostname, sizeof(s->hostname), "[%s]:%u", ip, ntohs(in6->sin6_port));
	}
}

int nd_log_syslog_open(nd_log_syslog_t **out, const char *url, char *err, size_t errlen)
{
	nd_log_syslog_t *s = calloc(1, sizeof(*s));
	if (s == NULL)
		abort();
	s->fd = -1;
	s->pid = (int)getpid();
	/* The reference's tag is the base name of argv[0]. */
	snprintf(s->tag, sizeof(s->tag), "%s", program_invocation_short_name);
	int rc;
	if (url == NULL) {
		s->local = true;
		s->facility = FAC_DAEMON;
		rc = open_local(s, err, errlen);
	} else {
		s->facility = FAC_KERN;
		rc = open_remote(s, url, err, errlen);
	}
	if (rc != 0) {
		nd_log_syslog_close(s);
		return rc;
	}
	set_hostname(s);
	*out = s;
	return 0;
}

static int severity(nd_log_level_t level)
{
	switch (level) {
	case ND_LOG_FATAL:
		return SEV_CRIT;
	case ND_LOG_ERROR:
		return SEV_ERR;
	case ND_LOG_WARN:
		return SEV_WARNING;
	case ND_LOG_DEBUG:
		return SEV_DEBUG;
	case ND_LOG_INFO:
	case ND_LOG_TRACE: /* the reference traces at notice, like info */
		break;
	}
	return SEV_NOTICE;
}

/* Writes the whole message: one datagram, or every byte of it on a stream. */
static int send_all(int fd, struct iovec *iov, int iovcnt)
{
	while (iovcnt > 0) {
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)iovcnt};
		ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (iovcnt > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

void nd_log_syslog_send(nd_log_syslog_t *s, nd_log_level_t level, const struct timespec *ts,
			bool utc, const char *msg, size_t len)
{
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	if (utc)
		gmtime_r(&ts->tv_sec, &tm);
	else
		localtime_r(&ts->tv_sec, &tm);
	int pri = s->facility | severity(level);
	char head[512];
	int h;
	if (s->local) {
		/* time.Stamp: "Jan _2 15:04:05" (day padded with a space). */
		h = snprintf(head, sizeof(head), "<%d>%s %2d %02d:%02d:%02d %s[%d]: ", pri,
			     months[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			     s->tag, s->pid);
	} else {
		/* time.RFC3339: "2006-01-02T15:04:05Z07:00", Z when the offset is zero. */
		char zone[40] = "Z";
		long off = utc ? 0 : tm.tm_gmtoff;
		if (off != 0)
			snprintf(zone, sizeof(zone), "%c%02ld:%02ld", off < 0 ? '-' : '+',
				 labs(off) / 3600, labs(off) % 3600 / 60);
		h = snprintf(head, sizeof(head),
			     "<%d>%04d-%02d-%02dT%02d:%02d:%02d%s %s %s[%d]: ", pri,
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			     tm.tm_sec, zone, s->hostname, s->tag, s->pid);
	}
	if (h < 0)
		return;
	if ((size_t)h >= sizeof(head))
		h = (int)sizeof(head) - 1;
	static char newline[] = "\n";
	bool nl = len == 0 || msg[len - 1] != '\n';
	/* Go's writer: try the current connection, else reconnect once and try again. */
	for (int attempt = 0; attempt < 2; attempt++) {
		if (attempt > 0 && reconnect(s) != 0)
			return;
		if (s->fd < 0)
			continue;
		struct iovec iov[3] = {{head, (size_t)h},
				       {(void *)(uintptr_t)msg, len}, /* sendmsg only reads */
				       {newline, nl ? 1 : 0}};
		if (send_all(s->fd, iov, 3) == 0)
			return;
	}
}

void nd_log_syslog_close(nd_log_syslog_t *s)
{
	if (s == NULL)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}
