/* natsd: the daemon. Parses the command line (daemon/cli.h), performs the actions that exit at
 * once (-v, -h, --signal), takes signals in this thread only, and runs the server from
 * include/natsd.h until SIGINT or SIGTERM. */
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "daemon/cli.h"
#include "daemon/signal_cmd.h"
#include "include/natsd.h"
#include "runtime/log.h"
#include "runtime/signals.h"

static const int handled_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, 0};

static const char help_tls[] = "\n"
			       "natsd does not support TLS yet: the --tls flags and the tls block\n"
			       "of the configuration file are rejected.\n"
			       "\n";

/* INTEGRATOR (1 of 2): configuration files. Replace this function with loading cli->config
 * (and, with -t, reporting "natsd: configuration file F is valid" or the errors and exiting).
 * Returns 0 to go on, or the exit status. */
static int load_config_file(const nd_cli_t *cli)
{
	(void)cli;
	fputs("natsd: configuration files are not supported yet\n", stderr);
	return 1;
}

static int bad_value(const nd_cli_setting_t *st, const char *why)
{
	fprintf(stderr, "natsd: invalid value %" PRId64 " for flag %s: %s\n", st->v.i, st->flag,
		why);
	return 1;
}

/* INTEGRATOR (2 of 2): applying the flags' settings. Replace this function with a loop over
 * cli->settings calling natsd_options_set_int/_string/_bool(opts, st->key, ...), which applies
 * a key exactly as the configuration file does. Until then only what the embedding API and the
 * log support is applied; any other flag is refused. Returns 0 or the exit status. */
static int apply_settings(natsd_options_t *opts, nd_log_opts_t *log, const nd_cli_t *cli)
{
	const char *host = NULL;
	int64_t port = 4222;
	for (size_t i = 0; i < cli->nsettings; i++) {
		const nd_cli_setting_t *st = &cli->settings[i];
		if (strcmp(st->key, "host") == 0) {
			host = st->v.s;
		} else if (strcmp(st->key, "port") == 0) {
			if (st->v.i < -1 || st->v.i > 65535)
				return bad_value(st, "not a port (-1 to 65535)");
			/* As in the reference, port 0 means the default. */
			port = st->v.i == 0 ? 4222 : st->v.i;
		} else if (strcmp(st->key, "workers") == 0) {
			if (st->v.i < 0 || st->v.i > 1024 ||
			    natsd_options_set_workers(opts, (unsigned)st->v.i) != 0)
				return bad_value(st, "must be 0 to 1024");
		} else if (strcmp(st->key, "spin") == 0) {
			if (st->v.i < 0 || st->v.i > 1000 ||
			    natsd_options_set_spin(opts, (unsigned)st->v.i) != 0)
				return bad_value(st, "must be 0 to 1000");
		} else if (strcmp(st->key, "debug") == 0) {
			log->debug = st->v.b;
		} else if (strcmp(st->key, "trace") == 0 || strcmp(st->key, "trace_verbose") == 0) {
			/* trace_verbose also traces the system account, which natsd does not have
			 * yet; like the configuration key it sets trace too. */
			log->trace = st->v.b;
		} else if (strcmp(st->key, "logtime") == 0) {
			log->logtime = st->v.b;
		} else {
			fprintf(stderr, "natsd: %s is not supported yet\n", st->flag);
			return 1;
		}
	}
	if (natsd_options_set_listen(opts, host, (int)port) != 0) {
		fputs("natsd: invalid listen address\n", stderr);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	nd_cli_t cli;
	int rc = nd_cli_parse(&cli, argc, argv);
	if (rc == ND_CLI_EFLAG) {
		/* The reference prints the usage on stdout and exits 0; a usage error must fail. */
		fprintf(stderr, "%s\n", cli.error);
		fputs(nd_cli_usage(), stderr);
		nd_cli_deinit(&cli);
		return 1;
	}
	if (rc != 0) {
		fprintf(stderr, "natsd: %s\n", cli.error);
		nd_cli_deinit(&cli);
		return 1;
	}
	switch (cli.action) {
	case ND_CLI_VERSION:
		printf("natsd: v%s\n", natsd_version());
		nd_cli_deinit(&cli);
		return 0;
	case ND_CLI_HELP:
		fputs(nd_cli_usage(), stdout);
		nd_cli_deinit(&cli);
		return 0;
	case ND_CLI_HELP_TLS:
		fputs(help_tls, stdout);
		nd_cli_deinit(&cli);
		return 0;
	case ND_CLI_SIGNAL: {
		/* Before anything else: the configuration is not even read. */
		char *err;
		rc = nd_signal_cmd(cli.signal, "natsd", &err);
		if (rc != 0)
			fprintf(stderr, "natsd: %s\n", err);
		free(err);
		nd_cli_deinit(&cli);
		return rc != 0 ? 1 : 0;
	}
	case ND_CLI_RUN:
		break;
	}
	if (cli.check_config && cli.config == NULL) {
		fputs("natsd: must specify [-c, --config] option to check configuration file "
		      "syntax\n",
		      stderr);
		nd_cli_deinit(&cli);
		return 1;
	}
	if (cli.config != NULL && (rc = load_config_file(&cli)) != 0) {
		nd_cli_deinit(&cli);
		return rc;
	}

	nd_log_opts_t log = {.logtime = true, .fd = -1};
	natsd_options_t *opts = natsd_options_create();
	rc = apply_settings(opts, &log, &cli);
	nd_cli_deinit(&cli);
	if (rc != 0) {
		natsd_options_destroy(opts);
		return rc;
	}

	/* Before any thread exists: every thread inherits the blocked set, and only this one
	 * takes signals (synchronously, below). */
	if (nd_signals_block(handled_signals) != 0) {
		fputs("natsd: cannot block signals\n", stderr);
		natsd_options_destroy(opts);
		return 1;
	}
	char logerr[512];
	if (nd_log_configure(&log, logerr, sizeof(logerr)) != 0) {
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
