/* natsd: the daemon. Parses the command line, takes signals in this thread only, and runs the
 * server from include/natsd.h until SIGINT or SIGTERM. */
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "include/natsd.h"
#include "runtime/log.h"
#include "runtime/signals.h"

static const int handled_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, 0};

static void usage(FILE *out)
{
	fputs("Usage: natsd [options]\n"
	      "\n"
	      "Server Options:\n"
	      "    -a, --addr, --net <host>         Bind to host address (default: 0.0.0.0)\n"
	      "    -p, --port <port>                Use port for clients (default: 4222)\n"
	      "        --workers <n>                Worker threads (default: one per CPU)\n"
	      "        --spin <us>                  Idle workers poll this long before sleeping\n"
	      "\n"
	      "Logging Options:\n"
	      "    -D, --debug                      Enable debugging output\n"
	      "    -V, --trace                      Trace the raw protocol\n"
	      "\n"
	      "Common Options:\n"
	      "    -h, --help                       Show this message\n"
	      "    -v, --version                    Show version\n",
	      out);
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_uint(const char *s, unsigned *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v > 1024)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_WORKERS = 256, OPT_SPIN };
	static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
						 {"version", no_argument, NULL, 'v'},
						 {"addr", required_argument, NULL, 'a'},
						 {"net", required_argument, NULL, 'a'},
						 {"port", required_argument, NULL, 'p'},
						 {"workers", required_argument, NULL, OPT_WORKERS},
						 {"spin", required_argument, NULL, OPT_SPIN},
						 {"debug", no_argument, NULL, 'D'},
						 {"trace", no_argument, NULL, 'V'},
						 {NULL, 0, NULL, 0}};
	const char *host = NULL;
	bool debug = false, trace = false;
	long port = 4222;
	natsd_options_t *opts = natsd_options_create();
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hva:p:DV", longopts, NULL)) != -1) {
		unsigned n;
		switch (c) {
		case 'a':
			host = optarg;
			break;
		case 'D':
			debug = true;
			break;
		case 'V':
			trace = true;
			break;
		case 'p':
			if (parse_int(optarg, -1, 65535, &port) != 0) {
				fprintf(stderr, "natsd: invalid value for -p/--port: %s\n", optarg);
				natsd_options_destroy(opts);
				return 1;
			}
			break;
		case 'h':
			usage(stdout);
			natsd_options_destroy(opts);
			return 0;
		case 'v':
			printf("natsd: v%s\n", natsd_version());
			natsd_options_destroy(opts);
			return 0;
		case OPT_SPIN:
			if (parse_uint(optarg, &n) != 0 || natsd_options_set_spin(opts, n) != 0) {
				fprintf(stderr, "natsd: invalid value for --spin: %s\n", optarg);
				natsd_options_destroy(opts);
				return 1;
			}
			break;
		case OPT_WORKERS:
			if (parse_uint(optarg, &n) != 0 ||
			    natsd_options_set_workers(opts, n) != 0) {
				fprintf(stderr, "natsd: invalid value for --workers: %s\n", optarg);
				natsd_options_destroy(opts);
				return 1;
			}
			break;
		default:
			fprintf(stderr, "natsd: unknown or incomplete option: %s\n",
				argv[optind - 1]);
			usage(stderr);
			natsd_options_destroy(opts);
			return 1;
		}
	}
	if (natsd_options_set_listen(opts, host, (int)port) != 0) {
		fprintf(stderr, "natsd: invalid listen address\n");
		natsd_options_destroy(opts);
		return 1;
	}
	if (optind < argc) {
		fprintf(stderr, "natsd: unexpected argument: %s\n", argv[optind]);
		usage(stderr);
		natsd_options_destroy(opts);
		return 1;
	}

	/* Before any thread exists: every thread inherits the blocked set, and only this one
	 * takes signals (synchronously, below). */
	if (nd_signals_block(handled_signals) != 0) {
		fputs("natsd: cannot block signals\n", stderr);
		return 1;
	}
	char logerr[512];
	if (nd_log_configure(&(nd_log_opts_t){.logtime = true, .debug = debug, .trace = trace},
			     logerr, sizeof(logerr)) != 0) {
		fprintf(stderr, "natsd: %s\n", logerr);
		natsd_options_destroy(opts);
		return 1;
	}

	natsd_server_t *server;
	int err = natsd_server_create(&server, opts);
	natsd_options_destroy(opts);
	if (err != 0) {
		nd_log_fatal("cannot create the server: %s", natsd_strerror(err));
		nd_log_shutdown();
		return 1;
	}
	err = natsd_server_start(server);
	if (err != 0) {
		nd_log_fatal("cannot start the server: %s", natsd_strerror(err));
		natsd_server_destroy(server);
		nd_log_shutdown();
		return 1;
	}
	for (;;) {
		int sig = nd_signals_wait(handled_signals, -1);
		if (sig == SIGINT || sig == SIGTERM) {
			nd_log_info("Trapped \"%s\" signal",
				    sig == SIGINT ? "interrupt" : "terminated");
			break;
		}
		if (sig == SIGUSR1) {
			nd_log_reopen();
			continue;
		}
		if (sig < 0) {
			nd_log_error("waiting for signals failed: %s", strerror(-sig));
			break;
		}
	}
	natsd_server_destroy(server);
	nd_log_shutdown(); /* every line written before exit */
	return 0;
}
