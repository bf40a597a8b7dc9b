/* Password and token checks as the reference makes them (server/auth.go: isBcrypt and
 * comparePasswords): a configured secret that looks like a bcrypt hash is checked with bcrypt
 * (libcrypt's, from libxcrypt), any other is compared byte for byte. Not the policy of which
 * secret applies to which client: that is the caller's. Callable from any thread. */
#ifndef ND_PROTOCOL_PASSWORD_H
#define ND_PROTOCOL_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

/* True when the NUL-terminated configured secret starts like a bcrypt hash: "$2", one of
 * 'a' 'b' 'x' 'y', "$", two ASCII digits, "$" (the reference's `^\$2[abxy]\$\d{2}\$`). NULL is
 * not. */
bool nd_password_is_bcrypt(const char *stored);

/* True when the password or token a client sent, given[0..given_len), matches the configured
 * secret `stored` (NUL-terminated; NULL counts as ""). For a bcrypt `stored` this costs one
 * bcrypt run: 2^cost Blowfish key schedules, about 45 ms at cost 10 and 90 ms at cost 11 (the
 * default of `nats server passwd`) on the development machine, so a caller on an event-loop
 * thread stalls for that long.
 * It allocates (and wipes and frees) libcrypt's 32 KiB work area per call, not on the stack.
 * The four bcrypt minors are checked alike, with the standard algorithm, as Go's bcrypt does
 * (libcrypt would apply $2x$'s and $2a$'s bug emulations otherwise); only the first 72 bytes of
 * a password count, and characters after the 60th of `stored` are ignored, also as in Go. A
 * given password with a NUL byte in its first 72 never matches a bcrypt hash (libcrypt cannot
 * hash it).
 * Plain secrets are compared in constant time for equal lengths. */
bool nd_password_matches_n(const char *stored, const char *given, size_t given_len);

/* nd_password_matches_n for a NUL-terminated given (NULL counts as ""). */
bool nd_password_matches(const char *stored, const char *given);

#endif
