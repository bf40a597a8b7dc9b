/* The load scenarios. Publishers are threads writing large pre-built batches; all subscriber
 * connections are read by one epoll thread; request/reply uses one thread per requester and
 * one responder; new connections are opened by a few threads in parallel. */
#define _GNU_SOURCE
#include "bench/e2e/scenarios.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench/e2e/bconn.h"

#define STALL_NS 5000000000ull /* no delivery progress for this long: count the rest as lost */

long bench_rss_kib(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	long kib = -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

double bench_proc_cpu(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields after the command name (which may contain spaces) start after the last ')'. */
	char *p = strrchr(buf, ')');
	if (p == NULL)
		return -1;
	unsigned long utime = 0, stime = 0;
	/* state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) !=
	    2)
		return -1;
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* ---- publish / subscribe ---- */

typedef struct pub_arg {
	const scenario_t *sc;
	const bench_target_t *t;
	pthread_barrier_t *start;
	bconn_t *c;
	uint64_t done_ns;
	bool ok;
} pub_arg_t;

static void *publisher(void *arg)
{
	pub_arg_t *p = arg;
	const scenario_t *sc = p->sc;
	char head[64];
	int hl = snprintf(head, sizeof(head), "PUB bench.data %d\r\n", sc->size);
	size_t one = (size_t)hl + (size_t)sc->size + 2;
	size_t per = one >= 65536 ? 1 : 65536 / one;
	char *batch = malloc(per * one);
	for (size_t k = 0; k < per; k++) {
		char *m = batch + k * one;
		memcpy(m, head, (size_t)hl);
		memset(m + hl, 'a' + (int)(k % 26), (size_t)sc->size);
		memcpy(m + hl + sc->size, "\r\n", 2);
	}
	pthread_barrier_wait(p->start);
	long left = sc->msgs;
	p->ok = true;
	while (left > 0 && p->ok) {
		size_t n = (size_t)left < per ? (size_t)left : per;
		p->ok = bconn_write(p->c, batch, n * one);
		left -= (long)n;
	}
	if (p->ok)
		p->ok = bconn_sync(p->c, 120000);
	p->done_ns = bench_now_ns();
	free(batch);
	return NULL;
}

/* Across a route, interest is asynchronous: publish probes on the publishers' server until
 * every subscriber got one. The probe was subscribed after the data subject and a route keeps
 * the order of its RS+, so the data subject's interest has arrived too. */
static bool interest_arrived(const bench_target_t *t, bconn_t **subs, int nsubs)
{
	bconn_t *p = bconn_open(t->host, t->port, "bench-probe", t->tls);
	if (p == NULL)
		return false;
	bool all = false;
	for (int tries = 0; tries < 1000 && !all; tries++) {
		static const char probe[] = "PUB bench.probe 0\r\n\r\n";
		bconn_write(p, probe, sizeof(probe) - 1);
		bconn_sync(p, 10000);
		all = true;
		for (int i = 0; i < nsubs; i++) {
			bconn_sync(subs[i], 10000);
			all = all && subs[i]->msgs > 0;
		}
		if (!all)
			usleep(10000);
	}
	/* Probes still in flight count as nothing: drain, then start from zero. */
	usleep(100000);
	for (int i = 0; i < nsubs; i++) {
		bconn_sync(subs[i], 10000);
		subs[i]->msgs = 0;
	}
	bconn_close(p);
	return all;
}

static int run_pubsub(const scenario_t *sc, const bench_target_t *t, bench_result_t *r)
{
	int nsubs = sc->subs;
	bconn_t **subs = calloc((size_t)(nsubs > 0 ? nsubs : 1), sizeof(*subs));
	int ep = epoll_create1(0);
	int sub_port = t->sub_port > 0 ? t->sub_port : t->port;
	for (int i = 0; i < nsubs; i++) {
		subs[i] = bconn_open(t->host, sub_port, "bench-sub", t->tls);
		if (subs[i] == NULL) {
			snprintf(r->note, sizeof(r->note), "subscriber %d could not connect", i);
			return -1;
		}
		char line[64];
		int n = sc->queue ? snprintf(line, sizeof(line), "SUB bench.data g %d\r\n", i + 1)
				  : snprintf(line, sizeof(line), "SUB bench.data %d\r\n", i + 1);
		bconn_write(subs[i], line, (size_t)n);
		if (t->sub_port > 0) {
			n = snprintf(line, sizeof(line), "SUB bench.probe p%d\r\n", i + 1);
			bconn_write(subs[i], line, (size_t)n);
		}
		bconn_sync(subs[i], 10000);
	}
	if (t->sub_port > 0 && !interest_arrived(t, subs, nsubs)) {
		snprintf(r->note, sizeof(r->note), "interest did not cross the route in 10 s");
		return -1;
	}
	for (int i = 0; i < nsubs; i++) {
		bconn_set_nonblocking(subs[i], true);
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = subs[i]};
		epoll_ctl(ep, EPOLL_CTL_ADD, subs[i]->fd, &ev);
	}
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, (unsigned)sc->pubs + 1);
	pub_arg_t *pa = calloc((size_t)sc->pubs, sizeof(*pa));
	pthread_t *th = calloc((size_t)sc->pubs, sizeof(*th));
	for (int i = 0; i < sc->pubs; i++) {
		pa[i] = (pub_arg_t){.sc = sc, .t = t, .start = &start};
		pa[i].c = bconn_open(t->host, t->port, "bench-pub", t->tls);
		if (pa[i].c == NULL) {
			snprintf(r->note, sizeof(r->note), "publisher %d could not connect", i);
			return -1;
		}
		pthread_create(&th[i], NULL, publisher, &pa[i]);
	}
	uint64_t expected =
	    (uint64_t)sc->msgs * (uint64_t)sc->pubs * (sc->queue ? 1u : (uint64_t)nsubs);
	double cpu0 = cpu_seconds();
	double scpu0 = t->server_pid > 0 ? bench_proc_cpu(t->server_pid) : 0;
	if (t->sub_server_pid > 0)
		scpu0 += bench_proc_cpu(t->sub_server_pid);
	pthread_barrier_wait(&start);
	uint64_t t0 = bench_now_ns(), last_progress = t0, got = 0;
	/* This thread reads every subscriber until all deliveries arrived or progress stops. */
	while (got < expected) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, 100);
		for (int k = 0; k < n; k++) {
			bconn_t *c = evs[k].data.ptr;
			while (bconn_read(c) > 0)
				;
		}
		uint64_t total = 0;
		for (int i = 0; i < nsubs; i++)
			total += subs[i]->msgs;
		uint64_t now = bench_now_ns();
		if (total != got) {
			got = total;
			last_progress = now;
		} else if (now - last_progress > STALL_NS) {
			break;
		}
	}
	uint64_t t_end = bench_now_ns();
	bool ok = true;
	for (int i = 0; i < sc->pubs; i++) {
		pthread_join(th[i], NULL);
		ok = ok && pa[i].ok;
		if (nsubs == 0 && pa[i].done_ns > t_end)
			t_end = pa[i].done_ns;
	}
	if (nsubs == 0) {
		t_end = 0;
		for (int i = 0; i < sc->pubs; i++)
			if (pa[i].done_ns > t_end)
				t_end = pa[i].done_ns;
	}
	double secs = (double)(t_end - t0) / 1e9;
	r->client_cpu = (cpu_seconds() - cpu0) / secs;
	double published = (double)sc->msgs * sc->pubs;
	if (t->server_pid > 0) {
		double used = bench_proc_cpu(t->server_pid) - scpu0;
		if (t->sub_server_pid > 0)
			used += bench_proc_cpu(t->sub_server_pid);
		r->server_cpu = used / secs;
		r->server_us_per_msg = used * 1e6 / published;
	}
	r->value = published / secs;
	r->unit = "msgs/s";
	r->higher_is_better = true;
	r->delivered_rate = (double)got / secs;
	r->lost = expected - got;
	r->ok = ok;
	if (!ok)
		snprintf(r->note, sizeof(r->note), "a publisher failed (disconnected?)");
	for (int i = 0; i < sc->pubs; i++)
		bconn_close(pa[i].c);
	for (int i = 0; i < nsubs; i++)
		bconn_close(subs[i]);
	close(ep);
	pthread_barrier_destroy(&start);
	free(pa);
	free(th);
	free(subs);
	return 0;
}

/* ---- request / reply ---- */

typedef struct responder {
	bconn_t *c;
	char *out;
	size_t len, cap;
	atomic_bool stop;
} responder_t;

static void answer(bconn_t *c, const char *subj, size_t slen, const char *reply, size_t rlen,
		   const char *payload, size_t plen, void *arg)
{
	responder_t *rs = arg;
	size_t need = rlen + plen + 64;
	if (rs->len + need > rs->cap) {
		rs->cap = (rs->len + need) * 2;
		rs->out = realloc(rs->out, rs->cap);
	}
	rs->len += (size_t)snprintf(rs->out + rs->len, rs->cap - rs->len, "PUB %.*s %zu\r\n",
				    (int)rlen, reply, plen);
	memcpy(rs->out + rs->len, payload, plen);
	rs->len += plen;
	memcpy(rs->out + rs->len, "\r\n", 2);
	rs->len += 2;
}

static void *responder_loop(void *arg)
{
	responder_t *rs = arg;
	while (!atomic_load(&rs->stop)) {
		struct pollfd pf = {.fd = rs->c->fd, .events = POLLIN};
		if (poll(&pf, 1, 50) <= 0)
			continue;
		if (bconn_read(rs->c) == 0)
			break;
		if (rs->len > 0) {
			bconn_write(rs->c, rs->out, rs->len);
			rs->len = 0;
		}
	}
	return NULL;
}

typedef struct requester {
	const scenario_t *sc;
	const bench_target_t *t;
	int id;
	pthread_barrier_t *start;
	double *rtt_us;
	long done;
	bool got;
} requester_t;

static void on_reply(bconn_t *c, const char *subj, size_t slen, const char *reply, size_t rlen,
		     const char *payload, size_t plen, void *arg)
{
	((requester_t *)arg)->got = true;
}

static void *requester_loop(void *arg)
{
	requester_t *q = arg;
	const scenario_t *sc = q->sc;
	bconn_t *c = bconn_open(q->t->host, q->t->port, "bench-req", q->t->tls);
	if (c == NULL)
		return NULL;
	c->on_msg = on_reply;
	c->arg = q;
	char line[128];
	int n = snprintf(line, sizeof(line), "SUB _INBOX.bench%d.* 1\r\n", q->id);
	bconn_write(c, line, (size_t)n);
	bconn_sync(c, 10000);
	char *req = malloc((size_t)sc->size + 128);
	int hl = snprintf(req, 128, "PUB bench.req _INBOX.bench%d.r %d\r\n", q->id, sc->size);
	memset(req + hl, 'q', (size_t)sc->size);
	memcpy(req + hl + sc->size, "\r\n", 2);
	size_t rl = (size_t)hl + (size_t)sc->size + 2;
	double interval_ns = sc->rate > 0 ? 1e9 / sc->rate : 0;
	pthread_barrier_wait(q->start);
	uint64_t base = bench_now_ns();
	for (long k = 0; k < sc->msgs; k++) {
		/* Fixed-rate mode measures from the scheduled send time, so a slow reply that
		 * delays the next request is charged to the latency (coordinated omission). */
		uint64_t sched = bench_now_ns();
		if (interval_ns > 0) {
			sched = base + (uint64_t)((double)k * interval_ns);
			while (bench_now_ns() < sched)
				;
		}
		q->got = false;
		if (!bconn_write(c, req, rl))
			break;
		while (!q->got && !c->closed) {
			if (bconn_read(c) <= 0 && !q->got) {
				struct pollfd pf = {.fd = c->fd, .events = POLLIN};
				poll(&pf, 1, 1000);
			}
		}
		if (c->closed)
			break;
		q->rtt_us[q->done++] = (double)(bench_now_ns() - sched) / 1000.0;
	}
	free(req);
	bconn_close(c);
	return NULL;
}

static int run_reqrep(const scenario_t *sc, const bench_target_t *t, bench_result_t *r)
{
	responder_t rs = {0};
	rs.c = bconn_open(t->host, t->port, "bench-responder", t->tls);
	if (rs.c == NULL) {
		snprintf(r->note, sizeof(r->note), "responder could not connect");
		return -1;
	}
	rs.c->on_msg = answer;
	rs.c->arg = &rs;
	bconn_write(rs.c, "SUB bench.req 1\r\n", 17);
	bconn_sync(rs.c, 10000);
	pthread_t rth;
	pthread_create(&rth, NULL, responder_loop, &rs);
	int n = sc->pubs;
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, (unsigned)n + 1);
	requester_t *q = calloc((size_t)n, sizeof(*q));
	pthread_t *th = calloc((size_t)n, sizeof(*th));
	for (int i = 0; i < n; i++) {
		q[i] = (requester_t){.sc = sc, .t = t, .id = i, .start = &start};
		q[i].rtt_us = calloc((size_t)sc->msgs, sizeof(double));
		pthread_create(&th[i], NULL, requester_loop, &q[i]);
	}
	double cpu0 = cpu_seconds();
	pthread_barrier_wait(&start);
	uint64_t t0 = bench_now_ns();
	long total = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		total += q[i].done;
	}
	double secs = (double)(bench_now_ns() - t0) / 1e9;
	r->client_cpu = (cpu_seconds() - cpu0) / secs;
	atomic_store(&rs.stop, true);
	pthread_join(rth, NULL);
	double *all = calloc((size_t)(total > 0 ? total : 1), sizeof(double));
	long k = 0;
	for (int i = 0; i < n; i++) {
		memcpy(all + k, q[i].rtt_us, (size_t)q[i].done * sizeof(double));
		k += q[i].done;
		free(q[i].rtt_us);
	}
	qsort(all, (size_t)total, sizeof(double), cmp_double);
	r->ok = total == (long)n * sc->msgs;
	r->lost = (uint64_t)((long)n * sc->msgs - total);
	if (total > 0) {
		r->p50 = all[total / 2];
		r->p90 = all[(long)((double)total * 0.90)];
		r->p99 = all[(long)((double)total * 0.99)];
		r->p999 = all[(long)((double)total * 0.999)];
		r->max = all[total - 1];
	}
	r->value = r->p50;
	r->unit = "us p50";
	r->higher_is_better = false;
	r->delivered_rate = (double)total / secs;
	free(all);
	free(q);
	free(th);
	pthread_barrier_destroy(&start);
	bconn_close(rs.c);
	free(rs.out);
	return 0;
}

/* ---- memory scenarios ---- */

static int run_idle(const scenario_t *sc, const bench_target_t *t, bench_result_t *r)
{
	if (t->server_pid <= 0) {
		snprintf(r->note, sizeof(r->note), "needs the server pid to read its memory");
		return -1;
	}
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	usleep(200000);
	long rss0 = bench_rss_kib(t->server_pid);
	bconn_t **c = calloc((size_t)sc->msgs, sizeof(*c));
	long opened = 0;
	for (long i = 0; i < sc->msgs; i++) {
		c[i] = bconn_open(t->host, t->port, "idle", t->tls);
		if (c[i] == NULL)
			break;
		opened++;
	}
	usleep(500000);
	long rss1 = bench_rss_kib(t->server_pid);
	for (long i = 0; i < opened; i++)
		bconn_close(c[i]);
	free(c);
	r->ok = opened == sc->msgs;
	if (!r->ok)
		snprintf(r->note, sizeof(r->note), "only %ld connections opened", opened);
	r->rss_kib = (double)(rss1 - rss0);
	r->value = opened > 0 ? (double)(rss1 - rss0) / (double)opened : 0;
	r->unit = "KiB/conn";
	r->higher_is_better = false;
	return 0;
}

static int run_subs(const scenario_t *sc, const bench_target_t *t, bench_result_t *r)
{
	if (t->server_pid <= 0) {
		snprintf(r->note, sizeof(r->note), "needs the server pid to read its memory");
		return -1;
	}
	usleep(200000);
	long rss0 = bench_rss_kib(t->server_pid);
	bconn_t *s = bconn_open(t->host, t->port, "bench-subs", t->tls);
	if (s == NULL)
		return -1;
	long n = sc->msgs, lits = n * 7 / 10;
	char *buf = malloc(64 * 4096);
	size_t len = 0;
	uint64_t t0 = bench_now_ns();
	for (long i = 0; i < n; i++) {
		/* 70% literal, 20% '*' in the middle, 10% '>' at the end. */
		if (i < lits)
			len += (size_t)sprintf(buf + len, "SUB bench.lit.%ld %ld\r\n", i, i + 1);
		else if (i < lits + n * 2 / 10)
			len += (size_t)sprintf(buf + len, "SUB bench.*.w%ld %ld\r\n", i, i + 1);
		else
			len += (size_t)sprintf(buf + len, "SUB bench.f%ld.> %ld\r\n", i, i + 1);
		if (len > 60 * 4096) {
			bconn_write(s, buf, len);
			len = 0;
		}
	}
	bconn_write(s, buf, len);
	bconn_sync(s, 120000);
	double sub_secs = (double)(bench_now_ns() - t0) / 1e9;
	usleep(300000);
	long rss1 = bench_rss_kib(t->server_pid);
	r->sub_rate = (double)n / sub_secs;
	r->rss_kib = (double)(rss1 - rss0);
	/* Publish to random literal subjects: every message matches one subscription. */
	bconn_t *p = bconn_open(t->host, t->port, "bench-subs-pub", t->tls);
	long msgs = 500000;
	len = 0;
	unsigned seed = 42;
	bconn_set_nonblocking(s, true);
	uint64_t t1 = bench_now_ns();
	for (long i = 0; i < msgs; i++) {
		len += (size_t)sprintf(buf + len, "PUB bench.lit.%ld 8\r\n12345678\r\n",
				       (long)(rand_r(&seed) % (unsigned)lits));
		if (len > 60 * 4096) {
			bconn_write(p, buf, len);
			len = 0;
			while (bconn_read(s) > 0)
				;
		}
	}
	bconn_write(p, buf, len);
	bconn_sync(p, 120000);
	uint64_t last = bench_now_ns();
	while (s->msgs < (uint64_t)msgs && bench_now_ns() - last < STALL_NS) {
		struct pollfd pf = {.fd = s->fd, .events = POLLIN};
		if (poll(&pf, 1, 100) > 0 && bconn_read(s) > 0)
			last = bench_now_ns();
	}
	double pub_secs = (double)(bench_now_ns() - t1) / 1e9;
	r->lost = (uint64_t)msgs - s->msgs;
	r->delivered_rate = (double)s->msgs / pub_secs;
	r->value = r->rss_kib / 1024.0;
	r->unit = "MiB RSS";
	r->higher_is_better = false;
	r->ok = r->lost == 0;
	snprintf(r->note, sizeof(r->note), "subscribe %.0f/s, publish %.0f msgs/s", r->sub_rate,
		 r->delivered_rate);
	free(buf);
	bconn_close(p);
	bconn_close(s);
	return 0;
}

/* ---- new connections per second ---- */

typedef struct connector {
	const bench_target_t *t;
	pthread_barrier_t *start;
	long n, done;
} connector_t;

static void *connector_loop(void *arg)
{
	connector_t *k = arg;
	pthread_barrier_wait(k->start);
	for (long i = 0; i < k->n; i++) {
		bconn_t *c = bconn_open(k->t->host, k->t->port, "bench-conn", k->t->tls);
		if (c == NULL)
			break;
		bconn_close(c);
		k->done++;
	}
	return NULL;
}

/* sc->msgs connections in all, opened by sc->pubs threads, each one after the other: connect,
 * read INFO, TLS handshake if t->tls, CONNECT + PING, wait for PONG, close. */
static int run_connect(const scenario_t *sc, const bench_target_t *t, bench_result_t *r)
{
	int nth = sc->pubs > 0 ? sc->pubs : 1;
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, (unsigned)nth + 1);
	connector_t *k = calloc((size_t)nth, sizeof(*k));
	pthread_t *th = calloc((size_t)nth, sizeof(*th));
	for (int i = 0; i < nth; i++) {
		k[i] = (connector_t){.t = t, .start = &start, .n = sc->msgs / nth};
		if (i < sc->msgs % nth)
			k[i].n++;
		pthread_create(&th[i], NULL, connector_loop, &k[i]);
	}
	double cpu0 = cpu_seconds();
	double scpu0 = t->server_pid > 0 ? bench_proc_cpu(t->server_pid) : 0;
	pthread_barrier_wait(&start);
	uint64_t t0 = bench_now_ns();
	long done = 0;
	for (int i = 0; i < nth; i++) {
		pthread_join(th[i], NULL);
		done += k[i].done;
	}
	double secs = (double)(bench_now_ns() - t0) / 1e9;
	r->client_cpu = (cpu_seconds() - cpu0) / secs;
	if (t->server_pid > 0 && done > 0) {
		double used = bench_proc_cpu(t->server_pid) - scpu0;
		r->server_cpu = used / secs;
		r->server_us_per_msg = used * 1e6 / (double)done;
	}
	r->value = (double)done / secs;
	r->unit = "conns/s";
	r->higher_is_better = true;
	r->lost = (uint64_t)(sc->msgs - done);
	r->ok = done == sc->msgs;
	if (!r->ok)
		snprintf(r->note, sizeof(r->note), "only %ld of %ld connections completed", done,
			 sc->msgs);
	pthread_barrier_destroy(&start);
	free(k);
	free(th);
	return 0;
}

int scenario_run(const scenario_t *sc, const bench_target_t *t, bench_result_t *r)
{
	memset(r, 0, sizeof(*r));
	switch (sc->kind) {
	case SC_PUBSUB:
		return run_pubsub(sc, t, r);
	case SC_REQREP:
		return run_reqrep(sc, t, r);
	case SC_IDLE:
		return run_idle(sc, t, r);
	case SC_SUBS:
		return run_subs(sc, t, r);
	case SC_CONNECT:
		return run_connect(sc, t, r);
	}
	return -1;
}
