/* Micro-benchmarks of the actor runtime (issue: foundation). Prints a table and, with --json,
 * one JSON object per scenario with the median of --runs runs:
 *   mailbox_1p/2p/4p    raw mailbox throughput, 1/2/4 producer threads -> 1 consumer thread
 *   ckpr_vyukov_1p      the same queue written on ck_pr atomics instead of C11 (ADR 0002)
 *   spsc_floor          ck_ring SPSC hand-off between two threads: the floor
 *   actor_send_1p/4p    nd_actor_send end to end (alloc, push, schedule, turn, free)
 *   pingpong_asleep     round trip between actors on two workers, peers sleep (spin 0)
 *   pingpong_busy       same with workers spinning (spin 100 us)
 *   fanout_1000         one actor sending to 1,000 actors over both workers
 *   wake_floor          two bare threads ping-ponging through eventfd + epoll_wait, both
 *                       sleeping: what the OS and hypervisor charge for two wake-ups
 *   spsc_floor_ptr      ck_ring SPSC passing pointers the consumer never reads
 */
#define _GNU_SOURCE
#include <ck_pr.h>
#include <ck_ring.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "runtime/actor.h"
#include "runtime/mailbox.h"
#include "runtime/runtime.h"
#include "runtime/worker.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void pin(int cpu)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu % (int)(n > 0 ? n : 1), &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---------------- raw queues ---------------- */

enum { QMSGS = 20000000 };

/* Every queue moves the same 32-byte message: the producer writes its sequence number and
 * the consumer reads it, as any real hand-off would. */
typedef struct qitem {
	nd_msg_t hdr;
	uint64_t seq;
} qitem_t;

static qitem_t *qitems;

static void check_sum(uint64_t sum)
{
	if (sum != (uint64_t)QMSGS * (QMSGS - 1) / 2) {
		fputs("queue lost or duplicated messages\n", stderr);
		exit(1);
	}
}
/* Each queue on its own page, so that neighbouring globals do not share lines with it. */
static nd_mailbox_t qmb __attribute__((aligned(4096)));
static atomic_int qstart;

typedef struct queue_ops {
	void (*init)(void);
	void (*push)(qitem_t *it);
	qitem_t *(*pop)(void);
} queue_ops_t;

typedef struct qprod {
	int id, nprod;
	const queue_ops_t *ops;
} qprod_t;

static void *queue_producer(void *arg)
{
	qprod_t *p = arg;
	pin(0);
	while (!atomic_load(&qstart))
		;
	for (int i = p->id; i < QMSGS; i += p->nprod) {
		qitems[i].seq = (uint64_t)i;
		p->ops->push(&qitems[i]);
	}
	return NULL;
}

/* The same producer and consumer loops for every queue flavour: only push/pop differ. */
static double bench_queue(const queue_ops_t *ops, int nprod)
{
	ops->init();
	atomic_store(&qstart, 0);
	pthread_t t[8];
	qprod_t args[8];
	for (int i = 0; i < nprod; i++) {
		args[i] = (qprod_t){i, nprod, ops};
		pthread_create(&t[i], NULL, queue_producer, &args[i]);
	}
	pin(1);
	uint64_t t0 = now_ns();
	atomic_store(&qstart, 1);
	long got = 0;
	uint64_t sum = 0;
	while (got < QMSGS) {
		qitem_t *it = ops->pop();
		if (it != NULL) {
			sum += it->seq;
			got++;
		}
	}
	uint64_t dt = now_ns() - t0;
	for (int i = 0; i < nprod; i++)
		pthread_join(t[i], NULL);
	check_sum(sum);
	return (double)QMSGS / ((double)dt / 1e9);
}

static void mb_init(void)
{
	nd_mailbox_init(&qmb);
}

static void mb_push(qitem_t *it)
{
	nd_mailbox_push_mp(&qmb, &it->hdr);
}

static qitem_t *mb_pop(void)
{
	return (qitem_t *)nd_mailbox_pop_sc(&qmb);
}

static const queue_ops_t mailbox_ops = {mb_init, mb_push, mb_pop};

/* The same algorithm on ck_pr, to compare the cost of C11 atomics (bench-only code). The
 * link is the message's first word, as in nd_msg_t. */
typedef struct ck_node {
	struct ck_node *next;
} ck_node_t;

static struct __attribute__((aligned(4096))) {
	ck_node_t *head CK_CC_CACHELINE;
	ck_node_t *tail CK_CC_CACHELINE;
	ck_node_t stub;
} ckq;

static void ckq_link(ck_node_t *n)
{
	ck_pr_store_ptr(&n->next, NULL);
	ck_pr_fence_store_atomic();
	ck_node_t *prev = ck_pr_fas_ptr(&ckq.head, n);
	ck_pr_fence_atomic_store();
	ck_pr_store_ptr(&prev->next, n);
}

static void ckq_init(void)
{
	ckq.stub.next = NULL;
	ckq.head = ckq.tail = &ckq.stub;
}

static void ckq_push(qitem_t *it)
{
	ckq_link((ck_node_t *)it);
}

static qitem_t *ckq_pop(void)
{
	ck_node_t *tail = ckq.tail;
	ck_node_t *next = ck_pr_load_ptr(&tail->next);
	if (tail == &ckq.stub) {
		if (next == NULL)
			return NULL;
		ckq.tail = next;
		tail = next;
		next = ck_pr_load_ptr(&next->next);
	}
	if (next != NULL) {
		ck_pr_fence_load();
		ckq.tail = next;
		return (qitem_t *)tail;
	}
	if (ck_pr_load_ptr(&ckq.head) != tail)
		return NULL;
	ckq_link(&ckq.stub);
	next = ck_pr_load_ptr(&tail->next);
	if (next != NULL) {
		ck_pr_fence_load();
		ckq.tail = next;
		return (qitem_t *)tail;
	}
	return NULL;
}

static const queue_ops_t ckpr_ops = {ckq_init, ckq_push, ckq_pop};

enum { RING_SIZE = 4096 };
static ck_ring_t ring;
static ck_ring_buffer_t ring_buf[RING_SIZE];

static void *spsc_producer(void *arg)
{
	(void)arg;
	pin(0);
	while (!atomic_load(&qstart))
		;
	for (int i = 0; i < QMSGS; i++) {
		qitems[i].seq = (uint64_t)i;
		while (!ck_ring_enqueue_spsc(&ring, ring_buf, &qitems[i]))
			ck_pr_stall();
	}
	return NULL;
}

static void *spsc_ptr_producer(void *arg)
{
	(void)arg;
	pin(0);
	while (!atomic_load(&qstart))
		;
	for (int i = 0; i < QMSGS; i++)
		while (!ck_ring_enqueue_spsc(&ring, ring_buf, &qitems[i]))
			ck_pr_stall();
	return NULL;
}

static double bench_spsc_ptr(void)
{
	ck_ring_init(&ring, RING_SIZE);
	atomic_store(&qstart, 0);
	pthread_t t;
	pthread_create(&t, NULL, spsc_ptr_producer, NULL);
	pin(1);
	uint64_t t0 = now_ns();
	atomic_store(&qstart, 1);
	long got = 0;
	void *p;
	while (got < QMSGS)
		if (ck_ring_dequeue_spsc(&ring, ring_buf, &p))
			got++;
	uint64_t dt = now_ns() - t0;
	pthread_join(t, NULL);
	return (double)QMSGS / ((double)dt / 1e9);
}

/* Two threads, each blocked in epoll_wait on its eventfd, bouncing a token: the cost the
 * kernel and hypervisor put on waking a sleeping thread twice. */
enum { WAKE_ROUNDS = 2000 };
static int wake_fd[2];

static void wait_fd(int ep, int fd)
{
	struct epoll_event ev;
	uint64_t v;
	while (epoll_wait(ep, &ev, 1, -1) != 1)
		;
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		exit(1);
}

static int epoll_for(int fd)
{
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN};
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	return ep;
}

static void *wake_peer(void *arg)
{
	(void)arg;
	pin(1);
	int ep = epoll_for(wake_fd[0]);
	uint64_t one = 1;
	for (int i = 0; i < WAKE_ROUNDS; i++) {
		wait_fd(ep, wake_fd[0]);
		if (write(wake_fd[1], &one, sizeof(one)) != sizeof(one))
			exit(1);
	}
	close(ep);
	return NULL;
}

static void bench_wake_floor(double *p50, double *p99)
{
	wake_fd[0] = eventfd(0, 0);
	wake_fd[1] = eventfd(0, 0);
	pthread_t t;
	pthread_create(&t, NULL, wake_peer, NULL);
	pin(0);
	int ep = epoll_for(wake_fd[1]);
	usleep(10000);
	double *rtt = calloc(WAKE_ROUNDS, sizeof(double));
	uint64_t one = 1;
	for (int i = 0; i < WAKE_ROUNDS; i++) {
		uint64_t t0 = now_ns();
		if (write(wake_fd[0], &one, sizeof(one)) != sizeof(one))
			exit(1);
		wait_fd(ep, wake_fd[1]);
		rtt[i] = (double)(now_ns() - t0) / 1000.0;
	}
	pthread_join(t, NULL);
	qsort(rtt, WAKE_ROUNDS, sizeof(double), cmp_double);
	*p50 = rtt[WAKE_ROUNDS / 2];
	*p99 = rtt[WAKE_ROUNDS * 99 / 100];
	free(rtt);
	close(ep);
	close(wake_fd[0]);
	close(wake_fd[1]);
}

static double bench_spsc(void)
{
	ck_ring_init(&ring, RING_SIZE);
	atomic_store(&qstart, 0);
	pthread_t t;
	pthread_create(&t, NULL, spsc_producer, NULL);
	pin(1);
	uint64_t t0 = now_ns();
	atomic_store(&qstart, 1);
	long got = 0;
	uint64_t sum = 0;
	qitem_t *it;
	while (got < QMSGS) {
		if (ck_ring_dequeue_spsc(&ring, ring_buf, &it)) {
			sum += it->seq;
			got++;
		}
	}
	uint64_t dt = now_ns() - t0;
	pthread_join(t, NULL);
	check_sum(sum);
	return (double)QMSGS / ((double)dt / 1e9);
}

/* ---------------- actors ---------------- */

static nd_runtime_t *make_runtime(unsigned spin_us)
{
	nd_runtime_opts_t o;
	nd_runtime_opts_default(&o);
	o.workers = 2;
	o.spin_us = spin_us;
	o.pin_threads = true;
	nd_runtime_t *rt;
	if (nd_runtime_create(&rt, &o) != 0 || nd_runtime_start(rt) != 0) {
		fputs("runtime start failed\n", stderr);
		exit(1);
	}
	return rt;
}

static void end_runtime(nd_runtime_t *rt)
{
	nd_runtime_shutdown(rt);
	long leaks = nd_runtime_destroy(rt);
	if (leaks != 0) {
		fprintf(stderr, "runtime leaked %ld\n", leaks);
		exit(1);
	}
}

typedef struct sink {
	atomic_long count;
} sink_t;

static void sink_msg(nd_actor_t *self, nd_msg_t *m)
{
	sink_t *s = nd_actor_state(self);
	/* relaxed: the driver only polls the count. */
	atomic_store_explicit(&s->count, atomic_load_explicit(&s->count, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	nd_msg_free(m);
}

static const nd_actor_class_t sink_class = {.name = "sink", .on_message = sink_msg};

enum { AMSGS = 4000000 };

typedef struct asend {
	nd_runtime_t *rt;
	nd_actor_t *to;
	long n;
} asend_t;

static void *actor_sender(void *arg)
{
	asend_t *a = arg;
	while (!atomic_load(&qstart))
		;
	for (long i = 0; i < a->n; i++)
		nd_actor_send(a->to, nd_msg_alloc(a->rt, sizeof(nd_msg_t), 1));
	return NULL;
}

static double bench_actor_send(int nprod)
{
	nd_runtime_t *rt = make_runtime(50);
	nd_actor_t *a = nd_actor_create(rt, &sink_class, sizeof(sink_t), nd_runtime_worker(rt, 1));
	nd_actor_start(a);
	sink_t *s = nd_actor_state(a);
	atomic_store(&qstart, 0);
	pthread_t t[8];
	asend_t args[8];
	for (int i = 0; i < nprod; i++) {
		args[i] = (asend_t){rt, a, AMSGS / nprod};
		pthread_create(&t[i], NULL, actor_sender, &args[i]);
	}
	uint64_t t0 = now_ns();
	atomic_store(&qstart, 1);
	long want = (AMSGS / nprod) * nprod;
	while (atomic_load_explicit(&s->count, memory_order_relaxed) < want)
		sched_yield();
	uint64_t dt = now_ns() - t0;
	for (int i = 0; i < nprod; i++)
		pthread_join(t[i], NULL);
	nd_actor_unref(a);
	end_runtime(rt);
	return (double)want / ((double)dt / 1e9);
}

/* Ping-pong: the pinger records each round trip; the ponger answers. */
enum { MAX_ROUNDS = 100000 };

typedef struct pingpong {
	nd_actor_t *peer; /* referenced */
	int is_pinger;
	int rounds, done_rounds;
	uint64_t sent_at;
	double *rtt_us;
	atomic_bool done;
} pingpong_t;

static void pp_msg(nd_actor_t *self, nd_msg_t *m)
{
	pingpong_t *p = nd_actor_state(self);
	if (p->is_pinger) {
		uint64_t t = now_ns();
		if (p->sent_at != 0)
			p->rtt_us[p->done_rounds++] = (double)(t - p->sent_at) / 1000.0;
		if (p->done_rounds == p->rounds) {
			nd_msg_free(m);
			atomic_store(&p->done, true);
			return;
		}
		p->sent_at = now_ns();
	}
	nd_actor_send(p->peer, m);
}

/* References to other actors are dropped in on_stop: holding them until on_free would keep a
 * pair that references each other alive forever. */
static void pp_stop(nd_actor_t *self)
{
	pingpong_t *p = nd_actor_state(self);
	nd_actor_unref(p->peer);
	p->peer = NULL;
}

static const nd_actor_class_t pp_class = {
    .name = "pingpong", .on_message = pp_msg, .on_stop = pp_stop};

static void bench_pingpong(unsigned spin_us, int rounds, double *p50, double *p99)
{
	nd_runtime_t *rt = make_runtime(spin_us);
	nd_actor_t *a =
	    nd_actor_create(rt, &pp_class, sizeof(pingpong_t), nd_runtime_worker(rt, 0));
	nd_actor_t *b =
	    nd_actor_create(rt, &pp_class, sizeof(pingpong_t), nd_runtime_worker(rt, 1));
	pingpong_t *pa = nd_actor_state(a), *pb = nd_actor_state(b);
	pa->peer = nd_actor_ref(b);
	pb->peer = nd_actor_ref(a);
	pa->is_pinger = 1;
	pa->rounds = rounds;
	pa->rtt_us = calloc((size_t)rounds, sizeof(double));
	nd_actor_start(a);
	nd_actor_start(b);
	usleep(10000);
	nd_actor_send(a, nd_msg_alloc(rt, sizeof(nd_msg_t), 1));
	while (!atomic_load(&pa->done))
		usleep(1000);
	*p50 = 0;
	qsort(pa->rtt_us, (size_t)rounds, sizeof(double), cmp_double);
	*p50 = pa->rtt_us[rounds / 2];
	*p99 = pa->rtt_us[(int)(rounds * 0.99)];
	free(pa->rtt_us);
	nd_actor_unref(a);
	nd_actor_unref(b);
	end_runtime(rt);
}

/* Fan-out: a driver actor sends one message to each of 1,000 sinks, ROUNDS times. */
enum { FANOUT = 1000, FAN_ROUNDS = 2000 };

typedef struct fan {
	nd_actor_t **sinks;
} fan_t;

static void fan_msg(nd_actor_t *self, nd_msg_t *m)
{
	fan_t *f = nd_actor_state(self);
	nd_runtime_t *rt = nd_actor_runtime(self);
	for (int i = 0; i < FANOUT; i++)
		nd_actor_send(f->sinks[i], nd_msg_alloc(rt, sizeof(nd_msg_t), 1));
	nd_msg_free(m);
}

static const nd_actor_class_t fan_class = {.name = "fan", .on_message = fan_msg};

static double bench_fanout(void)
{
	nd_runtime_t *rt = make_runtime(50);
	nd_actor_t **sinks = calloc(FANOUT, sizeof(*sinks));
	for (int i = 0; i < FANOUT; i++) {
		sinks[i] = nd_actor_create(rt, &sink_class, sizeof(sink_t), NULL);
		nd_actor_start(sinks[i]);
	}
	nd_actor_t *f = nd_actor_create(rt, &fan_class, sizeof(fan_t), nd_runtime_worker(rt, 0));
	((fan_t *)nd_actor_state(f))->sinks = sinks;
	nd_actor_start(f);
	uint64_t t0 = now_ns();
	for (int r = 0; r < FAN_ROUNDS; r++)
		nd_actor_send(f, nd_msg_alloc(rt, sizeof(nd_msg_t), 1));
	long want = (long)FANOUT * FAN_ROUNDS, got = 0;
	while (got < want) {
		got = 0;
		for (int i = 0; i < FANOUT; i++)
			got += atomic_load_explicit(&((sink_t *)nd_actor_state(sinks[i]))->count,
						    memory_order_relaxed);
		if (got < want)
			usleep(200);
	}
	uint64_t dt = now_ns() - t0;
	nd_actor_unref(f);
	for (int i = 0; i < FANOUT; i++)
		nd_actor_unref(sinks[i]);
	end_runtime(rt);
	free(sinks);
	return (double)want / ((double)dt / 1e9);
}

/* ---------------- driver ---------------- */

static FILE *json;

static void report(const char *name, const char *unit, double value, double extra,
		   const char *extra_name)
{
	if (extra_name != NULL)
		printf("%-20s %14.3f %-8s %s %.3f\n", name, value, unit, extra_name, extra);
	else
		printf("%-20s %14.3f %s\n", name, value, unit);
	if (json != NULL) {
		fprintf(json, "{\"scenario\":\"%s\",\"unit\":\"%s\",\"median\":%.3f", name, unit,
			value);
		if (extra_name != NULL)
			fprintf(json, ",\"%s\":%.3f", extra_name, extra);
		fputs("}\n", json);
	}
	fflush(stdout);
}

#define RUNS_MAX 15

int main(int argc, char **argv)
{
	int runs = 5;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
			json = fopen(argv[++i], "w");
		else {
			fprintf(stderr, "usage: %s [--runs N] [--json FILE]\n", argv[0]);
			return 2;
		}
	}
	if (runs < 1 || runs > RUNS_MAX)
		runs = 5;
	qitems = calloc(QMSGS, sizeof(qitem_t));
	/* Fault the pages in now, not in the first timed run. */
	memset(qitems, 1, (size_t)QMSGS * sizeof(qitem_t));
	double v[RUNS_MAX], w[RUNS_MAX];
	printf("natsd runtime micro-benchmarks, median of %d runs, %ld CPUs\n", runs,
	       sysconf(_SC_NPROCESSORS_ONLN));

	for (int r = 0; r < runs; r++)
		v[r] = bench_spsc() / 1e6;
	double floor_mps = median(v, runs);
	report("spsc_floor", "Mmsg/s", floor_mps, 0, NULL);
	for (int r = 0; r < runs; r++)
		v[r] = bench_spsc_ptr() / 1e6;
	report("spsc_floor_ptr", "Mmsg/s", median(v, runs), 0, NULL);
	int prods[] = {1, 2, 4};
	for (int k = 0; k < 3; k++) {
		for (int r = 0; r < runs; r++)
			v[r] = bench_queue(&mailbox_ops, prods[k]) / 1e6;
		char name[32];
		snprintf(name, sizeof(name), "mailbox_%dp", prods[k]);
		double m = median(v, runs);
		report(name, "Mmsg/s", m, floor_mps / m, "floor_ratio");
	}
	for (int r = 0; r < runs; r++)
		v[r] = bench_queue(&ckpr_ops, 1) / 1e6;
	report("ckpr_vyukov_1p", "Mmsg/s", median(v, runs), 0, NULL);
	for (int k = 0; k < 2; k++) {
		int n = k == 0 ? 1 : 4;
		for (int r = 0; r < runs; r++)
			v[r] = bench_actor_send(n) / 1e6;
		report(n == 1 ? "actor_send_1p" : "actor_send_4p", "Mmsg/s", median(v, runs), 0,
		       NULL);
	}
	for (int r = 0; r < runs; r++)
		bench_wake_floor(&v[r], &w[r]);
	report("wake_floor_p50", "us", median(v, runs), median(w, runs), "p99");
	for (int r = 0; r < runs; r++)
		bench_pingpong(0, 2000, &v[r], &w[r]);
	report("pingpong_asleep_p50", "us", median(v, runs), median(w, runs), "p99");
	for (int r = 0; r < runs; r++)
		bench_pingpong(100, 50000, &v[r], &w[r]);
	report("pingpong_busy_p50", "us", median(v, runs), median(w, runs), "p99");
	for (int r = 0; r < runs; r++)
		v[r] = bench_fanout() / 1e6;
	report("fanout_1000", "Mmsg/s", median(v, runs), 0, NULL);
	free(qitems);
	if (json != NULL)
		fclose(json);
	return 0;
}
