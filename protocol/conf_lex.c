/* Lexer of the nats-server configuration language, as a state machine with an explicit return
 * stack (no recursion, so nesting depth cannot exhaust the C stack). It reproduces the
 * reference's conf/lex.go behaviour byte for byte, including its oddities, because config
 * files written for nats-server must mean the same thing here: the token positions (columns
 * counted from the last '\n'), a NUL byte acting as end of input, Go's Unicode notions of
 * "space" and "digit", and the exact error texts. */
#include "protocol/conf_lex.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The reference decodes input rune by rune and uses rune 0 as its end-of-input marker, so a
 * NUL byte in the file compares equal to end of input everywhere (but, unlike the real end,
 * it is consumed: it has a width of 1). */
#define END 0

enum state {
	S_TOP,
	S_TOP_VALUE_END,
	S_KEY_START,
	S_DQ_KEY,
	S_SQ_KEY,
	S_KEY,
	S_KEY_END,
	S_INCLUDE_START,
	S_INCLUDE,
	S_INCLUDE_SQ,
	S_INCLUDE_DQ,
	S_INCLUDE_BARE,
	S_VALUE,
	S_ARRAY_VALUE,
	S_ARRAY_VALUE_END,
	S_ARRAY_END,
	S_MAP_KEY_START,
	S_MAP_SQ_KEY,
	S_MAP_DQ_KEY,
	S_MAP_KEY,
	S_MAP_KEY_END,
	S_MAP_VALUE,
	S_MAP_VALUE_END,
	S_MAP_END,
	S_SQ_STRING,
	S_DQ_STRING,
	S_STRING,
	S_BLOCK,
	S_ESCAPE,
	S_HEX,
	S_NUM_START,
	S_NUM,
	S_SUFFIX,
	S_DATE,
	S_NEG_START,
	S_NEG,
	S_FLOAT_START,
	S_FLOAT,
	S_IP,
	S_COMMENT_START,
	S_COMMENT,
	S_DONE,
};

/* Tokens the reference emits for comments; the parser ignores them, but emitting them moves
 * the token start, which later positions depend on. */
enum { TOK_COMMENT = 100 };

struct buf {
	char *p;
	size_t n, cap;
};

struct nd_conf_lexer {
	const char *in;
	size_t len;
	size_t start; /* start of the pending token */
	size_t pos;   /* next byte to read */
	size_t width; /* bytes taken by the last read (0 at the real end) */
	int line;
	size_t lstart;  /* offset of the last '\n' read (0 before any) */
	size_t ilstart; /* lstart when the pending token started: columns count from it */
	enum state state;
	enum state *stack;
	size_t nstack, capstack;
	/* Escapes split a string into parts: the decoded text so far is parts, the rest is
	 * in[start..pos). nparts counts parts (an empty part still marks "had an escape"). */
	struct buf parts;
	size_t nparts;
	enum state string_state; /* where an escape returns: S_DQ_STRING or S_STRING */
	struct buf out;          /* text of the token being returned */
	bool have;               /* a token is ready in tok */
	nd_conf_tok_t tok;
};

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL) {
		fputs("natsd: out of memory\n", stderr);
		abort();
	}
	return q;
}

static void buf_add(struct buf *b, const void *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->n + n + 1)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* ---- Go's rune notions ------------------------------------------------------------------ */

/* Decodes one rune like Go's utf8.DecodeRune: invalid or truncated sequences give U+FFFD
 * with width 1, so every byte is consumed exactly once. */
static int32_t decode_rune(const unsigned char *p, size_t left, size_t *width)
{
	unsigned c = p[0];
	*width = 1;
	if (c < 0x80)
		return (int32_t)c;
	size_t n;
	unsigned lo = 0x80, hi = 0xBF;
	int32_t r;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		r = (int32_t)(c & 0x1F);
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		r = (int32_t)(c & 0x0F);
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F; /* no surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		r = (int32_t)(c & 0x07);
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F; /* nothing above U+10FFFF */
	} else {
		return 0xFFFD;
	}
	if (left < n)
		return 0xFFFD;
	for (size_t i = 1; i < n; i++) {
		unsigned b = p[i];
		if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF))
			return 0xFFFD;
		r = (r << 6) | (int32_t)(b & 0x3F);
	}
	*width = n;
	return r;
}

/* Go's unicode.IsSpace: ASCII white space, NEL, NBSP and the White_Space property. */
static bool is_space(int32_t r)
{
	switch (r) {
	case '\t':
	case '\n':
	case '\v':
	case '\f':
	case '\r':
	case ' ':
	case 0x85:
	case 0xA0:
	case 0x1680:
	case 0x2028:
	case 0x2029:
	case 0x202F:
	case 0x205F:
	case 0x3000:
		return true;
	default:
		return r >= 0x2000 && r <= 0x200A;
	}
}

/* First code point of each run of ten decimal digits (general category Nd) in Unicode 13.0,
 * the version of the reference's Go (1.19); U+1D7CE..U+1D7FF is five runs. */
static const int32_t nd_zeros[] = {
    0x0660,  0x06F0,  0x07C0,  0x0966,  0x09E6,  0x0A66,  0x0AE6,  0x0B66,  0x0BE6,  0x0C66,
    0x0CE6,  0x0D66,  0x0DE6,  0x0E50,  0x0ED0,  0x0F20,  0x1040,  0x1090,  0x17E0,  0x1810,
    0x1946,  0x19D0,  0x1A80,  0x1A90,  0x1B50,  0x1BB0,  0x1C40,  0x1C50,  0xA620,  0xA8D0,
    0xA900,  0xA9D0,  0xA9F0,  0xAA50,  0xABF0,  0xFF10,  0x104A0, 0x10D30, 0x11066, 0x110F0,
    0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650, 0x116C0, 0x11730, 0x118E0, 0x11950,
    0x11C50, 0x11D50, 0x11DA0, 0x16A60, 0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6,
    0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0,
};

/* Go's unicode.IsDigit: ASCII digits and every other Nd digit. A value starting with, say,
 * an Arabic-Indic digit takes the number path in the reference, so it must here too. */
static bool is_digit(int32_t r)
{
	if (r < 0x80)
		return r >= '0' && r <= '9';
	size_t lo = 0, hi = sizeof(nd_zeros) / sizeof(nd_zeros[0]);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (r < nd_zeros[mid])
			hi = mid;
		else if (r > nd_zeros[mid] + 9)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

static bool is_ws(int32_t r)
{
	return r == ' ' || r == '\t';
}

static bool is_nl(int32_t r)
{
	return r == '\n' || r == '\r';
}

static bool is_sep(int32_t r)
{
	return r == '=' || r == ':';
}

static bool is_suffix(int32_t r)
{
	switch (r) {
	case 'k':
	case 'K':
	case 'm':
	case 'M':
	case 'g':
	case 'G':
	case 't':
	case 'T':
	case 'p':
	case 'P':
	case 'e':
	case 'E':
		return true;
	default:
		return false;
	}
}

/* Characters that end a number (and leave it an integer) at top level and in maps. */
static bool ends_number(int32_t r)
{
	return is_nl(r) || r == END || r == '}' || r == ';' || r == ',' || is_ws(r);
}

/* ---- reading ---------------------------------------------------------------------------- */

static int32_t next(nd_conf_lexer_t *lx)
{
	if (lx->pos >= lx->len) {
		lx->width = 0;
		return END;
	}
	if (lx->in[lx->pos] == '\n') {
		lx->line++;
		lx->lstart = lx->pos;
	}
	int32_t r =
	    decode_rune((const unsigned char *)lx->in + lx->pos, lx->len - lx->pos, &lx->width);
	lx->pos += lx->width;
	return r;
}

/* Steps back over the last read. As in the reference, lstart is not restored, and a second
 * backup in a row steps back by the same width again (the block-string state relies on it). */
static void backup(nd_conf_lexer_t *lx)
{
	lx->pos -= lx->width;
	if (lx->pos < lx->len && lx->in[lx->pos] == '\n')
		lx->line--;
}

static int32_t peek(nd_conf_lexer_t *lx)
{
	int32_t r = next(lx);
	backup(lx);
	return r;
}

static void ignore(nd_conf_lexer_t *lx)
{
	lx->start = lx->pos;
	lx->ilstart = lx->lstart;
}

static void push(nd_conf_lexer_t *lx, enum state s)
{
	if (lx->nstack == lx->capstack) {
		lx->capstack = lx->capstack ? lx->capstack * 2 : 16;
		lx->stack = xrealloc(lx->stack, lx->capstack * sizeof(*lx->stack));
	}
	lx->stack[lx->nstack++] = s;
}

/* ---- producing tokens ------------------------------------------------------------------- */

static void deliver(nd_conf_lexer_t *lx, int type, const char *val, size_t len)
{
	/* The column is where the value would start if it were written out decoded, counted
	 * from the line start recorded when the token began: for strings with escapes this is
	 * not where the quote is, but it is what the reference reports. */
	long col = (long)lx->pos - (long)lx->ilstart - (long)len;
	if (type != TOK_COMMENT) {
		lx->tok.type = (nd_conf_tok_type_t)type;
		lx->tok.val = val;
		lx->tok.len = len;
		lx->tok.line = lx->line;
		lx->tok.col = (int)col;
		lx->have = true;
	}
	lx->start = lx->pos;
	lx->ilstart = lx->lstart;
}

/* Emits in[start..pos) preceded by any escaped parts; clear_parts is set only where the
 * reference resets them (string tokens). */
static void emit_parts(nd_conf_lexer_t *lx, int type, bool clear_parts)
{
	const char *val = lx->in + lx->start;
	size_t len = lx->pos - lx->start;
	if (lx->nparts > 0) {
		lx->out.n = 0;
		buf_add(&lx->out, lx->parts.p, lx->parts.n);
		buf_add(&lx->out, val, len);
		val = lx->out.p;
		len = lx->out.n;
		if (clear_parts) {
			lx->parts.n = 0;
			lx->nparts = 0;
		}
	}
	deliver(lx, type, val, len);
}

static void emit(nd_conf_lexer_t *lx, int type)
{
	emit_parts(lx, type, false);
}

static void emit_string(nd_conf_lexer_t *lx)
{
	emit_parts(lx, ND_CONF_TOK_STRING, true);
}

/* A rune as the reference prints it in messages: a newline as the two characters "\n", end
 * of input as a NUL byte, anything else as its UTF-8 encoding. */
static void add_rune(struct buf *b, int32_t r)
{
	char s[4];
	size_t n;
	if (r == '\n') {
		buf_add(b, "\\n", 2);
		return;
	}
	if (r < 0x80) {
		s[0] = (char)r;
		n = 1;
	} else if (r < 0x800) {
		s[0] = (char)(0xC0 | (r >> 6));
		s[1] = (char)(0x80 | (r & 0x3F));
		n = 2;
	} else if (r < 0x10000) {
		s[0] = (char)(0xE0 | (r >> 12));
		s[1] = (char)(0x80 | ((r >> 6) & 0x3F));
		s[2] = (char)(0x80 | (r & 0x3F));
		n = 3;
	} else {
		s[0] = (char)(0xF0 | (r >> 18));
		s[1] = (char)(0x80 | ((r >> 12) & 0x3F));
		s[2] = (char)(0x80 | ((r >> 6) & 0x3F));
		s[3] = (char)(0x80 | (r & 0x3F));
		n = 4;
	}
	buf_add(b, s, n);
}

static enum state fail_deliver(nd_conf_lexer_t *lx)
{
	lx->tok.type = ND_CONF_TOK_ERROR;
	lx->tok.val = lx->out.p;
	lx->tok.len = lx->out.n;
	lx->tok.line = lx->line;
	lx->tok.col = (int)((long)lx->pos - (long)lx->lstart);
	lx->have = true;
	return S_DONE;
}

static enum state fail(nd_conf_lexer_t *lx, const char *msg)
{
	lx->out.n = 0;
	buf_adds(&lx->out, msg);
	return fail_deliver(lx);
}

/* Fails with before + the rune + after. */
static enum state fail_rune(nd_conf_lexer_t *lx, const char *before, int32_t r, const char *after)
{
	lx->out.n = 0;
	buf_adds(&lx->out, before);
	add_rune(&lx->out, r);
	buf_adds(&lx->out, after);
	return fail_deliver(lx);
}

static enum state pop(nd_conf_lexer_t *lx)
{
	if (lx->nstack == 0)
		return fail(lx, "BUG in lexer: no states to pop.");
	return lx->stack[--lx->nstack];
}

/* The pending word, compared to "include" as Go's strings.ToLower would: ASCII letters fold,
 * and so do the two non-ASCII runes whose simple lower case is an ASCII letter (U+0130 -> 'i',
 * U+212A KELVIN SIGN -> 'k'); the reference honours "İNCLUDE". */
static bool pending_is_include(const nd_conf_lexer_t *lx)
{
	static const char want[] = "include";
	size_t i = lx->start, k = 0;
	while (i < lx->pos) {
		size_t w;
		int32_t r = decode_rune((const unsigned char *)lx->in + i, lx->pos - i, &w);
		i += w;
		if (r >= 'A' && r <= 'Z')
			r += 'a' - 'A';
		else if (r == 0x130)
			r = 'i';
		else if (r == 0x212A)
			r = 'k';
		if (k >= sizeof(want) - 1 || r != want[k])
			return false;
		k++;
	}
	return k == sizeof(want) - 1;
}

/* A bare key ended by white space: the include directive, or a key. */
static enum state key_or_include(nd_conf_lexer_t *lx, enum state after_key, bool in_map)
{
	if (pending_is_include(lx)) {
		ignore(lx);
		if (in_map)
			push(lx, S_MAP_VALUE_END);
		return S_INCLUDE_START;
	}
	emit(lx, ND_CONF_TOK_KEY);
	return after_key;
}

static bool pending_is_bool(const nd_conf_lexer_t *lx)
{
	static const char *const words[] = {"true", "false", "on", "off", "yes", "no"};
	size_t n = lx->pos - lx->start;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strlen(words[i]) != n)
			continue;
		size_t k = 0;
		while (k < n) {
			char c = lx->in[lx->start + k];
			if (c >= 'A' && c <= 'Z')
				c = (char)(c + ('a' - 'A'));
			if (c != words[i][k])
				break;
			k++;
		}
		if (k == n)
			return true;
	}
	return false;
}

/* ---- the states ------------------------------------------------------------------------- */

/* "//" starts a comment; a lone '/' is backed over and the caller decides what it means. */
static bool slash_comment(nd_conf_lexer_t *lx, enum state resume)
{
	if (next(lx) == '/') {
		push(lx, resume);
		return true;
	}
	backup(lx);
	return false;
}

static enum state st_top(nd_conf_lexer_t *lx)
{
	int32_t r = next(lx);
	if (is_space(r) || r == '{') { /* braces around the whole file are skipped */
		ignore(lx);
		return S_TOP;
	}
	if (r == '#') {
		push(lx, S_TOP);
		return S_COMMENT_START;
	}
	if (r == '/' && slash_comment(lx, S_TOP))
		return S_COMMENT_START;
	if (r == '/' || r == END) {
		if (lx->pos > lx->start)
			return fail(lx, "Unexpected EOF.");
		emit(lx, ND_CONF_TOK_EOF);
		return S_DONE;
	}
	backup(lx);
	push(lx, S_TOP_VALUE_END);
	return S_KEY_START;
}

static enum state st_top_value_end(nd_conf_lexer_t *lx)
{
	int32_t r = next(lx);
	if (r == '#') {
		push(lx, S_TOP);
		return S_COMMENT_START;
	}
	if (r == '/' && slash_comment(lx, S_TOP))
		return S_COMMENT_START;
	if (r == '/' || is_ws(r)) /* a lone '/' after a value is skipped like a space */
		return S_TOP_VALUE_END;
	if (is_nl(r) || r == END || r == ';' || r == ',' || r == '}') {
		ignore(lx);
		return S_TOP;
	}
	return fail_rune(lx,
			 "Expected a top-level value to end with a new line, comment or EOF, but "
			 "got '",
			 r, "' instead.");
}

static enum state st_key_start(nd_conf_lexer_t *lx)
{
	int32_t r = peek(lx);
	if (is_sep(r))
		return fail_rune(lx, "Unexpected key separator '", r, "'");
	if (is_space(r) || r == '"' || r == '\'') {
		next(lx);
		ignore(lx);
		return r == '"' ? S_DQ_KEY : r == '\'' ? S_SQ_KEY : S_KEY_START;
	}
	ignore(lx);
	next(lx);
	return S_KEY;
}

/* Quoted keys at top level: no escapes; end of input right after the quote ends the file. */
static enum state quoted_key(nd_conf_lexer_t *lx, int32_t quote, enum state self)
{
	int32_t r = peek(lx);
	if (r == quote) {
		emit(lx, ND_CONF_TOK_KEY);
		next(lx);
		ignore(lx);
		return S_KEY_END;
	}
	if (r == END) {
		if (lx->pos > lx->start)
			return fail(lx, "Unexpected EOF.");
		emit(lx, ND_CONF_TOK_EOF);
		return S_DONE;
	}
	next(lx);
	return self;
}

static enum state st_key(nd_conf_lexer_t *lx)
{
	int32_t r = peek(lx);
	if (is_space(r))
		return key_or_include(lx, S_KEY_END, false);
	if (is_sep(r) || r == END) {
		emit(lx, ND_CONF_TOK_KEY);
		return S_KEY_END;
	}
	next(lx);
	return S_KEY;
}

static enum state st_key_end(nd_conf_lexer_t *lx)
{
	int32_t r = next(lx);
	if (is_space(r)) {
		ignore(lx);
		return S_KEY_END;
	}
	if (is_sep(r)) {
		ignore(lx);
		return S_VALUE;
	}
	if (r == END) { /* a key without a value at the end is dropped */
		emit(lx, ND_CONF_TOK_EOF);
		return S_DONE;
	}
	backup(lx);
	return S_VALUE;
}

static enum state st_include_start(nd_conf_lexer_t *lx)
{
	if (is_ws(next(lx))) {
		ignore(lx);
		return S_INCLUDE_START;
	}
	backup(lx);
	return S_INCLUDE;
}

static enum state st_include(nd_conf_lexer_t *lx)
{
	int32_t r = next(lx);
	if (r == '\'' || r == '"') {
		ignore(lx);
		return r == '"' ? S_INCLUDE_DQ : S_INCLUDE_SQ;
	}
	if (r == '[')
		return fail(lx, "Expected include value but found start of an array");
	if (r == '{')
		return fail(lx, "Expected include value but found start of a map");
	if (r == '(')
		return fail(lx, "Expected include value but found start of a block");
	if (is_digit(r) || r == '-')
		return fail(lx, "Expected include value but found start of a number");
	if (r == '\\')
		return fail(lx, "Expected include value but found escape sequence");
	if (is_nl(r))
		return fail(lx, "Expected include value but found new line");
	backup(lx);
	return S_INCLUDE_BARE;
}

static enum state include_quoted(nd_conf_lexer_t *lx, int32_t quote, enum state self,
				 const char *eof_msg)
{
	int32_t r = next(lx);
	if (r == quote) {
		backup(lx);
		emit(lx, ND_CONF_TOK_INCLUDE);
		next(lx);
		ignore(lx);
		return pop(lx);
	}
	if (r == END)
		return fail(lx, eof_msg);
	return self;
}

static enum state st_include_bare(nd_conf_lexer_t *lx)
{
	int32_t r = next(lx);
	if (is_nl(r) || r == END || r == ';' || r == '}' || is_ws(r)) {
		backup(lx);
		emit(lx, ND_CONF_TOK_INCLUDE);
		return pop(lx);
	}
	if (r == '\'') { /* a stray quote ends the path and is dropped */
		backup(lx);
		emit(lx, ND_CONF_TOK_INCLUDE);
		next(lx);
		ignore(lx);
		return pop(lx);
	}
	return S_INCLUDE_BARE;
}

static enum state st_value(nd_conf_lexer_t *lx)
{
	int32_t r = next(lx);
	if (is_ws(r)) { /* spaces before a value, but not new lines */
		ignore(lx);
		return S_VALUE;
	}
	switch (r) {
	case '[':
		ignore(lx);
		emit(lx, ND_CONF_TOK_ARRAY_START);
		return S_ARRAY_VALUE;
	case '{':
		ignore(lx);
		emit(lx, ND_CONF_TOK_MAP_START);
		return S_MAP_KEY_START;
	case '\'':
		ignore(lx);
		return S_SQ_STRING;
	case '"':
		ignore(lx);
		lx->string_state = S_DQ_STRING;
		return S_DQ_STRING;
	case '-':
		return S_NEG_START;
	case '(':
		ignore(lx);
		return S_BLOCK;
	case '.':
		return fail(lx, "Floats must start with a digit");
	default:
		break;
	}
	if (is_digit(r)) {
		backup(lx);
		return S_NUM_START;
	}
	if (is_nl(r))
		return fail(lx, "Expected value but found new line");
	backup(lx);
	lx->string_state = S_STRING;
	return S_STRING;
}

static enum state st_array_value(nd_conf_lexer_t *lx)
{
	int32_t r = next(lx);
	if (is_space(r)) {
		ignore(lx);
		return S_ARRAY_VALUE;
	}
	if (r == '#') {
		push(lx, S_ARRAY_VALUE);
		return S_COMMENT_START;
	}
	if (r == '/' && slash_comment(lx, S_ARRAY_VALUE))
		return S_COMMENT_START;
	/* A lone '/' here reports itself as a comma, as in the reference. */
	if (r == '/' || r == ',')
		return fail(lx, "Unexpected array value terminator ','.");
	if (r == ']')
		return S_ARRAY_END;
	backup(lx);
	push(lx, S_ARRAY_VALUE_END);
	return S_VALUE;
}

static enum state st_array_value_end(nd_conf_lexer_t *lx)
{
	int32_t r = next(lx);
	if (is_ws(r)) {
		ignore(lx);
		return S_ARRAY_VALUE_END;
	}
	if (r == '#') {
		push(lx, S_ARRAY_VALUE_END);
		return S_COMMENT_START;
	}
	if (r == '/' && slash_comment(lx, S_ARRAY_VALUE_END))
		return S_COMMENT_START;
	if (r == '/' || r == ',' || is_nl(r)) { /* a lone '/' separates elements */
		ignore(lx);
		return S_ARRAY_VALUE;
	}
	if (r == ']')
		return S_ARRAY_END;
	return fail_rune(lx,
			 "Expected an array value terminator \",\" or an array terminator \"]\", "
			 "but got '",
			 r, "' instead.");
}

static enum state st_close(nd_conf_lexer_t *lx, int type)
{
	ignore(lx);
	emit(lx, type);
	return pop(lx);
}

static enum state st_map_key_start(nd_conf_lexer_t *lx)
{
	int32_t r = peek(lx);
	if (is_sep(r))
		return fail_rune(lx, "Unexpected key separator '", r, "'.");
	if (r == ']')
		return fail(lx, "Unexpected array end ']' processing map.");
	if (r == END)
		return fail(lx, "Unexpected EOF processing map.");
	if (is_space(r) || r == '}' || r == '\'' || r == '"') {
		next(lx);
		ignore(lx);
		return r == '}'    ? S_MAP_END
		       : r == '\'' ? S_MAP_SQ_KEY
		       : r == '"'  ? S_MAP_DQ_KEY
				   : S_MAP_KEY_START;
	}
	if (r == '#') {
		next(lx);
		push(lx, S_MAP_KEY_START);
		return S_COMMENT_START;
	}
	if (r == '/') {
		next(lx);
		if (slash_comment(lx, S_MAP_KEY_START))
			return S_COMMENT_START;
		/* A lone '/' is dropped: the character after it (whatever it is) becomes the
		 * first of the key. */
	}
	ignore(lx);
	next(lx);
	return S_MAP_KEY;
}

static enum state map_quoted_key(nd_conf_lexer_t *lx, int32_t quote, enum state self,
				 const char *eof_msg)
{
	int32_t r = peek(lx);
	if (r == END)
		return fail(lx, eof_msg);
	if (r == quote) {
		emit(lx, ND_CONF_TOK_KEY);
		next(lx);
		ignore(lx);
		return S_MAP_KEY_END;
	}
	next(lx);
	return self;
}

static enum state st_map_key(nd_conf_lexer_t *lx)
{
	int32_t r = peek(lx);
	if (r == END)
		return fail(lx, "Unexpected EOF processing map key.");
	if (is_space(r))
		return key_or_include(lx, S_MAP_KEY_END, true);
	if (is_sep(r)) {
		emit(lx, ND_CONF_TOK_KEY);
		return S_MAP_KEY_END;
	}
	next(lx);
	return S_MAP_KEY;
}

static enum state st_map_key_end(nd_conf_lexer_t *lx)
{
	int32_t r = next(lx);
	if (is_space(r)) {
		ignore(lx);
		return S_MAP_KEY_END;
	}
	if (is_sep(r)) {
		ignore(lx);
		return S_MAP_VALUE;
	}
	backup(lx);
	return S_MAP_VALUE;
}

static enum state st_map_value(nd_conf_lexer_t *lx)
{
	int32_t r = next(lx);
	if (is_space(r)) { /* in maps a value may follow on a later line */
		ignore(lx);
		return S_MAP_VALUE;
	}
	if (r == ',')
		return fail(lx, "Unexpected map value terminator \",\".");
	if (r == '}') { /* key without value: the parser keeps the key pending */
		ignore(lx);
		return S_MAP_END;
	}
	backup(lx);
	push(lx, S_MAP_VALUE_END);
	return S_VALUE;
}

static enum state st_map_value_end(nd_conf_lexer_t *lx)
{
	int32_t r = next(lx);
	if (is_ws(r)) {
		ignore(lx);
		return S_MAP_VALUE_END;
	}
	if (r == '#') {
		push(lx, S_MAP_VALUE_END);
		return S_COMMENT_START;
	}
	if (r == '/' && slash_comment(lx, S_MAP_VALUE_END))
		return S_COMMENT_START;
	if (r == '/' || r == ';' || r == ',' || is_nl(r)) {
		ignore(lx);
		return S_MAP_KEY_START;
	}
	if (r == '}') {
		ignore(lx);
		return S_MAP_END;
	}
	return fail_rune(
	    lx, "Expected a map value terminator \",\" or a map terminator \"}\", but got '", r,
	    "' instead.");
}

static enum state st_sq_string(nd_conf_lexer_t *lx)
{
	int32_t r = next(lx);
	if (r == '\'') {
		backup(lx);
		emit(lx, ND_CONF_TOK_STRING);
		next(lx);
		ignore(lx);
		return pop(lx);
	}
	if (r == END) {
		if (lx->pos > lx->start)
			return fail(lx, "Unexpected EOF.");
		emit(lx, ND_CONF_TOK_EOF);
		return S_DONE;
	}
	return S_SQ_STRING;
}

/* Keeps the text read so far (minus the backslash just read) as a part. */
static void add_current_part(nd_conf_lexer_t *lx)
{
	buf_add(&lx->parts, lx->in + lx->start, lx->pos - 1 - lx->start);
	lx->nparts++;
	lx->start = lx->pos;
}

static enum state add_part(nd_conf_lexer_t *lx, const char *s, size_t n)
{
	buf_add(&lx->parts, s, n);
	lx->nparts++;
	lx->start = lx->pos;
	return lx->string_state;
}

static enum state st_dq_string(nd_conf_lexer_t *lx)
{
	int32_t r = next(lx);
	if (r == '\\') {
		add_current_part(lx);
		return S_ESCAPE;
	}
	if (r == '"') {
		backup(lx);
		emit_string(lx);
		next(lx);
		ignore(lx);
		return pop(lx);
	}
	if (r == END) {
		/* Like the reference: nothing read since the quote (or the last escape) means
		 * a quiet end of input, not an error. */
		if (lx->pos > lx->start)
			return fail(lx, "Unexpected EOF.");
		emit(lx, ND_CONF_TOK_EOF);
		return S_DONE;
	}
	return S_DQ_STRING;
}

static enum state st_string(nd_conf_lexer_t *lx)
{
	int32_t r = next(lx);
	if (r == '\\') {
		add_current_part(lx);
		return S_ESCAPE;
	}
	if (is_nl(r) || r == END || r == ';' || r == ',' || r == ']' || r == '}' || is_ws(r)) {
		backup(lx);
		if (lx->nparts > 0) {
			emit_string(lx);
		} else if (pending_is_bool(lx)) {
			emit(lx, ND_CONF_TOK_BOOL);
		} else if (lx->start < lx->len && lx->in[lx->start] == '$') {
			lx->start++;
			emit(lx, ND_CONF_TOK_VARIABLE);
		} else {
			emit_string(lx);
		}
		return pop(lx);
	}
	if (r == '\'') { /* ends the word and is dropped; the word is always a string */
		backup(lx);
		emit_string(lx);
		next(lx);
		ignore(lx);
		return pop(lx);
	}
	return S_STRING;
}

/* A block ends at a ')' that has a '\n' right before it and a '\n' or the end right after.
 * The double backups step back by the width of the last read, as the reference does; at the
 * real end of input that width is 0, so the block's text keeps its "\n)". */
static enum state st_block(nd_conf_lexer_t *lx)
{
	int32_t r = next(lx);
	if (r == ')') {
		backup(lx);
		backup(lx);
		if (next(lx) != '\n') {
			next(lx);
			return S_BLOCK;
		}
		next(lx);
		int32_t after = next(lx);
		if (after == '\n' || after == END) {
			backup(lx);
			backup(lx);
			emit(lx, ND_CONF_TOK_STRING);
			next(lx);
			ignore(lx);
			return pop(lx);
		}
		backup(lx);
		return S_BLOCK;
	}
	if (r == END)
		return fail(lx, "Unexpected EOF processing block.");
	return S_BLOCK;
}

static enum state st_escape(nd_conf_lexer_t *lx)
{
	int32_t r = next(lx);
	switch (r) {
	case 'x':
		return S_HEX;
	case 't':
		return add_part(lx, "\t", 1);
	case 'n':
		return add_part(lx, "\n", 1);
	case 'r':
		return add_part(lx, "\r", 1);
	case '"':
		return add_part(lx, "\"", 1);
	case '\\':
		return add_part(lx, "\\", 1);
	default:
		return fail_rune(lx, "Invalid escape character '", r,
				 "'. Only the following escape characters are allowed: \\xXX, "
				 "\\t, \\n, \\r, \\\", \\\\.");
	}
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Two hex digits after "\x". The reference checks the last two *bytes* read, whatever runes
 * they belong to, and quotes them raw in its message. */
static enum state st_hex(nd_conf_lexer_t *lx)
{
	for (int i = 0; i < 2; i++) {
		if (is_nl(next(lx)))
			return fail(lx, "Expected two hexadecimal digits after '\\x', but hit end "
					"of line");
	}
	const char *h = lx->in + lx->pos - 2;
	int hi = hex_val(h[0]), lo = hex_val(h[1]);
	if (hi < 0 || lo < 0) {
		lx->out.n = 0;
		buf_adds(&lx->out, "Expected two hexadecimal digits after '\\x', but got '");
		buf_add(&lx->out, h, 2);
		buf_adds(&lx->out, "'");
		return fail_deliver(lx);
	}
	char b = (char)(hi * 16 + lo);
	return add_part(lx, &b, 1);
}

static enum state st_num_start(nd_conf_lexer_t *lx)
{
	int32_t r = next(lx);
	if (!is_digit(r)) {
		if (r == '.')
			return fail(lx, "Floats must start with a digit, not '.'.");
		return fail_rune(lx, "Expected a digit but got '", r, "'.");
	}
	return S_NUM;
}

/* Digits so far: an integer, a float, a datetime (after exactly four bytes of digits), an
 * IP-like string, or a bare string that happens to start with a digit. Note that ']' is not
 * among the characters that end an integer: "[1, 2]" makes the string "2]". */
static enum state st_num(nd_conf_lexer_t *lx)
{
	int32_t r = next(lx);
	if (r == '-') {
		if (lx->pos - lx->start != 5)
			return fail(lx, "All ISO8601 dates must be in full Zulu form.");
		return S_DATE;
	}
	if (is_digit(r))
		return S_NUM;
	if (r == '.')
		return S_FLOAT_START;
	if (is_suffix(r))
		return S_SUFFIX;
	if (!ends_number(r)) {
		lx->string_state = S_STRING;
		return S_STRING;
	}
	backup(lx);
	emit(lx, ND_CONF_TOK_INTEGER);
	return pop(lx);
}

/* After a size suffix letter: any run of b/B/i/I, then an end (or a digit, left for the next
 * token) makes an integer; anything else makes the whole word a string. */
static enum state st_suffix(nd_conf_lexer_t *lx)
{
	int32_t r = next(lx);
	if (r == 'b' || r == 'B' || r == 'i' || r == 'I')
		return S_SUFFIX;
	backup(lx);
	if (ends_number(r) || is_digit(r)) {
		emit(lx, ND_CONF_TOK_INTEGER);
		return pop(lx);
	}
	lx->string_state = S_STRING;
	return S_STRING;
}

static enum state st_date(nd_conf_lexer_t *lx)
{
	/* What follows "YYYY-": 'D' stands for any digit, the rest must match exactly. */
	static const char layout[] = "DD-DDTDD:DD:DDZ";
	for (const char *f = layout; *f; f++) {
		int32_t r = next(lx);
		if (*f == 'D') {
			if (!is_digit(r))
				return fail_rune(lx,
						 "Expected digit in ISO8601 datetime, but found '",
						 r, "' instead.");
		} else if (r != *f) {
			char before[64];
			snprintf(before, sizeof(before),
				 "Expected '%c' in ISO8601 datetime, but "
				 "found '",
				 *f);
			return fail_rune(lx, before, r, "' instead.");
		}
	}
	emit(lx, ND_CONF_TOK_DATETIME);
	return pop(lx);
}

static enum state st_neg_start(nd_conf_lexer_t *lx)
{
	int32_t r = next(lx);
	if (!is_digit(r)) {
		if (r == '.')
			return fail(lx, "Floats must start with a digit, not '.'.");
		return fail_rune(lx, "Expected a digit but got '", r, "'.");
	}
	return S_NEG;
}

/* Negative numbers never fall back to strings: "-1abc" is -1 followed by junk. */
static enum state st_neg(nd_conf_lexer_t *lx)
{
	int32_t r = next(lx);
	if (is_digit(r))
		return S_NEG;
	if (r == '.')
		return S_FLOAT_START;
	if (is_suffix(r))
		return S_SUFFIX;
	backup(lx);
	emit(lx, ND_CONF_TOK_INTEGER);
	return pop(lx);
}

static enum state st_float_start(nd_conf_lexer_t *lx)
{
	int32_t r = next(lx);
	if (!is_digit(r))
		return fail_rune(lx, "Floats must have a digit after the '.', but got '", r,
				 "' instead.");
	return S_FLOAT;
}

static enum state st_float(nd_conf_lexer_t *lx)
{
	int32_t r = next(lx);
	if (is_digit(r))
		return S_FLOAT;
	if (r == '.') /* a second dot: "127.0.0.1:4222" */
		return S_IP;
	backup(lx);
	emit(lx, ND_CONF_TOK_FLOAT);
	return pop(lx);
}

static enum state st_ip(nd_conf_lexer_t *lx)
{
	int32_t r = next(lx);
	if (is_digit(r) || r == '.' || r == ':' || r == '-')
		return S_IP;
	backup(lx);
	emit(lx, ND_CONF_TOK_STRING);
	return pop(lx);
}

static enum state st_comment(nd_conf_lexer_t *lx)
{
	int32_t r = peek(lx);
	if (is_nl(r) || r == END) {
		emit(lx, TOK_COMMENT);
		return pop(lx);
	}
	next(lx);
	return S_COMMENT;
}

static enum state step(nd_conf_lexer_t *lx, enum state s)
{
	switch (s) {
	case S_TOP:
		return st_top(lx);
	case S_TOP_VALUE_END:
		return st_top_value_end(lx);
	case S_KEY_START:
		return st_key_start(lx);
	case S_DQ_KEY:
		return quoted_key(lx, '"', S_DQ_KEY);
	case S_SQ_KEY:
		return quoted_key(lx, '\'', S_SQ_KEY);
	case S_KEY:
		return st_key(lx);
	case S_KEY_END:
		return st_key_end(lx);
	case S_INCLUDE_START:
		return st_include_start(lx);
	case S_INCLUDE:
		return st_include(lx);
	case S_INCLUDE_SQ:
		return include_quoted(lx, '\'', S_INCLUDE_SQ, "Unexpected EOF in quoted include");
	case S_INCLUDE_DQ:
		return include_quoted(lx, '"', S_INCLUDE_DQ,
				      "Unexpected EOF in double quoted include");
	case S_INCLUDE_BARE:
		return st_include_bare(lx);
	case S_VALUE:
		return st_value(lx);
	case S_ARRAY_VALUE:
		return st_array_value(lx);
	case S_ARRAY_VALUE_END:
		return st_array_value_end(lx);
	case S_ARRAY_END:
		return st_close(lx, ND_CONF_TOK_ARRAY_END);
	case S_MAP_KEY_START:
		return st_map_key_start(lx);
	case S_MAP_SQ_KEY:
		return map_quoted_key(lx, '\'', S_MAP_SQ_KEY,
				      "Unexpected EOF processing quoted map key.");
	case S_MAP_DQ_KEY:
		return map_quoted_key(lx, '"', S_MAP_DQ_KEY,
				      "Unexpected EOF processing double quoted map key.");
	case S_MAP_KEY:
		return st_map_key(lx);
	case S_MAP_KEY_END:
		return st_map_key_end(lx);
	case S_MAP_VALUE:
		return st_map_value(lx);
	case S_MAP_VALUE_END:
		return st_map_value_end(lx);
	case S_MAP_END:
		return st_close(lx, ND_CONF_TOK_MAP_END);
	case S_SQ_STRING:
		return st_sq_string(lx);
	case S_DQ_STRING:
		return st_dq_string(lx);
	case S_STRING:
		return st_string(lx);
	case S_BLOCK:
		return st_block(lx);
	case S_ESCAPE:
		return st_escape(lx);
	case S_HEX:
		return st_hex(lx);
	case S_NUM_START:
		return st_num_start(lx);
	case S_NUM:
		return st_num(lx);
	case S_SUFFIX:
		return st_suffix(lx);
	case S_DATE:
		return st_date(lx);
	case S_NEG_START:
		return st_neg_start(lx);
	case S_NEG:
		return st_neg(lx);
	case S_FLOAT_START:
		return st_float_start(lx);
	case S_FLOAT:
		return st_float(lx);
	case S_IP:
		return st_ip(lx);
	case S_COMMENT_START:
		ignore(lx);
		emit(lx, TOK_COMMENT);
		return S_COMMENT;
	case S_COMMENT:
		return st_comment(lx);
	case S_DONE:
		break;
	}
	return S_DONE;
}

nd_conf_lexer_t *nd_conf_lex_create(const char *input, size_t len)
{
	nd_conf_lexer_t *lx = xrealloc(NULL, sizeof(*lx));
	memset(lx, 0, sizeof(*lx));
	lx->in = input;
	lx->len = len;
	lx->line = 1;
	lx->state = S_TOP;
	lx->string_state = S_STRING;
	return lx;
}

void nd_conf_lex_destroy(nd_conf_lexer_t *lx)
{
	if (lx == NULL)
		return;
	free(lx->stack);
	free(lx->parts.p);
	free(lx->out.p);
	free(lx);
}

void nd_conf_lex_next(nd_conf_lexer_t *lx, nd_conf_tok_t *tok)
{
	lx->have = false;
	while (!lx->have) {
		if (lx->state == S_DONE) {
			tok->type = ND_CONF_TOK_EOF;
			tok->val = "";
			tok->len = 0;
			tok->line = lx->line;
			tok->col = 0;
			return;
		}
		lx->state = step(lx, lx->state);
	}
	*tok = lx->tok;
}
