/* libFuzzer target: the configuration-language lexer and parser (with includes and
 * environment variables served from memory, so cycles and nesting are reachable), the option
 * processor over whatever parses (every directive, type check and error path), and Go
 * duration parsing and formatting. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "actors/config.h"
#include "actors/opts.h"
#include "protocol/conf.h"
#include "protocol/gotime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct input {
	const uint8_t *data;
	size_t size;
} input_t;

/* Every include reads the input itself, so an input that includes itself under any name
 * exercises cycle detection and the include depth limit. */
static int read_self(void *ctx, const char *path, char **out, size_t *len)
{
	const input_t *in = ctx;
	if (strcmp(path, "missing.conf") == 0)
		return -2;
	*out = malloc(in->size + 1);
	if (in->size > 0)
		memcpy(*out, in->data, in->size);
	*len = in->size;
	return 0;
}

static const char *fake_getenv(void *ctx, const char *name)
{
	(void)ctx;
	static const char *const env[][2] = {
	    {"PORT", "4222"},  {"MAP", "{ a: 1, b: [x, y ] }"},
	    {"SELF", "$SELF"}, {"A", "$B"},
	    {"B", "[$A]"},     {"BAD", "a b"},
	    {"EMPTY", ""},
	};
	for (size_t i = 0; i < sizeof(env) / sizeof(env[0]); i++) {
		if (strcmp(env[i][0], name) == 0)
			return env[i][1];
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	input_t in = {data, size};
	nd_conf_parse_opts_t o = {
	    .read = read_self, .read_ctx = &in, .getenv = fake_getenv, .getenv_ctx = NULL};
	char *err = NULL;
	size_t errlen = 0;
	nd_conf_value_t *root =
	    nd_conf_parse_text_n((const char *)data, size, "dir/fuzz.conf", &o, &err, &errlen);
	if (root != NULL) {
		/* Only the top level: values read through variables share children, so a full
		 * walk of a hostile tree can be exponential (consumers walk known keys only). */
		for (size_t i = 0; i < root->u.map.n; i++) {
			const nd_conf_value_t *v = root->u.map.entries[i].value;
			(void)nd_conf_type_go_name(v->type);
			(void)nd_conf_map_get(root, root->u.map.entries[i].key);
		}
		/* The option processor walks known keys only, as a server would. */
		nd_opts_t opts;
		nd_opts_default(&opts);
		nd_config_report_t r;
		nd_config_report_init(&r);
		nd_config_apply(&opts, root, &r);
		free(nd_config_report_text(&r));
		nd_config_report_deinit(&r);
		nd_config_baseline(&opts);
		char verr[256];
		(void)nd_opts_validate(&opts, verr, sizeof(verr));
		nd_opts_deinit(&opts);
	}
	nd_conf_free(root);
	free(err);

	/* The same bytes as a duration. */
	if (size < 256) {
		char s[256];
		memcpy(s, data, size);
		s[size] = '\0';
		int64_t ns;
		char msg[128];
		char out[32];
		if (nd_go_parse_duration(s, &ns, msg, sizeof(msg)) == 0) {
			nd_go_format_duration(ns, out, sizeof(out));
			int64_t back;
			if (nd_go_parse_duration(out, &back, msg, sizeof(msg)) != 0 || back != ns)
				abort();
			nd_go_format_float((double)ns / 1e9, out, sizeof(out));
		}
	}
	return 0;
}
