/* The configuration language of nats-server (its conf/lex.go and conf/parse.go, as the
 * reference 2.9.x behaves): text in, a tree of typed values out, each value carrying the file,
 * line and column the option processor reports in its errors. Pure: no options are known
 * here (actors/config.c gives keys their meaning). Errors read exactly like the reference's. */
#ifndef ND_PROTOCOL_CONF_H
#define ND_PROTOCOL_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum nd_conf_type {
	ND_CONF_STRING,
	ND_CONF_INT,
	ND_CONF_FLOAT,
	ND_CONF_BOOL,
	ND_CONF_DATETIME, /* "YYYY-MM-DDTHH:MM:SSZ"; no option accepts one */
	ND_CONF_ARRAY,
	ND_CONF_MAP,
} nd_conf_type_t;

typedef struct nd_conf_value nd_conf_value_t;

/* A key of a map, in file order. A key given twice keeps only its last value (and the position
 * of the last assignment), as in the reference. */
typedef struct nd_conf_entry {
	char *key; /* NUL-terminated, spelled as in the file (case kept) */
	nd_conf_value_t *value;
} nd_conf_entry_t;

/* Where the option processor points at a value: for a value in a map, its key's position; for
 * an array element, the element's own. The file is the path as given to the parser for the top
 * file, and the cleaned joined path for included files. Columns follow the reference: the byte
 * offset of the token from the last '\n' before it, hence 0-based on line 1 and 1-based on
 * every other line. */
typedef struct nd_conf_pos {
	const char *file; /* owned by the tree; lives as long as the root */
	int line;
	int col;
} nd_conf_pos_t;

struct nd_conf_value {
	nd_conf_type_t type;
	nd_conf_pos_t pos;
	/* This value was read through a $variable: the option processor does not report its key
	 * as unknown (the reference's usedVariable). */
	bool used_as_variable;
	union {
		struct {
			char *p; /* NUL-terminated (may also contain NULs: use n) */
			size_t n;
		} str;     /* ND_CONF_STRING, ND_CONF_DATETIME (the text) */
		int64_t i; /* ND_CONF_INT (size suffixes applied) */
		double f;  /* ND_CONF_FLOAT */
		bool b;    /* ND_CONF_BOOL */
		struct {
			nd_conf_value_t **items;
			size_t n;
		} arr; /* ND_CONF_ARRAY */
		struct {
			nd_conf_entry_t *entries;
			size_t n;
		} map; /* ND_CONF_MAP */
	} u;
};

/* Reads a whole file for the parser (the top file and every include). Returns 0 and a malloc'd
 * buffer, or a negative errno. NULL in nd_conf_parse_opts means the real file system. */
typedef int (*nd_conf_read_fn)(void *ctx, const char *path, char **data, size_t *len);

typedef struct nd_conf_parse_opts {
	nd_conf_read_fn read; /* NULL: read from disk (files, pipes, devices; not directories) */
	void *read_ctx;
	/* Looks an environment variable up; NULL: getenv. Fuzzing passes its own. */
	const char *(*getenv)(void *ctx, const char *name);
	void *getenv_ctx;
} nd_conf_parse_opts_t;

/* Values read through a $variable share their children with the definition, as Go maps and
 * slices are shared in the reference: the result is a DAG owned as a whole by its root (never
 * free or modify a part). Values that came from an environment variable all carry the position
 * of the reference to it (the reference has none for the parts inside).
 *
 * Parses the file at path (opts may be NULL). Returns the root map, or NULL with *err set to a
 * malloc'd message worded as the reference words it (e.g. "Parse error on line 2: 'Expected
 * value but found new line'", "open a.conf: no such file or directory", "error parsing include
 * file 'x.conf', ..."). Unlike the reference, include and variable cycles are errors, not
 * crashes. Any thread; no global state. */
nd_conf_value_t *nd_conf_parse_file(const char *path, const nd_conf_parse_opts_t *opts, char **err);

/* Parses text[0..len) as if it were the file `name` (used for positions and as the base
 * directory of includes). Same results as nd_conf_parse_file. */
nd_conf_value_t *nd_conf_parse_text(const char *text, size_t len, const char *name,
				    const nd_conf_parse_opts_t *opts, char **err);

/* As nd_conf_parse_file and nd_conf_parse_text, and *errlen (when not NULL) receives the
 * length of *err: the reference prints its end-of-input rune raw, so a message such as
 * "... but got '\0' instead." holds a NUL byte that strlen would stop at. */
nd_conf_value_t *nd_conf_parse_file_n(const char *path, const nd_conf_parse_opts_t *opts,
				      char **err, size_t *errlen);
nd_conf_value_t *nd_conf_parse_text_n(const char *text, size_t len, const char *name,
				      const nd_conf_parse_opts_t *opts, char **err, size_t *errlen);

/* Frees a tree returned by the parse functions (NULL is fine). */
void nd_conf_free(nd_conf_value_t *root);

/* The entry of map m with exactly this key (case-sensitive), or NULL. */
const nd_conf_entry_t *nd_conf_map_get(const nd_conf_value_t *m, const char *key);

/* Go's name for the value's type, as the reference prints it in type errors: "string",
 * "int64", "float64", "bool", "time.Time", "[]interface {}", "map[string]interface {}". */
const char *nd_conf_type_go_name(nd_conf_type_t t);

#endif
