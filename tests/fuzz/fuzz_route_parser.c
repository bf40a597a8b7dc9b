/* libFuzzer target: the route protocol parser. The first byte picks options (headers, small
 * limits) and the chunking of the rest, so that split reads are fuzzed too. Checks the
 * parser's contract on every call: AGAIN consumes everything, an op consumes something, its
 * payload has the announced size, its queue list iterates to nqueues names, and every view
 * lies in readable memory (ASan). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/route_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void touch(nd_slice_t s)
{
	volatile char sink = 0;
	for (size_t j = 0; j < s.n; j++)
		sink ^= s.p[j];
	(void)sink;
}

static void check_op(const nd_rop_t *op)
{
	nd_slice_t sl[] = {op->arg,     op->origin,   op->account,    op->subject,
			   op->reply,   op->queue,    op->weight_tok, op->queue_list,
			   op->hdr_tok, op->size_tok, op->payload};
	for (size_t k = 0; k < sizeof(sl) / sizeof(sl[0]); k++)
		touch(sl[k]);
	bool msg = op->kind == ND_ROP_RMSG || op->kind == ND_ROP_RHMSG || op->kind == ND_ROP_LMSG ||
		   op->kind == ND_ROP_PUB || op->kind == ND_ROP_HPUB;
	if (msg && (op->size < 0 || op->payload.n != (size_t)op->size || op->hdr > op->size))
		abort();
	nd_slice_t rest = op->queue_list, q;
	size_t n = 0;
	while (nd_route_queues_next(&rest, &q)) {
		if (q.n == 0)
			abort();
		if (n < ND_ROUTE_QUEUES_INLINE &&
		    (op->queues[n].n != q.n || memcmp(op->queues[n].p, q.p, q.n) != 0))
			abort();
		n++;
	}
	if (n != op->nqueues)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t cfg = data[0];
	data++;
	size--;
	nd_route_parser_t p;
	nd_route_parser_init(&p);
	nd_route_parser_set_headers(&p, cfg & 1);
	if (cfg & 2)
		nd_route_parser_set_limits(&p, 64, 256);
	else
		nd_route_parser_set_limits(&p, 4096, 1 << 20);
	size_t chunk = (size_t)(cfg >> 2) + 1; /* 1..64 bytes per read */
	size_t pos = 0;
	while (pos < size) {
		size_t n = size - pos < chunk ? size - pos : chunk;
		/* A private copy per read: views must not outlive the call that returned them. */
		char *buf = malloc(n);
		memcpy(buf, data + pos, n);
		size_t off = 0;
		int rc = 0;
		while (off < n) {
			size_t used = 0;
			nd_rop_t op;
			rc = nd_route_parser_next(&p, buf + off, n - off, &used, &op);
			if (rc == ND_PARSE_AGAIN) {
				if (used != n - off)
					abort();
				break;
			}
			if (rc < 0) {
				if (nd_route_parser_error_text(&p) == NULL)
					abort();
				break;
			}
			if (used == 0 || used > n - off)
				abort();
			check_op(&op);
			off += used;
		}
		free(buf);
		if (rc < 0)
			break;
		pos += n;
	}
	nd_route_parser_deinit(&p);
	return 0;
}
