/* The options processor (actors/config.c), permissions (actors/perms.c), authentication
 * (actors/auth.c) and reload planning (actors/reload.c), from configuration text to options,
 * without a server. The byte-exact error texts are checked against nats-server by
 * test_config_files; this checks what the options end up being. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/auth.h"
#include "actors/config.h"
#include "actors/opts.h"
#include "actors/perms.h"
#include "actors/reload.h"
#include "protocol/conf.h"
#include "tests/support/nd_test.h"

/* Applies text onto defaults (then the baseline). Returns the processing result. */
static int load(nd_opts_t *o, const char *text, nd_config_report_t *r)
{
	nd_opts_default(o);
	nd_config_report_init(r);
	char *err = NULL;
	nd_conf_value_t *root = nd_conf_parse_text(text, strlen(text), "t.conf", NULL, &err);
	cr_assert_not_null(root, "parse: %s", err);
	int rc = nd_config_apply(o, root, r);
	nd_conf_free(root);
	nd_config_baseline(o);
	return rc;
}

static void load_ok(nd_opts_t *o, const char *text)
{
	nd_config_report_t r;
	int rc = load(o, text, &r);
	char *report = nd_config_report_text(&r);
	cr_assert_eq(rc, 0, "unexpected errors: %s", report ? report : "");
	free(report);
	nd_config_report_deinit(&r);
}

static char *load_fails(nd_opts_t *o, const char *text)
{
	nd_config_report_t r;
	int rc = load(o, text, &r);
	char *report = nd_config_report_text(&r);
	cr_assert_neq(rc, 0, "no error for: %s", text);
	cr_assert_not_null(report);
	nd_config_report_deinit(&r);
	return report;
}

ND_TEST(config, defaults_are_the_reference_defaults)
{
	nd_opts_t o;
	load_ok(&o, "");
	cr_assert_str_eq(o.host, "0.0.0.0");
	cr_assert_eq(o.port, 4222);
	cr_assert_eq(o.max_payload, 1024 * 1024);
	cr_assert_eq(o.max_pending, 64 * 1024 * 1024);
	cr_assert_eq(o.max_control_line, 4096u);
	cr_assert_eq(o.max_connections, 65536);
	cr_assert_eq(o.ping_interval_ms, 120000u);
	cr_assert_eq(o.ping_max, 2);
	cr_assert_eq(o.write_deadline_ms, 10000u);
	cr_assert_eq(o.lame_duck_duration_ms, 120000u);
	cr_assert_eq(o.lame_duck_grace_ms, 10000u);
	cr_assert(o.logtime);
	cr_assert_eq(nd_opts_auth_timeout_ms(&o), 2000u);
	nd_opts_deinit(&o);
}

ND_TEST(config, sizes_durations_and_listen)
{
	nd_opts_t o;
	load_ok(&o, "listen: 127.0.0.1:4333\nmax_payload: 2MB\nmax_pending = 100mb\n"
		    "ping_interval: \"30s\"\nwrite_deadline: \"1.5s\"\nmax_control_line 1kb\n"
		    "lame_duck_duration: \"45s\"\nlame_duck_grace_period: \"5s\"\n");
	cr_assert_str_eq(o.host, "127.0.0.1");
	cr_assert_eq(o.port, 4333);
	cr_assert_eq(o.max_payload, 2 * 1024 * 1024);
	cr_assert_eq(o.max_pending, 100ll * 1024 * 1024);
	cr_assert_eq(o.max_control_line, 1024u);
	cr_assert_eq(o.ping_interval_ms, 30000u);
	cr_assert_eq(o.write_deadline_ms, 1500u);
	cr_assert_eq(o.lame_duck_duration_ms, 45000u);
	cr_assert_eq(o.lame_duck_grace_ms, 5000u);
	nd_opts_deinit(&o);
}

ND_TEST(config, integer_ping_interval_is_seconds_with_a_warning)
{
	nd_opts_t o;
	nd_config_report_t r;
	cr_assert_eq(load(&o, "ping_interval: 60\n", &r), 0);
	cr_assert_eq(r.nwarnings, 1u);
	cr_assert(strstr(r.warnings[0], "ping_interval should be converted to a duration"));
	cr_assert_eq(o.ping_interval_ms, 60000u);
	nd_config_report_deinit(&r);
	nd_opts_deinit(&o);
}

ND_TEST(config, unknown_keys_and_wrong_types_are_errors)
{
	nd_opts_t o;
	char *rep = load_fails(&o, "foo = 1\nport = \"x\"\n");
	cr_assert(strstr(rep, "t.conf:1:0: unknown field \"foo\"") != NULL, "%s", rep);
	cr_assert(strstr(rep, "t.conf:2:1: interface conversion: interface {} is string, not "
			      "int64") != NULL,
		  "%s", rep);
	free(rep);
	nd_opts_deinit(&o);
}

ND_TEST(config, later_blocks_are_refused_not_ignored)
{
	const char *blocks[] = {"gateway { port: 7222 }",
				"leafnodes { port: 7422 }",
				"websocket { tls { cert_file: x } }",
				"accounts { A: {} }",
				"websocket { port: 8080 }",
				"mqtt { port: 1883 }",
				"jetstream: enabled"};
	for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
		nd_opts_t o;
		char *rep = load_fails(&o, blocks[i]);
		cr_assert(strstr(rep, "is not supported by natsd yet") != NULL, "%s: %s", blocks[i],
			  rep);
		free(rep);
		nd_opts_deinit(&o);
	}
}

ND_TEST(config, users_with_permissions)
{
	nd_opts_t o;
	load_ok(&o, "authorization {\n"
		    "  users = [\n"
		    "    { user: a, password: pw, permissions: { publish: { allow: \"orders.>\", "
		    "deny: \"orders.secret\" }, subscribe: [\"orders.*\", \"audit v1\"] } }\n"
		    "    { user: b, password: pw2 }\n"
		    "  ]\n"
		    "  default_permissions: { publish: \"public.>\" }\n"
		    "  timeout: 1.5\n"
		    "}\n");
	cr_assert_not_null(o.users);
	cr_assert_eq(nd_users_count(o.users), 2u);
	cr_assert_eq(nd_opts_auth_timeout_ms(&o), 1500u);
	const nd_user_t *a = nd_users_find(o.users, "a");
	cr_assert_not_null(a);
	cr_assert_not_null(a->perms);
	cr_assert(nd_perms_pub_allowed(a->perms, "orders.new", 10));
	cr_assert_not(nd_perms_pub_allowed(a->perms, "orders.secret", 13));
	cr_assert_not(nd_perms_pub_allowed(a->perms, "other", 5));
	cr_assert(nd_perms_sub_allowed(a->perms, "orders.x", 8, NULL, 0));
	cr_assert(nd_perms_sub_allowed(a->perms, "orders.*", 8, NULL, 0));
	/* As in the reference, the subject is matched as literal tokens: "*" takes ">" too. */
	cr_assert(nd_perms_sub_allowed(a->perms, "orders.>", 8, NULL, 0));
	cr_assert_not(nd_perms_sub_allowed(a->perms, "orders.a.b", 10, NULL, 0));
	cr_assert_not(nd_perms_sub_allowed(a->perms, "audit", 5, NULL, 0));
	cr_assert(nd_perms_sub_allowed(a->perms, "audit", 5, "v1", 2));
	cr_assert_not(nd_perms_sub_allowed(a->perms, "audit", 5, "v2", 2));
	/* default_permissions apply to users without their own. */
	const nd_user_t *b = nd_users_find(o.users, "b");
	cr_assert_not_null(b->perms);
	cr_assert(nd_perms_pub_allowed(b->perms, "public.x", 8));
	cr_assert_not(nd_perms_pub_allowed(b->perms, "private", 7));
	nd_opts_deinit(&o);
}

ND_TEST(config, authentication_order_and_no_auth_user)
{
	nd_opts_t o;
	load_ok(&o, "authorization { users = [ { user: guest, password: g }, { user: x, "
		    "password: y } ] }\nno_auth_user: guest\n");
	nd_auth_conf_t ac = nd_opts_auth(&o);
	cr_assert(nd_auth_required(&ac));
	nd_connect_opts_t co;
	nd_connect_opts_init(&co);
	const nd_user_t *u = NULL;
	cr_assert(nd_auth_check(&ac, &co, NULL, &u), "no credentials: the no_auth_user");
	cr_assert_not_null(u);
	cr_assert_str_eq(u->name, "guest");
	nd_connect_opts_deinit(&co);

	nd_connect_opts_init(&co);
	co.user = strdup("x");
	co.pass = strdup("wrong");
	cr_assert_not(nd_auth_check(&ac, &co, NULL, &u));
	char text[256];
	nd_auth_failure_text(&ac, &co, text, sizeof(text));
	cr_assert_str_eq(text, "authentication error - User \"x\"");
	nd_connect_opts_deinit(&co);
	nd_opts_deinit(&o);
}

ND_TEST(config, no_auth_user_must_exist)
{
	nd_opts_t o;
	nd_config_report_t r;
	load(&o, "authorization { users = [ { user: a, password: b } ] }\nno_auth_user: zed\n", &r);
	nd_config_report_deinit(&r);
	char err[256];
	cr_assert_neq(nd_opts_validate(&o, err, sizeof(err)), 0);
	cr_assert(strstr(err, "no_auth_user") != NULL, "%s", err);
	nd_opts_deinit(&o);
}

ND_TEST(config, flags_apply_by_key_over_the_file)
{
	nd_opts_t o;
	load_ok(&o, "port: 4000\ndebug: false\n");
	nd_config_report_t r;
	nd_config_report_init(&r);
	nd_conf_value_t port = {.type = ND_CONF_INT, .u.i = 5000};
	nd_conf_value_t debug = {.type = ND_CONF_BOOL, .u.b = true};
	nd_conf_value_t user = {.type = ND_CONF_STRING, .u.str = {(char *)(uintptr_t) "admin", 5}};
	cr_assert_eq(nd_config_set(&o, "port", &port, &r), 0);
	cr_assert_eq(nd_config_set(&o, "debug", &debug, &r), 0);
	cr_assert_eq(nd_config_set(&o, "authorization.user", &user, &r), 0);
	cr_assert_eq(o.port, 5000);
	cr_assert(o.debug);
	cr_assert_str_eq(o.username, "admin");
	nd_config_report_deinit(&r);
	nd_opts_deinit(&o);
}

/* ---- cluster ---- */

ND_TEST(config, cluster_block_is_parsed)
{
	nd_opts_t o;
	load_ok(&o, "cluster {\n"
		    "  name: east\n  listen: \"127.0.0.1:6222\"\n  advertise: \"east:6222\"\n"
		    "  no_advertise: true\n  connect_retries: 5\n"
		    "  authorization { user: ruser, password: pw, timeout: 2.5 }\n"
		    "  permissions { import: [\"a.>\", b], export: { allow: \"a.>\", deny: c } }\n"
		    "  routes: [ \"nats://ruser:pw@127.0.0.1:6223\", \" nats://h:6224 \" ]\n"
		    "}\n");
	const nd_cluster_opts_t *cl = &o.cluster;
	cr_assert_str_eq(cl->name, "east");
	cr_assert_str_eq(cl->host, "127.0.0.1");
	cr_assert_eq(cl->port, 6222);
	cr_assert_str_eq(cl->advertise, "east:6222");
	cr_assert(cl->no_advertise);
	cr_assert_eq(cl->connect_retries, 5);
	cr_assert_str_eq(cl->username, "ruser");
	cr_assert_str_eq(cl->password, "pw");
	cr_assert_float_eq(cl->auth_timeout_s, 2.5, 1e-9);
	cr_assert_eq(cl->nroutes, 2u);
	cr_assert_str_eq(cl->routes[0], "nats://ruser:pw@127.0.0.1:6223");
	cr_assert_str_eq(cl->routes[1], "nats://h:6224"); /* trimmed */
	cr_assert_not_null(cl->perms);
	cr_assert_eq(nd_perms_pub(cl->perms)->nallow, 2u); /* import */
	cr_assert_eq(nd_perms_sub(cl->perms)->ndeny, 1u);  /* export */
	cr_assert(nd_cluster_opts_configured(cl));
	/* Copies are deep; the original can go first. */
	nd_opts_t copy;
	nd_opts_copy(&copy, &o);
	nd_opts_deinit(&o);
	cr_assert_str_eq(copy.cluster.routes[1], "nats://h:6224");
	cr_assert_str_eq(copy.cluster.name, "east");
	cr_assert_not_null(copy.cluster.perms);
	nd_opts_deinit(&copy);
}

ND_TEST(config, cluster_listen_forms_and_aliases)
{
	nd_opts_t o;
	load_ok(&o, "cluster { listen: 6222 }\n");
	cr_assert_str_eq(o.cluster.host, "");
	cr_assert_eq(o.cluster.port, 6222);
	nd_opts_deinit(&o);
	load_ok(&o, "cluster { NET: \"0.0.0.0\", Port: 7000, cluster_advertise: x }\n");
	cr_assert_str_eq(o.cluster.host, "0.0.0.0");
	cr_assert_eq(o.cluster.port, 7000);
	cr_assert_str_eq(o.cluster.advertise, "x");
	nd_opts_deinit(&o);
	load_ok(&o, "cluster {}\n");
	cr_assert_not(nd_cluster_opts_configured(&o.cluster));
	nd_opts_deinit(&o);
}

/* Texts and columns as nats-server 2.9.10 prints them for the same one-line files. */
/* 2.10 keys natsd accepts in cluster{} and applies to routes. */
ND_TEST(config, cluster_route_tuning)
{
	nd_opts_t o;
	load_ok(&o, "cluster { pool_size: 3, ping_interval: \"5s\", ping_max: 4, "
		    "write_deadline: \"3s\" }\n");
	cr_assert_eq(o.cluster.pool_size, 3);
	cr_assert_eq(o.cluster.ping_interval_ms, 5000);
	cr_assert_eq(o.cluster.ping_max, 4);
	cr_assert_eq(o.cluster.write_deadline_ms, 3000);
	nd_opts_deinit(&o);
}

ND_TEST(config, cluster_errors)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
	    {"cluster: 5", "t.conf:1:0: Expected map to define cluster, got int64\n"},
	    {"cluster { compression: s2_auto }", "t.conf:1:10: unknown field \"compression\"\n"},
	    {"cluster { pool_size: \"x\" }",
	     "t.conf:1:10: interface conversion: interface {} is string, not int64\n"},
	    {"cluster { routes: [ \"nats://[::1:2\" ] }",
	     "t.conf:1:21: error parsing route url [\"nats://[::1:2\"]\n"},
	    {"cluster { authorization { token: t } }",
	     "t.conf:1:10: Cluster authorization does not support tokens\n"},
	    {"cluster { authorization { users: [] } }",
	     "t.conf:1:10: Cluster authorization does not allow multiple users\n"},
	    {"cluster { permissions { allow_responses: true } }",
	     "t.conf:1:10: Cluster permissions do not support dynamic responses\n"},
	    {"cluster { permissions: 5 }", "Expected permissions to be a map/struct, got 5\n"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		nd_opts_t o;
		char *rep = load_fails(&o, cases[i].text);
		cr_assert_str_eq(rep, cases[i].err, "%s", cases[i].text);
		free(rep);
		nd_opts_deinit(&o);
	}
}

ND_TEST(config, cluster_type_error_ends_the_block)
{
	nd_opts_t o;
	char *rep = load_fails(&o, "cluster { port: \"x\", name: n }");
	cr_assert_str_eq(rep,
			 "t.conf:1:10: interface conversion: interface {} is string, not int64\n");
	cr_assert_null(o.cluster.name); /* the reference's panic skips the rest */
	free(rep);
	nd_opts_deinit(&o);
}

ND_TEST(config, cluster_duplicate_route_is_a_warning)
{
	nd_opts_t o;
	nd_config_report_t r;
	cr_assert_eq(load(&o, "cluster { routes: [ \"nats://a:1\", \"nats://a:1\" ] }", &r), 0);
	cr_assert_eq(r.nwarnings, 1u);
	cr_assert_str_eq(r.warnings[0],
			 "t.conf:1:35: invalid use of field \"nats://a:1\": Duplicate route entry "
			 "detected");
	cr_assert_eq(o.cluster.nroutes, 1u);
	nd_config_report_deinit(&r);
	nd_opts_deinit(&o);
}

static int set_str_key(nd_opts_t *o, const char *key, const char *v, char **text)
{
	nd_config_report_t r;
	nd_config_report_init(&r);
	nd_conf_value_t val = {.type = ND_CONF_STRING, .u.str = {(char *)(uintptr_t)v, strlen(v)}};
	int rc = nd_config_set(o, key, &val, &r);
	*text = nd_config_report_text(&r);
	nd_config_report_deinit(&r);
	return rc;
}

ND_TEST(config, cluster_flags)
{
	nd_opts_t o;
	load_ok(&o,
		"cluster { listen: \"10.0.0.1:7000\", authorization { user: a, password: b } }");
	char *t;
	cr_assert_eq(set_str_key(&o, "cluster.listen", "nats://u:p@127.0.0.1:6222", &t), 0, "%s",
		     t);
	cr_assert_str_eq(o.cluster.host, "127.0.0.1");
	cr_assert_eq(o.cluster.port, 6222);
	cr_assert_str_eq(o.cluster.username, "u");
	cr_assert_str_eq(o.cluster.password, "p");
	cr_assert_eq(set_str_key(&o, "cluster.listen", "nats://0.0.0.0:-1", &t), 0, "%s", t);
	cr_assert_eq(o.cluster.port, -1);
	cr_assert_null(o.cluster.username); /* no credentials in the URL: cleared */
	cr_assert_eq(set_str_key(&o, "cluster.listen", "", &t), 0, "%s", t);
	cr_assert_eq(o.cluster.port, 0);
	cr_assert_eq(set_str_key(&o, "cluster.routes", "nats://a:1, nats://b:2,nats://c:3", &t), 0,
		     "%s", t);
	cr_assert_eq(o.cluster.nroutes, 3u);
	cr_assert_str_eq(o.cluster.routes[1], "nats://b:2");
	cr_assert_eq(set_str_key(&o, "cluster.routes", "", &t), 0, "%s", t);
	cr_assert_eq(o.cluster.nroutes, 0u);
	cr_assert_eq(set_str_key(&o, "cluster.name", "c1", &t), 0, "%s", t);
	cr_assert_str_eq(o.cluster.name, "c1");
	cr_assert_eq(set_str_key(&o, "cluster.advertise", "h:1", &t), 0, "%s", t);
	cr_assert_str_eq(o.cluster.advertise, "h:1");
	nd_config_report_t r;
	nd_config_report_init(&r);
	nd_conf_value_t b = {.type = ND_CONF_BOOL, .u.b = true};
	nd_conf_value_t n = {.type = ND_CONF_INT, .u.i = 7};
	cr_assert_eq(nd_config_set(&o, "cluster.no_advertise", &b, &r), 0);
	cr_assert_eq(nd_config_set(&o, "cluster.connect_retries", &n, &r), 0);
	cr_assert(o.cluster.no_advertise);
	cr_assert_eq(o.cluster.connect_retries, 7);
	cr_assert_neq(nd_config_set(&o, "cluster.pool_size", &n, &r), 0);
	nd_config_report_deinit(&r);

	static const struct {
		const char *v, *err;
	} bad[] = {
	    {"nats://h", "address h: missing port in address\n"},
	    {"nats://h:", "EOF\n"},
	    {"nats://h:abc", "parse \"nats://h:abc\": invalid port \":abc\" after host\n"},
	    {"://x", "parse \"://x\": missing protocol scheme\n"},
	    {"nats://u@h:1", "expected cluster password to be set\n"},
	    {"h:1", "missing port in address\n"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_neq(set_str_key(&o, "cluster.listen", bad[i].v, &t), 0, "%s", bad[i].v);
		cr_assert_str_eq(t, bad[i].err, "%s", bad[i].v);
		free(t);
	}
	nd_opts_deinit(&o);
}

ND_TEST(config, cluster_reload)
{
	nd_opts_t a, b;
	load_ok(&a, "port: 4222\n");
	load_ok(&b, "cluster { port: 6222 }\n");
	nd_reload_plan_t plan;
	char *err = NULL;
	cr_assert_neq(nd_reload_plan(&a, &b, &plan, &err), 0);
	cr_assert_str_eq(err, "config reload not supported for cluster port: old=0, new=6222");
	free(err);
	nd_opts_deinit(&b);
	load_ok(&b, "cluster { listen: \"127.0.0.1:6222\" }\n");
	cr_assert_neq(nd_reload_plan(&a, &b, &plan, &err), 0);
	cr_assert_str_eq(err, "config reload not supported for cluster host: old=, new=127.0.0.1");
	free(err);
	nd_opts_deinit(&b);
	load_ok(&b, "cluster { advertise: \"h:x\" }\n");
	cr_assert_neq(nd_reload_plan(&a, &b, &plan, &err), 0);
	cr_assert_str_eq(err, "invalid Cluster.Advertise value of h:x, err=strconv.Atoi: parsing "
			      "\"x\": invalid syntax");
	free(err);
	nd_opts_deinit(&b);
	load_ok(&b, "cluster { name: c1 }\n");
	cr_assert_neq(nd_reload_plan(&a, &b, &plan, &err), 0);
	cr_assert_str_eq(err, "config reload of the cluster's name (or of a cluster on or off) is "
			      "not supported by natsd yet");
	free(err);
	nd_opts_deinit(&b);
	/* What a server without routes can take: the rest of the block. */
	load_ok(&b, "cluster { authorization { user: u, password: p }, no_advertise: true }\n");
	cr_assert_eq(nd_reload_plan(&a, &b, &plan, &err), 0, "%s", err);
	bool seen = false;
	for (size_t i = 0; i < plan.n; i++)
		seen |= strcmp(plan.notices[i], "Reloaded: cluster") == 0;
	cr_assert(seen);
	nd_reload_plan_deinit(&plan);
	nd_opts_deinit(&a);
	nd_opts_deinit(&b);
}

ND_TEST(config, max_payload_above_max_pending_fails_validation)
{
	nd_opts_t o;
	load_ok(&o, "max_payload: 100MB\n");
	char err[256];
	cr_assert_neq(nd_opts_validate(&o, err, sizeof(err)), 0);
	cr_assert_str_eq(err,
			 "max_payload (104857600) cannot be higher than max_pending (67108864)");
	nd_opts_deinit(&o);
}

/* ---- reload planning ---- */

ND_TEST(config, reload_refuses_what_needs_a_restart)
{
	nd_opts_t a, b;
	load_ok(&a, "port: 4222\n");
	load_ok(&b, "port: 4333\n");
	nd_reload_plan_t plan;
	char *err = NULL;
	cr_assert_neq(nd_reload_plan(&a, &b, &plan, &err), 0);
	cr_assert_str_eq(err, "config reload not supported for Port: old=4222, new=4333");
	free(err);
	nd_opts_deinit(&a);
	nd_opts_deinit(&b);
}

ND_TEST(config, reload_reports_each_change)
{
	nd_opts_t a, b;
	load_ok(&a, "authorization { user: u, password: p }\n");
	load_ok(&b, "debug: true\nmax_connections: 10\nauthorization { user: u, password: q }\n");
	nd_reload_plan_t plan;
	char *err = NULL;
	cr_assert_eq(nd_reload_plan(&a, &b, &plan, &err), 0, "%s", err);
	bool debug = false, maxc = false, pass = false;
	for (size_t i = 0; i < plan.n; i++) {
		debug |= strcmp(plan.notices[i], "Reloaded: debug = true") == 0;
		maxc |= strcmp(plan.notices[i], "Reloaded: max_connections = 10") == 0;
		pass |= strcmp(plan.notices[i], "Reloaded: authorization password") == 0;
	}
	cr_assert(debug && maxc && pass, "notices: %zu", plan.n);
	cr_assert(plan.logging);
	cr_assert(plan.max_connections);
	nd_reload_plan_deinit(&plan);
	nd_opts_deinit(&a);
	nd_opts_deinit(&b);
}

/* ---- tls ---- */

#define CERT ND_CERTS_DIR "/server-cert.pem"
#define KEY ND_CERTS_DIR "/server-key.pem"
#define CA ND_CERTS_DIR "/ca.pem"
#define OTHER_KEY ND_CERTS_DIR "/other-key.pem"
#define PIN_UPPER "F37E088A221AE12015E0209167E4A0163DCC078424A411383F73E358E2D5C483"
#define PIN "f37e088a221ae12015e0209167e4a0163dcc078424a411383f73e358e2d5c483"

ND_TEST(config, tls_block_is_parsed)
{
	nd_opts_t o;
	load_ok(&o, "tls {\n"
		    "  cert_file: \"" CERT "\"\n"
		    "  key_file: \"" KEY "\"\n"
		    "  ca_file: \"" CA "\"\n"
		    "  verify: true\n"
		    "  insecure: true\n"
		    "  timeout: 3\n"
		    "  cipher_suites: [\"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\", "
		    "\"TLS_AES_256_GCM_SHA384\"]\n"
		    "  curve_preferences: [\"X25519\", \"CurveP384\"]\n"
		    "  pinned_certs: [\"" PIN_UPPER "\", \"" PIN "\"]\n"
		    "  connection_rate_limit: 50\n"
		    "}\n"
		    "allow_non_tls: true\n");
	cr_assert(o.tls.set);
	cr_assert_str_eq(o.tls.cert_file, CERT);
	cr_assert_str_eq(o.tls.key_file, KEY);
	cr_assert_str_eq(o.tls.ca_file, CA);
	cr_assert(o.tls.verify);
	cr_assert(o.tls.insecure);
	cr_assert_not(o.tls.verify_and_map);
	cr_assert_float_eq(o.tls.timeout_s, 3.0, 1e-9);
	cr_assert_eq(o.tls.nciphers, 2u);
	cr_assert_str_eq(o.tls.ciphers[0], "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
	cr_assert_str_eq(o.tls.ciphers[1], "TLS_AES_256_GCM_SHA384");
	cr_assert_eq(o.tls.ncurves, 2u);
	cr_assert_str_eq(o.tls.curves[1], "CurveP384");
	cr_assert_eq(o.tls.npinned, 1u, "a set: the two spellings are one key");
	cr_assert_str_eq(o.tls.pinned_certs[0], PIN);
	cr_assert_eq(o.tls.connection_rate_limit, 50);
	cr_assert(o.allow_non_tls);
	cr_assert_not(o.cluster.tls.set);

	/* A deep copy. */
	nd_opts_t c;
	nd_opts_copy(&c, &o);
	nd_opts_deinit(&o);
	cr_assert_str_eq(c.tls.cert_file, CERT);
	cr_assert_str_eq(c.tls.ciphers[1], "TLS_AES_256_GCM_SHA384");
	cr_assert_str_eq(c.tls.curves[0], "X25519");
	cr_assert_str_eq(c.tls.pinned_certs[0], PIN);
	nd_opts_deinit(&c);
	cr_assert_null(c.tls.cert_file);
}

ND_TEST(config, tls_defaults_and_empty_block)
{
	nd_opts_t o;
	load_ok(&o, "");
	cr_assert_not(o.tls.set);
	cr_assert_not(o.allow_non_tls);
	nd_opts_deinit(&o);
	load_ok(&o, "tls {}");
	cr_assert(o.tls.set, "an empty block configures TLS, as in the reference");
	cr_assert_null(o.tls.cert_file);
	cr_assert_eq(o.tls.nciphers, 0u);
	cr_assert_eq(o.tls.ncurves, 0u);
	cr_assert_eq(o.tls.timeout_s, 0.0);
	cr_assert_eq(o.tls.min_version, 0);
	cr_assert_eq(o.tls.handshake_first, ND_TLS_HANDSHAKE_FIRST_OFF);
	nd_opts_deinit(&o);
}

ND_TEST(config, tls_timeout_forms)
{
	static const struct {
		const char *v;
		double s;
	} forms[] = {{"2", 2.0}, {"0.5", 0.5}, {"\"250ms\"", 0.25}, {"\"1m\"", 60.0}};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		char text[128];
		snprintf(text, sizeof(text), "tls { timeout: %s }", forms[i].v);
		nd_opts_t o;
		load_ok(&o, text);
		cr_assert_float_eq(o.tls.timeout_s, forms[i].s, 1e-9, "%s", forms[i].v);
		nd_opts_deinit(&o);
	}
}

ND_TEST(config, tls_verify_variants)
{
	nd_opts_t o;
	load_ok(&o, "tls { verify_and_map: true }");
	cr_assert(o.tls.verify_and_map);
	cr_assert(o.tls.verify, "verify_and_map implies verify");
	nd_opts_deinit(&o);
	load_ok(&o, "tls { verify: true, verify_and_map: false }");
	cr_assert(o.tls.verify, "a false verify_and_map leaves verify alone");
	nd_opts_deinit(&o);
	load_ok(&o, "cluster { port: 6222, tls { verify_cert_and_check_known_urls: true } }");
	cr_assert(o.cluster.tls.set);
	cr_assert(o.cluster.tls.verify_cert_and_check_known_urls);
	cr_assert(o.cluster.tls.verify);
	cr_assert_not(o.tls.set);
	nd_opts_deinit(&o);
	char *rep = load_fails(&o, "tls { verify_cert_and_check_known_urls: true }");
	cr_assert_str_eq(
	    rep, "t.conf:1:6: verify_cert_and_check_known_urls not supported in this context\n");
	free(rep);
	nd_opts_deinit(&o);
}

ND_TEST(config, tls_2_10_keys)
{
	nd_opts_t o;
	load_ok(&o, "tls { min_version: \"1.2\" }");
	cr_assert_eq(o.tls.min_version, 0x0303);
	nd_opts_deinit(&o);
	load_ok(&o, "tls { min_version: \"1.3\" }\ncluster { port: 6222, tls { min_version: "
		    "\"1.2\" } }");
	cr_assert_eq(o.tls.min_version, 0x0304);
	cr_assert_eq(o.cluster.tls.min_version, 0x0303);
	nd_opts_deinit(&o);

	static const struct {
		const char *v;
		int mode;
		uint64_t ms;
	} hf[] = {
	    {"true", ND_TLS_HANDSHAKE_FIRST_ON, 0},
	    {"false", ND_TLS_HANDSHAKE_FIRST_OFF, 0},
	    {"\"on\"", ND_TLS_HANDSHAKE_FIRST_ON, 0},
	    {"\"TRUE\"", ND_TLS_HANDSHAKE_FIRST_ON, 0},
	    {"\"off\"", ND_TLS_HANDSHAKE_FIRST_OFF, 0},
	    {"\"auto\"", ND_TLS_HANDSHAKE_FIRST_AUTO, 50},
	    {"\"auto_fallback\"", ND_TLS_HANDSHAKE_FIRST_AUTO, 50},
	    {"\"300ms\"", ND_TLS_HANDSHAKE_FIRST_AUTO, 300},
	    {"\"0s\"", ND_TLS_HANDSHAKE_FIRST_ON, 0},
	};
	for (size_t i = 0; i < sizeof(hf) / sizeof(hf[0]); i++) {
		char text[128];
		snprintf(text, sizeof(text), "tls { handshake_first: %s }", hf[i].v);
		load_ok(&o, text);
		cr_assert_eq(o.tls.handshake_first, hf[i].mode, "%s", hf[i].v);
		cr_assert_eq(o.tls.handshake_first_fallback_ms, hf[i].ms, "%s", hf[i].v);
		nd_opts_deinit(&o);
	}
	load_ok(&o, "tls { first: true }");
	cr_assert_eq(o.tls.handshake_first, ND_TLS_HANDSHAKE_FIRST_ON);
	nd_opts_deinit(&o);
}

ND_TEST(config, tls_errors_are_the_references)
{
	static const struct {
		const char *text, *err;
	} bad[] = {
	    {"tls: 1", "t.conf:1:0: interface conversion: interface {} is int64, not "
		       "map[string]interface {}\n"},
	    {"tls { foo: 1 }", "t.conf:1:6: error parsing tls config, unknown field [\"foo\"]\n"},
	    {"tls { key_file: 1 }",
	     "t.conf:1:6: error parsing tls config, expected 'key_file' to be filename\n"},
	    {"tls { Verify: 1 }",
	     "t.conf:1:6: error parsing tls config, expected 'verify' to be a boolean\n"},
	    {"tls { cipher_suites: [] }",
	     "t.conf:1:6: error parsing tls config, 'cipher_suites' cannot be empty\n"},
	    {"tls { cipher_suites: [\"TLS_BOGUS\"] }",
	     "t.conf:1:23: unrecognized cipher TLS_BOGUS\n"},
	    {"tls { curve_preferences: [\"P256\"] }",
	     "t.conf:1:27: unrecognized curve preference P256\n"},
	    {"tls { pinned_certs: \"x\" }",
	     "t.conf:1:6: error parsing tls config, expected 'pinned_certs' to be a list of "
	     "hex-encoded sha256 of DER encoded SubjectPublicKeyInfo\n"},
	    {"tls { pinned_certs: [\"ABC\"] }",
	     "t.conf:1:22: error parsing tls config, 'pinned_certs' key abc does not look like "
	     "hex-encoded sha256 of DER encoded SubjectPublicKeyInfo\n"},
	    {"tls { timeout: \"abc\" }",
	     "t.conf:1:6: error parsing tls config, 'timeout' time: invalid duration \"abc\"\n"},
	    {"tls { timeout: true }",
	     "t.conf:1:6: error parsing tls config, 'timeout' wrong type\n"},
	    {"tls { connection_rate_limit: 1.5 }",
	     "t.conf:1:6: error parsing tls config, 'connection_rate_limit' wrong type\n"},
	    {"allow_non_tls: 1", "t.conf:1:0: interface conversion: interface {} is int64, not "
				 "bool\n"},
	    {"tls { min_version: \"1.1\" }",
	     "t.conf:1:6: error parsing tls config: unsupported TLS version: TLS 1.1\n"},
	    {"tls { min_version: \"1.4\" }",
	     "t.conf:1:6: error parsing tls config: unknown version: 1.4\n"},
	    {"tls { min_version: 12 }",
	     "t.conf:1:6: error parsing tls config: 'min_version' wrong type: 12\n"},
	    {"tls { handshake_first: \"maybe\" }",
	     "t.conf:1:6: field \"handshake_first\"'s value \"maybe\" is invalid\n"},
	    {"tls { handshake_first: 1 }",
	     "t.conf:1:6: field \"handshake_first\" should be a boolean or a string, got int64\n"},
	    {"tls { cert_file: \"" CERT "\" }",
	     "t.conf:1:0: missing 'key_file' in TLS configuration\n"},
	    {"tls { key_file: \"" KEY "\" }",
	     "t.conf:1:0: missing 'cert_file' in TLS configuration\n"},
	    {"tls { cert_file: \"/nonexistent/c.pem\", key_file: \"" KEY "\" }",
	     "t.conf:1:0: error parsing X509 certificate/key pair: open /nonexistent/c.pem: no "
	     "such file or directory\n"},
	    {"tls { cert_file: \"" CERT "\", key_file: \"" OTHER_KEY "\" }",
	     "t.conf:1:0: error parsing X509 certificate/key pair: tls: private key does not "
	     "match public key\n"},
	    {"tls { cert_file: \"" KEY "\", key_file: \"" KEY "\" }",
	     "t.conf:1:0: error parsing X509 certificate/key pair: tls: failed to find "
	     "certificate PEM data in certificate input, but did find a private key; PEM inputs "
	     "may have been switched\n"},
	    {"tls { cert_file: \"" CERT "\", key_file: \"" CERT "\" }",
	     "t.conf:1:0: error parsing X509 certificate/key pair: tls: found a certificate "
	     "rather than a key in the PEM for the private key\n"},
	    {"tls { ca_file: \"" KEY "\" }", "t.conf:1:0: failed to parse root ca certificate\n"},
	    {"tls { ca_file: \"/nonexistent/ca.pem\" }",
	     "t.conf:1:0: open /nonexistent/ca.pem: no such file or directory\n"},
	    {"cluster {\n  tls { cert_file: \"" CERT "\" }\n  port: \"x\"\n}",
	     "t.conf:2:3: missing 'key_file' in TLS configuration\n"
	     "t.conf:3:3: interface conversion: interface {} is string, not int64\n"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		nd_opts_t o;
		char *rep = load_fails(&o, bad[i].text);
		cr_assert_str_eq(rep, bad[i].err, "%s", bad[i].text);
		cr_assert_not(o.tls.set, "%s", bad[i].text);
		cr_assert_not(o.cluster.tls.set, "%s", bad[i].text);
		free(rep);
		nd_opts_deinit(&o);
	}
}

static int set_bool_key(nd_opts_t *o, const char *key, bool b)
{
	nd_config_report_t r;
	nd_config_report_init(&r);
	nd_conf_value_t v = {.type = ND_CONF_BOOL, .u.b = b};
	int rc = nd_config_set(o, key, &v, &r);
	nd_config_report_deinit(&r);
	return rc;
}

ND_TEST(config, tls_flags_as_the_reference)
{
	char err[512], *t;
	nd_opts_t o;
	/* --tls alone: TLS without a certificate is refused when the server starts. */
	load_ok(&o, "");
	cr_assert_eq(set_bool_key(&o, "tls", true), 0);
	cr_assert(o.tls.set);
	cr_assert_neq(nd_opts_validate(&o, err, sizeof(err)), 0);
	cr_assert_str_eq(err, "TLS Server certificate must be present and valid");
	nd_opts_deinit(&o);

	/* --tlsverify implies TLS; a certificate needs its key. */
	load_ok(&o, "");
	cr_assert_eq(set_bool_key(&o, "tls.verify", true), 0);
	cr_assert(o.tls.set);
	cr_assert(o.tls.verify);
	cr_assert_eq(set_str_key(&o, "tls.cert_file", CERT, &t), 0);
	free(t);
	cr_assert_neq(nd_opts_validate(&o, err, sizeof(err)), 0);
	cr_assert_str_eq(err, "TLS Server private key must be present and valid");
	cr_assert_eq(set_str_key(&o, "tls.key_file", OTHER_KEY, &t), 0);
	free(t);
	cr_assert_neq(nd_opts_validate(&o, err, sizeof(err)), 0);
	cr_assert_str_eq(err, "error parsing X509 certificate/key pair: tls: private key does not "
			      "match public key");
	cr_assert_eq(set_str_key(&o, "tls.key_file", KEY, &t), 0);
	free(t);
	cr_assert_eq(set_str_key(&o, "tls.ca_file", CA, &t), 0);
	free(t);
	cr_assert_eq(nd_opts_validate(&o, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(o.tls.key_file, KEY);
	cr_assert_str_eq(o.tls.ca_file, CA);
	nd_opts_deinit(&o);

	/* Over a file: the flags replace the certificate settings, cipher suites and curves;
	 * the timeout and pinned certs stay. */
	load_ok(&o,
		"tls { cert_file: \"" CERT "\", key_file: \"" KEY "\", verify: true, timeout: 4\n"
		"  cipher_suites: [\"TLS_AES_128_GCM_SHA256\"], pinned_certs: [\"" PIN "\"] }");
	cr_assert_eq(set_str_key(&o, "tls.ca_file", CA, &t), 0);
	free(t);
	cr_assert(o.tls.set);
	cr_assert_null(o.tls.cert_file);
	cr_assert_not(o.tls.verify);
	cr_assert_eq(o.tls.nciphers, 0u);
	cr_assert_float_eq(o.tls.timeout_s, 4.0, 1e-9);
	cr_assert_eq(o.tls.npinned, 1u);
	cr_assert_neq(nd_opts_validate(&o, err, sizeof(err)), 0);
	cr_assert_str_eq(err, "TLS Server certificate must be present and valid");
	nd_opts_deinit(&o);

	/* --tls=false turns the file's TLS off, whatever other --tls* flags say. */
	load_ok(&o, "tls { cert_file: \"" CERT "\", key_file: \"" KEY "\" }");
	cr_assert(o.tls.set);
	cr_assert_eq(set_str_key(&o, "tls.cert_file", "x.pem", &t), 0);
	free(t);
	cr_assert_eq(set_bool_key(&o, "tls", false), 0);
	cr_assert_eq(set_bool_key(&o, "tls.verify", true), 0);
	cr_assert_not(o.tls.set);
	cr_assert_null(o.tls.cert_file);
	cr_assert_eq(nd_opts_validate(&o, err, sizeof(err)), 0, "%s", err);
	nd_opts_deinit(&o);

	/* No flag: the file's block is left alone and not checked again. */
	load_ok(&o, "tls { verify: true }");
	cr_assert_eq(nd_opts_validate(&o, err, sizeof(err)), 0, "%s", err);
	cr_assert(o.tls.verify);
	cr_assert_neq(set_bool_key(&o, "tls.bogus", true), 0);
	nd_opts_deinit(&o);
}
