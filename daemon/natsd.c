/* The embedding API (include/natsd.h): composes the layers into a server. This is the only
 * module that knows every layer; the daemon's main is a thin user of it. */
#include "include/natsd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology/cluster.h"
#include "actors/config.h"
#include "actors/server.h"
#include "runtime/log.h"

#ifndef NATSD_VERSION
#define NATSD_VERSION "0.0.0"
#endif

/* A setting made by key (a command-line flag, mostly), replayed over every file load. */
typedef struct override {
	char *key;
	nd_conf_type_t type;
	int64_t i;
	bool b;
	char *s;
} override_t;

struct natsd_options {
	nd_opts_t o;
	override_t *overrides;
	size_t noverrides;
};

struct natsd_server {
	nd_server_t *srv;
	nd_cluster_t *cluster; /* NULL without routes */
	natsd_options_t *opts; /* what it was created from: reload reads the same file again */
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
	for (size_t i = 0; i < opts->noverrides; i++) {
		free(opts->overrides[i].key);
		free(opts->overrides[i].s);
	}
	free(opts->overrides);
	free(opts);
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (d == NULL)
		abort();
	return d;
}

static natsd_options_t *options_copy(const natsd_options_t *src)
{
	natsd_options_t *o = calloc(1, sizeof(*o));
	if (o == NULL)
		abort();
	nd_opts_copy(&o->o, &src->o);
	o->overrides = calloc(src->noverrides + 1, sizeof(*o->overrides));
	if (o->overrides == NULL)
		abort();
	for (size_t i = 0; i < src->noverrides; i++) {
		o->overrides[i] = src->overrides[i];
		o->overrides[i].key = xstrdup(src->overrides[i].key);
		o->overrides[i].s = src->overrides[i].s ? xstrdup(src->overrides[i].s) : NULL;
	}
	o->noverrides = src->noverrides;
	return o;
}

static nd_conf_value_t override_value(const override_t *ov)
{
	nd_conf_value_t v = {.type = ov->type};
	switch (ov->type) {
	case ND_CONF_INT:
		v.u.i = ov->i;
		break;
	case ND_CONF_BOOL:
		v.u.b = ov->b;
		break;
	default:
		v.u.str.p = ov->s;
		v.u.str.n = strlen(ov->s);
		break;
	}
	return v;
}

/* Applies ov to o; on failure *err gets the report's text. */
static int apply_override(nd_opts_t *o, const override_t *ov, char **err)
{
	nd_config_report_t r;
	nd_config_report_init(&r);
	nd_conf_value_t v = override_value(ov);
	int rc = nd_config_set(o, ov->key, &v, &r);
	if (rc != 0 && err != NULL) {
		char *text = nd_config_report_text(&r);
		if (text != NULL) {
			size_t n = strlen(text);
			if (n > 0 && text[n - 1] == '\n')
				text[n - 1] = '\0';
		}
		*err = text != NULL ? text : xstrdup("invalid value");
	}
	nd_config_report_deinit(&r);
	return rc != 0 ? -EINVAL : 0;
}

static int set_override(natsd_options_t *opts, override_t ov, char **err)
{
	if (err != NULL)
		*err = NULL;
	int rc = apply_override(&opts->o, &ov, err);
	if (rc != 0)
		return rc;
	override_t *n = realloc(opts->overrides, (opts->noverrides + 1) * sizeof(*n));
	if (n == NULL)
		abort();
	opts->overrides = n;
	ov.key = xstrdup(ov.key);
	ov.s = ov.s != NULL ? xstrdup(ov.s) : NULL;
	opts->overrides[opts->noverrides++] = ov;
	return 0;
}

int natsd_options_set_int(natsd_options_t *opts, const char *key, int64_t value, char **err)
{
	return set_override(
	    opts, (override_t){.key = (char *)(uintptr_t)key, .type = ND_CONF_INT, .i = value},
	    err);
}

int natsd_options_set_string(natsd_options_t *opts, const char *key, const char *value, char **err)
{
	return set_override(opts,
			    (override_t){.key = (char *)(uintptr_t)key,
					 .type = ND_CONF_STRING,
					 .s = (char *)(uintptr_t)value},
			    err);
}

int natsd_options_set_bool(natsd_options_t *opts, const char *key, bool value, char **err)
{
	return set_override(
	    opts, (override_t){.key = (char *)(uintptr_t)key, .type = ND_CONF_BOOL, .b = value},
	    err);
}

/* Builds options from the defaults, the file and the overrides, then the baseline. */
static int load_into(nd_opts_t *dst, const natsd_options_t *opts, const char *path, char **report)
{
	nd_opts_t o;
	nd_opts_default(&o);
	o.workers = opts->o.workers; /* the embedding API's own settings */
	o.spin_us = opts->o.spin_us;
	nd_config_report_t r;
	nd_config_report_init(&r);
	int rc = nd_config_load_file(&o, path, &r);
	*report = nd_config_report_text(&r);
	nd_config_report_deinit(&r);
	if (rc != 0) {
		nd_opts_deinit(&o);
		return -EINVAL;
	}
	for (size_t i = 0; i < opts->noverrides; i++) {
		char *err = NULL;
		if (apply_override(&o, &opts->overrides[i], &err) != 0) {
			free(*report);
			*report = err;
			nd_opts_deinit(&o);
			return -EINVAL;
		}
	}
	nd_config_baseline(&o);
	nd_opts_deinit(dst);
	*dst = o;
	return 0;
}

int natsd_options_load_file(natsd_options_t *opts, const char *path, char **report)
{
	return load_into(&opts->o, opts, path, report);
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

/* The last string set by key, or NULL. */
static const char *override_string(const natsd_options_t *opts, const char *key)
{
	const char *v = NULL;
	for (size_t i = 0; i < opts->noverrides; i++)
		if (strcmp(opts->overrides[i].key, key) == 0 && opts->overrides[i].s != NULL)
			v = opts->overrides[i].s;
	return v;
}

/* The reference's last check of its flags (ConfigureOptions): --routes needs a cluster
 * listener, from --cluster or the file. */
static bool routes_without_cluster(const natsd_options_t *opts, const nd_opts_t *o)
{
	const char *routes = override_string(opts, "cluster.routes");
	const char *listen = override_string(opts, "cluster.listen");
	return routes != NULL && routes[0] != '\0' && (listen == NULL || listen[0] == '\0') &&
	       (o->cluster.host == NULL || o->cluster.host[0] == '\0') && o->cluster.port == 0;
}

int natsd_server_create(natsd_server_t **out, const natsd_options_t *opts, char **err)
{
	if (err != NULL)
		*err = NULL;
	natsd_server_t *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	char msg[512] = "";
	/* The baseline (zero means default) also applies without a file, as in the reference. */
	nd_opts_t o;
	nd_opts_copy(&o, &opts->o);
	nd_config_baseline(&o);
	int rc = -EINVAL;
	if (routes_without_cluster(opts, &o))
		snprintf(msg, sizeof(msg),
			 "solicited routes require cluster capabilities, e.g. --cluster");
	else
		rc = nd_server_create(&s->srv, &o, msg, sizeof(msg));
	nd_opts_deinit(&o);
	if (rc != 0) {
		if (err != NULL)
			*err = xstrdup(msg[0] ? msg : natsd_strerror(rc));
		free(s);
		return rc;
	}
	s->cluster = nd_cluster_create(s->srv);
	s->opts = options_copy(opts);
	*out = s;
	return 0;
}

int natsd_server_reload(natsd_server_t *server, char **err)
{
	*err = NULL;
	const char *path = server->opts->o.config_file;
	if (path == NULL) {
		*err =
		    xstrdup("can only reload config when a file is provided using -c or --config");
		return -EINVAL;
	}
	nd_opts_t o = {0};
	nd_opts_default(&o);
	char *report = NULL;
	char *p = xstrdup(path);
	int rc = load_into(&o, server->opts, p, &report);
	free(p);
	if (rc != 0) {
		nd_opts_deinit(&o);
		*err = report != NULL ? report : xstrdup("invalid configuration");
		size_t n = strlen(*err);
		while (n > 0 && (*err)[n - 1] == '\n')
			(*err)[--n] = '\0';
		return rc;
	}
	free(report); /* warnings only */
	rc = nd_server_reload(server->srv, &o, err);
	if (rc == 0) {
		nd_opts_deinit(&server->opts->o);
		server->opts->o = o;
		return 0;
	}
	nd_opts_deinit(&o);
	return -EINVAL;
}

void natsd_server_lame_duck(natsd_server_t *server)
{
	nd_server_lame_duck(server->srv);
}

bool natsd_server_done(natsd_server_t *server)
{
	return nd_server_done(server->srv);
}

void natsd_log_reopen(void)
{
	nd_log_reopen();
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
	nd_cluster_destroy(server->cluster);
	if (leaks != 0)
		nd_log_warn("%ld runtime objects were still allocated at exit", leaks);
	natsd_options_destroy(server->opts);
	free(server);
}
