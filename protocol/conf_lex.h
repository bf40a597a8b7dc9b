/* Lexer of the nats-server configuration language: turns text into keys, values, brackets and
 * include directives, with the reference's line and column bookkeeping and its error texts.
 * Internal to protocol/conf.c (the parser builds the tree); it knows nothing of variables,
 * files or value conversion. */
#ifndef ND_PROTOCOL_CONF_LEX_H
#define ND_PROTOCOL_CONF_LEX_H

#include <stddef.h>

typedef enum nd_conf_tok_type {
	ND_CONF_TOK_EOF,
	ND_CONF_TOK_ERROR, /* val is the message (may contain a NUL byte: use len) */
	ND_CONF_TOK_KEY,
	ND_CONF_TOK_STRING,
	ND_CONF_TOK_BOOL,
	ND_CONF_TOK_INTEGER, /* raw text, suffix included ("64MB", "-1") */
	ND_CONF_TOK_FLOAT,
	ND_CONF_TOK_DATETIME,
	ND_CONF_TOK_ARRAY_START,
	ND_CONF_TOK_ARRAY_END,
	ND_CONF_TOK_MAP_START,
	ND_CONF_TOK_MAP_END,
	ND_CONF_TOK_VARIABLE, /* the name, without the '$' */
	ND_CONF_TOK_INCLUDE,  /* the path as written */
} nd_conf_tok_type_t;

typedef struct nd_conf_tok {
	nd_conf_tok_type_t type;
	const char *val; /* valid until the next nd_conf_lex_next; not NUL-terminated */
	size_t len;
	int line; /* 1-based line the lexer was on when it produced the token */
	int col;  /* the reference's item position (see nd_conf_pos_t in conf.h) */
} nd_conf_tok_t;

typedef struct nd_conf_lexer nd_conf_lexer_t;

/* A lexer over input[0..len). The input must outlive the lexer. Never returns NULL. */
nd_conf_lexer_t *nd_conf_lex_create(const char *input, size_t len);

/* Frees the lexer (NULL is fine). */
void nd_conf_lex_destroy(nd_conf_lexer_t *lx);

/* Produces the next token into *tok. After an ERROR or EOF token every further call returns
 * EOF. Comments are consumed silently. */
void nd_conf_lex_next(nd_conf_lexer_t *lx, nd_conf_tok_t *tok);

#endif
