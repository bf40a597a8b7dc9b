/* libFuzzer target: CONNECT JSON decoding (jansson underneath) and INFO escaping. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/connect.h"
#include "protocol/info.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	nd_connect_opts_t o;
	nd_connect_opts_init(&o);
	char err[256];
	nd_connect_decode(&o, (const char *)data, size, err, sizeof(err));
	nd_connect_decode(&o, (const char *)data, size, err, sizeof(err)); /* merging twice */
	nd_connect_opts_deinit(&o);
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	size_t len;
	free(nd_json_go_escape(s, &len));
	free(s);
	return 0;
}
