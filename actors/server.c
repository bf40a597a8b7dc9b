/* The server object: options, identity, the global account, the listener, and the runtime with
 * its delivery path. */
#include "actors/server.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "actors/listener.h"
#include "protocol/info.h"
#include "protocol/nkey.h"
#include "runtime/log.h"

/* The protocol level we implement and report: clients gate features on the server's version
 * (headers and no-responders need 2.2+), so INFO carries the reference version we are
 * compatible with. docs/compatibility.md. */
#define ND_COMPAT_VERSION "2.9.10"

#ifndef NATSD_VERSION
#define NATSD_VERSION "0.0.0"
#endif

struct nd_server {
	nd_opts_t opts;
	nd_runtime_t *rt;
	nd_delivery_shared_t *delivery;
	nd_pool_t *sub_pool;
	nd_account_t *gacc;
	nd_actor_t *listener;
	char id[ND_NKEY_LEN + 1];
	int port;
	bool started, stopped;
	atomic_long clients;
	atomic_ullong next_cid;
};

static char *xstrdup(const char *s)
{
	if (s == NULL)
		return NULL;
	char *d = strdup(s);
	if (d == NULL)
		abort();
	return d;
}

void nd_opts_default(nd_opts_t *o)
{
	memset(o, 0, sizeof(*o));
	o->host = xstrdup("0.0.0.0");
	o->port = 4222;
	o->max_payload = 1024 * 1024;
	o->max_pending = 64 * 1024 * 1024;
	o->max_control_line = 4096;
	o->max_connections = 64 * 1024;
	o->ping_interval_ms = 2 * 60 * 1000;
	o->ping_max = 2;
	o->write_deadline_ms = 10 * 1000;
	o->auth_timeout_ms = 2 * 1000;
	o->spin_us = 20;
}

void nd_opts_deinit(nd_opts_t *o)
{
	free(o->host);
	free(o->server_name);
	free(o->client_advertise);
	o->host = o->server_name = o->client_advertise = NULL;
}

void nd_opts_copy(nd_opts_t *dst, const nd_opts_t *src)
{
	*dst = *src;
	dst->host = xstrdup(src->host);
	dst->server_name = xstrdup(src->server_name);
	dst->client_advertise = xstrdup(src->client_advertise);
}

int nd_server_create(nd_server_t **out, const nd_opts_t *opts)
{
	if (opts->max_payload > opts->max_pending) {
		nd_log_error("max_payload (%lld) cannot be higher than max_pending (%lld)",
			     (long long)opts->max_payload, (long long)opts->max_pending);
		return -EINVAL;
	}
	nd_server_t *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	nd_opts_copy(&s->opts, opts);
	nd_runtime_opts_t ro;
	nd_runtime_opts_default(&ro);
	ro.workers = opts->workers;
	ro.spin_us = opts->spin_us;
	int err = nd_runtime_create(&s->rt, &ro);
	if (err != 0) {
		nd_opts_deinit(&s->opts);
		free(s);
		return err;
	}
	s->delivery = nd_delivery_install(s->rt);
	s->sub_pool =
	    nd_pool_create(s->rt, nd_runtime_worker_count(s->rt), sizeof(nd_sub_t), "subs");
	s->gacc = nd_account_create("$G");
	uint8_t key[32];
	if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key)) {
		for (size_t i = 0; i < sizeof(key); i++)
			key[i] = (uint8_t)rand();
	}
	nd_nkey_encode(ND_NKEY_PREFIX_SERVER, key, s->id);
	atomic_init(&s->clients, 0);
	atomic_init(&s->next_cid, 1);
	*out = s;
	return 0;
}

int nd_server_start(nd_server_t *s)
{
	int fd = nd_listener_bind(s->opts.host, s->opts.port, &s->port);
	if (fd < 0) {
		nd_log_error("Error listening on port: %s:%d, \"%s\"", s->opts.host, s->opts.port,
			     strerror(-fd));
		return fd;
	}
	nd_log_info("Starting natsd");
	nd_log_info("  Version:  %s (NATS protocol of nats-server %s)", NATSD_VERSION,
		    ND_COMPAT_VERSION);
	nd_log_info("  Name:     %s", s->opts.server_name ? s->opts.server_name : s->id);
	nd_log_info("  ID:       %s", s->id);
	nd_log_info("  Workers:  %u", nd_runtime_worker_count(s->rt));
	int err = nd_runtime_start(s->rt);
	if (err != 0)
		return err;
	s->started = true;
	s->listener = nd_listener_start(s, fd);
	nd_log_info("Listening for client connections on %s:%d", s->opts.host, s->port);
	nd_log_info("Server is ready");
	return 0;
}

void nd_server_shutdown(nd_server_t *s)
{
	if (!s->started || s->stopped)
		return;
	s->stopped = true;
	nd_actor_stop(s->listener);
	nd_runtime_shutdown(s->rt); /* stops every client: sockets close, subscriptions go */
	nd_log_info("Server Exiting..");
}

long nd_server_destroy(nd_server_t *s)
{
	if (s == NULL)
		return 0;
	nd_server_shutdown(s);
	if (s->listener != NULL)
		nd_actor_unref(s->listener);
	nd_delivery_uninstall(s->delivery);
	long leaks = nd_runtime_destroy(s->rt); /* runs retired frees into the sub pool */
	leaks += nd_pool_destroy(s->sub_pool);
	nd_account_destroy(s->gacc);
	nd_opts_deinit(&s->opts);
	free(s);
	return leaks;
}

int nd_server_port(const nd_server_t *s)
{
	return s->port;
}

const nd_opts_t *nd_server_opts(const nd_server_t *s)
{
	return &s->opts;
}

nd_runtime_t *nd_server_runtime(nd_server_t *s)
{
	return s->rt;
}

nd_delivery_shared_t *nd_server_delivery(nd_server_t *s)
{
	return s->delivery;
}

nd_account_t *nd_server_global_account(nd_server_t *s)
{
	return s->gacc;
}

nd_pool_t *nd_server_sub_pool(nd_server_t *s)
{
	return s->sub_pool;
}

const char *nd_server_id(const nd_server_t *s)
{
	return s->id;
}

char *nd_server_client_info(nd_server_t *s, uint64_t cid, const char *ip, size_t *len)
{
	nd_info_t in = {
	    .server_id = s->id,
	    .server_name = s->opts.server_name ? s->opts.server_name : s->id,
	    .version = ND_COMPAT_VERSION,
	    .go = "natsd " NATSD_VERSION,
	    .host = s->opts.host,
	    .port = s->port,
	    .headers = !s->opts.no_header_support,
	    .max_payload = s->opts.max_payload,
	    .client_id = cid,
	    .client_ip = ip,
	};
	return nd_info_encode(&in, len);
}

bool nd_server_client_admit(nd_server_t *s)
{
	/* relaxed: a count; the limit is approximate under concurrent accepts only in theory, as
	 * there is a single listener. */
	long n = atomic_fetch_add_explicit(&s->clients, 1, memory_order_relaxed);
	if (n >= s->opts.max_connections) {
		atomic_fetch_sub_explicit(&s->clients, 1, memory_order_relaxed);
		return false;
	}
	return true;
}

void nd_server_client_gone(nd_server_t *s)
{
	atomic_fetch_sub_explicit(&s->clients, 1, memory_order_relaxed);
}

uint64_t nd_server_next_cid(nd_server_t *s)
{
	return atomic_fetch_add_explicit(&s->next_cid, 1, memory_order_relaxed);
}
