/* NKey text encoding (base32 of prefix byte + key + CRC16), as used for server ids: a server's
 * id is an nkey-style public key, 'N' followed by 55 base32 characters. */
#ifndef ND_PROTOCOL_NKEY_H
#define ND_PROTOCOL_NKEY_H

#include <stddef.h>
#include <stdint.h>

#define ND_NKEY_PREFIX_SERVER (13u << 3) /* encodes as 'N' */
#define ND_NKEY_PREFIX_USER (20u << 3)   /* 'U' */
#define ND_NKEY_LEN 56

/* Encodes a 32-byte public key with `prefix` into out (56 chars + NUL). */
void nd_nkey_encode(uint8_t prefix, const uint8_t key[32], char out[ND_NKEY_LEN + 1]);

/* CRC16 (XModem polynomial 0x1021), as the nkeys format uses. */
uint16_t nd_crc16(const uint8_t *data, size_t n);

#endif
