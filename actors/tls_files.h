/* The files of a tls {} block, checked as the reference's GenTLSConfig checks them when it
 * reads its configuration (so that `-t` fails on them): a certificate without a key (or the
 * reverse), a certificate/key pair that cannot be read, parsed or does not match, a CA file
 * without a certificate. The messages are the reference's (Go's crypto/tls texts). */
#ifndef ND_ACTORS_TLS_FILES_H
#define ND_ACTORS_TLS_FILES_H

#include <stddef.h>

#include "actors/opts.h"

/* Returns 0, or -1 with the reference's message in err, e.g. "missing 'key_file' in TLS
 * configuration", "error parsing X509 certificate/key pair: open x.pem: no such file or
 * directory", "failed to parse root ca certificate". Any thread. */
int nd_tls_check_files(const nd_tls_opts_t *t, char *err, size_t errlen);

#endif
