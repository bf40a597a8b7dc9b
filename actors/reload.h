/* What a configuration reload changes (the reference's diffOptions in server/reload.go): the
 * options that differ, whether each can change while running, and the line the reference logs
 * for each. Pure comparison; the server applies the result. */
#ifndef ND_ACTORS_RELOAD_H
#define ND_ACTORS_RELOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "actors/opts.h"

typedef struct nd_reload_plan {
	char **notices; /* "Reloaded: debug = true", ... in the reference's order */
	size_t n;
	bool logging;         /* the log configuration changed */
	bool auth;            /* users, passwords, tokens or permissions changed */
	bool max_connections; /* may have to close connections */
	bool pid_file, ports_file;
	bool client_info; /* INFO fields changed (max_payload, client_advertise) */
} nd_reload_plan_t;

/* Compares the running options with new ones. Returns 0 and the plan, or -1 with the reason a
 * restart is needed in *err (malloc'd), e.g. "config reload not supported for Port: old=4222,
 * new=4223". */
int nd_reload_plan(const nd_opts_t *old, const nd_opts_t *new_opts, nd_reload_plan_t *plan,
		   char **err);

void nd_reload_plan_deinit(nd_reload_plan_t *plan);

#endif
