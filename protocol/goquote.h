/* Go's %q of a string (strconv.Quote), which the reference server uses in its error texts and
 * log lines: `Permissions Violation for Publish to "foo"`. Pure. */
#ifndef ND_PROTOCOL_GOQUOTE_H
#define ND_PROTOCOL_GOQUOTE_H

#include <stddef.h>

/* Writes s[0..n) as Go's %q into out (always NUL-terminated; truncated to fit). Returns the
 * length the full quoted text has (like snprintf). Printable ASCII and valid UTF-8 above
 * U+009F are kept, '"' and '\\' are escaped, control characters become \a \b \f \n \r \t \v or
 * \xNN, bytes of invalid UTF-8 become \xNN. */
size_t nd_go_quote(const char *s, size_t n, char *out, size_t outlen);

#endif
