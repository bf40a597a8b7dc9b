/* Base32 (RFC 4648 alphabet, no padding) and CRC16-XModem: 30 lines, so not worth a dependency
 * (Debian has no small C library for either; see docs/dependencies.md). */
#include "protocol/nkey.h"

uint16_t nd_crc16(const uint8_t *data, size_t n)
{
	uint16_t crc = 0;
	for (size_t i = 0; i < n; i++) {
		crc ^= (uint16_t)(data[i] << 8);
		for (int b = 0; b < 8; b++)
			crc =
			    (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
	}
	return crc;
}

void nd_nkey_encode(uint8_t prefix, const uint8_t key[32], char out[ND_NKEY_LEN + 1])
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	uint8_t raw[35];
	raw[0] = prefix;
	for (int i = 0; i < 32; i++)
		raw[1 + i] = key[i];
	uint16_t crc = nd_crc16(raw, 33);
	raw[33] = (uint8_t)(crc & 0xff); /* little-endian, as the nkeys library writes it */
	raw[34] = (uint8_t)(crc >> 8);
	unsigned buffer = 0, bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < sizeof(raw); i++) {
		buffer = (buffer << 8) | raw[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = alphabet[(buffer >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = alphabet[(buffer << (5 - bits)) & 31];
	out[o] = '\0';
}
