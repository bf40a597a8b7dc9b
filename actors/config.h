/* The options processor: gives the keys of a parsed configuration file (protocol/conf.h) their
 * meaning, as the reference's server/opts.go does: a table of directives, the same type checks
 * and the same error and warning texts with file:line:col. Flags of the command line are
 * applied through the same table, by key. */
#ifndef ND_ACTORS_CONFIG_H
#define ND_ACTORS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actors/opts.h"
#include "protocol/conf.h"

/* What processing said. A parse failure (syntax, variables, includes) is one message and stops
 * everything; option errors and warnings are collected. */
typedef struct nd_config_report {
	char *parse_error; /* NULL unless the file could not be parsed */
	char **warnings;
	size_t nwarnings;
	char **errors;
	size_t nerrors;
} nd_config_report_t;

void nd_config_report_init(nd_config_report_t *r);
void nd_config_report_deinit(nd_config_report_t *r);

/* True if the report holds an error (warnings alone are not failures, except for -t). */
bool nd_config_report_failed(const nd_config_report_t *r);

/* The report as the reference prints it after "nats-server: ": a parse error alone, or the
 * warnings then the errors, each ending with '\n'. NULL when empty. malloc'd. */
char *nd_config_report_text(const nd_config_report_t *r);

/* Applies every key of a parsed file (root map) onto o, in file order. Returns 0 or -1 if any
 * error was reported. */
int nd_config_apply(nd_opts_t *o, const nd_conf_value_t *root, nd_config_report_t *r);

/* Parses the file at path and applies it onto o; o->config_file is set to path. Returns 0 or
 * -1 (see the report). */
int nd_config_load_file(nd_opts_t *o, const char *path, nd_config_report_t *r);

/* Applies one setting by key, as if the file said `key = value` (the command line's way).
 * Besides the file's top-level keys, "authorization.user", "authorization.password" and
 * "authorization.token" set the single user and token (--user, --pass, --auth), and
 * "cluster.listen" (a URL, as --cluster), "cluster.routes" (comma-separated URLs, as --routes),
 * "cluster.name", "cluster.advertise", "cluster.no_advertise" and "cluster.connect_retries" set
 * the cluster's. The value needs no position. Returns 0 or -1 (see the report). */
int nd_config_set(nd_opts_t *o, const char *key, const nd_conf_value_t *value,
		  nd_config_report_t *r);

/* Fills the defaults the reference applies after processing (setBaselineOptions): zero values
 * of limits and intervals mean the default. */
void nd_config_baseline(nd_opts_t *o);

#endif
