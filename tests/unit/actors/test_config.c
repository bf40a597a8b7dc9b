/* The options processor (actors/config.c), permissions (actors/perms.c), authentication
 * (actors/auth.c) and reload planning (actors/reload.c), from configuration text to options,
 * without a server. The byte-exact error texts are checked against nats-server by
 * test_config_files; this checks what the options end up being. */
#include <stdint.h>
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
	const char *blocks[] = {"cluster { tls { cert_file: x } }",
				"gateway { port: 7222 }",
				"leafnodes { port: 7422 }",
				"tls { cert_file: x }",
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
	cr_assert_str_eq(
	    err, "config reload of the cluster's name or routes is not supported by natsd yet");
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
