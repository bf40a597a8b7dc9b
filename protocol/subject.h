/* Subjects: validation and matching as the reference server does them. Tokens are separated by
 * '.', '*' matches one token and '>' one or more trailing tokens, but only as whole tokens
 * ("foo*" is a literal). Pure functions over byte strings; no allocation. */
#ifndef ND_PROTOCOL_SUBJECT_H
#define ND_PROTOCOL_SUBJECT_H

#include <stdbool.h>
#include <stddef.h>

/* A subject usable in SUB: no empty token, and '>' only as the last token. (The reference
 * checks nothing else: any other byte, UTF-8 included, is accepted.) */
bool nd_subject_valid_sub(const char *s, size_t n);

/* A subject usable in a pedantic PUB: no empty token and no wildcard token. */
bool nd_subject_valid_pub(const char *s, size_t n);

/* True if no token is exactly "*" or ">". */
bool nd_subject_is_literal(const char *s, size_t n);

/* Does `pattern` (a SUB subject) match `subject` (a published subject, matched token by token
 * as a literal even if it contains wildcard tokens, as the reference does)? A subject with an
 * empty token matches nothing. */
bool nd_subject_matches(const char *pattern, size_t pn, const char *subject, size_t sn);

/* Splits s into tokens: fills starts/lens with up to max tokens and returns the total count
 * (which may exceed max). */
size_t nd_subject_tokenize(const char *s, size_t n, const char **starts, size_t *lens, size_t max);

#endif
