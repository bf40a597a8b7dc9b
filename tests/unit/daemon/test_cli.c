/* The command-line parser against Go's flag package as nats-server 2.9.10 uses it: dash and `=`
 * forms, booleans, base-0 integers, where parsing stops, repeated and combined flags, every
 * alias's key, and the exact error texts. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/cli.h"
#include "tests/support/nd_test.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Parses "natsd" followed by the NULL-terminated arguments. */
static int parse(nd_cli_t *cli, ...)
{
	static char name[] = "natsd";
	char *argv[32] = {name};
	int argc = 1;
	va_list ap;
	va_start(ap, cli);
	for (char *a; (a = va_arg(ap, char *)) != NULL;) {
		cr_assert(argc < (int)N_ELEMS(argv) - 1);
		argv[argc++] = a;
	}
	va_end(ap);
	argv[argc] = NULL;
	return nd_cli_parse(cli, argc, argv);
}

/* Asserts that the arguments fail with `rc` and exactly `msg`. */
#define EXPECT_ERROR(rc, msg, ...)                                                                 \
	do {                                                                                       \
		nd_cli_t c_;                                                                       \
		cr_assert_eq(parse(&c_, __VA_ARGS__, NULL), rc);                                   \
		cr_assert_str_eq(c_.error, msg);                                                   \
		nd_cli_deinit(&c_);                                                                \
	} while (0)

static const nd_cli_setting_t *only_setting(const nd_cli_t *cli)
{
	cr_assert_eq(cli->nsettings, 1, "%zu settings", cli->nsettings);
	return &cli->settings[0];
}

ND_TEST(cli, dash_and_equals_forms)
{
	static const char *forms[][2] = {
	    {"-p", "4222"},     {"--p", "4222"},   {"-port", "4222"},
	    {"--port", "4222"}, {"-p=4222", NULL}, {"--port=4222", NULL},
	};
	static const char *typed[] = {"-p", "--p", "-port", "--port", "-p", "--port"};
	for (size_t i = 0; i < N_ELEMS(forms); i++) {
		nd_cli_t cli;
		cr_assert_eq(parse(&cli, forms[i][0], forms[i][1], NULL), 0);
		const nd_cli_setting_t *st = only_setting(&cli);
		cr_assert_str_eq(st->key, "port");
		cr_assert_eq(st->type, ND_CLI_INT);
		cr_assert_eq(st->v.i, 4222);
		cr_assert_str_eq(st->flag, typed[i]);
		cr_assert_eq(cli.action, ND_CLI_RUN);
		nd_cli_deinit(&cli);
	}
}

ND_TEST(cli, values_may_start_with_a_dash_or_hold_equals)
{
	nd_cli_t cli;
	cr_assert_eq(parse(&cli, "-p", "-1", "-n", "-D", "--user=a=b", "-auth=", NULL), 0);
	cr_assert_eq(cli.nsettings, 4);
	cr_assert_eq(cli.settings[0].v.i, -1);
	cr_assert_str_eq(cli.settings[1].key, "server_name");
	cr_assert_str_eq(cli.settings[1].v.s, "-D");
	cr_assert_str_eq(cli.settings[2].v.s, "a=b");
	cr_assert_str_eq(cli.settings[3].key, "authorization.token");
	cr_assert_str_eq(cli.settings[3].v.s, "");
	nd_cli_deinit(&cli);
}

ND_TEST(cli, booleans)
{
	static const struct {
		const char *arg;
		bool value;
	} cases[] = {
	    {"-D", true},        {"--debug", true},    {"-D=1", true},    {"-D=t", true},
	    {"-D=T", true},      {"-D=TRUE", true},    {"-D=true", true}, {"-D=True", true},
	    {"-D=0", false},     {"-D=f", false},      {"-D=F", false},   {"-D=FALSE", false},
	    {"-D=false", false}, {"--D=False", false},
	};
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		nd_cli_t cli;
		cr_assert_eq(parse(&cli, cases[i].arg, NULL), 0, "%s", cases[i].arg);
		const nd_cli_setting_t *st = only_setting(&cli);
		cr_assert_str_eq(st->key, "debug");
		cr_assert_eq(st->type, ND_CLI_BOOL);
		cr_assert_eq(st->v.b, cases[i].value, "%s", cases[i].arg);
		nd_cli_deinit(&cli);
	}
	EXPECT_ERROR(ND_CLI_EFLAG, "invalid boolean value \"x\" for -D: parse error", "-D=x");
	EXPECT_ERROR(ND_CLI_EFLAG, "invalid boolean value \"yes\" for -debug: parse error",
		     "--debug=yes");
	EXPECT_ERROR(ND_CLI_EFLAG, "invalid boolean value \"\" for -D: parse error", "-D=");
	EXPECT_ERROR(ND_CLI_EFLAG, "invalid boolean value \"tRUE\" for -T: parse error", "-T=tRUE");
	/* A boolean never takes the next argument: it becomes a command. */
	EXPECT_ERROR(ND_CLI_ECOMMAND, "unrecognized command: \"false\"", "-D", "false");
}

ND_TEST(cli, integers_in_go_base_0)
{
	static const struct {
		const char *text;
		int64_t value;
	} ok[] = {
	    {"4222", 4222},
	    {"0xC350", 50000},
	    {"0Xc350", 50000},
	    {"0141520", 50000}, /* a leading 0 is octal */
	    {"0o17", 15},
	    {"0O17", 15},
	    {"0b101", 5},
	    {"0B101", 5},
	    {"50_000", 50000},
	    {"0x_C3_50", 50000},
	    {"0_17", 15},
	    {"0", 0},
	    {"-0", 0},
	    {"00", 0},
	    {"-1", -1},
	    {"+7", 7},
	    {"-0x10", -16},
	    {"9223372036854775807", INT64_MAX},
	    {"-9223372036854775808", INT64_MIN},
	    {"0x7fffffffffffffff", INT64_MAX},
	};
	for (size_t i = 0; i < N_ELEMS(ok); i++) {
		nd_cli_t cli;
		cr_assert_eq(parse(&cli, "-p", ok[i].text, NULL), 0, "%s: %s", ok[i].text,
			     cli.error);
		cr_assert_eq(only_setting(&cli)->v.i, ok[i].value, "%s", ok[i].text);
		nd_cli_deinit(&cli);
	}
	static const char *syntax[] = {
	    "",    "abc", "0x",  "0b",  "0o",  "08",   "0b2",    "1__0", "_1", "1_",    "0x_",
	    "0_",  "+-1", "--1", "1.5", " 1",  "1 ",   "0x1g",   "+",    "-",  "1e3",   "4222abc",
	    "0xx", "0o8", "1_f", "٣",   "0b_", "_0x1", "0x1__2", "0.",   "1k", "0x-1F",
	};
	for (size_t i = 0; i < N_ELEMS(syntax); i++) {
		nd_cli_t cli;
		char msg[128];
		char *q = nd_cli_quote(syntax[i]);
		snprintf(msg, sizeof(msg), "invalid value %s for flag -p: parse error", q);
		free(q);
		cr_assert_eq(parse(&cli, "-p", syntax[i], NULL), ND_CLI_EFLAG, "%s", syntax[i]);
		cr_assert_str_eq(cli.error, msg);
		nd_cli_deinit(&cli);
	}
	static const char *range[] = {
	    "9223372036854775808",  "-9223372036854775809", "99999999999999999999",
	    "0x8000000000000000",   "0xFFFFFFFFFFFFFFFFF",  "99999999999999999999x", /* first */
	    "18446744073709551616",
	};
	for (size_t i = 0; i < N_ELEMS(range); i++) {
		nd_cli_t cli;
		char msg[128];
		snprintf(msg, sizeof(msg),
			 "invalid value \"%s\" for flag -log_size_limit: value "
			 "out of range",
			 range[i]);
		cr_assert_eq(parse(&cli, "--log_size_limit", range[i], NULL), ND_CLI_EFLAG, "%s",
			     range[i]);
		cr_assert_str_eq(cli.error, msg);
		nd_cli_deinit(&cli);
	}
}

ND_TEST(cli, parsing_stops_at_the_first_non_flag)
{
	nd_cli_t cli;
	EXPECT_ERROR(ND_CLI_ECOMMAND, "unrecognized command: \"foo\"", "-D", "foo", "-V");
	EXPECT_ERROR(ND_CLI_ECOMMAND, "unrecognized command: \"-\"", "-");
	EXPECT_ERROR(ND_CLI_ECOMMAND, "unrecognized command: \"-V\"", "--", "-V");
	EXPECT_ERROR(ND_CLI_ECOMMAND, "unrecognized command: \"extra\"", "-t", "-c", "x.conf",
		     "extra");
	EXPECT_ERROR(ND_CLI_ECOMMAND, "unrecognized command: \"a\\tb\\x01\\\"\"", "a\tb\x01\"");
	/* A bad flag after the command is never looked at. */
	EXPECT_ERROR(ND_CLI_ECOMMAND, "unrecognized command: \"foo\"", "foo", "--bogus");

	cr_assert_eq(parse(&cli, "-D", "--", NULL), 0);
	cr_assert_eq(cli.action, ND_CLI_RUN);
	cr_assert_eq(cli.nsettings, 1);
	nd_cli_deinit(&cli);
	cr_assert_eq(parse(&cli, "-D", "--", "version", "-x", NULL), 0);
	cr_assert_eq(cli.action, ND_CLI_VERSION);
	nd_cli_deinit(&cli);
}

ND_TEST(cli, commands_version_and_help_in_any_case)
{
	static const struct {
		const char *arg;
		nd_cli_action_t action;
	} cases[] = {
	    {"version", ND_CLI_VERSION},
	    {"VERSION", ND_CLI_VERSION},
	    {"Version", ND_CLI_VERSION},
	    {"VERS\xc4\xb0ON", ND_CLI_VERSION}, /* Go lowers U+0130 to 'i' */
	    {"help", ND_CLI_HELP},
	    {"hElP", ND_CLI_HELP},
	};
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		nd_cli_t cli;
		cr_assert_eq(parse(&cli, cases[i].arg, "ignored", NULL), 0, "%s", cases[i].arg);
		cr_assert_eq(cli.action, cases[i].action, "%s", cases[i].arg);
		nd_cli_deinit(&cli);
	}
	EXPECT_ERROR(ND_CLI_ECOMMAND, "unrecognized command: \"versions\"", "versions");
	EXPECT_ERROR(ND_CLI_ECOMMAND, "unrecognized command: \"hel\"", "hel");
	EXPECT_ERROR(ND_CLI_ECOMMAND, "unrecognized command: \"\"", "");
}

ND_TEST(cli, action_precedence)
{
	static const struct {
		const char *a, *b;
		nd_cli_action_t action;
	} cases[] = {
	    {"-h", "-v", ND_CLI_VERSION},
	    {"-v", "-h", ND_CLI_VERSION},
	    {"--help_tls", "-h", ND_CLI_HELP},
	    {"--help_tls", "version", ND_CLI_HELP_TLS},
	    {"-h", "version", ND_CLI_HELP},
	    {"-v", "foo", ND_CLI_VERSION}, /* the flag wins before the command is looked at */
	    {"--help", "foo", ND_CLI_HELP},
	    {"--signal=quit=1", "help", ND_CLI_HELP},
	    {"--signal=quit=1", "-v", ND_CLI_VERSION},
	    {"-sl", "reload", ND_CLI_SIGNAL},
	    {"--signal", "", ND_CLI_RUN}, /* an empty signal is no signal */
	    {"-h", "-h=false", ND_CLI_RUN},
	    {"-version=0", "-t", ND_CLI_RUN},
	};
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		nd_cli_t cli;
		cr_assert_eq(parse(&cli, cases[i].a, cases[i].b, NULL), 0, "%s %s", cases[i].a,
			     cases[i].b);
		cr_assert_eq(cli.action, cases[i].action, "%s %s", cases[i].a, cases[i].b);
		nd_cli_deinit(&cli);
	}
	EXPECT_ERROR(ND_CLI_ECOMMAND, "unrecognized command: \"foo\"", "-sl", "quit", "foo");
}

ND_TEST(cli, action_flags_are_not_settings)
{
	nd_cli_t cli;
	cr_assert_eq(parse(&cli, "-t", "-c", "a.conf", "--config=b.conf", "-sl", "reload=1",
			   "--help=false", "-v=false", "--help_tls=false", NULL),
		     0);
	cr_assert_eq(cli.nsettings, 0);
	cr_assert(cli.check_config);
	cr_assert_str_eq(cli.config, "b.conf");
	cr_assert_str_eq(cli.signal, "reload=1");
	cr_assert_eq(cli.action, ND_CLI_SIGNAL);
	nd_cli_deinit(&cli);

	cr_assert_eq(parse(&cli, "-t", "-t=false", "-c", "a.conf", "-c", "", NULL), 0);
	cr_assert_not(cli.check_config);
	cr_assert_null(cli.config); /* empty means none, as in the reference */
	cr_assert_null(cli.signal);
	nd_cli_deinit(&cli);
}

ND_TEST(cli, repeated_flags_are_all_kept_in_order)
{
	nd_cli_t cli;
	cr_assert_eq(parse(&cli, "-p", "1", "-a", "h1", "--port=2", "-D", "-debug=false", NULL), 0);
	cr_assert_eq(cli.nsettings, 5);
	cr_assert_str_eq(cli.settings[0].key, "port");
	cr_assert_eq(cli.settings[0].v.i, 1);
	cr_assert_str_eq(cli.settings[1].key, "host");
	cr_assert_str_eq(cli.settings[2].key, "port");
	cr_assert_eq(cli.settings[2].v.i, 2);
	cr_assert_str_eq(cli.settings[2].flag, "--port");
	cr_assert(cli.settings[3].v.b);
	cr_assert_not(cli.settings[4].v.b);
	cr_assert_str_eq(cli.settings[4].flag, "-debug");
	nd_cli_deinit(&cli);
}

struct expect {
	const char *key;
	bool value;
	const char *flag;
};

static void expect_settings(const char *const *args, const struct expect *want, size_t n)
{
	static char name[] = "natsd";
	char *argv[16] = {name};
	int argc = 1;
	for (; args[argc - 1] != NULL; argc++)
		argv[argc] = (char *)(uintptr_t)args[argc - 1];
	nd_cli_t cli;
	cr_assert_eq(nd_cli_parse(&cli, argc, argv), 0);
	cr_assert_eq(cli.nsettings, n, "%s...: %zu settings", args[0], cli.nsettings);
	for (size_t i = 0; i < n; i++) {
		cr_assert_str_eq(cli.settings[i].key, want[i].key, "%s... #%zu", args[0], i);
		cr_assert_eq(cli.settings[i].type, ND_CLI_BOOL);
		cr_assert_eq(cli.settings[i].v.b, want[i].value, "%s... #%zu", args[0], i);
		cr_assert_str_eq(cli.settings[i].flag, want[i].flag, "%s... #%zu", args[0], i);
	}
	nd_cli_deinit(&cli);
}

ND_TEST(cli, combined_debug_and_trace_flags)
{
	expect_settings((const char *[]){"-DV", NULL},
			(struct expect[]){{"debug", true, "-DV"}, {"trace", true, "-DV"}}, 2);
	expect_settings((const char *[]){"--VV", NULL},
			(struct expect[]){{"trace", true, "--VV"}, {"trace_verbose", true, "--VV"}},
			2);
	expect_settings((const char *[]){"-DVV", NULL},
			(struct expect[]){{"debug", true, "-DVV"},
					  {"trace", true, "-DVV"},
					  {"trace_verbose", true, "-DVV"}},
			3);
	expect_settings((const char *[]){"-DV=false", NULL},
			(struct expect[]){{"debug", false, "-DV"}, {"trace", false, "-DV"}}, 2);
	/* Last value of a combined flag wins, and it comes once. */
	expect_settings((const char *[]){"-DV", "--DV=0", NULL},
			(struct expect[]){{"debug", false, "--DV"}, {"trace", false, "--DV"}}, 2);
	/* Combined flags are applied after the plain ones, whatever the order typed: the
	 * reference gives -DV=false -D debug off, and -D=false -DV debug on. */
	expect_settings((const char *[]){"-DV=false", "-D", NULL},
			(struct expect[]){{"debug", true, "-D"},
					  {"debug", false, "-DV"},
					  {"trace", false, "-DV"}},
			3);
	expect_settings((const char *[]){"-D=false", "-DV", NULL},
			(struct expect[]){
			    {"debug", false, "-D"}, {"debug", true, "-DV"}, {"trace", true, "-DV"}},
			3);
	/* ... and among themselves in the order DV, DVV, VV: -VV -DV=false leaves trace on. */
	expect_settings((const char *[]){"-VV", "-DV=false", NULL},
			(struct expect[]){{"debug", false, "-DV"},
					  {"trace", false, "-DV"},
					  {"trace", true, "-VV"},
					  {"trace_verbose", true, "-VV"}},
			4);
	expect_settings((const char *[]){"-VV=false", "-DVV", NULL},
			(struct expect[]){{"debug", true, "-DVV"},
					  {"trace", true, "-DVV"},
					  {"trace_verbose", true, "-DVV"},
					  {"trace", false, "-VV"},
					  {"trace_verbose", false, "-VV"}},
			5);
	/* No bundling of short flags. */
	EXPECT_ERROR(ND_CLI_EFLAG, "flag provided but not defined: -VD", "-VD");
	EXPECT_ERROR(ND_CLI_EFLAG, "flag provided but not defined: -DD", "-DD");
	EXPECT_ERROR(ND_CLI_EFLAG, "flag provided but not defined: -Dv", "-Dv");
}

/* Every name of every flag, and the key path it stands for. */
static const struct alias {
	const char *name;
	const char *key;
	nd_cli_type_t type;
} aliases[] = {
    {"a", "host", ND_CLI_STRING},
    {"addr", "host", ND_CLI_STRING},
    {"net", "host", ND_CLI_STRING},
    {"p", "port", ND_CLI_INT},
    {"port", "port", ND_CLI_INT},
    {"n", "server_name", ND_CLI_STRING},
    {"name", "server_name", ND_CLI_STRING},
    {"server_name", "server_name", ND_CLI_STRING},
    {"P", "pid_file", ND_CLI_STRING},
    {"pid", "pid_file", ND_CLI_STRING},
    {"m", "http_port", ND_CLI_INT},
    {"http_port", "http_port", ND_CLI_INT},
    {"ms", "https_port", ND_CLI_INT},
    {"https_port", "https_port", ND_CLI_INT},
    {"client_advertise", "client_advertise", ND_CLI_STRING},
    {"ports_file_dir", "ports_file_dir", ND_CLI_STRING},
    {"l", "log_file", ND_CLI_STRING},
    {"log", "log_file", ND_CLI_STRING},
    {"T", "logtime", ND_CLI_BOOL},
    {"logtime", "logtime", ND_CLI_BOOL},
    {"s", "syslog", ND_CLI_BOOL},
    {"syslog", "syslog", ND_CLI_BOOL},
    {"r", "remote_syslog", ND_CLI_STRING},
    {"remote_syslog", "remote_syslog", ND_CLI_STRING},
    {"D", "debug", ND_CLI_BOOL},
    {"debug", "debug", ND_CLI_BOOL},
    {"V", "trace", ND_CLI_BOOL},
    {"trace", "trace", ND_CLI_BOOL},
    {"log_size_limit", "log_size_limit", ND_CLI_INT},
    {"max_traced_msg_len", "max_traced_msg_len", ND_CLI_INT},
    {"js", "jetstream", ND_CLI_BOOL},
    {"jetstream", "jetstream", ND_CLI_BOOL},
    {"sd", "store_dir", ND_CLI_STRING},
    {"store_dir", "store_dir", ND_CLI_STRING},
    {"user", "authorization.user", ND_CLI_STRING},
    {"pass", "authorization.password", ND_CLI_STRING},
    {"auth", "authorization.token", ND_CLI_STRING},
    {"tls", "tls", ND_CLI_BOOL},
    {"tlscert", "tls.cert_file", ND_CLI_STRING},
    {"tlskey", "tls.key_file", ND_CLI_STRING},
    {"tlsverify", "tls.verify", ND_CLI_BOOL},
    {"tlscacert", "tls.ca_file", ND_CLI_STRING},
    {"routes", "cluster.routes", ND_CLI_STRING},
    {"cluster", "cluster.listen", ND_CLI_STRING},
    {"cluster_listen", "cluster.listen", ND_CLI_STRING},
    {"cluster_name", "cluster.name", ND_CLI_STRING},
    {"no_advertise", "cluster.no_advertise", ND_CLI_BOOL},
    {"cluster_advertise", "cluster.advertise", ND_CLI_STRING},
    {"connect_retries", "cluster.connect_retries", ND_CLI_INT},
    {"profile", "prof_port", ND_CLI_INT},
    {"workers", "workers", ND_CLI_INT},
    {"spin", "spin", ND_CLI_INT},
};

ND_TEST(cli, every_alias_maps_to_its_key)
{
	for (size_t i = 0; i < N_ELEMS(aliases); i++) {
		for (int dashes = 1; dashes <= 2; dashes++) {
			char flag[40], arg[48];
			snprintf(flag, sizeof(flag), "%s%s", dashes == 1 ? "-" : "--",
				 aliases[i].name);
			/* A value another type would refuse: 12 is no bool, "x" no int. */
			const char *value = aliases[i].type == ND_CLI_BOOL  ? "false"
					    : aliases[i].type == ND_CLI_INT ? "0x0c"
									    : "x,y";
			snprintf(arg, sizeof(arg), "%s=%s", flag, value);
			nd_cli_t cli;
			cr_assert_eq(parse(&cli, arg, NULL), 0, "%s: %s", arg, cli.error);
			const nd_cli_setting_t *st = only_setting(&cli);
			cr_assert_str_eq(st->key, aliases[i].key, "%s", arg);
			cr_assert_eq(st->type, aliases[i].type, "%s", arg);
			cr_assert_str_eq(st->flag, flag);
			if (st->type == ND_CLI_BOOL)
				cr_assert_not(st->v.b);
			else if (st->type == ND_CLI_INT)
				cr_assert_eq(st->v.i, 12);
			else
				cr_assert_str_eq(st->v.s, "x,y");
			nd_cli_deinit(&cli);
		}
	}
}

/* True if the usage names the flag: "-name" or "--name" between separators. */
static bool usage_mentions(const char *usage, const char *name)
{
	size_t len = strlen(name);
	for (const char *p = usage; (p = strstr(p, name)) != NULL; p++)
		if (p > usage && p[-1] == '-' && strchr(" ,\n", p[len]) != NULL)
			return true;
	return false;
}

ND_TEST(cli, usage_names_every_flag)
{
	static const char *others[] = {"c",   "config", "t", "sl",   "signal",  "VV",      "DV",
				       "DVV", "h",      "v", "help", "version", "help_tls"};
	const char *usage = nd_cli_usage();
	cr_assert_eq(strncmp(usage, "\nUsage: natsd [options]\n\n", 25), 0);
	cr_assert_str_eq(usage + strlen(usage) - 2, "\n\n");
	for (size_t i = 0; i < N_ELEMS(aliases); i++)
		cr_assert(usage_mentions(usage, aliases[i].name), "usage lacks -%s",
			  aliases[i].name);
	for (size_t i = 0; i < N_ELEMS(others); i++) {
		cr_assert(usage_mentions(usage, others[i]), "usage lacks -%s", others[i]);
		nd_cli_t cli;
		char arg[32];
		snprintf(arg, sizeof(arg), "-%s=%s", others[i],
			 strcmp(others[i], "c") == 0 || strcmp(others[i], "config") == 0 ||
				 strcmp(others[i], "sl") == 0 || strcmp(others[i], "signal") == 0
			     ? "x"
			     : "false");
		cr_assert_eq(parse(&cli, arg, NULL), 0, "%s: %s", arg, cli.error);
		nd_cli_deinit(&cli);
	}
}

ND_TEST(cli, unknown_flags_and_bad_syntax)
{
	EXPECT_ERROR(ND_CLI_EFLAG, "flag provided but not defined: -bogus", "--bogus");
	EXPECT_ERROR(ND_CLI_EFLAG, "flag provided but not defined: -bogus", "-bogus=1");
	EXPECT_ERROR(ND_CLI_EFLAG, "flag provided but not defined: -Port", "--Port=1");
	EXPECT_ERROR(ND_CLI_EFLAG, "flag provided but not defined: -x", "-D", "-x", "-p");
	EXPECT_ERROR(ND_CLI_EFLAG, "bad flag syntax: ---p", "---p");
	EXPECT_ERROR(ND_CLI_EFLAG, "bad flag syntax: -=x", "-=x");
	EXPECT_ERROR(ND_CLI_EFLAG, "bad flag syntax: --=", "--=");
	/* The first error stops parsing: a later -v is never seen. */
	EXPECT_ERROR(ND_CLI_EFLAG, "flag provided but not defined: -bogus", "--bogus", "-v");
}

ND_TEST(cli, missing_and_bad_values)
{
	EXPECT_ERROR(ND_CLI_EFLAG, "flag needs an argument: -p", "-p");
	EXPECT_ERROR(ND_CLI_EFLAG, "flag needs an argument: -port", "-D", "--port");
	EXPECT_ERROR(ND_CLI_EFLAG, "flag needs an argument: -c", "-c");
	EXPECT_ERROR(ND_CLI_EFLAG, "flag needs an argument: -signal", "--signal");
	EXPECT_ERROR(ND_CLI_EFLAG, "invalid value \"abc\" for flag -p: parse error", "-p", "abc");
	EXPECT_ERROR(ND_CLI_EFLAG, "invalid value \"abc\" for flag -port: parse error",
		     "--port=abc");
	EXPECT_ERROR(ND_CLI_EFLAG, "invalid value \"\" for flag -p: parse error", "-p=");
	EXPECT_ERROR(ND_CLI_EFLAG, "invalid value \"1MB\" for flag -log_size_limit: parse error",
		     "--log_size_limit", "1MB");
	EXPECT_ERROR(ND_CLI_EFLAG, "invalid value \"-\" for flag -workers: parse error",
		     "--workers", "-");
}

ND_TEST(cli, quotes_like_go)
{
	static const char *cases[][2] = {
	    {"", "\"\""},
	    {"abc", "\"abc\""},
	    {"a\"b\\c", "\"a\\\"b\\\\c\""},
	    {"\a\b\f\n\r\t\v", "\"\\a\\b\\f\\n\\r\\t\\v\""},
	    {"\x01\x1f\x7f", "\"\\x01\\x1f\\x7f\""},
	    {"\xc3\xa9", "\"\xc3\xa9\""},                       /* é is printable */
	    {"\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""},       /* so is an emoji */
	    {"\xa0\xff", "\"\\xa0\\xff\""},                     /* invalid UTF-8 */
	    {"\xed\xa0\x80", "\"\\xed\\xa0\\x80\""},            /* a surrogate */
	    {"\xc0\x80", "\"\\xc0\\x80\""},                     /* overlong */
	    {"\xe2\x82", "\"\\xe2\\x82\""},                     /* truncated */
	    {"\xc2\x85\xc2\xa0", "\"\\u0085\\u00a0\""},         /* C1 control, no-break space */
	    {"\xe2\x80\x8b\xe2\x80\xa8", "\"\\u200b\\u2028\""}, /* format, separator */
	    {"\xef\xbb\xbf\xee\x80\x80", "\"\\ufeff\\ue000\""}, /* BOM, private use */
	    {"\xf3\xa0\x80\x81", "\"\\U000e0001\""},            /* language tag */
	    {"\xef\xbf\xbd", "\"\xef\xbf\xbd\""},               /* U+FFFD itself */
	};
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		char *q = nd_cli_quote(cases[i][0]);
		cr_assert_str_eq(q, cases[i][1], "case %zu", i);
		free(q);
	}
}
