/* The embedding API (include/natsd.h): composes the layers into a server. This is the only
 * module that knows every layer; the daemon's main is a thin user of it. */
#include "include/natsd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/log.h"
#include "runtime/runtime.h"

#ifndef NATSD_VERSION
#define NATSD_VERSION "0.0.0"
#endif

struct natsd_options {
	unsigned workers;
};

struct natsd_server {
	natsd_options_t opts;
	nd_runtime_t *rt;
	bool started;
};

const char *natsd_version(void)
{
	return NATSD_VERSION;
}

const char *natsd_strerror(int code)
{
	return strerror(code < 0 ? -code : code);
}

natsd_options_t *natsd_options_create(void)
{
	natsd_options_t *o = calloc(1, sizeof(*o));
	if (o == NULL)
		abort();
	return o;
}

void natsd_options_destroy(natsd_options_t *opts)
{
	free(opts);
}

int natsd_options_set_workers(natsd_options_t *opts, unsigned workers)
{
	if (workers > 1024)
		return -EINVAL;
	opts->workers = workers;
	return 0;
}

int natsd_server_create(natsd_server_t **out, const natsd_options_t *opts)
{
	natsd_server_t *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->opts = *opts;
	nd_runtime_opts_t ro;
	nd_runtime_opts_default(&ro);
	ro.workers = opts->workers;
	int err = nd_runtime_create(&s->rt, &ro);
	if (err != 0) {
		free(s);
		return err;
	}
	*out = s;
	return 0;
}

int natsd_server_start(natsd_server_t *server)
{
	int err = nd_runtime_start(server->rt);
	if (err != 0)
		return err;
	server->started = true;
	nd_log_info("Starting natsd version %s", natsd_version());
	nd_log_info("Runtime is up with %u workers", nd_runtime_worker_count(server->rt));
	return 0;
}

void natsd_server_shutdown(natsd_server_t *server)
{
	if (!server->started)
		return;
	nd_runtime_shutdown(server->rt);
	server->started = false;
	nd_log_info("Server Exiting..");
}

void natsd_server_destroy(natsd_server_t *server)
{
	if (server == NULL)
		return;
	natsd_server_shutdown(server);
	long leaks = nd_runtime_destroy(server->rt);
	if (leaks != 0)
		nd_log_warn("%ld runtime objects were still allocated at exit", leaks);
	free(server);
}
