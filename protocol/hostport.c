/* net.SplitHostPort: the port is what follows the last ':'; a host holding ':' must be in
 * brackets. */
#include "protocol/hostport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_range(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d == NULL)
		abort();
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

nd_hostport_err_t nd_hostport_split(const char *s, char **host, char **port)
{
	size_t n = strlen(s);
	const char *colon = strrchr(s, ':');
	if (colon == NULL)
		return ND_HOSTPORT_MISSING_PORT;
	const char *hs, *he;
	size_t i = (size_t)(colon - s);
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (end == NULL)
			return ND_HOSTPORT_MISSING_BRACKET;
		size_t e = (size_t)(end - s);
		if (e + 1 == n)
			return ND_HOSTPORT_MISSING_PORT; /* "[host]" alone */
		if (e + 1 != i)
			return s[e + 1] == ':' ? ND_HOSTPORT_TOO_MANY_COLONS
					       : ND_HOSTPORT_MISSING_PORT;
		hs = s + 1;
		he = end;
		if (memchr(s + 1, '[', n - 1) != NULL)
			return ND_HOSTPORT_UNEXPECTED_OPEN;
		if (memchr(s + e + 1, ']', n - e - 1) != NULL)
			return ND_HOSTPORT_UNEXPECTED_CLOSE;
	} else {
		hs = s;
		he = colon;
		if (memchr(s, ':', i) != NULL)
			return ND_HOSTPORT_TOO_MANY_COLONS;
		if (memchr(s, '[', n) != NULL)
			return ND_HOSTPORT_UNEXPECTED_OPEN;
		if (memchr(s, ']', n) != NULL)
			return ND_HOSTPORT_UNEXPECTED_CLOSE;
	}
	*host = dup_range(hs, (size_t)(he - hs));
	*port = dup_range(colon + 1, n - i - 1);
	return ND_HOSTPORT_OK;
}

void nd_hostport_error_text(nd_hostport_err_t e, const char *s, char *buf, size_t len)
{
	static const char *const reasons[] = {"",
					      "missing port in address",
					      "too many colons in address",
					      "missing ']' in address",
					      "unexpected '[' in address",
					      "unexpected ']' in address"};
	snprintf(buf, len, "address %s: %s", s, reasons[e]);
}
