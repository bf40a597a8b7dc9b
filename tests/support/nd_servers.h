/* Servers under test: natsd from this build, or Debian's nats-server for differential runs,
 * started on 127.0.0.1 with a random free port (-p -1) that is read back from the log. */
#ifndef ND_TESTS_SUPPORT_ND_SERVERS_H
#define ND_TESTS_SUPPORT_ND_SERVERS_H

#include <stdbool.h>

#include "tests/support/nd_proc.h"

typedef enum nd_server_kind { ND_SERVER_NATSD, ND_SERVER_REFERENCE } nd_server_kind_t;

typedef struct nd_test_server {
	nd_proc_t proc;
	int port;
	char url[64];
} nd_test_server_t;

/* Path of the built natsd (NATSD_BIN overrides) and of nats-server (NATS_SERVER_BIN). */
const char *nd_natsd_path(void);
const char *nd_reference_path(void);

/* True if the reference server can be run (installed). */
bool nd_reference_available(void);

/* Starts a server with extra arguments (NULL-terminated, may be NULL) and waits until it is
 * ready. Returns 0 or -1 (the log is in s->proc.log). */
int nd_test_server_start(nd_test_server_t *s, nd_server_kind_t kind, const char *const *extra);

/* Stops it with SIGTERM (SIGKILL after 10 s) and returns its exit code. */
int nd_test_server_stop(nd_test_server_t *s);

/* A TCP connection to the server, or -1. */
int nd_test_connect(int port);

/* Reads whatever arrives until `idle_ms` pass without data, `max` bytes, or EOF (*eof set).
 * Returns bytes read. */
size_t nd_test_read_idle(int fd, char *buf, size_t max, unsigned idle_ms, bool *eof);

/* Reads until the buffer contains needle (or timeout). Returns total bytes in buf. */
size_t nd_test_read_until(int fd, char *buf, size_t max, const char *needle, unsigned timeout_ms);

/* Writes everything or fails the test. */
void nd_test_write(int fd, const void *buf, size_t n);

#endif
