/* Go's time.Duration text forms and Go's %v of a float, as the reference server prints and
 * parses them in configuration files and log lines ("2m0s", "1.5s", "500ms"). Pure. */
#ifndef ND_PROTOCOL_GOTIME_H
#define ND_PROTOCOL_GOTIME_H

#include <stddef.h>
#include <stdint.h>

/* Parses a Go duration ("300ms", "-1.5h", "2h45m", "0") into nanoseconds. Returns 0, or -1 with
 * the reference's message in err, e.g. `time: invalid duration "abc"`,
 * `time: missing unit in duration "60"`, `time: unknown unit "x" in duration "2x"`. */
int nd_go_parse_duration(const char *s, int64_t *ns, char *err, size_t errlen);

/* Formats ns as Go's Duration.String() ("2m0s", "1.5s", "500ms", "0s", "1h0m0s"). Returns the
 * length written (out is always NUL-terminated; 32 bytes always suffice). */
size_t nd_go_format_duration(int64_t ns, char *out, size_t outlen);

/* Formats v as Go's %v of a float64 (shortest round-trip: "1.25", "0.5", "1e+21", "1e-05").
 * Returns the length written; 32 bytes always suffice. */
size_t nd_go_format_float(double v, char *out, size_t outlen);

#endif
