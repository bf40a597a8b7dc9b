/* libFuzzer target: the client protocol parser. The first byte picks options (headers,
 * require-connect, small limits) and the chunking of the rest, so that split reads are fuzzed
 * too. Checks the parser's contract on every call: AGAIN consumes everything, an op consumes
 * something and its payload has the announced size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t cfg = data[0];
	data++;
	size--;
	nd_parser_t p;
	nd_parser_init(&p);
	nd_parser_set_headers(&p, cfg & 1);
	nd_parser_set_require_connect(&p, (cfg & 2) != 0);
	if (cfg & 4)
		nd_parser_set_limits(&p, 64, 256);
	size_t chunk = (size_t)(cfg >> 3) + 1; /* 1..32 bytes per read */
	size_t pos = 0;
	while (pos < size) {
		size_t n = size - pos < chunk ? size - pos : chunk;
		/* A private copy per read: slices must not outlive the call that returned them. */
		char *buf = malloc(n);
		memcpy(buf, data + pos, n);
		size_t off = 0;
		int rc = 0;
		while (off < n) {
			size_t used = 0;
			nd_op_t op;
			rc = nd_parser_next(&p, buf + off, n - off, &used, &op);
			if (rc == ND_PARSE_AGAIN) {
				if (used != n - off)
					abort();
				break;
			}
			if (rc < 0)
				break;
			if (used == 0 || used > n - off)
				abort();
			if ((op.kind == ND_OP_PUB || op.kind == ND_OP_HPUB) &&
			    (op.payload.n != (size_t)op.size || op.hdr > op.size))
				abort();
			/* Touch every byte of every slice (ASan checks the bounds). */
			volatile char sink = 0;
			nd_slice_t sl[] = {op.subject, op.reply, op.queue,
					   op.sid,     op.arg,   op.payload};
			for (size_t k = 0; k < sizeof(sl) / sizeof(sl[0]); k++)
				for (size_t j = 0; j < sl[k].n; j++)
					sink ^= sl[k].p[j];
			(void)sink;
			off += used;
		}
		free(buf);
		if (rc < 0)
			break;
		pos += n;
	}
	nd_parser_deinit(&p);
	return 0;
}
