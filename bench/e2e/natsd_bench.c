/* natsd-bench: the load generator and the side-by-side comparison with nats-server.
 *
 *   natsd-bench list
 *   natsd-bench run [--host H] [--port P] [--sub-port P2] [--server-pid PID] [--scale X]
 *                   [--json F] [--tls-ca FILE]
 *                   [--pubs N] [--subs N] [--size B] [--msgs N] [--queue] [--rate R] NAME|all
 *     (the options reshape the named scenario: e.g. 'run --pubs 4 --subs 2 --size 256
 *      pubsub_16b', or 'run --rate 5000 reqrep_1' for fixed-rate latency)
 *   natsd-bench compare --natsd PATH [--reference PATH] [--rounds N] [--pin] [--scale X]
 *                       [--only a,b,...] [--json F] [--csv F]
 *
 * compare starts each server fresh for every measurement, on a random port, alternating the
 * order (natsd first in even rounds, nats-server first in odd ones), and prints the median of
 * the rounds per server and the ratio natsd / nats-server. With --pin the server runs on CPU 0
 * and the generator on CPU 1; without it both float.
 *
 * The tls_* scenarios run against servers that require TLS: compare makes a CA and a server
 * certificate once per run (openssl CLI, EC P-256, SAN IP:127.0.0.1 and DNS:localhost) in a
 * temporary directory, starts both servers with the same configuration file (host, port -1,
 * tls { cert_file, key_file }), trusts the CA on the client side, and removes the directory at
 * exit. 'run' uses TLS for them too, trusting --tls-ca FILE (or, without it, any certificate).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/e2e/bconn.h"
#include "bench/e2e/scenarios.h"

#define MAX_ROUNDS 15

static const scenario_t scenarios[] = {
    {"pub_16b", SC_PUBSUB, 1, 0, false, 16, 5000000, 0},
    {"pub_128b", SC_PUBSUB, 1, 0, false, 128, 3000000, 0},
    {"pub_1k", SC_PUBSUB, 1, 0, false, 1024, 1000000, 0},
    {"pub_16k", SC_PUBSUB, 1, 0, false, 16384, 100000, 0},
    {"pubsub_16b", SC_PUBSUB, 1, 1, false, 16, 2000000, 0},
    {"pubsub_1k", SC_PUBSUB, 1, 1, false, 1024, 500000, 0},
    {"fanout_10", SC_PUBSUB, 1, 10, false, 16, 200000, 0},
    {"fanout_100", SC_PUBSUB, 1, 100, false, 16, 20000, 0},
    {"fanin_8", SC_PUBSUB, 8, 1, false, 16, 250000, 0},
    {"queue_4", SC_PUBSUB, 1, 4, true, 16, 1000000, 0},
    {"reqrep_1", SC_REQREP, 1, 0, false, 16, 20000, 0},
    {"reqrep_16", SC_REQREP, 16, 0, false, 16, 2000, 0},
    {"idle_10k", SC_IDLE, 0, 0, false, 0, 10000, 0},
    {"subs_100k", SC_SUBS, 0, 0, false, 0, 100000, 0},
    /* Across a route: publisher on one server, subscriber on the other (compare starts a
     * two-server cluster of each kind). */
    {"cluster_16b", SC_PUBSUB, 1, 1, false, 16, 2000000, 0, true},
    {"cluster_1k", SC_PUBSUB, 1, 1, false, 1024, 500000, 0, true},
    /* Over TLS (compare gives both servers the same certificate): 1->1 as pubsub_*, and new
     * connections per second, 4 threads opening 2,000 connections in all (connect, INFO, TLS
     * handshake, CONNECT, PING/PONG, close). */
    {"tls_pubsub_16b", SC_PUBSUB, 1, 1, false, 16, 2000000, 0, false, true},
    {"tls_pubsub_1k", SC_PUBSUB, 1, 1, false, 1024, 500000, 0, false, true},
    {"tls_handshakes", SC_CONNECT, 4, 0, false, 0, 2000, 0, false, true},
};
#define NSCEN (sizeof(scenarios) / sizeof(scenarios[0]))

static scenario_t scaled(const scenario_t *s, double scale)
{
	scenario_t c = *s;
	if (c.kind == SC_PUBSUB || c.kind == SC_REQREP || c.kind == SC_CONNECT) {
		c.msgs = (long)((double)c.msgs * scale);
		if (c.msgs < 1)
			c.msgs = 1;
	}
	return c;
}

static void pin_self(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* ---- TLS certificates ---- */

static char tls_dir[64];   /* the temporary directory, "" when none */
static char tls_conf[128]; /* the servers' configuration file in it */
static char tls_ca[128];   /* the CA the client trusts */

static const char *const tls_files[] = {"ca-key.pem",  "ca.pem",     "server-key.pem",
					"server.csr",  "ext.cnf",    "server-cert.pem",
					"server.conf", "openssl.log"};

static void tls_certs_remove(void)
{
	if (tls_dir[0] == '\0')
		return;
	char path[160];
	for (size_t i = 0; i < sizeof(tls_files) / sizeof(tls_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tls_dir, tls_files[i]);
		unlink(path);
	}
	rmdir(tls_dir);
	tls_dir[0] = '\0';
}

/* Makes a CA and a server certificate it signs (EC P-256, SAN IP:127.0.0.1 and DNS:localhost)
 * with the openssl CLI, and the configuration file both servers take. Once per run. */
static bool tls_certs_make(void)
{
	if (tls_dir[0] != '\0')
		return true;
	snprintf(tls_dir, sizeof(tls_dir), "/tmp/natsd-bench-tls-XXXXXX");
	if (mkdtemp(tls_dir) == NULL) {
		tls_dir[0] = '\0';
		perror("bench: mkdtemp");
		return false;
	}
	atexit(tls_certs_remove);
	char cmd[2048];
	snprintf(
	    cmd, sizeof(cmd),
	    "cd '%s' && exec >openssl.log 2>&1 && "
	    "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca-key.pem && "
	    "openssl req -x509 -new -key ca-key.pem -sha256 -days 2 -subj '/CN=natsd-bench CA' "
	    "-addext basicConstraints=critical,CA:TRUE "
	    "-addext keyUsage=critical,keyCertSign,cRLSign -out ca.pem && "
	    "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "
	    "server-key.pem && "
	    "openssl req -new -key server-key.pem -subj /CN=localhost -out server.csr && "
	    "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nbasicConstraints=CA:FALSE\\n"
	    "keyUsage=critical,digitalSignature\\nextendedKeyUsage=serverAuth\\n' >ext.cnf && "
	    "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -set_serial 2 "
	    "-days 2 -sha256 -extfile ext.cnf -out server-cert.pem",
	    tls_dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "bench: making the test certificates failed (see below)\n");
		snprintf(cmd, sizeof(cmd), "cat '%s/openssl.log' >&2", tls_dir);
		if (system(cmd) != 0)
			fputs("bench: no openssl log\n", stderr);
		return false;
	}
	snprintf(tls_ca, sizeof(tls_ca), "%s/ca.pem", tls_dir);
	snprintf(tls_conf, sizeof(tls_conf), "%s/server.conf", tls_dir);
	FILE *f = fopen(tls_conf, "w");
	if (f == NULL)
		return false;
	fprintf(f,
		"# natsd-bench: the same file for natsd and nats-server\n"
		"host: 127.0.0.1\n"
		"port: -1\n"
		"tls {\n"
		"  cert_file: \"%s/server-cert.pem\"\n"
		"  key_file: \"%s/server-key.pem\"\n"
		"}\n",
		tls_dir, tls_dir);
	fclose(f);
	return bconn_tls_init(tls_ca);
}

/* ---- servers ---- */

typedef struct server_proc {
	pid_t pid;
	int port, cluster_port;
	char log[256];
} server_proc_t;

/* Starts path on 127.0.0.1 with a random client port; with cluster, also a random route port
 * and, if route_port > 0, a route to it. With conf, the address and port come from that file
 * (the TLS scenarios). */
static int server_start(server_proc_t *s, const char *path, bool pin, bool cluster, int route_port,
			const char *conf)
{
	char routes[64];
	snprintf(routes, sizeof(routes), "nats://127.0.0.1:%d", route_port);
	const char *argv[16] = {path, "-a", "127.0.0.1", "-p", "-1"};
	int argc = 5;
	if (conf != NULL) {
		argv[1] = "-c";
		argv[2] = conf;
		argc = 3;
	}
	if (cluster) {
		argv[argc++] = "--cluster";
		argv[argc++] = "nats://127.0.0.1:-1";
		argv[argc++] = "--cluster_name";
		argv[argc++] = "bench";
		if (route_port > 0) {
			argv[argc++] = "--routes";
			argv[argc++] = routes;
		}
	}
	argv[argc] = NULL;
	snprintf(s->log, sizeof(s->log), "/tmp/natsd-bench-%d-%ld.log", (int)getpid(), random());
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (pin)
			pin_self(0);
		int fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		/* execv's prototype predates const; it does not write the strings. */
		union {
			const char **c;
			char *const *m;
		} args = {argv};
		execv(path, args.m);
		_exit(127);
	}
	s->pid = pid;
	static const char needle[] = "Listening for client connections on 127.0.0.1:";
	for (int i = 0; i < 500; i++) {
		usleep(20000);
		FILE *f = fopen(s->log, "r");
		if (f == NULL)
			continue;
		char buf[8192];
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		char *p = strstr(buf, needle);
		static const char rneedle[] = "Listening for route connections on 127.0.0.1:";
		char *rp = strstr(buf, rneedle);
		if (p != NULL && strstr(buf, "Server is ready") != NULL &&
		    (!cluster || rp != NULL)) {
			s->port = atoi(p + sizeof(needle) - 1);
			s->cluster_port = rp != NULL ? atoi(rp + sizeof(rneedle) - 1) : 0;
			return 0;
		}
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			fprintf(stderr, "bench: %s exited: %s\n", path, buf);
			return -1;
		}
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

static void server_stop(server_proc_t *s)
{
	kill(s->pid, SIGTERM);
	for (int i = 0; i < 500; i++) {
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
			unlink(s->log);
			return;
		}
		usleep(20000);
	}
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	unlink(s->log);
}

/* ---- output ---- */

static void print_result(const char *name, const char *server, const bench_result_t *r)
{
	printf("%-14s %-12s %14.1f %-9s cpu %.2f lost %llu", name, server, r->value, r->unit,
	       r->client_cpu, (unsigned long long)r->lost);
	if (r->server_cpu > 0)
		printf(" server cpu %.2f (%.3f us/msg)", r->server_cpu, r->server_us_per_msg);
	if (r->p99 > 0)
		printf(" p50 %.1f p90 %.1f p99 %.1f p99.9 %.1f max %.1f us", r->p50, r->p90, r->p99,
		       r->p999, r->max);
	if (r->delivered_rate > 0)
		printf(" delivered %.0f/s", r->delivered_rate);
	if (r->note[0])
		printf(" (%s)", r->note);
	printf("%s\n", r->ok ? "" : " [FAILED]");
	fflush(stdout);
}

static void json_result(FILE *f, const char *name, const char *server, int round,
			const bench_result_t *r)
{
	if (f == NULL)
		return;
	fprintf(
	    f,
	    "{\"scenario\":\"%s\",\"server\":\"%s\",\"round\":%d,\"value\":%.3f,\"unit\":\"%s\","
	    "\"ok\":%s,\"lost\":%llu,\"client_cpu\":%.3f,\"delivered_rate\":%.1f,\"p50\":%.2f,"
	    "\"p90\":%.2f,\"p99\":%.2f,\"p999\":%.2f,\"max\":%.2f,\"rss_kib\":%.0f,"
	    "\"sub_rate\":%.0f,\"server_cpu\":%.3f,\"server_us_per_msg\":%.4f}\n",
	    name, server, round, r->value, r->unit, r->ok ? "true" : "false",
	    (unsigned long long)r->lost, r->client_cpu, r->delivered_rate, r->p50, r->p90, r->p99,
	    r->p999, r->max, r->rss_kib, r->sub_rate, r->server_cpu, r->server_us_per_msg);
	fflush(f);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	if (n == 0)
		return 0;
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- commands ---- */

static const scenario_t *find(const char *name)
{
	for (size_t i = 0; i < NSCEN; i++)
		if (strcmp(scenarios[i].name, name) == 0)
			return &scenarios[i];
	return NULL;
}

static bool selected(const char *only, const char *name)
{
	if (only == NULL)
		return true;
	size_t n = strlen(name);
	for (const char *p = only; (p = strstr(p, name)) != NULL; p += n)
		if ((p == only || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
			return true;
	return false;
}

static int cmd_run(int argc, char **argv)
{
	const char *host = "127.0.0.1", *json = NULL, *name = NULL;
	int port = 4222, sub_port = 0;
	pid_t pid = 0;
	double scale = 1.0;
	const char *tls_ca_file = NULL;
	/* Overrides of the named scenario's shape: -1 = keep. */
	long msgs = -1;
	int pubs = -1, subs = -1, size = -1, queue = -1;
	double rate = -1;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--host") == 0 && i + 1 < argc)
			host = argv[++i];
		else if (strcmp(argv[i], "--msgs") == 0 && i + 1 < argc)
			msgs = atol(argv[++i]);
		else if (strcmp(argv[i], "--pubs") == 0 && i + 1 < argc)
			pubs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--subs") == 0 && i + 1 < argc)
			subs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
			size = atoi(argv[++i]);
		else if (strcmp(argv[i], "--queue") == 0)
			queue = 1;
		else if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc)
			rate = atof(argv[++i]);
		else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
			port = atoi(argv[++i]);
		else if (strcmp(argv[i], "--sub-port") == 0 && i + 1 < argc)
			sub_port = atoi(argv[++i]);
		else if (strcmp(argv[i], "--server-pid") == 0 && i + 1 < argc)
			pid = atoi(argv[++i]);
		else if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc)
			scale = atof(argv[++i]);
		else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
			json = argv[++i];
		else if (strcmp(argv[i], "--tls-ca") == 0 && i + 1 < argc)
			tls_ca_file = argv[++i];
		else
			name = argv[i];
	}
	if (name == NULL) {
		fputs("natsd-bench run: which scenario? (natsd-bench list)\n", stderr);
		return 2;
	}
	FILE *jf = json ? fopen(json, "w") : NULL;
	bench_target_t t = {host, port, pid, sub_port, 0, false};
	int rc = 0;
	for (size_t i = 0; i < NSCEN; i++) {
		if (strcmp(name, "all") != 0 && strcmp(name, scenarios[i].name) != 0)
			continue;
		scenario_t sc = scaled(&scenarios[i], scale);
		if (msgs > 0)
			sc.msgs = msgs;
		if (pubs > 0)
			sc.pubs = pubs;
		if (subs >= 0)
			sc.subs = subs;
		if (size >= 0)
			sc.size = size;
		if (queue > 0)
			sc.queue = true;
		if (rate >= 0)
			sc.rate = rate;
		t.tls = sc.tls;
		if (sc.tls && !bconn_tls_init(tls_ca_file)) {
			rc = 1;
			continue;
		}
		bench_result_t r;
		if (scenario_run(&sc, &t, &r) != 0) {
			fprintf(stderr, "%s: %s\n", sc.name, r.note);
			rc = 1;
			continue;
		}
		print_result(sc.name, "target", &r);
		json_result(jf, sc.name, "target", 0, &r);
	}
	if (find(name) == NULL && strcmp(name, "all") != 0) {
		fprintf(stderr, "unknown scenario %s\n", name);
		rc = 2;
	}
	if (jf)
		fclose(jf);
	return rc;
}

static int cmd_compare(int argc, char **argv)
{
	const char *paths[2] = {NULL, "/usr/sbin/nats-server"};
	static const char *const names[2] = {"natsd", "nats-server"};
	const char *json = NULL, *csv = NULL, *only = NULL;
	int rounds = 3;
	bool pin = false;
	double scale = 1.0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--natsd") == 0 && i + 1 < argc)
			paths[0] = argv[++i];
		else if (strcmp(argv[i], "--reference") == 0 && i + 1 < argc)
			paths[1] = argv[++i];
		else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (strcmp(argv[i], "--pin") == 0)
			pin = true;
		else if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc)
			scale = atof(argv[++i]);
		else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
			only = argv[++i];
		else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
			json = argv[++i];
		else if (strcmp(argv[i], "--csv") == 0 && i + 1 < argc)
			csv = argv[++i];
		else {
			fprintf(stderr, "natsd-bench compare: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (paths[0] == NULL || rounds < 1 || rounds > MAX_ROUNDS) {
		fputs("natsd-bench compare: --natsd PATH is required; 1 <= --rounds <= 15\n",
		      stderr);
		return 2;
	}
	if (pin)
		pin_self(1);
	for (size_t i = 0; i < NSCEN; i++)
		if (scenarios[i].tls && selected(only, scenarios[i].name) && !tls_certs_make()) {
			fputs("natsd-bench compare: cannot make the TLS certificates\n", stderr);
			return 1;
		}
	FILE *jf = json ? fopen(json, "w") : NULL;
	static double values[NSCEN][2][MAX_ROUNDS], cpu[NSCEN][2][MAX_ROUNDS],
	    p99[NSCEN][2][MAX_ROUNDS], usmsg[NSCEN][2][MAX_ROUNDS];
	static int count[NSCEN][2];
	static uint64_t lost[NSCEN][2];
	printf("natsd-bench compare: %d rounds, %s, scale %.2f\n", rounds,
	       pin ? "server on CPU 0, client on CPU 1" : "unpinned", scale);
	for (int round = 0; round < rounds; round++) {
		for (size_t i = 0; i < NSCEN; i++) {
			if (!selected(only, scenarios[i].name))
				continue;
			scenario_t sc = scaled(&scenarios[i], scale);
			for (int k = 0; k < 2; k++) {
				int which = (round % 2 == 0) ? k : 1 - k; /* A B, then B A */
				server_proc_t sp, sp2 = {0};
				const char *conf = sc.tls ? tls_conf : NULL;
				if (server_start(&sp, paths[which], pin, sc.cluster, 0, conf) !=
					0 ||
				    (sc.cluster && server_start(&sp2, paths[which], pin, true,
								sp.cluster_port, conf) != 0)) {
					fprintf(stderr, "cannot start %s\n", paths[which]);
					return 1;
				}
				bench_target_t t = {"127.0.0.1", sp.port, sp.pid,
						    sp2.port,    sp2.pid, sc.tls};
				bench_result_t r;
				int rc = scenario_run(&sc, &t, &r);
				server_stop(&sp);
				if (sc.cluster)
					server_stop(&sp2);
				if (rc != 0) {
					fprintf(stderr, "%s on %s: %s\n", sc.name, names[which],
						r.note);
					continue;
				}
				print_result(sc.name, names[which], &r);
				json_result(jf, sc.name, names[which], round, &r);
				values[i][which][count[i][which]] = r.value;
				cpu[i][which][count[i][which]] = r.client_cpu;
				p99[i][which][count[i][which]] = r.p99;
				usmsg[i][which][count[i][which]] = r.server_us_per_msg;
				count[i][which]++;
				lost[i][which] += r.lost;
			}
		}
	}
	FILE *cf = csv ? fopen(csv, "w") : NULL;
	if (cf)
		fputs(
		    "scenario,unit,natsd_median,nats_server_median,ratio,natsd_p99,nats_server_p99,"
		    "natsd_lost,nats_server_lost\n",
		    cf);
	printf("\n%-14s %-9s %14s %14s %8s %10s %10s %14s\n", "scenario", "unit", "natsd",
	       "nats-server", "ratio", "cpu natsd", "cpu ref", "srv us/msg");
	for (size_t i = 0; i < NSCEN; i++) {
		if (count[i][0] == 0 && count[i][1] == 0)
			continue;
		double a = median(values[i][0], count[i][0]), b = median(values[i][1], count[i][1]);
		double ca = median(cpu[i][0], count[i][0]), cb = median(cpu[i][1], count[i][1]);
		double pa = median(p99[i][0], count[i][0]), pb = median(p99[i][1], count[i][1]);
		scenario_t sc = scaled(&scenarios[i], scale);
		const char *unit = sc.kind == SC_PUBSUB    ? "msgs/s"
				   : sc.kind == SC_REQREP  ? "us p50"
				   : sc.kind == SC_IDLE    ? "KiB/conn"
				   : sc.kind == SC_CONNECT ? "conns/s"
							   : "MiB RSS";
		double ratio = b != 0 ? a / b : 0;
		double ua = median(usmsg[i][0], count[i][0]), ub = median(usmsg[i][1], count[i][1]);
		printf("%-14s %-9s %14.1f %14.1f %8.2f %10.2f %10.2f", scenarios[i].name, unit, a,
		       b, ratio, ca, cb);
		if (ua > 0 && ub > 0)
			printf("  %7.3f vs %.3f", ua, ub);
		if (sc.kind == SC_REQREP)
			printf("   p99 %.1f vs %.1f us", pa, pb);
		if (lost[i][0] || lost[i][1])
			printf("   lost %llu vs %llu", (unsigned long long)lost[i][0],
			       (unsigned long long)lost[i][1]);
		printf("\n");
		if (cf)
			fprintf(cf, "%s,%s,%.3f,%.3f,%.4f,%.2f,%.2f,%llu,%llu\n", scenarios[i].name,
				unit, a, b, ratio, pa, pb, (unsigned long long)lost[i][0],
				(unsigned long long)lost[i][1]);
	}
	puts("\nratio = natsd / nats-server: above 1 is better for msgs/s and conns/s, below 1 for "
	     "latency and memory. srv us/msg: server CPU per published message (per connection "
	     "for conns/s).");
	if (jf)
		fclose(jf);
	if (cf)
		fclose(cf);
	return 0;
}

static void usage(void)
{
	fputs("usage: natsd-bench list\n"
	      "       natsd-bench run [--host H] [--port P] [--sub-port P2] [--server-pid PID]\n"
	      "                       [--scale X]\n"
	      "                       [--json F] [--pubs N] [--subs N] [--size B] [--msgs N]\n"
	      "                       [--queue] [--rate R] [--tls-ca FILE] NAME|all\n"
	      "       natsd-bench compare --natsd PATH [--reference PATH] [--rounds N] [--pin]\n"
	      "                           [--scale X] [--only a,b] [--json F] [--csv F]\n",
	      stderr);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	srandom((unsigned)getpid());
	if (argc < 2) {
		usage();
		return 2;
	}
	if (strcmp(argv[1], "list") == 0) {
		for (size_t i = 0; i < NSCEN; i++)
			printf("%s\n", scenarios[i].name);
		return 0;
	}
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 2, argv + 2);
	if (strcmp(argv[1], "compare") == 0)
		return cmd_compare(argc - 2, argv + 2);
	usage();
	return 2;
}
