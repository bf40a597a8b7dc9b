/* The command line, parsed like Go's `flag` package parses nats-server's: a table of flags
 * (aliases share an entry), one or two dashes, `-f v` or `-f=v`, booleans take no separate
 * value, integers in Go's base-0 syntax, parsing stops at the first positional argument. The
 * messages are the Go package's, word for word, because scripts and people match on them. */
#define _GNU_SOURCE
#include "daemon/cli.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* What a flag does besides being a setting. */
enum target {
	T_SETTING,  /* one setting per key in `keys` */
	T_COMBO,    /* like T_SETTING, but applied after every plain flag (see the table) */
	T_HELP,     /* -h */
	T_VERSION,  /* -v */
	T_HELP_TLS, /* --help_tls */
	T_TEST,     /* -t */
	T_CONFIG,   /* -c */
	T_SIGNAL,   /* --signal */
};

struct flag_def {
	const char *names[4]; /* aliases, without dashes; unused slots NULL */
	nd_cli_type_t type;
	enum target target;
	const char *keys[3]; /* configuration-file key paths set by the flag; unused slots NULL */
};

/* Every flag of nats-server 2.9 (its ConfigureOptions) plus natsd's own, mapped to the keys of
 * the configuration file that mean the same thing, so that flags can be applied over a file
 * exactly as the file is applied. The order of entries is the usage text's, except that the
 * three combined flags must stay in this order: the reference applies them after every other
 * flag, sorted by name (DV, DVV, VV), so `-VV -DV=false` leaves trace on. */
static const struct flag_def flags[] = {
    /* Server options */
    {{"a", "addr", "net"}, ND_CLI_STRING, T_SETTING, {"host"}},
    {{"p", "port"}, ND_CLI_INT, T_SETTING, {"port"}},
    {{"n", "name", "server_name"}, ND_CLI_STRING, T_SETTING, {"server_name"}},
    {{"P", "pid"}, ND_CLI_STRING, T_SETTING, {"pid_file"}},
    {{"m", "http_port"}, ND_CLI_INT, T_SETTING, {"http_port"}},
    {{"ms", "https_port"}, ND_CLI_INT, T_SETTING, {"https_port"}},
    {{"c", "config"}, ND_CLI_STRING, T_CONFIG, {NULL}},
    {{"t"}, ND_CLI_BOOL, T_TEST, {NULL}},
    {{"sl", "signal"}, ND_CLI_STRING, T_SIGNAL, {NULL}},
    {{"client_advertise"}, ND_CLI_STRING, T_SETTING, {"client_advertise"}},
    {{"ports_file_dir"}, ND_CLI_STRING, T_SETTING, {"ports_file_dir"}},
    /* Logging options */
    {{"l", "log"}, ND_CLI_STRING, T_SETTING, {"log_file"}},
    {{"T", "logtime"}, ND_CLI_BOOL, T_SETTING, {"logtime"}},
    {{"s", "syslog"}, ND_CLI_BOOL, T_SETTING, {"syslog"}},
    {{"r", "remote_syslog"}, ND_CLI_STRING, T_SETTING, {"remote_syslog"}},
    {{"D", "debug"}, ND_CLI_BOOL, T_SETTING, {"debug"}},
    {{"V", "trace"}, ND_CLI_BOOL, T_SETTING, {"trace"}},
    {{"DV"}, ND_CLI_BOOL, T_COMBO, {"debug", "trace"}},
    {{"DVV"}, ND_CLI_BOOL, T_COMBO, {"debug", "trace", "trace_verbose"}},
    {{"VV"}, ND_CLI_BOOL, T_COMBO, {"trace", "trace_verbose"}},
    {{"log_size_limit"}, ND_CLI_INT, T_SETTING, {"log_size_limit"}},
    {{"max_traced_msg_len"}, ND_CLI_INT, T_SETTING, {"max_traced_msg_len"}},
    /* JetStream options */
    {{"js", "jetstream"}, ND_CLI_BOOL, T_SETTING, {"jetstream"}},
    {{"sd", "store_dir"}, ND_CLI_STRING, T_SETTING, {"store_dir"}},
    /* Authorization options */
    {{"user"}, ND_CLI_STRING, T_SETTING, {"authorization.user"}},
    {{"pass"}, ND_CLI_STRING, T_SETTING, {"authorization.password"}},
    {{"auth"}, ND_CLI_STRING, T_SETTING, {"authorization.token"}},
    /* TLS options */
    {{"tls"}, ND_CLI_BOOL, T_SETTING, {"tls"}},
    {{"tlscert"}, ND_CLI_STRING, T_SETTING, {"tls.cert_file"}},
    {{"tlskey"}, ND_CLI_STRING, T_SETTING, {"tls.key_file"}},
    {{"tlsverify"}, ND_CLI_BOOL, T_SETTING, {"tls.verify"}},
    {{"tlscacert"}, ND_CLI_STRING, T_SETTING, {"tls.ca_file"}},
    /* Cluster options */
    {{"routes"}, ND_CLI_STRING, T_SETTING, {"cluster.routes"}},
    {{"cluster", "cluster_listen"}, ND_CLI_STRING, T_SETTING, {"cluster.listen"}},
    {{"cluster_name"}, ND_CLI_STRING, T_SETTING, {"cluster.name"}},
    {{"no_advertise"}, ND_CLI_BOOL, T_SETTING, {"cluster.no_advertise"}},
    {{"cluster_advertise"}, ND_CLI_STRING, T_SETTING, {"cluster.advertise"}},
    {{"connect_retries"}, ND_CLI_INT, T_SETTING, {"cluster.connect_retries"}},
    /* Profiling options */
    {{"profile"}, ND_CLI_INT, T_SETTING, {"prof_port"}},
    /* natsd options */
    {{"workers"}, ND_CLI_INT, T_SETTING, {"workers"}},
    {{"spin"}, ND_CLI_INT, T_SETTING, {"spin"}},
    /* Common options */
    {{"h", "help"}, ND_CLI_BOOL, T_HELP, {NULL}},
    {{"v", "version"}, ND_CLI_BOOL, T_VERSION, {NULL}},
    {{"help_tls"}, ND_CLI_BOOL, T_HELP_TLS, {NULL}},
};

static const struct flag_def *lookup(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
		for (size_t j = 0; j < ARRAY_SIZE(flags[i].names) && flags[i].names[j] != NULL; j++)
			if (strlen(flags[i].names[j]) == len &&
			    memcmp(flags[i].names[j], name, len) == 0)
				return &flags[i];
	return NULL;
}

static __attribute__((format(printf, 2, 3))) void fail(nd_cli_t *cli, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&cli->error, fmt, ap) < 0)
		abort();
	va_end(ap);
}

/* ---- Go's strconv, the parts flags use ---- */

static unsigned char lower(unsigned char c)
{
	return c | ('x' - 'X'); /* strconv's trick: only meaningful for letters */
}

/* strconv.ParseBool. */
static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
	static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* Underscores may only separate digits, or a base prefix from a digit (strconv's rule). */
static bool underscores_ok(const char *s)
{
	char saw = '^'; /* ^ start, 0 digit or prefix, _ underscore, ! anything else */
	bool hex = false;
	if (*s == '+' || *s == '-')
		s++;
	if (s[0] == '0' && (lower(s[1]) == 'b' || lower(s[1]) == 'o' || lower(s[1]) == 'x')) {
		hex = lower(s[1]) == 'x';
		saw = '0';
		s += 2;
	}
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= '0' && c <= '9') || (hex && lower(c) >= 'a' && lower(c) <= 'f')) {
			saw = '0';
		} else if (c == '_') {
			if (saw != '0')
				return false;
			saw = '_';
		} else {
			if (saw == '_')
				return false;
			saw = '!';
		}
	}
	return saw != '_';
}

/* strconv.ParseUint(s, 0, 64): -EINVAL for bad syntax, -ERANGE on overflow. Overflow is
 * reported as soon as it happens, so "99999999999999999999x" is out of range, not bad. */
static int parse_uint_base0(const char *s, uint64_t *out)
{
	const char *s0 = s;
	unsigned base = 10;
	bool underscores = false;
	uint64_t n = 0;
	if (*s == '\0')
		return -EINVAL;
	if (s[0] == '0') {
		bool long_enough = s[1] != '\0' && s[2] != '\0';
		if (long_enough && lower(s[1]) == 'b') {
			base = 2;
			s += 2;
		} else if (long_enough && lower(s[1]) == 'o') {
			base = 8;
			s += 2;
		} else if (long_enough && lower(s[1]) == 'x') {
			base = 16;
			s += 2;
		} else {
			base = 8; /* a leading 0 means octal: -p 0141520 is port 50000 */
			s += 1;
		}
	}
	uint64_t cutoff = UINT64_MAX / base + 1;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		unsigned d;
		if (c == '_') {
			underscores = true;
			continue;
		} else if (c >= '0' && c <= '9') {
			d = c - '0';
		} else if (lower(c) >= 'a' && lower(c) <= 'z') {
			d = lower(c) - 'a' + 10u;
		} else {
			return -EINVAL;
		}
		if (d >= base)
			return -EINVAL;
		if (n >= cutoff)
			return -ERANGE;
		n *= base;
		if (n + d < n)
			return -ERANGE;
		n += d;
	}
	if (underscores && !underscores_ok(s0))
		return -EINVAL;
	*out = n;
	return 0;
}

/* strconv.ParseInt(s, 0, 64), which is what Go's IntVar and Int64Var do on 64-bit systems. */
static int parse_int_base0(const char *s, int64_t *out)
{
	bool neg = false;
	uint64_t u;
	if (*s == '+' || *s == '-') {
		neg = *s == '-';
		s++;
	}
	int err = parse_uint_base0(s, &u);
	if (err != 0)
		return err;
	if ((!neg && u > (uint64_t)INT64_MAX) || (neg && u > (uint64_t)INT64_MAX + 1))
		return -ERANGE;
	*out = neg ? (int64_t)(0 - u) : (int64_t)u;
	return 0;
}

/* ---- strconv.Quote ---- */

/* Decodes one UTF-8 sequence as Go's utf8.DecodeRuneInString does: *len is 1 and the result
 * -1 for anything invalid (bad lead or continuation, overlong forms, surrogates, > U+10FFFF). */
static long decode_rune(const unsigned char *s, size_t *len)
{
	unsigned char b = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;
	long r;
	*len = 1;
	if (b < 0x80)
		return b;
	if (b >= 0xc2 && b <= 0xdf) {
		n = 2;
		r = b & 0x1f;
	} else if (b >= 0xe0 && b <= 0xef) {
		n = 3;
		r = b & 0x0f;
		lo = b == 0xe0 ? 0xa0 : 0x80;
		hi = b == 0xed ? 0x9f : 0xbf;
	} else if (b >= 0xf0 && b <= 0xf4) {
		n = 4;
		r = b & 0x07;
		lo = b == 0xf0 ? 0x90 : 0x80;
		hi = b == 0xf4 ? 0x8f : 0xbf;
	} else {
		return -1;
	}
	for (size_t i = 1; i < n; i++) {
		unsigned char c = s[i]; /* a NUL terminator fails the range check: no overrun */
		if (c < (i == 1 ? lo : 0x80) || c > (i == 1 ? hi : 0xbf))
			return -1;
		r = (r << 6) | (c & 0x3f);
	}
	*len = n;
	return r;
}

/* Non-ASCII code points Go's unicode.IsPrint rejects: C1 controls, spaces other than U+0020,
 * line and paragraph separators, format characters, private use and noncharacters. Unassigned
 * code points (also rejected by Go) would need Unicode's tables and are let through. */
static bool is_print(long r)
{
	static const struct {
		long lo, hi;
	} not_print[] = {
	    {0x80, 0xa0},       {0xad, 0xad},        {0x600, 0x605},     {0x61c, 0x61c},
	    {0x6dd, 0x6dd},     {0x70f, 0x70f},      {0x8e2, 0x8e2},     {0x1680, 0x1680},
	    {0x180e, 0x180e},   {0x2000, 0x200f},    {0x2028, 0x202f},   {0x205f, 0x2064},
	    {0x2066, 0x206f},   {0x3000, 0x3000},    {0xe000, 0xf8ff},   {0xfdd0, 0xfdef},
	    {0xfeff, 0xfeff},   {0xfff9, 0xfffb},    {0x110bd, 0x110bd}, {0x110cd, 0x110cd},
	    {0x13430, 0x13438}, {0x1bca0, 0x1bca3},  {0x1d173, 0x1d17a}, {0xe0001, 0xe0001},
	    {0xe0020, 0xe007f}, {0xf0000, 0x10ffff},
	};
	if (r < 0x80)
		return r >= 0x20 && r < 0x7f;
	if ((r & 0xfffe) == 0xfffe)
		return false; /* U+xFFFE and U+xFFFF of every plane */
	for (size_t i = 0; i < ARRAY_SIZE(not_print); i++)
		if (r >= not_print[i].lo && r <= not_print[i].hi)
			return false;
	return true;
}

char *nd_cli_quote(const char *str)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	char *buf;
	size_t size;
	FILE *f = open_memstream(&buf, &size);
	if (f == NULL)
		abort();
	fputc('"', f);
	while (*s != '\0') {
		size_t len;
		long r = decode_rune(s, &len);
		if (r < 0) {
			fprintf(f, "\\x%c%c", hex[*s >> 4], hex[*s & 15]);
		} else if (r == '"' || r == '\\') {
			fprintf(f, "\\%c", (int)r);
		} else if (is_print(r)) {
			fwrite(s, 1, len, f);
		} else if (r < 0x80) {
			const char *esc = strchr("\aa\bb\ff\nn\rr\tt\vv", (int)r);
			if (esc != NULL && r != 0)
				fprintf(f, "\\%c", esc[1]);
			else
				fprintf(f, "\\x%c%c", hex[r >> 4], hex[r & 15]);
		} else if (r < 0x10000) {
			fprintf(f, "\\u%04lx", r);
		} else {
			fprintf(f, "\\U%08lx", r);
		}
		s += len;
	}
	fputc('"', f);
	if (fclose(f) != 0)
		abort();
	return buf;
}

/* ---- parsing ---- */

/* strings.ToLower(arg) == word, for an ASCII word. Go lowers U+0130 to 'i' and the Kelvin
 * sign U+212A to 'k', so they count too (`VERSİON` prints the version in the reference). */
static bool command_is(const char *arg, const char *word)
{
	const unsigned char *a = (const unsigned char *)arg;
	for (; *word != '\0'; word++) {
		if (*a < 0x80) {
			if ((*a >= 'A' && *a <= 'Z' ? *a | 0x20 : *a) != (unsigned char)*word)
				return false;
			a++;
		} else if (a[0] == 0xc4 && a[1] == 0xb0 && *word == 'i') {
			a += 2;
		} else if (a[0] == 0xe2 && a[1] == 0x84 && a[2] == 0xaa && *word == 'k') {
			a += 3;
		} else {
			return false;
		}
	}
	return *a == '\0';
}

static void add_setting(nd_cli_t *cli, const char *key, nd_cli_type_t type, const char *flag)
{
	nd_cli_setting_t *st = &cli->settings[cli->nsettings++];
	st->key = key;
	st->type = type;
	snprintf(st->flag, sizeof(st->flag), "%s", flag);
}

/* The last value and spelling of each combined flag, applied after the plain ones. */
struct combo {
	bool given;
	bool value;
	char flag[sizeof(((nd_cli_setting_t *)0)->flag)];
};

int nd_cli_parse(nd_cli_t *cli, int argc, char *const argv[])
{
	struct combo combos[ARRAY_SIZE(flags)] = {0};
	bool help = false, version = false, help_tls = false;
	int i;
	memset(cli, 0, sizeof(*cli));
	/* One setting per argument at most, plus the combined flags' 2 + 3 + 2 keys. */
	cli->settings = calloc((size_t)(argc > 0 ? argc : 0) + 7, sizeof(*cli->settings));
	if (cli->settings == NULL)
		abort();

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];
		size_t dashes = 1;
		/* A lone "-" and anything not starting with '-' are positional. */
		if (arg[0] != '-' || arg[1] == '\0')
			break;
		if (arg[1] == '-') {
			dashes = 2;
			if (arg[2] == '\0') { /* "--" ends the flags and is consumed */
				i++;
				break;
			}
		}
		const char *name = arg + dashes;
		if (name[0] == '-' || name[0] == '=') {
			fail(cli, "bad flag syntax: %s", arg);
			return ND_CLI_EFLAG;
		}
		const char *eq = strchr(name + 1, '='); /* a name cannot start with '=' */
		int len = (int)(eq != NULL ? (size_t)(eq - name) : strlen(name));
		const char *value = eq != NULL ? eq + 1 : NULL;
		const struct flag_def *def = lookup(name, (size_t)len);
		if (def == NULL) {
			fail(cli, "flag provided but not defined: -%.*s", len, name);
			return ND_CLI_EFLAG;
		}
		char typed[sizeof(cli->settings[0].flag)];
		assert((size_t)len + dashes < sizeof(typed));
		snprintf(typed, sizeof(typed), "%.*s", (int)dashes + len, arg);

		bool b = true;
		int64_t n = 0;
		if (def->type == ND_CLI_BOOL) {
			/* Booleans never take the next argument: `-D false` is -D and a command. */
			if (value != NULL && parse_bool(value, &b) != 0) {
				char *q = nd_cli_quote(value);
				fail(cli, "invalid boolean value %s for -%.*s: parse error", q, len,
				     name);
				free(q);
				return ND_CLI_EFLAG;
			}
		} else {
			if (value == NULL) {
				if (i + 1 >= argc) {
					fail(cli, "flag needs an argument: -%.*s", len, name);
					return ND_CLI_EFLAG;
				}
				value = argv[++i]; /* even if it starts with '-': -p -1 */
			}
			int err = def->type == ND_CLI_INT ? parse_int_base0(value, &n) : 0;
			if (err != 0) {
				char *q = nd_cli_quote(value);
				fail(cli, "invalid value %s for flag -%.*s: %s", q, len, name,
				     err == -ERANGE ? "value out of range" : "parse error");
				free(q);
				return ND_CLI_EFLAG;
			}
		}

		switch (def->target) {
		case T_SETTING:
			add_setting(cli, def->keys[0], def->type, typed);
			if (def->type == ND_CLI_BOOL)
				cli->settings[cli->nsettings - 1].v.b = b;
			else if (def->type == ND_CLI_INT)
				cli->settings[cli->nsettings - 1].v.i = n;
			else
				cli->settings[cli->nsettings - 1].v.s = value;
			break;
		case T_COMBO: {
			struct combo *c = &combos[def - flags];
			c->given = true;
			c->value = b;
			memcpy(c->flag, typed, sizeof(typed));
			break;
		}
		case T_HELP:
			help = b;
			break;
		case T_VERSION:
			version = b;
			break;
		case T_HELP_TLS:
			help_tls = b;
			break;
		case T_TEST:
			cli->check_config = b;
			break;
		case T_CONFIG:
			cli->config = *value != '\0' ? value : NULL;
			break;
		case T_SIGNAL:
			cli->signal = *value != '\0' ? value : NULL;
			break;
		}
	}

	for (size_t k = 0; k < ARRAY_SIZE(flags); k++) {
		if (!combos[k].given)
			continue;
		for (size_t j = 0; j < ARRAY_SIZE(flags[k].keys) && flags[k].keys[j] != NULL; j++) {
			add_setting(cli, flags[k].keys[j], ND_CLI_BOOL, combos[k].flag);
			cli->settings[cli->nsettings - 1].v.b = combos[k].value;
		}
	}

	/* The reference checks the action flags before it looks at positional arguments. */
	if (version) {
		cli->action = ND_CLI_VERSION;
	} else if (help) {
		cli->action = ND_CLI_HELP;
	} else if (help_tls) {
		cli->action = ND_CLI_HELP_TLS;
	} else if (i < argc) {
		if (command_is(argv[i], "version")) {
			cli->action = ND_CLI_VERSION;
		} else if (command_is(argv[i], "help")) {
			cli->action = ND_CLI_HELP;
		} else {
			char *q = nd_cli_quote(argv[i]);
			fail(cli, "unrecognized command: %s", q);
			free(q);
			return ND_CLI_ECOMMAND;
		}
	} else if (cli->signal != NULL) {
		cli->action = ND_CLI_SIGNAL;
	}
	return 0;
}

void nd_cli_deinit(nd_cli_t *cli)
{
	free(cli->settings);
	free(cli->error);
	cli->settings = NULL;
	cli->error = NULL;
	cli->nsettings = 0;
}
