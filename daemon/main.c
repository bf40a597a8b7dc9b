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

static const char help_tls[] =
    "\n"
    "TLS is configured in the tls section of a configuration file (see\n"
    "docs/configuration.md), as for nats-server:\n"
    "\n"
    "    tls {\n"
    "        cert_file: \"./certs/server-cert.pem\"\n"
    "        key_file:  \"./certs/server-key.pem\"\n"
    "        ca_file:   \"./certs/ca.pem\"\n"
    "        verify:    true\n"
    "    }\n"
    "\n"
    "or with --tls, --tlscert, --tlskey, --tlscacert and --tlsverify (which implies --tls).\n"
    "Cipher suites (TLS 1.2) and curves take the reference's names, e.g.\n"
    "    cipher_suites: [\"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\"]\n"
    "    curve_preferences: [\"X25519\", \"CurveP256\"]\n"
    "\n";

/* Prints a configuration report as the reference does: "natsd: " before the first line. */
static void print_report(const char *report)
{
	/* The report's lines end with '\n' and the reference ends it with one more (a parse
	 * error is a single line without one). */
	fprintf(stderr, "natsd: %s\n", report);
}

/* Applies the flags' settings by key, exactly as the configuration file would; they also
 * override a file loaded afterwards and every reload. Returns 0 or the exit status. */
static int apply_settings(natsd_options_t *opts, const nd_cli_t *cli)
{
	for (size_t i = 0; i < cli->nsettings; i++) {
		const nd_cli_setting_t *st = &cli->settings[i];
		char *err = NULL;
		int rc;
		switch (st->type) {
		case ND_CLI_BOOL:
			rc = natsd_options_set_bool(opts, st->key, st->v.b, &err);
			break;
		case ND_CLI_INT:
			rc = natsd_options_set_int(opts, st->key, st->v.i, &err);
			break;
		default:
			rc = natsd_options_set_string(opts, st->key, st->v.s, &err);
			break;
		}
		if (rc != 0) {
			fprintf(stderr, "natsd: %s: %s\n", st->flag,
				err != NULL ? err : natsd_strerror(rc));
			free(err);
			return 1;
		}
	}
	return 0;
}

/* Loads cli->config under the flags. With -t, reports and returns the exit status; otherwise
 * returns 0 to go on (printing warnings) or 1. */
static int load_config_file(natsd_options_t *opts, const nd_cli_t *cli)
{
	char *report = NULL;
	int rc = natsd_options_load_file(opts, cli->config, &report);
	if (rc != 0 || (cli->check_config && report != NULL)) {
		print_report(report != NULL ? report : natsd_strerror(rc));
		free(report);
		return 1;
	}
	if (cli->check_config) {
		fprintf(stderr, "natsd: configuration file %s is valid\n", cli->config);
		return 1 << 8; /* done, exit 0 */
	}
	if (report != NULL)
		fputs(report, stderr); /* warnings: the server starts anyway */
	free(report);
	return 0;
}

static const char *signal_name(int sig)
{
	switch (sig) {
	case SIGINT:
		return "interrupt";
	case SIGTERM:
		return "terminated";
	case SIGHUP:
		return "hangup";
	case SIGUSR1:
		return "user defined signal 1";
	default:
		return "user defined signal 2";
	}
}

/* Serves until SIGINT/SIGTERM, or until lame duck mode has closed every client. */
static void serve(natsd_server_t *server)
{
	bool lame_duck = false;
	for (;;) {
		int sig = nd_signals_wait(handled_signals, 200);
		if (sig == 0) {
			if (lame_duck && natsd_server_done(server))
				return;
			continue;
		}
		if (sig < 0) {
			nd_log_error("waiting for signals failed: %s", strerror(-sig));
			return;
		}
		nd_log_debug("Trapped \"%s\" signal", signal_name(sig));
		switch (sig) {
		case SIGINT:
			return;
		case SIGTERM:
			if (lame_duck)
				break; /* as the reference: lame duck mode finishes on its own */
			return;
		case SIGHUP: {
			char *err = NULL;
			if (natsd_server_reload(server, &err) != 0)
				nd_log_error("Failed to reload server configuration: %s",
					     err != NULL ? err : "unknown error");
			free(err);
			break;
		}
		case SIGUSR1:
			natsd_log_reopen();
			break;
		case SIGUSR2:
			lame_duck = true;
			natsd_server_lame_duck(server);
			break;
		}
	}
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
	natsd_options_t *opts = natsd_options_create();
	rc = apply_settings(opts, &cli);
	if (rc == 0 && cli.config != NULL)
		rc = load_config_file(opts, &cli);
	nd_cli_deinit(&cli);
	if (rc != 0) {
		natsd_options_destroy(opts);
		return rc == 1 << 8 ? 0 : rc;
	}

	/* Before any thread exists: every thread inherits the blocked set, and only this one
	 * takes signals (synchronously, below). */
	if (nd_signals_block(handled_signals) != 0) {
		fputs("natsd: cannot block signals\n", stderr);
		natsd_options_destroy(opts);
		return 1;
	}

	natsd_server_t *server;
	char *why = NULL;
	int err = natsd_server_create(&server, opts, &why);
	natsd_options_destroy(opts);
	if (err != 0) {
		fprintf(stderr, "natsd: %s\n", why != NULL ? why : natsd_strerror(err));
		free(why);
		return 1;
	}
	err = natsd_server_start(server);
	if (err != 0) {
		natsd_server_destroy(server); /* the server logged why */
		nd_log_shutdown();
		return 1;
	}
	serve(server);
	natsd_server_destroy(server);
	nd_log_shutdown(); /* every line written before exit */
	return 0;
}
