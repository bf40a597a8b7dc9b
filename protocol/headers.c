/* Header block parsing over slices; no allocation. */
#include "protocol/headers.h"

#include <string.h>

#define VERSION_LINE "NATS/1.0"

static void trim(nd_slice_t *s)
{
	while (s->n > 0 && (s->p[0] == ' ' || s->p[0] == '\t')) {
		s->p++;
		s->n--;
	}
	while (s->n > 0 && (s->p[s->n - 1] == ' ' || s->p[s->n - 1] == '\t'))
		s->n--;
}

int nd_headers_parse(const char *block, size_t n, nd_headers_t *h)
{
	memset(h, 0, sizeof(*h));
	size_t vl = sizeof(VERSION_LINE) - 1;
	if (n < vl + 4 || memcmp(block, VERSION_LINE, vl) != 0)
		return -1;
	if (block[n - 4] != '\r' || block[n - 3] != '\n' || block[n - 2] != '\r' ||
	    block[n - 1] != '\n') {
		/* A block with no fields ends "...\r\n\r\n" too; anything else is malformed. */
		return -1;
	}
	const char *eol = memchr(block, '\r', n);
	if (eol == NULL || (size_t)(eol - block) + 1 >= n || eol[1] != '\n')
		return -1;
	nd_slice_t status = {block + vl, (size_t)(eol - block) - vl};
	if (status.n > 0 && status.p[0] != ' ')
		return -1;
	trim(&status);
	size_t i = 0;
	while (i < status.n && status.p[i] >= '0' && status.p[i] <= '9')
		i++;
	if (i > 0) {
		if (i != 3)
			return -1;
		h->status =
		    (status.p[0] - '0') * 100 + (status.p[1] - '0') * 10 + (status.p[2] - '0');
		h->description.p = status.p + i;
		h->description.n = status.n - i;
		trim(&h->description);
	} else if (status.n > 0) {
		return -1;
	}
	size_t start = (size_t)(eol - block) + 2;
	h->fields.p = block + start;
	h->fields.n = n - start - 2; /* without the final empty line */
	if (start > n - 2)
		h->fields.n = 0;
	/* Every field line needs a colon. */
	size_t pos = 0;
	nd_slice_t k, v;
	while (pos < h->fields.n) {
		size_t before = pos;
		if (!nd_headers_next(h, &pos, &k, &v))
			return pos == before ? -1 : 0;
	}
	return 0;
}

bool nd_headers_next(const nd_headers_t *h, size_t *pos, nd_slice_t *key, nd_slice_t *value)
{
	if (*pos >= h->fields.n)
		return false;
	const char *line = h->fields.p + *pos;
	size_t rest = h->fields.n - *pos;
	const char *crlf = NULL;
	for (size_t i = 0; i + 1 < rest; i++) {
		if (line[i] == '\r' && line[i + 1] == '\n') {
			crlf = line + i;
			break;
		}
	}
	if (crlf == NULL)
		return false;
	size_t len = (size_t)(crlf - line);
	const char *colon = memchr(line, ':', len);
	if (colon == NULL || colon == line)
		return false;
	key->p = line;
	key->n = (size_t)(colon - line);
	value->p = colon + 1;
	value->n = len - key->n - 1;
	trim(value);
	*pos += len + 2;
	return true;
}

bool nd_headers_get(const nd_headers_t *h, const char *key, nd_slice_t *value)
{
	size_t pos = 0, kl = strlen(key);
	nd_slice_t k, v;
	while (nd_headers_next(h, &pos, &k, &v)) {
		if (k.n == kl && memcmp(k.p, key, kl) == 0) {
			*value = v;
			return true;
		}
	}
	return false;
}
