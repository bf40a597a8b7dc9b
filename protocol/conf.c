/* Parser of the nats-server configuration language: drives protocol/conf_lex.c and builds the
 * value tree the way the reference's conf/parse.go does in its "pedantic" mode (the one the
 * server uses for files), quirks included: a stack of pending keys kept apart from the stack
 * of open maps and arrays, variables resolved at the moment they are read, includes merged
 * into the enclosing map. It does not know any option. */
#include "protocol/conf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "protocol/conf_lex.h"

/* Maps and arrays deeper than this are refused: the option processor walks the tree
 * recursively, and no real configuration comes close. */
#define ND_CONF_MAX_DEPTH 128
/* Include chains longer than this are refused (a cycle through symbolic links is not seen by
 * the lexical path comparison; this stops it). */
#define ND_CONF_MAX_INCLUDES 64
/* Environment values that reference further environment values, at most this deep. */
#define ND_CONF_MAX_ENV 32
/* Files larger than this are not read (a configuration file is a few kilobytes). */
#define ND_CONF_MAX_FILE (64u << 20)

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL) {
		fputs("natsd: out of memory\n", stderr);
		abort();
	}
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL) {
		fputs("natsd: out of memory\n", stderr);
		abort();
	}
	return q;
}

/* ---- arena: every node, key and string of one tree --------------------------------------- */

/* A value read through a variable shares its children with the definition (as the reference
 * shares Go maps and slices), so a tree is a DAG; owning all of it from one arena makes
 * freeing trivial and keeps "$a" repeated in nested arrays from costing exponential memory. */
struct chunk {
	struct chunk *next;
	size_t used, cap;
	_Alignas(16) unsigned char data[];
};

struct doc {
	nd_conf_value_t root; /* first: nd_conf_free gets this pointer back */
	struct chunk *chunks;
};

static void *arena_alloc(struct doc *d, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	struct chunk *c = d->chunks;
	if (c == NULL || c->cap - c->used < n) {
		size_t cap = n > 16384 ? n : 16384;
		c = xmalloc(sizeof(*c) + cap);
		c->used = 0;
		c->cap = cap;
		c->next = d->chunks;
		d->chunks = c;
	}
	void *p = c->data + c->used;
	c->used += n;
	return p;
}

static char *arena_strndup(struct doc *d, const char *s, size_t n)
{
	char *p = arena_alloc(d, n + 1);
	if (n > 0)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static void doc_free(struct doc *d)
{
	struct chunk *c = d->chunks;
	while (c != NULL) {
		struct chunk *next = c->next;
		free(c);
		c = next;
	}
	free(d);
}

/* ---- error text (may hold NUL bytes: the reference prints its EOF rune raw) --------------- */

struct msg {
	char *p;
	size_t n, cap;
};

static void msg_add(struct msg *m, const char *s, size_t n)
{
	if (m->n + n + 1 > m->cap) {
		size_t cap = m->cap ? m->cap : 128;
		while (cap < m->n + n + 1)
			cap *= 2;
		m->p = xrealloc(m->p, cap);
		m->cap = cap;
	}
	if (n > 0)
		memcpy(m->p + m->n, s, n);
	m->n += n;
	m->p[m->n] = '\0';
}

static void msg_printf(struct msg *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void msg_printf(struct msg *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	char *tmp = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(tmp, (size_t)n + 1, fmt, ap);
	va_end(ap);
	msg_add(m, tmp, (size_t)n);
	free(tmp);
}

/* Replaces the message with prefix + message (errors of includes and variables nest). */
static void msg_prefix(struct msg *m, const char *prefix)
{
	struct msg out = {0};
	msg_add(&out, prefix, strlen(prefix));
	msg_add(&out, m->p ? m->p : "", m->n);
	free(m->p);
	*m = out;
}

static void msg_prefixf(struct msg *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void msg_prefixf(struct msg *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *tmp = xmalloc(n > 0 ? (size_t)n + 1 : 1);
	tmp[0] = '\0';
	if (n > 0) {
		va_start(ap, fmt);
		vsnprintf(tmp, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	msg_prefix(m, tmp);
	free(tmp);
}

/* ---- one parse (a file, an included file, or an environment value) ------------------------ */

/* State shared by a whole parse including its includes and environment values. */
struct ctx {
	struct doc *doc;
	nd_conf_read_fn read;
	void *read_ctx;
	const char *(*getenv)(void *ctx, const char *name);
	void *getenv_ctx;
	struct msg err;
	/* Cleaned paths of the files being parsed, outermost first (include cycle check). */
	const char *files[ND_CONF_MAX_INCLUDES + 1];
	int nfiles;
	/* Environment variables being expanded, outermost first (variable cycle check). */
	const char *envs[ND_CONF_MAX_ENV];
	int nenvs;
	bool env_cycle; /* the error is a variable cycle found deeper down */
};

/* An open map or array. A map keeps a hash index over its keys while open, because
 * assignments replace earlier keys and variables look keys up. */
struct frame {
	nd_conf_value_t *v;
	void *items; /* nd_conf_value_t * (array) or nd_conf_entry_t (map) */
	size_t n, cap;
	uint32_t *slots; /* entry index + 1, 0 = empty; nslots is a power of two */
	size_t nslots;
};

struct pending_key {
	char *key;
	int line, col;
};

struct parser {
	struct ctx *c;
	const char *file;              /* for positions (arena) */
	const char *dir;               /* includes are joined to it */
	const nd_conf_pos_t *override; /* environment values: every position is the reference's */
	int env_depth;                 /* envs being expanded when this parse started */
	struct frame *frames;
	size_t nframes, capframes;
	struct pending_key *keys;
	size_t nkeys, capkeys;
};

static uint64_t hash_key(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

static nd_conf_entry_t *frame_entries(struct frame *f)
{
	return f->items;
}

/* Index of key in an open map, or -1. */
static long frame_find(struct frame *f, const char *key)
{
	if (f->nslots == 0)
		return -1;
	size_t mask = f->nslots - 1;
	for (size_t i = hash_key(key) & mask;; i = (i + 1) & mask) {
		uint32_t s = f->slots[i];
		if (s == 0)
			return -1;
		if (strcmp(frame_entries(f)[s - 1].key, key) == 0)
			return (long)s - 1;
	}
}

static void frame_index(struct frame *f, size_t idx)
{
	size_t mask = f->nslots - 1;
	size_t i = hash_key(frame_entries(f)[idx].key) & mask;
	while (f->slots[i] != 0)
		i = (i + 1) & mask;
	f->slots[i] = (uint32_t)(idx + 1);
}

static void frame_grow(struct frame *f, size_t elem)
{
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 8;
		f->items = xrealloc(f->items, f->cap * elem);
	}
}

/* Assigns key in an open map: a key given again keeps its slot and takes the new value. */
static void frame_set(struct frame *f, char *key, nd_conf_value_t *v)
{
	long at = frame_find(f, key);
	if (at >= 0) {
		frame_entries(f)[at].value = v;
		return;
	}
	frame_grow(f, sizeof(nd_conf_entry_t));
	frame_entries(f)[f->n] = (nd_conf_entry_t){.key = key, .value = v};
	f->n++;
	if (f->n * 2 > f->nslots) {
		free(f->slots);
		f->nslots = f->nslots ? f->nslots * 2 : 16;
		f->slots = xmalloc(f->nslots * sizeof(*f->slots));
		memset(f->slots, 0, f->nslots * sizeof(*f->slots));
		for (size_t i = 0; i < f->n; i++)
			frame_index(f, i);
	} else {
		frame_index(f, f->n - 1);
	}
}

static void frame_release(struct frame *f)
{
	free(f->items);
	free(f->slots);
}

/* Moves the frame's contents into its value (arena) and releases the scratch space. */
static nd_conf_value_t *frame_close(struct parser *p, struct frame *f)
{
	struct doc *d = p->c->doc;
	nd_conf_value_t *v = f->v;
	if (v->type == ND_CONF_MAP) {
		v->u.map.n = f->n;
		v->u.map.entries = arena_alloc(d, f->n * sizeof(nd_conf_entry_t));
		if (f->n > 0)
			memcpy(v->u.map.entries, f->items, f->n * sizeof(nd_conf_entry_t));
	} else {
		v->u.arr.n = f->n;
		v->u.arr.items = arena_alloc(d, f->n * sizeof(nd_conf_value_t *));
		if (f->n > 0)
			memcpy(v->u.arr.items, f->items, f->n * sizeof(nd_conf_value_t *));
	}
	frame_release(f);
	return v;
}

static nd_conf_value_t *new_value(struct parser *p, nd_conf_type_t type, const nd_conf_tok_t *t)
{
	nd_conf_value_t *v = arena_alloc(p->c->doc, sizeof(*v));
	memset(v, 0, sizeof(*v));
	v->type = type;
	if (p->override != NULL) {
		v->pos = *p->override;
	} else {
		v->pos.file = p->file;
		v->pos.line = t ? t->line : 0;
		v->pos.col = t ? t->col : 0;
	}
	return v;
}

static void push_frame(struct parser *p, nd_conf_value_t *v)
{
	if (p->nframes == p->capframes) {
		p->capframes = p->capframes ? p->capframes * 2 : 8;
		p->frames = xrealloc(p->frames, p->capframes * sizeof(*p->frames));
	}
	p->frames[p->nframes++] = (struct frame){.v = v};
}

static void push_key(struct parser *p, char *key, int line, int col)
{
	if (p->nkeys == p->capkeys) {
		p->capkeys = p->capkeys ? p->capkeys * 2 : 8;
		p->keys = xrealloc(p->keys, p->capkeys * sizeof(*p->keys));
	}
	p->keys[p->nkeys++] = (struct pending_key){key, line, col};
}

/* Puts a finished value where the reference's setValue does: appended to an open array, or
 * assigned to the most recent pending key in an open map, taking that key's position (which
 * need not be a key of this map: see the pending-key quirk in the spec). */
static int set_value(struct parser *p, nd_conf_value_t *v)
{
	struct frame *f = &p->frames[p->nframes - 1];
	if (f->v->type == ND_CONF_ARRAY) {
		frame_grow(f, sizeof(nd_conf_value_t *));
		((nd_conf_value_t **)f->items)[f->n++] = v;
		return 0;
	}
	if (p->nkeys == 0) {
		msg_printf(&p->c->err, "BUG in parser, keys stack empty");
		return -1;
	}
	struct pending_key k = p->keys[--p->nkeys];
	if (p->override == NULL) {
		v->pos.line = k.line;
		v->pos.col = k.col;
	}
	frame_set(f, k.key, v);
	return 0;
}

/* A value as read through a variable: the same contents, its own position. */
static nd_conf_value_t *alias(struct parser *p, const nd_conf_value_t *src, const nd_conf_tok_t *t)
{
	nd_conf_value_t *v = new_value(p, src->type, t);
	v->u = src->u;
	return v;
}

/* ---- value conversion ------------------------------------------------------------------- */

static int utf8_len(unsigned char c)
{
	return c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
}

/* Base-10 int64 with an optional sign, as Go's strconv.ParseInt: 1 on a syntax error, 2 when
 * out of range (reported as soon as the digits overflow, as Go does). */
static int parse_int64(const char *s, size_t n, int64_t *out)
{
	bool neg = false;
	size_t i = 0;
	if (n > 0 && (s[0] == '-' || s[0] == '+')) {
		neg = s[0] == '-';
		i = 1;
	}
	if (i == n)
		return 1;
	uint64_t u = 0;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 1;
		if (u > UINT64_MAX / 10)
			return 2;
		u = u * 10 + (uint64_t)(s[i] - '0');
	}
	if (neg ? u > (uint64_t)INT64_MAX + 1 : u > (uint64_t)INT64_MAX)
		return 2;
	*out = neg ? (int64_t)(0 - u) : (int64_t)u;
	return 0;
}

/* An integer token: leading digits and '-' (counted in runes but cut in bytes, as the
 * reference does), then a size suffix. Returns 1 when the suffix is not one the reference
 * knows: then no value is produced at all and the key stays pending. */
static int convert_int(struct parser *p, const nd_conf_tok_t *t, int64_t *out)
{
	size_t runes = 0, i = 0;
	while (i < t->len) {
		unsigned char c = (unsigned char)t->val[i];
		/* The lexer only lets digits (any script) and '-' through before the suffix;
		 * everything from the first ASCII suffix letter on is the suffix. */
		if (c < 0x80 && c != '-' && (c < '0' || c > '9'))
			break;
		i += (size_t)utf8_len(c);
		runes++;
	}
	size_t ndig = runes < t->len ? runes : t->len;
	int64_t num = 0;
	int rc = parse_int64(t->val, ndig, &num);
	if (rc != 0) {
		msg_printf(&p->c->err,
			   rc == 2 ? "integer '%.*s' is out of the range"
				   : "expected integer, but got '%.*s'",
			   (int)t->len, t->val);
		return -1;
	}
	char suf[8];
	size_t sn = t->len - ndig;
	if (sn >= sizeof(suf))
		return 1;
	for (size_t k = 0; k < sn; k++) {
		char c = t->val[ndig + k];
		suf[k] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
	}
	suf[sn] = '\0';
	static const struct {
		char letter;
		uint64_t si;
	} units[] = {
	    {'k', 1000ull},          {'m', 1000000ull},          {'g', 1000000000ull},
	    {'t', 1000000000000ull}, {'p', 1000000000000000ull}, {'e', 1000000000000000000ull}};
	uint64_t mult = 0;
	if (sn == 0) {
		mult = 1;
	} else {
		for (size_t k = 0; k < sizeof(units) / sizeof(units[0]); k++) {
			if (suf[0] != units[k].letter)
				continue;
			if (sn == 1)
				mult = units[k].si;
			else if (strcmp(suf + 1, "b") == 0 || strcmp(suf + 1, "i") == 0 ||
				 strcmp(suf + 1, "ib") == 0)
				mult = 1ull << (10 * (k + 1));
		}
	}
	if (mult == 0)
		return 1;
	/* Not overflow-checked in the reference: the product wraps. */
	*out = (int64_t)((uint64_t)num * mult);
	return 0;
}

static int convert_float(struct parser *p, const nd_conf_tok_t *t, double *out)
{
	/* Digits of other scripts get through the lexer but not through Go's ParseFloat. */
	for (size_t i = 0; i < t->len; i++) {
		if ((unsigned char)t->val[i] >= 0x80) {
			msg_printf(&p->c->err, "expected float, but got '%.*s'", (int)t->len,
				   t->val);
			return -1;
		}
	}
	char *s = arena_strndup(p->c->doc, t->val, t->len);
	double v = strtod(s, NULL);
	if (v > 1.7976931348623157e308 || v < -1.7976931348623157e308) {
		msg_printf(&p->c->err, "float '%.*s' is out of the range", (int)t->len, t->val);
		return -1;
	}
	*out = v;
	return 0;
}

/* Go's time.Parse with layout "2006-01-02T15:04:05Z": ranges checked, days per month too. */
static bool valid_datetime(const char *s, size_t n)
{
	if (n != 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool digit = !(i == 4 || i == 7 || i == 10 || i == 13 || i == 16 || i == 19);
		if (digit && (s[i] < '0' || s[i] > '9'))
			return false;
	}
#define D2(i) ((s[i] - '0') * 10 + (s[(i) + 1] - '0'))
	int year = D2(0) * 100 + D2(2), mon = D2(5), day = D2(8);
	int hour = D2(11), min = D2(14), sec = D2(17);
#undef D2
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (mon < 1 || mon > 12 || hour > 23 || min > 59 || sec > 59 || day < 1)
		return false;
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	int maxday = mdays[mon - 1] + (mon == 2 && leap ? 1 : 0);
	return day <= maxday;
}

/* ---- paths (Go's path/filepath on Unix) ------------------------------------------------- */

/* Lexical clean of a '/' path, as Go's filepath.Clean. Returns a malloc'd string. */
static char *path_clean(const char *path)
{
	size_t n = strlen(path);
	if (n == 0)
		return strdup(".");
	bool rooted = path[0] == '/';
	char *out = xmalloc(n + 2);
	size_t w = 0, r = 0, dotdot = 0;
	if (rooted) {
		out[w++] = '/';
		r = 1;
		dotdot = 1;
	}
	while (r < n) {
		if (path[r] == '/') {
			r++;
		} else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
			r++;
		} else if (path[r] == '.' && path[r + 1] == '.' &&
			   (r + 2 == n || path[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			for (; r < n && path[r] != '/'; r++)
				out[w++] = path[r];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = '\0';
	return out;
}

/* filepath.Dir: everything up to the last '/', cleaned ("." when there is none). */
static char *path_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		return strdup(".");
	size_t n = (size_t)(slash - path) + 1;
	char *d = xmalloc(n + 1);
	memcpy(d, path, n);
	d[n] = '\0';
	char *c = path_clean(d);
	free(d);
	return c;
}

/* filepath.Join(dir, name): joined with '/' and cleaned; an absolute name is not special. */
static char *path_join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *j = xmalloc(a + b + 2);
	memcpy(j, dir, a);
	size_t w = a;
	if (a > 0 && b > 0)
		j[w++] = '/';
	memcpy(j + w, name, b);
	j[w + b] = '\0';
	char *c = path_clean(j);
	free(j);
	return c;
}

/* Go's text for an errno (its syscall table is glibc's wording, lower-cased). */
static void add_errno_text(struct msg *m, int e)
{
	const char *s = strerror(e);
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", s ? s : "unknown error");
	if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
		buf[0] = (char)(buf[0] + ('a' - 'A'));
	msg_add(m, buf, strlen(buf));
}

/* os.ReadFile's error: a directory opens fine and fails on read. */
static void read_error(struct msg *m, const char *path, int rc)
{
	msg_printf(m, "%s %s: ", rc == -EISDIR ? "read" : "open", path);
	add_errno_text(m, -rc);
}

static int read_disk(void *ctx, const char *path, char **data, size_t *len)
{
	(void)ctx;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	int rc = 0;
	char *buf = NULL;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		goto fail;
	}
	/* Pipes and devices are read too (`-c <(generate)`), up to the same size cap. */
	if ((uint64_t)st.st_size > ND_CONF_MAX_FILE) {
		rc = -EFBIG;
		goto fail;
	}
	size_t cap = (size_t)st.st_size + 1, n = 0;
	buf = xmalloc(cap);
	for (;;) {
		if (n == cap) {
			if (cap > ND_CONF_MAX_FILE) {
				rc = -EFBIG;
				goto fail;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*data = buf;
	*len = n;
	return 0;
fail:
	free(buf);
	close(fd);
	return rc;
}

static const char *getenv_default(void *ctx, const char *name)
{
	(void)ctx;
	return getenv(name);
}

/* ---- the parse loop --------------------------------------------------------------------- */

static int parse_buf(struct ctx *c, const char *text, size_t len, const char *file, const char *dir,
		     const nd_conf_pos_t *override, nd_conf_value_t **root);

static int do_include(struct parser *p, const nd_conf_tok_t *t)
{
	struct ctx *c = p->c;
	char *raw = arena_strndup(c->doc, t->val, t->len);
	char *joined = path_join(p->dir, raw);
	char *data = NULL, *dir = NULL;
	size_t len = 0;
	int rc = -1;
	for (int i = 0; i < c->nfiles; i++) {
		if (strcmp(c->files[i], joined) == 0) {
			msg_printf(&c->err, "include cycle detected");
			goto fail;
		}
	}
	if (c->nfiles >= ND_CONF_MAX_INCLUDES) {
		msg_printf(&c->err, "includes nested deeper than %d files", ND_CONF_MAX_INCLUDES);
		goto fail;
	}
	int r = c->read(c->read_ctx, joined, &data, &len);
	if (r != 0) {
		read_error(&c->err, joined, r);
		goto fail;
	}
	const char *file = arena_strndup(c->doc, joined, strlen(joined));
	dir = path_dir(joined);
	nd_conf_value_t *m = NULL;
	c->files[c->nfiles++] = file;
	r = parse_buf(c, data, len, file, dir, NULL, &m);
	c->nfiles--;
	if (r != 0)
		goto fail;
	/* Each key of the included file is assigned here as if written here; its value keeps
	 * the included file's position. */
	for (size_t i = 0; i < m->u.map.n; i++) {
		nd_conf_value_t *v = m->u.map.entries[i].value;
		push_key(p, m->u.map.entries[i].key, v->pos.line, v->pos.col);
		if (set_value(p, v) != 0)
			goto out;
	}
	rc = 0;
	goto out;
fail:
	msg_prefixf(&c->err, "error parsing include file '%s', ", raw);
out:
	free(data);
	free(dir);
	free(joined);
	return rc;
}

/* Reads the environment value of name the way the reference does: as the text "pk=<value>"
 * parsed on its own. *found is false when it has no such variable (or "pk" got no value). */
static int env_value(struct parser *p, const char *name, const nd_conf_tok_t *t,
		     nd_conf_value_t **out)
{
	struct ctx *c = p->c;
	*out = NULL;
	const char *ev = c->getenv(c->getenv_ctx, name);
	if (ev == NULL)
		return 0;
	for (int i = 0; i < c->nenvs; i++) {
		if (strcmp(c->envs[i], name) == 0) {
			c->env_cycle = true;
			msg_printf(&c->err, "variable reference cycle");
			return -1;
		}
	}
	if (c->nenvs >= ND_CONF_MAX_ENV) {
		c->env_cycle = true;
		msg_printf(&c->err, "variable references nested deeper than %d", ND_CONF_MAX_ENV);
		return -1;
	}
	size_t n = strlen(ev);
	char *text = xmalloc(n + 4);
	memcpy(text, "pk=", 3);
	memcpy(text + 3, ev, n + 1);
	nd_conf_pos_t pos = {.file = p->file, .line = t->line, .col = t->col};
	if (p->override != NULL)
		pos = *p->override;
	nd_conf_value_t *m = NULL;
	c->envs[c->nenvs++] = name;
	int rc = parse_buf(c, text, n + 3, p->file, ".", &pos, &m);
	c->nenvs--;
	free(text);
	if (rc != 0)
		return -1;
	const nd_conf_entry_t *e = nd_conf_map_get(m, "pk");
	if (e != NULL)
		*out = e->value;
	return 0;
}

static int do_variable(struct parser *p, const nd_conf_tok_t *t)
{
	struct ctx *c = p->c;
	char *name = arena_strndup(c->doc, t->val, t->len);
	nd_conf_value_t *v = NULL;
	/* A bare bcrypt hash "$2a$..." is not a reference. */
	if (strncmp(name, "2a$", 3) == 0) {
		v = new_value(p, ND_CONF_STRING, t);
		v->u.str.n = t->len + 1;
		v->u.str.p = arena_alloc(c->doc, t->len + 2);
		v->u.str.p[0] = '$';
		memcpy(v->u.str.p + 1, name, t->len + 1);
		return set_value(p, v);
	}
	for (size_t i = p->nframes; i-- > 0;) {
		struct frame *f = &p->frames[i];
		if (f->v->type != ND_CONF_MAP)
			continue;
		long at = frame_find(f, name);
		if (at >= 0) {
			nd_conf_value_t *src = frame_entries(f)[at].value;
			src->used_as_variable = true;
			return set_value(p, alias(p, src, t));
		}
	}
	nd_conf_value_t *src = NULL;
	if (env_value(p, name, t, &src) != 0) {
		/* A cycle is reported once, by the outermost reference. */
		if (c->env_cycle && p->env_depth > 0)
			return -1;
		msg_prefixf(&c->err,
			    "variable reference for '%s' on line %d could not be parsed: ", name,
			    t->line);
		return -1;
	}
	if (src == NULL) {
		msg_printf(&c->err, "variable reference for '%s' on line %d can not be found", name,
			   t->line);
		return -1;
	}
	return set_value(p, alias(p, src, t));
}

static int process(struct parser *p, const nd_conf_tok_t *t)
{
	struct ctx *c = p->c;
	nd_conf_value_t *v;
	switch (t->type) {
	case ND_CONF_TOK_EOF:
		return 0;
	case ND_CONF_TOK_ERROR:
		msg_printf(&c->err, "Parse error on line %d: '", t->line);
		msg_add(&c->err, t->val, t->len);
		msg_add(&c->err, "'", 1);
		return -1;
	case ND_CONF_TOK_KEY:
		push_key(p, arena_strndup(c->doc, t->val, t->len), t->line, t->col);
		return 0;
	case ND_CONF_TOK_MAP_START:
	case ND_CONF_TOK_ARRAY_START:
		if (p->nframes > ND_CONF_MAX_DEPTH) {
			msg_printf(&c->err,
				   "Parse error on line %d: 'Maps and arrays nested deeper than "
				   "%d levels'",
				   t->line, ND_CONF_MAX_DEPTH);
			return -1;
		}
		push_frame(
		    p, new_value(p, t->type == ND_CONF_TOK_MAP_START ? ND_CONF_MAP : ND_CONF_ARRAY,
				 NULL));
		return 0;
	case ND_CONF_TOK_MAP_END:
	case ND_CONF_TOK_ARRAY_END:
		if (p->nframes < 2) {
			msg_printf(&c->err, "BUG in parser, context stack empty");
			return -1;
		}
		v = frame_close(p, &p->frames[--p->nframes]);
		/* An element's position is that of the closing token, as in the reference. */
		if (p->override == NULL) {
			v->pos.line = t->line;
			v->pos.col = t->col;
		}
		return set_value(p, v);
	case ND_CONF_TOK_STRING:
		v = new_value(p, ND_CONF_STRING, t);
		v->u.str.p = arena_strndup(c->doc, t->val, t->len);
		v->u.str.n = t->len;
		return set_value(p, v);
	case ND_CONF_TOK_DATETIME:
		if (!valid_datetime(t->val, t->len)) {
			msg_printf(&c->err, "expected Zulu formatted DateTime, but got '%.*s'",
				   (int)t->len, t->val);
			return -1;
		}
		v = new_value(p, ND_CONF_DATETIME, t);
		v->u.str.p = arena_strndup(c->doc, t->val, t->len);
		v->u.str.n = t->len;
		return set_value(p, v);
	case ND_CONF_TOK_BOOL:
		v = new_value(p, ND_CONF_BOOL, t);
		v->u.b = t->len > 0 && (t->val[0] == 't' || t->val[0] == 'T' || t->val[0] == 'y' ||
					t->val[0] == 'Y' ||
					(t->len == 2 && (t->val[1] == 'n' || t->val[1] == 'N')));
		return set_value(p, v);
	case ND_CONF_TOK_INTEGER: {
		int64_t i = 0;
		int rc = convert_int(p, t, &i);
		if (rc < 0)
			return -1;
		if (rc > 0) /* unknown suffix combination: no value, the key stays pending */
			return 0;
		v = new_value(p, ND_CONF_INT, t);
		v->u.i = i;
		return set_value(p, v);
	}
	case ND_CONF_TOK_FLOAT: {
		double f;
		if (convert_float(p, t, &f) != 0)
			return -1;
		v = new_value(p, ND_CONF_FLOAT, t);
		v->u.f = f;
		return set_value(p, v);
	}
	case ND_CONF_TOK_VARIABLE:
		return do_variable(p, t);
	case ND_CONF_TOK_INCLUDE:
		return do_include(p, t);
	}
	return 0;
}

static int parse_buf(struct ctx *c, const char *text, size_t len, const char *file, const char *dir,
		     const nd_conf_pos_t *override, nd_conf_value_t **root)
{
	struct parser p = {
	    .c = c, .file = file, .dir = dir, .override = override, .env_depth = c->nenvs};
	push_frame(&p, new_value(&p, ND_CONF_MAP, NULL));
	nd_conf_lexer_t *lx = nd_conf_lex_create(text, len);
	int rc = 0;
	for (;;) {
		nd_conf_tok_t t;
		nd_conf_lex_next(lx, &t);
		if (t.type == ND_CONF_TOK_EOF)
			break;
		if (process(&p, &t) != 0) {
			rc = -1;
			break;
		}
	}
	nd_conf_lex_destroy(lx);
	/* Maps and arrays still open at a quiet end of input are dropped, as in the reference. */
	while (p.nframes > 1)
		frame_release(&p.frames[--p.nframes]);
	*root = frame_close(&p, &p.frames[0]);
	free(p.frames);
	free(p.keys);
	return rc;
}

static nd_conf_value_t *parse_top(const char *text, size_t len, const char *name,
				  const nd_conf_parse_opts_t *opts, char **err, size_t *errlen,
				  bool read_file)
{
	struct doc *d = xmalloc(sizeof(*d));
	memset(d, 0, sizeof(*d));
	struct ctx c = {
	    .doc = d,
	    .read = opts && opts->read ? opts->read : read_disk,
	    .read_ctx = opts ? opts->read_ctx : NULL,
	    .getenv = opts && opts->getenv ? opts->getenv : getenv_default,
	    .getenv_ctx = opts ? opts->getenv_ctx : NULL,
	};
	if (name == NULL)
		name = "";
	char *data = NULL, *dir = NULL, *clean = NULL;
	nd_conf_value_t *m = NULL;
	int rc = -1;
	if (read_file) {
		int r = c.read(c.read_ctx, name, &data, &len);
		if (r != 0) {
			read_error(&c.err, name, r);
			goto out;
		}
		text = data;
	}
	const char *file = arena_strndup(d, name, strlen(name));
	dir = path_dir(name);
	clean = path_clean(name);
	c.files[c.nfiles++] = clean;
	rc = parse_buf(&c, text, len, file, dir, NULL, &m);
out:
	free(data);
	free(dir);
	free(clean);
	if (rc != 0) {
		if (err != NULL) {
			*err = c.err.p ? c.err.p : strdup("error");
			c.err.p = NULL;
		}
		if (errlen != NULL)
			*errlen = c.err.n;
		free(c.err.p);
		doc_free(d);
		return NULL;
	}
	free(c.err.p);
	d->root = *m;
	d->root.pos.line = 0;
	d->root.pos.col = 0;
	if (err != NULL)
		*err = NULL;
	if (errlen != NULL)
		*errlen = 0;
	return &d->root;
}

nd_conf_value_t *nd_conf_parse_file(const char *path, const nd_conf_parse_opts_t *opts, char **err)
{
	return parse_top(NULL, 0, path, opts, err, NULL, true);
}

nd_conf_value_t *nd_conf_parse_file_n(const char *path, const nd_conf_parse_opts_t *opts,
				      char **err, size_t *errlen)
{
	return parse_top(NULL, 0, path, opts, err, errlen, true);
}

nd_conf_value_t *nd_conf_parse_text(const char *text, size_t len, const char *name,
				    const nd_conf_parse_opts_t *opts, char **err)
{
	return parse_top(text, len, name, opts, err, NULL, false);
}

nd_conf_value_t *nd_conf_parse_text_n(const char *text, size_t len, const char *name,
				      const nd_conf_parse_opts_t *opts, char **err, size_t *errlen)
{
	return parse_top(text, len, name, opts, err, errlen, false);
}

void nd_conf_free(nd_conf_value_t *root)
{
	if (root != NULL)
		doc_free((struct doc *)root);
}

const nd_conf_entry_t *nd_conf_map_get(const nd_conf_value_t *m, const char *key)
{
	if (m == NULL || m->type != ND_CONF_MAP)
		return NULL;
	for (size_t i = 0; i < m->u.map.n; i++) {
		if (strcmp(m->u.map.entries[i].key, key) == 0)
			return &m->u.map.entries[i];
	}
	return NULL;
}

const char *nd_conf_type_go_name(nd_conf_type_t t)
{
	switch (t) {
	case ND_CONF_STRING:
		return "string";
	case ND_CONF_INT:
		return "int64";
	case ND_CONF_FLOAT:
		return "float64";
	case ND_CONF_BOOL:
		return "bool";
	case ND_CONF_DATETIME:
		return "time.Time";
	case ND_CONF_ARRAY:
		return "[]interface {}";
	case ND_CONF_MAP:
		return "map[string]interface {}";
	}
	return "unknown";
}
