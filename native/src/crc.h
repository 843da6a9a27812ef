#ifndef SHARDGATE_CRC_H
#define SHARDGATE_CRC_H
#include <stddef.h>
#include <stdint.h>

/*
 * The CRCs S3 clients send as object checksums (x-amz-checksum-crc32, -crc32c, -crc64nvme),
 * and CRC-32 of piece records. Each continues a finished value, as zlib's crc32(crc, buf,
 * len) does: start from 0, and a body fed in chunks gives the value of the whole.
 *
 *   CRC-32      zlib, reflected polynomial 0xEDB88320
 *   CRC-32C     Castagnoli, reflected 0x82F63B78
 *   CRC-64/NVME 0xAD93D23594C93659, reflected 0x9A6C9329AC4BC9B5 (as AWS computes it)
 */
uint32_t crc32_update(uint32_t crc, const uint8_t *buf, size_t len);
uint32_t crc32c_update(uint32_t crc, const uint8_t *buf, size_t len);
uint64_t crc64nvme_update(uint64_t crc, const uint8_t *buf, size_t len);

/* CRC-32 of one piece (zlib's crc32(0, buf, len)). */
static inline uint32_t crc32_piece(const uint8_t *buf, size_t len) {
  return crc32_update(0, buf, len);
}

/* Kernels, slowest to fastest: tables (zlib's code for CRC-32), 128-bit PCLMULQDQ folding
 * (with SSE4.2's crc32 instruction for CRC-32C's short inputs), 512-bit VPCLMULQDQ folding. */
typedef enum { CRC_TABLE = 0, CRC_PCLMUL, CRC_VPCLMUL, CRC_KERNEL_COUNT } crc_kernel;

extern const char *const crc_kernel_names[CRC_KERNEL_COUNT];

/* Builds the tables and fold constants and picks the fastest kernel this CPU runs.
 * Call once, on the main thread, before any CRC is computed. */
void crc_init(void);
int crc_kernel_supported(crc_kernel k);
crc_kernel crc_kernel_current(void);
/* Process-wide; for tests and benchmarks (every kernel must give the same values). */
void crc_kernel_set(crc_kernel k);

#endif
