#ifndef SHARDGATE_CRC32_H
#define SHARDGATE_CRC32_H
#include <stddef.h>
#include <stdint.h>

/* CRC-32 with the zlib polynomial, as zlib's crc32(0, buf, len) and node's zlib.crc32. */
uint32_t crc32_piece(const uint8_t *buf, size_t len);

/* Use the carry-less multiply kernel when the CPU has it (else zlib's); for tests. */
void crc32_set_fast(int on);
int crc32_fast_supported(void);

#endif
