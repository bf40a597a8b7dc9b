/* The configuration-language parser: values, positions, variables, includes and quirks, and
 * a replay of the config corpus (tests/unit/protocol/conf_corpus, outputs of the reference
 * nats-server 2.9.10 -t): every file whose expected output is a lexer/parser, variable,
 * include or value-conversion message must fail with exactly that message, every other file
 * must parse. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protocol/conf.h"
#include "tests/support/nd_test.h"

/* ---- helpers ---------------------------------------------------------------------------- */

typedef struct fake_env {
	const char *names[8];
	const char *values[8];
	int n;
} fake_env_t;

static const char *env_get(void *ctx, const char *name)
{
	fake_env_t *e = ctx;
	for (int i = 0; i < e->n; i++) {
		if (strcmp(e->names[i], name) == 0)
			return e->values[i];
	}
	return NULL;
}

typedef struct fake_fs {
	const char *paths[8];
	const char *texts[8];
	int n;
} fake_fs_t;

static int fs_read(void *ctx, const char *path, char **data, size_t *len)
{
	fake_fs_t *fs = ctx;
	for (int i = 0; i < fs->n; i++) {
		if (strcmp(fs->paths[i], path) == 0) {
			*len = strlen(fs->texts[i]);
			*data = malloc(*len + 1);
			memcpy(*data, fs->texts[i], *len + 1);
			return 0;
		}
	}
	return -2; /* -ENOENT */
}

static nd_conf_value_t *parse_env(const char *text, fake_env_t *env, char **err)
{
	nd_conf_parse_opts_t o = {.getenv = env_get, .getenv_ctx = env};
	return nd_conf_parse_text(text, strlen(text), "t.conf", &o, err);
}

static nd_conf_value_t *parse(const char *text, char **err)
{
	fake_env_t none = {0};
	return parse_env(text, &none, err);
}

static nd_conf_value_t *parse_ok(const char *text)
{
	char *err = NULL;
	nd_conf_value_t *root = parse(text, &err);
	cr_assert_not_null(root, "parse of [%s] failed: %s", text, err ? err : "?");
	cr_assert_null(err);
	return root;
}

static void expect_err(const char *text, const char *want)
{
	char *err = NULL;
	nd_conf_value_t *root = parse(text, &err);
	cr_assert_null(root, "[%s] parsed", text);
	cr_assert_not_null(err);
	cr_assert_str_eq(err, want, "[%s]: got <%s> want <%s>", text, err, want);
	free(err);
}

static const nd_conf_value_t *get(const nd_conf_value_t *m, const char *key)
{
	const nd_conf_entry_t *e = nd_conf_map_get(m, key);
	cr_assert_not_null(e, "no key %s", key);
	return e->value;
}

static int64_t get_int(const nd_conf_value_t *m, const char *key)
{
	const nd_conf_value_t *v = get(m, key);
	cr_assert_eq(v->type, ND_CONF_INT, "%s is %s", key, nd_conf_type_go_name(v->type));
	return v->u.i;
}

static const char *get_str(const nd_conf_value_t *m, const char *key)
{
	const nd_conf_value_t *v = get(m, key);
	cr_assert_eq(v->type, ND_CONF_STRING, "%s is %s", key, nd_conf_type_go_name(v->type));
	return v->u.str.p;
}

/* ---- values ----------------------------------------------------------------------------- */

ND_TEST(conf, separators_and_scalars)
{
	nd_conf_value_t *r =
	    parse_ok("a = 1\nb: 2\nc 3\nd\t4\ne = hello\nf = 'sq \\n'\n"
		     "g = \"dq\\t\\x41\\\"\"\nh = 1.5\ni = -7\nj=true; k=No, l=ON\n");
	cr_assert_eq(get_int(r, "a"), 1);
	cr_assert_eq(get_int(r, "b"), 2);
	cr_assert_eq(get_int(r, "c"), 3);
	cr_assert_eq(get_int(r, "d"), 4);
	cr_assert_str_eq(get_str(r, "e"), "hello");
	cr_assert_str_eq(get_str(r, "f"), "sq \\n");
	cr_assert_str_eq(get_str(r, "g"), "dq\tA\"");
	cr_assert_float_eq(get(r, "h")->u.f, 1.5, 1e-12);
	cr_assert_eq(get_int(r, "i"), -7);
	cr_assert_eq(get(r, "j")->type, ND_CONF_BOOL);
	cr_assert(get(r, "j")->u.b);
	cr_assert_not(get(r, "k")->u.b);
	cr_assert(get(r, "l")->u.b);
	nd_conf_free(r);
}

ND_TEST(conf, size_suffixes)
{
	nd_conf_value_t *r =
	    parse_ok("a = 1k\nb = 1K\nc = 64KB\nd = 1kb\ne = 1Mi\nf = 2m\ng = 1g\nh = 1GB\n"
		     "i = 1gib\nj = 1t\nk = 1tb\nl = 1p\nm = 1e\nn = 1eb\no = -2k\n");
	cr_assert_eq(get_int(r, "a"), 1000);
	cr_assert_eq(get_int(r, "b"), 1000);
	cr_assert_eq(get_int(r, "c"), 65536);
	cr_assert_eq(get_int(r, "d"), 1024);
	cr_assert_eq(get_int(r, "e"), 1048576);
	cr_assert_eq(get_int(r, "f"), 2000000);
	cr_assert_eq(get_int(r, "g"), 1000000000);
	cr_assert_eq(get_int(r, "h"), 1073741824);
	cr_assert_eq(get_int(r, "i"), 1073741824);
	cr_assert_eq(get_int(r, "j"), 1000000000000);
	cr_assert_eq(get_int(r, "k"), 1099511627776);
	cr_assert_eq(get_int(r, "l"), 1000000000000000);
	cr_assert_eq(get_int(r, "m"), 1000000000000000000);
	cr_assert_eq(get_int(r, "n"), (int64_t)1 << 60);
	cr_assert_eq(get_int(r, "o"), -2000);
	nd_conf_free(r);
}

ND_TEST(conf, strings_that_look_like_numbers)
{
	nd_conf_value_t *r = parse_ok("a = 100ms\nb = 1h\nc = 127.0.0.1:4222\nd = 1kx\ne = 1b\n"
				      "f = abc#def\ng = a\\tb\nh = null\n");
	cr_assert_str_eq(get_str(r, "a"), "100ms");
	cr_assert_str_eq(get_str(r, "b"), "1h");
	cr_assert_str_eq(get_str(r, "c"), "127.0.0.1:4222");
	cr_assert_str_eq(get_str(r, "d"), "1kx");
	cr_assert_str_eq(get_str(r, "e"), "1b");
	cr_assert_str_eq(get_str(r, "f"), "abc#def");
	cr_assert_str_eq(get_str(r, "g"), "a\tb");
	cr_assert_str_eq(get_str(r, "h"), "null");
	nd_conf_free(r);
}

ND_TEST(conf, block_and_datetime)
{
	nd_conf_value_t *r = parse_ok("s = (\nhello\n  world\n)\nt = 2020-02-29T10:11:12Z\n");
	cr_assert_str_eq(get_str(r, "s"), "\nhello\n  world\n");
	cr_assert_eq(get(r, "t")->type, ND_CONF_DATETIME);
	cr_assert_str_eq(get(r, "t")->u.str.p, "2020-02-29T10:11:12Z");
	nd_conf_free(r);
	expect_err("t = 2021-02-29T10:11:12Z\n",
		   "expected Zulu formatted DateTime, but got '2021-02-29T10:11:12Z'");
}

ND_TEST(conf, string_with_nul_byte)
{
	nd_conf_value_t *r = parse_ok("s = \"a\\x00b\"\n");
	const nd_conf_value_t *v = get(r, "s");
	cr_assert_eq(v->u.str.n, 3);
	cr_assert_eq(memcmp(v->u.str.p, "a\0b", 3), 0);
	nd_conf_free(r);
}

ND_TEST(conf, arrays_and_maps)
{
	nd_conf_value_t *r = parse_ok("a = [1, 2 ]\nb = [\n  x # c\n  'y',\n  {k: v}\n]\n"
				      "m { n = { deep = true }, list: [] }\n{ wrapped = 1 }\n");
	const nd_conf_value_t *a = get(r, "a");
	cr_assert_eq(a->type, ND_CONF_ARRAY);
	cr_assert_eq(a->u.arr.n, 2);
	cr_assert_eq(a->u.arr.items[1]->u.i, 2);
	const nd_conf_value_t *b = get(r, "b");
	cr_assert_eq(b->u.arr.n, 3);
	cr_assert_str_eq(b->u.arr.items[1]->u.str.p, "y");
	cr_assert_eq(b->u.arr.items[2]->type, ND_CONF_MAP);
	cr_assert_str_eq(get_str(b->u.arr.items[2], "k"), "v");
	const nd_conf_value_t *m = get(r, "m");
	cr_assert(get(get(m, "n"), "deep")->u.b);
	cr_assert_eq(get(m, "list")->u.arr.n, 0);
	cr_assert_eq(get_int(r, "wrapped"), 1);
	nd_conf_free(r);
}

ND_TEST(conf, json_file)
{
	nd_conf_value_t *r =
	    parse_ok("{\n  \"port\": 4222,\n  \"name\": \"x\",\n  \"tags\": [\"a\", "
		     "\"b\"],\n  \"auth\": {\"user\": \"u\"}\n}\n");
	cr_assert_eq(get_int(r, "port"), 4222);
	cr_assert_str_eq(get_str(get(r, "auth"), "user"), "u");
	nd_conf_free(r);
}

ND_TEST(conf, duplicate_keys_keep_last)
{
	nd_conf_value_t *r = parse_ok("a = 1\nb = 2\na = 3\n");
	cr_assert_eq(r->u.map.n, 2);
	cr_assert_eq(get_int(r, "a"), 3);
	cr_assert_eq(get(r, "a")->pos.line, 3);
	nd_conf_free(r);
}

ND_TEST(conf, positions)
{
	nd_conf_value_t *r = parse_ok("foo = 1\nbar {\n  baz = 3\n}\narr = [ x, \"a\\tb\" ]\n");
	const nd_conf_value_t *foo = get(r, "foo");
	cr_assert_str_eq(foo->pos.file, "t.conf");
	cr_assert_eq(foo->pos.line, 1);
	cr_assert_eq(foo->pos.col, 0); /* 0-based on line 1, as the reference */
	const nd_conf_value_t *baz = get(get(r, "bar"), "baz");
	cr_assert_eq(baz->pos.line, 3);
	cr_assert_eq(baz->pos.col, 3);
	const nd_conf_value_t *bar = get(r, "bar");
	cr_assert_eq(bar->pos.line, 2);
	cr_assert_eq(bar->pos.col, 1);
	const nd_conf_value_t *arr = get(r, "arr");
	cr_assert_eq(arr->u.arr.items[0]->pos.line, 5);
	cr_assert_eq(arr->u.arr.items[0]->pos.col, 9);
	/* An escaped string: end of token minus the decoded length. */
	cr_assert_eq(arr->u.arr.items[1]->pos.col, 14);
	nd_conf_free(r);
}

ND_TEST(conf, quirks)
{
	/* Unknown suffix combination: no value, the key is dropped. */
	nd_conf_value_t *r = parse_ok("a = 1kbi\nb = 2\n");
	cr_assert_null(nd_conf_map_get(r, "a"));
	cr_assert_eq(get_int(r, "b"), 2);
	nd_conf_free(r);
	/* A key without a value inside a map takes the map's own assignment. */
	r = parse_ok("authorization { user }\n");
	cr_assert_null(nd_conf_map_get(r, "authorization"));
	cr_assert_eq(get(r, "user")->type, ND_CONF_MAP);
	nd_conf_free(r);
	/* "port:=4222" is the string "=4222"; the brace of "a{" belongs to the key. */
	r = parse_ok("port:=4222\nauthorization{user=a}\n");
	cr_assert_str_eq(get_str(r, "port"), "=4222");
	cr_assert_str_eq(get_str(r, "authorization{user"), "a");
	nd_conf_free(r);
	/* A key alone at the end is dropped; "key =" at the end is the empty string. */
	r = parse_ok("a = 1\nport");
	cr_assert_null(nd_conf_map_get(r, "port"));
	nd_conf_free(r);
	r = parse_ok("a =");
	cr_assert_str_eq(get_str(r, "a"), "");
	nd_conf_free(r);
	/* "[1, 2]": the last element is the string "2]" and the array is not closed. */
	expect_err("a = [1, 2]\n",
		   "Parse error on line 2: 'Expected an array value terminator \",\" or an array "
		   "terminator \"]\", but got '");
}

ND_TEST(conf, nul_in_error_message)
{
	const char *text = "a = [1, 2]";
	char *err = NULL;
	size_t len = 0;
	nd_conf_value_t *r = nd_conf_parse_text_n(text, strlen(text), "t", NULL, &err, &len);
	cr_assert_null(r);
	static const char want[] = "Parse error on line 1: 'Expected an array value terminator "
				   "\",\" or an array terminator \"]\", but got '\0' instead.'";
	cr_assert_eq(len, sizeof(want) - 1);
	cr_assert_eq(memcmp(err, want, len), 0);
	free(err);
}

ND_TEST(conf, big_integers)
{
	nd_conf_value_t *r = parse_ok("a = 9223372036854775807\nb = -9223372036854775808\n");
	cr_assert_eq(get_int(r, "a"), INT64_MAX);
	cr_assert_eq(get_int(r, "b"), INT64_MIN);
	nd_conf_free(r);
	expect_err("a = 9223372036854775808\n",
		   "integer '9223372036854775808' is out of the range");
	expect_err("a = 99999999999999999999k\n", "integer '99999999999999999999k' is out of the "
						  "range");
}

/* ---- variables -------------------------------------------------------------------------- */

ND_TEST(conf, variables_from_file)
{
	nd_conf_value_t *r = parse_ok("p = 4222\nport = $p\nhash = $2a$11$abc\n"
				      "m { inner = 5, x = $inner, y = $p }\nlist = [$p, $p]\n");
	cr_assert_eq(get_int(r, "port"), 4222);
	cr_assert(get(r, "p")->used_as_variable);
	cr_assert_not(get(r, "port")->used_as_variable);
	cr_assert_eq(get(r, "port")->pos.line, 2);
	cr_assert_str_eq(get_str(r, "hash"), "$2a$11$abc");
	cr_assert_eq(get_int(get(r, "m"), "x"), 5);
	cr_assert_eq(get_int(get(r, "m"), "y"), 4222);
	cr_assert_eq(get(r, "list")->u.arr.n, 2);
	nd_conf_free(r);
	expect_err("port = $P\nP = 4222\n",
		   "variable reference for 'P' on line 1 can not be found");
	expect_err("m { u = a }\nx = $u\n",
		   "variable reference for 'u' on line 2 can not be found");
	expect_err("x = $2b$10$abc\n", "variable reference for '2b$10$abc' on line 1 can not be "
				       "found");
	expect_err("x = ${A}\n", "variable reference for '{A' on line 1 can not be found");
}

ND_TEST(conf, shared_values_stay_small)
{
	/* Each level doubles the logical size; shared children keep memory linear. */
	char text[4096];
	size_t w = (size_t)snprintf(text, sizeof(text), "v0 = [1, 2 ]\n");
	for (int i = 1; i < 60; i++)
		w += (size_t)snprintf(text + w, sizeof(text) - w, "v%d = [$v%d, $v%d]\n", i, i - 1,
				      i - 1);
	nd_conf_value_t *r = parse_ok(text);
	cr_assert_eq(get(r, "v59")->u.arr.n, 2);
	nd_conf_free(r);
}

ND_TEST(conf, variables_from_environment)
{
	fake_env_t env = {
	    .names = {"PORT", "AUTH", "QUOTED", "BAD", "EMPTY", "NEST", "KBI", "LOOP"},
	    .values = {"4333", "{ user: u, password: p }", "\"4333\"", "a b", "", "$PORT", "1kbi",
		       "$LOOP"},
	    .n = 8};
	char *err = NULL;
	nd_conf_value_t *r = parse_env(
	    "port = $PORT\nauth = $AUTH\nq = $QUOTED\ne = $EMPTY\nn = $NEST\n", &env, &err);
	cr_assert_not_null(r, "%s", err);
	cr_assert_eq(get_int(r, "port"), 4333);
	cr_assert_eq(get(r, "port")->pos.line, 1);
	cr_assert_str_eq(get_str(get(r, "auth"), "user"), "u");
	cr_assert_str_eq(get(get(r, "auth"), "user")->pos.file, "t.conf");
	cr_assert_str_eq(get_str(r, "q"), "4333");
	cr_assert_str_eq(get_str(r, "e"), "");
	cr_assert_eq(get_int(r, "n"), 4333);
	nd_conf_free(r);

	r = parse_env("x = $BAD\n", &env, &err);
	cr_assert_null(r);
	cr_assert_str_eq(err, "variable reference for 'BAD' on line 1 could not be parsed: Parse "
			      "error on line 1: 'Expected a top-level value to end with a new "
			      "line, comment or EOF, but got 'b' instead.'");
	free(err);
	r = parse_env("\nx = $KBI\n", &env, &err);
	cr_assert_null(r);
	cr_assert_str_eq(err, "variable reference for 'KBI' on line 2 can not be found");
	free(err);
	r = parse_env("\n\nx = $LOOP\n", &env, &err);
	cr_assert_null(r);
	cr_assert_str_eq(
	    err, "variable reference for 'LOOP' on line 3 could not be parsed: variable reference "
		 "cycle");
	free(err);
}

/* ---- includes --------------------------------------------------------------------------- */

ND_TEST(conf, includes)
{
	fake_fs_t fs = {
	    .paths = {"dir/main.conf", "dir/inc/a.conf", "dir/inc/sub/b.conf", "dir/self.conf",
		      "dir/x.conf", "dir/y.conf", "dir/bad.conf"},
	    .texts = {"before = 1\ninclude inc/a.conf\nm { include 'inc/a.conf' }\nafter = $a\n",
		      "a = 2\n  include sub/b.conf\n", "b = 3\n", "include ./self.conf\n",
		      "include y.conf\n", "include /x.conf\n", "x = \n"},
	    .n = 7};
	nd_conf_parse_opts_t o = {.read = fs_read, .read_ctx = &fs};
	char *err = NULL;
	nd_conf_value_t *r = nd_conf_parse_file("dir/main.conf", &o, &err);
	cr_assert_not_null(r, "%s", err);
	cr_assert_eq(get_int(r, "a"), 2);
	cr_assert_eq(get_int(r, "b"), 3);
	cr_assert_eq(get_int(r, "after"), 2);
	cr_assert_str_eq(get(r, "b")->pos.file, "dir/inc/sub/b.conf");
	cr_assert_eq(get(r, "a")->pos.line, 1);
	cr_assert_str_eq(get(r, "before")->pos.file, "dir/main.conf");
	cr_assert_eq(get_int(get(r, "m"), "b"), 3);
	nd_conf_free(r);

	r = nd_conf_parse_file("dir/self.conf", &o, &err);
	cr_assert_null(r);
	cr_assert_str_eq(err, "error parsing include file './self.conf', include cycle detected");
	free(err);
	r = nd_conf_parse_file("dir/x.conf", &o, &err);
	cr_assert_null(r);
	cr_assert_str_eq(err, "error parsing include file 'y.conf', error parsing include file "
			      "'/x.conf', include cycle detected");
	free(err);
	r = nd_conf_parse_file("dir/nope.conf", &o, &err);
	cr_assert_null(r);
	cr_assert_str_eq(err, "open dir/nope.conf: no such file or directory");
	free(err);
	r = nd_conf_parse_text("include bad.conf", 16, "dir/t.conf", &o, &err);
	cr_assert_null(r);
	cr_assert_str_eq(err, "error parsing include file 'bad.conf', Parse error on line 2: "
			      "'Expected value but found new line'");
	free(err);
}

ND_TEST(conf, disk_errors)
{
	char *err = NULL;
	nd_conf_value_t *r = nd_conf_parse_file("/nonexistent/x.conf", NULL, &err);
	cr_assert_null(r);
	cr_assert_str_eq(err, "open /nonexistent/x.conf: no such file or directory");
	free(err);
	r = nd_conf_parse_file("/tmp", NULL, &err);
	cr_assert_null(r);
	cr_assert_str_eq(err, "read /tmp: is a directory");
	free(err);
}

/* ---- limits ----------------------------------------------------------------------------- */

ND_TEST(conf, depth_limit)
{
	size_t n = 100000;
	char *text = malloc(n + 8);
	memcpy(text, "a = ", 4);
	memset(text + 4, '[', n);
	text[n + 4] = '\0';
	char *err = NULL;
	nd_conf_value_t *r = nd_conf_parse_text(text, n + 4, "t", NULL, &err);
	cr_assert_null(r);
	cr_assert_str_eq(err, "Parse error on line 1: 'Maps and arrays nested deeper than 128 "
			      "levels'");
	free(err);
	/* 100 levels are fine. */
	size_t w = 4;
	for (int i = 0; i < 100; i++)
		text[w++] = '{', text[w++] = 'a', text[w++] = '=';
	text[w++] = '1';
	for (int i = 0; i < 100; i++)
		text[w++] = '}';
	text[w] = '\0';
	r = nd_conf_parse_text(text, w, "t", NULL, &err);
	cr_assert_not_null(r, "%s", err);
	nd_conf_free(r);
	free(text);
}

ND_TEST(conf, type_names)
{
	cr_assert_str_eq(nd_conf_type_go_name(ND_CONF_STRING), "string");
	cr_assert_str_eq(nd_conf_type_go_name(ND_CONF_INT), "int64");
	cr_assert_str_eq(nd_conf_type_go_name(ND_CONF_FLOAT), "float64");
	cr_assert_str_eq(nd_conf_type_go_name(ND_CONF_BOOL), "bool");
	cr_assert_str_eq(nd_conf_type_go_name(ND_CONF_DATETIME), "time.Time");
	cr_assert_str_eq(nd_conf_type_go_name(ND_CONF_ARRAY), "[]interface {}");
	cr_assert_str_eq(nd_conf_type_go_name(ND_CONF_MAP), "map[string]interface {}");
}

/* ---- the corpus ------------------------------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	size_t r;
	while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += r;
		if (cap - n < 2)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* "# ENV: NAME=VALUE" and "# UNSET: NAME" lines set up the environment the reference ran
 * with (a clean one otherwise). */
static void corpus_env(const char *text, fake_env_t *env, char store[8][256])
{
	env->n = 0;
	for (const char *p = text; (p = strstr(p, "# ENV: ")) != NULL && env->n < 8; p++) {
		const char *line = p + 7, *eq = strchr(line, '='), *end = strchr(line, '\n');
		if (eq == NULL || end == NULL || eq > end)
			continue;
		snprintf(store[env->n], 256, "%.*s", (int)(end - line), line);
		store[env->n][eq - line] = '\0';
		env->names[env->n] = store[env->n];
		env->values[env->n] = store[env->n] + (eq - line) + 1;
		env->n++;
	}
}

/* Whether some value in the tree sits at file:line:col, is of go type `type` (when not NULL)
 * and, for a map entry, has the key `key` (when not NULL). Corpus trees are small. */
static bool find_at(const nd_conf_value_t *v, const char *key_of_v, const char *file, int line,
		    int col, const char *key, const char *type)
{
	if (v->pos.file != NULL && strcmp(v->pos.file, file) == 0 && v->pos.line == line &&
	    v->pos.col == col && (key == NULL || (key_of_v && strcmp(key_of_v, key) == 0)) &&
	    (type == NULL || strcmp(nd_conf_type_go_name(v->type), type) == 0))
		return true;
	if (v->type == ND_CONF_MAP) {
		for (size_t i = 0; i < v->u.map.n; i++) {
			if (find_at(v->u.map.entries[i].value, v->u.map.entries[i].key, file, line,
				    col, key, type))
				return true;
		}
	} else if (v->type == ND_CONF_ARRAY) {
		for (size_t i = 0; i < v->u.arr.n; i++) {
			if (find_at(v->u.arr.items[i], NULL, file, line, col, key, type))
				return true;
		}
	}
	return false;
}

/* Option-processor lines that name a key or a type at a position ("F:L:C: unknown field
 * \"k\"", "F:L:C: interface conversion: interface {} is T, not U") must point at a value of
 * the tree: this checks positions and file names (included files too). Returns mismatches. */
static int check_positions(const char *name, const nd_conf_value_t *root, const char *out,
			   int *checked)
{
	int bad = 0;
	for (const char *line = out; *line; line = strchr(line, '\n') + 1) {
		const char *end = strchr(line, '\n');
		if (end == NULL)
			break;
		char buf[512];
		snprintf(buf, sizeof(buf), "%.*s", (int)(end - line), line);
		char *l = buf;
		if (strncmp(l, "nats-server: ", 13) == 0)
			l += 13;
		char file[256], rest[256];
		int ln, col;
		if (sscanf(l, "%255[^:]:%d:%d: %255[^\n]", file, &ln, &col, rest) != 4)
			continue;
		char key[256], type[64];
		bool ok;
		if (sscanf(rest, "unknown field \"%255[^\"\\]\"", key) == 1 &&
		    strlen(rest) == strlen(key) + 16) {
			ok = find_at(root, NULL, file, ln, col, key, NULL);
		} else if (sscanf(rest, "interface conversion: interface {} is %63[^,],", type) ==
			   1) {
			ok = find_at(root, NULL, file, ln, col, NULL, type);
		} else {
			continue;
		}
		(*checked)++;
		if (!ok) {
			fprintf(stderr, "%s: nothing in the tree at <%s>\n", name, l);
			bad++;
		}
	}
	return bad;
}

static int replay(const char *dir, const char *name, int *checked_errors, int *checked_pos)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	size_t tlen, elen;
	char *text = slurp(path, &tlen);
	snprintf(path + strlen(path) - 5, 8, ".expect");
	char *expect = slurp(path, &elen);
	if (text == NULL || expect == NULL) {
		free(text);
		free(expect);
		return 0; /* crash cases keep no comparable .expect */
	}
	fake_env_t env;
	char store[8][256];
	corpus_env(text, &env, store);
	nd_conf_parse_opts_t o = {.getenv = env_get, .getenv_ctx = &env};
	char *err = NULL;
	size_t errlen = 0;
	nd_conf_value_t *r = nd_conf_parse_file_n(name, &o, &err, &errlen);
	int bad = 0;
	/* Line 1: exit code; then the output. A parse-level message is one line ending in a
	 * single '\n'; option-processor reports end with an empty line. */
	const char *out = strchr(expect, '\n');
	out = out ? out + 1 : expect;
	size_t olen = elen - (size_t)(out - expect);
	bool parse_level = expect[0] == '1' && olen >= 1 && out[olen - 1] == '\n' &&
			   !(olen >= 2 && out[olen - 2] == '\n');
	static const char prefix[] = "nats-server: ";
	if (parse_level) {
		(*checked_errors)++;
		size_t want_len = olen - (sizeof(prefix) - 1) - 1;
		const char *want = out + sizeof(prefix) - 1;
		if (r != NULL || err == NULL || errlen != want_len ||
		    memcmp(err, want, want_len) != 0) {
			fprintf(stderr, "%s: want <%.*s>\n   got <%.*s>\n", name, (int)want_len,
				want, (int)errlen, err ? err : "(parsed)");
			bad = 1;
		}
	} else if (r == NULL) {
		fprintf(stderr, "%s: unexpected error <%.*s>\n", name, (int)errlen, err);
		bad = 1;
	} else {
		bad = check_positions(name, r, out, checked_pos) > 0;
	}
	nd_conf_free(r);
	free(err);
	free(text);
	free(expect);
	return bad;
}

ND_TEST(conf, corpus)
{
	cr_assert_eq(chdir(ND_CONF_CORPUS_DIR), 0);
	DIR *d = opendir(".");
	cr_assert_not_null(d);
	struct dirent *de;
	int files = 0, errors = 0, positions = 0, bad = 0;
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		if (n < 6 || strcmp(de->d_name + n - 5, ".conf") != 0)
			continue;
		files++;
		bad += replay(".", de->d_name, &errors, &positions);
	}
	closedir(d);
	cr_log_info("corpus: %d files, %d parse-level errors compared, %d positions checked", files,
		    errors, positions);
	cr_assert_gt(files, 100);
	cr_assert_gt(errors, 30);
	cr_assert_gt(positions, 20);
	cr_assert_eq(bad, 0, "%d corpus files differ", bad);
}

/* The reference crashes on these; we must fail cleanly with a cycle message. */
ND_TEST(conf, corpus_cycles)
{
	cr_assert_eq(chdir(ND_CONF_CORPUS_DIR "/crash"), 0);
	static const char *const files[] = {"include_cycle.conf", "include_cycle_two_files.conf",
					    "env_self_reference.conf", "env_mutual_reference.conf"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		size_t len;
		char *text = slurp(files[i], &len);
		cr_assert_not_null(text);
		fake_env_t env;
		char store[8][256];
		corpus_env(text, &env, store);
		nd_conf_parse_opts_t o = {.getenv = env_get, .getenv_ctx = &env};
		char *err = NULL;
		nd_conf_value_t *r = nd_conf_parse_file(files[i], &o, &err);
		cr_assert_null(r, "%s parsed", files[i]);
		cr_assert_not_null(strstr(err, "cycle"), "%s: %s", files[i], err);
		cr_log_info("%s: %s", files[i], err);
		free(err);
		free(text);
	}
}
