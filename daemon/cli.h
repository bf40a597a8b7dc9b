/* The natsd command line: the reference server's flags, parsed with the semantics of Go's `flag`
 * package, into the action to take and an ordered list of settings keyed by configuration-file
 * key paths. It only parses; applying the settings and performing the actions is the caller's
 * business (daemon/main.c). */
#ifndef ND_DAEMON_CLI_H
#define ND_DAEMON_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* nd_cli_parse's errors. Both leave a message (without a program-name prefix) in cli->error. */
#define ND_CLI_EFLAG (-1)    /* a bad flag: print the message, then the usage */
#define ND_CLI_ECOMMAND (-2) /* a positional argument that is not a command: print the message */

typedef enum nd_cli_type {
	ND_CLI_BOOL,
	ND_CLI_INT, /* int64: Go base-0 syntax (0x, 0o, 0b, leading-0 octal, underscores) */
	ND_CLI_STRING,
} nd_cli_type_t;

/* One value for one configuration key, as a flag gave it. */
typedef struct nd_cli_setting {
	const char *key; /* configuration-file key path: "port", "authorization.user" (static) */
	nd_cli_type_t type;
	union {
		bool b;
		int64_t i;
		const char *s; /* points into argv */
	} v;
	char flag[24]; /* the flag as typed, without its value: "-p", "--port" */
} nd_cli_setting_t;

/* What to do, most important first, resolved as the reference does: the flags -v, -h and
 * --help_tls win over a positional command, which wins over --signal. */
typedef enum nd_cli_action {
	ND_CLI_RUN,      /* start the server (or check the configuration with -t) */
	ND_CLI_VERSION,  /* -v, --version, or the command `version` */
	ND_CLI_HELP,     /* -h, --help, or the command `help` */
	ND_CLI_HELP_TLS, /* --help_tls */
	ND_CLI_SIGNAL,   /* --signal: signal a running server (the `signal` field) and exit */
} nd_cli_action_t;

typedef struct nd_cli {
	nd_cli_action_t action;
	bool check_config;  /* -t */
	const char *config; /* -c / --config, NULL if absent or empty (points into argv) */
	const char *signal; /* -sl / --signal, NULL if absent or empty (points into argv) */

	/* Settings in the order they must be applied; applying them in order gives each key its
	 * last value. Plain flags come in command-line order; the combined flags -DV, -DVV and -VV
	 * come last, in that order, each with its last value: the reference applies them after
	 * the others, so `-DV=false -D` leaves debug off. The flags above (and -h, -v,
	 * --help_tls) are not settings. */
	nd_cli_setting_t *settings;
	size_t nsettings;

	char *error; /* set on a parse error, else NULL */
} nd_cli_t;

/* Parses argv[1..argc-1] into cli (caller's storage, overwritten). Returns 0, ND_CLI_EFLAG or
 * ND_CLI_ECOMMAND. Strings in the result point into argv, which must outlive cli. Call
 * nd_cli_deinit afterwards whatever it returned. Any thread; no global state. */
int nd_cli_parse(nd_cli_t *cli, int argc, char *const argv[]);

/* Frees what nd_cli_parse allocated (settings, error). */
void nd_cli_deinit(nd_cli_t *cli);

/* The full -h text (daemon/usage.txt, compiled in), ready for fputs. Static. */
const char *nd_cli_usage(void);

/* s quoted the way Go's %q (strconv.Quote) quotes a string, for messages that must read like
 * the reference's. Returns a malloc'd string the caller frees. Printability of non-ASCII code
 * points is approximated (controls, separators and format characters are escaped; code
 * points unassigned in Unicode are printed as they are). */
char *nd_cli_quote(const char *s);

#endif
