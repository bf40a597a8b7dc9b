/* The embedding API (include/natsd.h): composes the layers into a server. This is the only
 * module that knows every layer; the daemon's main is a thin user of it. */
#include "include/natsd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "actors/server.h"
#include "runtime/log.h"

#ifndef NATSD_VERSION
#define NATSD_VERSION "0.0.0"
#endif

struct natsd_options {
	nd_opts_t o;
};

struct natsd_server {
	nd_server_t *srv;
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
	nd_opts_default(&o->o);
	return o;
}

void natsd_options_destroy(natsd_options_t *opts)
{
	if (opts == NULL)
		return;
	nd_opts_deinit(&opts->o);
	free(opts);
}

int natsd_options_set_workers(natsd_options_t *opts, unsigned workers)
{
	if (workers > 1024)
		return -EINVAL;
	opts->o.workers = workers;
	return 0;
}

int natsd_options_set_spin(natsd_options_t *opts, unsigned us)
{
	if (us > 1000)
		return -EINVAL;
	opts->o.spin_us = us;
	return 0;
}

int natsd_options_set_listen(natsd_options_t *opts, const char *host, int port)
{
	if (port < -1 || port > 65535)
		return -EINVAL;
	if (host != NULL) {
		char *h = strdup(host);
		if (h == NULL)
			return -ENOMEM;
		free(opts->o.host);
		opts->o.host = h;
	}
	opts->o.port = port;
	return 0;
}

int natsd_server_create(natsd_server_t **out, const natsd_options_t *opts)
{
	natsd_server_t *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	int err = nd_server_create(&s->srv, &opts->o);
	if (err != 0) {
		free(s);
		return err;
	}
	*out = s;
	return 0;
}

int natsd_server_start(natsd_server_t *server)
{
	return nd_server_start(server->srv);
}

int natsd_server_port(const natsd_server_t *server)
{
	return nd_server_port(server->srv);
}

void natsd_server_shutdown(natsd_server_t *server)
{
	nd_server_shutdown(server->srv);
}

void natsd_server_destroy(natsd_server_t *server)
{
	if (server == NULL)
		return;
	long leaks = nd_server_destroy(server->srv);
	if (leaks != 0)
		nd_log_warn("%ld runtime objects were still allocated at exit", leaks);
	free(server);
}
