/* Load scenarios of the bench: throughput (pub only, pub/sub, fan-out, fan-in, queue groups),
 * request/reply latency, idle connection memory, many subscriptions, new connections per
 * second; optionally over TLS. Each runs against one
 * server and fills a result; none asserts anything. */
#ifndef ND_BENCH_SCENARIOS_H
#define ND_BENCH_SCENARIOS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct bench_target {
	const char *host;
	int port;
	pid_t server_pid; /* for RSS; 0 if unknown */
	/* A second server of the same cluster for the subscribers (publishers stay on port):
	 * 0 for a single server. */
	int sub_port;
	pid_t sub_server_pid;
	bool tls; /* every connection starts TLS after INFO (bconn_tls_init done) */
} bench_target_t;

typedef enum scenario_kind {
	SC_PUBSUB,
	SC_REQREP,
	SC_IDLE,
	SC_SUBS,
	SC_CONNECT /* connect, INFO, [TLS handshake], CONNECT, PING/PONG, close: per second */
} scenario_kind_t;

typedef struct scenario {
	const char *name;
	scenario_kind_t kind;
	int pubs, subs; /* SC_PUBSUB: publishers, subscribers (0: publish only); SC_CONNECT:
			   pubs threads connecting in parallel */
	bool queue;     /* subscribers form one queue group */
	int size;       /* payload bytes */
	long msgs;      /* messages per publisher, requests per requester, connections (idle:
			   held; SC_CONNECT: opened and closed in all), subs */
	double rate;    /* SC_REQREP: requests/s per requester, 0: back to back */
	bool cluster;   /* SC_PUBSUB across a route: subscribers on a second server */
	bool tls;       /* the server requires TLS; every connection starts it after INFO */
} scenario_t;

typedef struct bench_result {
	bool ok;
	double value; /* the headline number: msgs/s, microseconds, KiB */
	const char *unit;
	bool higher_is_better;
	double p50, p90, p99, p999, max; /* latency scenarios, microseconds */
	double delivered_rate;           /* deliveries/s (fan-out counts every copy) */
	double sub_rate, rss_kib;        /* SC_SUBS: subscribe rate; RSS growth */
	double client_cpu;        /* cores the generator used: near 1.0 per thread = saturated */
	double server_cpu;        /* cores the server used (from /proc; 0 if unknown) */
	double server_us_per_msg; /* server CPU microseconds per published message (SC_CONNECT:
				     per connection) */
	uint64_t lost;            /* expected deliveries that never arrived */
	char note[160];
} bench_result_t;

/* Runs one scenario. Returns 0, or -1 if it could not run (note says why). */
int scenario_run(const scenario_t *sc, const bench_target_t *t, bench_result_t *r);

/* CPU seconds (user + system) pid has used, or -1. */
double bench_proc_cpu(pid_t pid);

/* Resident memory of pid in KiB, or -1. */
long bench_rss_kib(pid_t pid);

#endif
