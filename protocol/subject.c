/* Subject rules of the reference server (server/sublist.go): tokens split on '.', wildcards
 * only as whole tokens, empty tokens invalid. */
#include "protocol/subject.h"

#include <string.h>

static inline bool is_pwc(const char *t, size_t n)
{
	return n == 1 && t[0] == '*';
}

static inline bool is_fwc(const char *t, size_t n)
{
	return n == 1 && t[0] == '>';
}

bool nd_subject_valid_sub(const char *s, size_t n)
{
	if (n == 0)
		return false;
	size_t start = 0;
	bool after_fwc = false;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		size_t len = i - start;
		if (len == 0 || after_fwc)
			return false;
		after_fwc = is_fwc(s + start, len);
		start = i + 1;
	}
	return true;
}

bool nd_subject_valid_pub(const char *s, size_t n)
{
	if (n == 0)
		return false;
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		size_t len = i - start;
		if (len == 0 || is_pwc(s + start, len) || is_fwc(s + start, len))
			return false;
		start = i + 1;
	}
	return true;
}

bool nd_subject_is_literal(const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		size_t len = i - start;
		if (is_pwc(s + start, len) || is_fwc(s + start, len))
			return false;
		start = i + 1;
	}
	return true;
}

size_t nd_subject_tokenize(const char *s, size_t n, const char **starts, size_t *lens, size_t max)
{
	size_t count = 0, start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (count < max) {
			starts[count] = s + start;
			lens[count] = i - start;
		}
		count++;
		start = i + 1;
	}
	return count;
}

bool nd_subject_matches(const char *pattern, size_t pn, const char *subject, size_t sn)
{
	size_t pi = 0, si = 0;
	for (;;) {
		const char *pd = memchr(pattern + pi, '.', pn - pi);
		size_t pend = pd ? (size_t)(pd - pattern) : pn;
		const char *sd = memchr(subject + si, '.', sn - si);
		size_t send = sd ? (size_t)(sd - subject) : sn;
		size_t plen = pend - pi, slen = send - si;
		if (slen == 0)
			return false; /* empty subject token: matches nothing */
		if (is_fwc(pattern + pi, plen)) {
			/* '>' needs at least this token; the rest must not be empty. */
			while (sd != NULL) {
				si = send + 1;
				sd = memchr(subject + si, '.', sn - si);
				send = sd ? (size_t)(sd - subject) : sn;
				if (send == si)
					return false;
			}
			return true;
		}
		if (!is_pwc(pattern + pi, plen) &&
		    (plen != slen || memcmp(pattern + pi, subject + si, plen) != 0))
			return false;
		bool pmore = pd != NULL, smore = sd != NULL;
		if (!pmore || !smore)
			return pmore == smore;
		pi = pend + 1;
		si = send + 1;
	}
}
