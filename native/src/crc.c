#include "crc.h"

#include <assert.h>
#include <string.h>
#include <zlib.h>

#include "crc_fold.h"
#include "xor_kernels.h"

/*
 * One folding engine (crc_fold.c) serves the three polynomials; what differs is the code
 * for short inputs and for the folded remainder: zlib's for CRC-32 (as Node links it), the
 * SSE4.2 crc32 instruction for CRC-32C, and slice-by-8 tables for CRC-64/NVME (and for
 * CRC-32C on CPUs without SSE4.2).
 */
#define POLY_CRC32 0xedb88320u
#define POLY_CRC32C 0x82f63b78u
#define POLY_CRC64NVME 0x9a6c9329ac4bc9b5ull

const char *const crc_kernel_names[CRC_KERNEL_COUNT] = { "table", "pclmulqdq", "vpclmulqdq" };

static crc_kernel kernel = CRC_TABLE;

/* ---- tables ------------------------------------------------------------------------- */

/* table[k][b]: the raw state after byte b followed by k zero bytes. One layout serves 32-
 * and 64-bit reflected CRCs: a 32-bit state only leaves the high half zero. */
typedef uint64_t slice8[8][256];
static slice8 table_crc32c, table_crc64nvme;

static void slice8_init(slice8 t, uint64_t poly) {
  for (unsigned b = 0; b < 256; b++) {
    uint64_t c = b;
    for (int j = 0; j < 8; j++) c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
    t[0][b] = c;
  }
  for (int k = 1; k < 8; k++)
    for (unsigned b = 0; b < 256; b++) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xff];
}

static inline uint64_t load_le64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

static inline uint64_t slice8_run(const slice8 t, uint64_t s, const uint8_t *p, size_t len) {
  for (; len >= 8; p += 8, len -= 8) {
    s ^= load_le64(p);
    s = t[7][s & 0xff] ^ t[6][(s >> 8) & 0xff] ^ t[5][(s >> 16) & 0xff] ^ t[4][(s >> 24) & 0xff] ^
        t[3][(s >> 32) & 0xff] ^ t[2][(s >> 40) & 0xff] ^ t[1][(s >> 48) & 0xff] ^ t[0][s >> 56];
  }
  for (; len > 0; p++, len--) s = t[0][(s ^ *p) & 0xff] ^ (s >> 8);
  return s;
}

/* ---- raw updates (no initial value, no final XOR) ------------------------------------ */

static uint64_t raw_crc32_zlib(uint64_t s, const uint8_t *p, size_t len) {
  /* zlib's crc32_z inverts on the way in and out. */
  return ~crc32_z((uLong) (~s & 0xffffffffu), p, len) & 0xffffffffu;
}

static uint64_t raw_crc32c_table(uint64_t s, const uint8_t *p, size_t len) {
  return slice8_run(table_crc32c, s, p, len);
}

static uint64_t raw_crc64nvme_table(uint64_t s, const uint8_t *p, size_t len) {
  return slice8_run(table_crc64nvme, s, p, len);
}

#if defined(__x86_64__)
#include <immintrin.h>

/* Only reached when the CPU has SSE4.2 (both folding kernels require it). */
__attribute__((target("sse4.2"))) static uint64_t raw_crc32c_sse42(uint64_t s, const uint8_t *p, size_t len) {
  uint64_t c = s;
  for (; len >= 8; p += 8, len -= 8) c = _mm_crc32_u64(c, load_le64(p));
  uint32_t c32 = (uint32_t) c;
  for (; len > 0; p++, len--) c32 = _mm_crc32_u8(c32, *p);
  return c32;
}
#else
#define raw_crc32c_sse42 raw_crc32c_table
#endif

/* ---- dispatch ----------------------------------------------------------------------- */

static crc_fold_spec spec_crc32, spec_crc32c, spec_crc64nvme;

static inline uint64_t run(const crc_fold_spec *spec, crc_raw_fn small, uint64_t s, const uint8_t *p, size_t len) {
  const crc_kernel k = kernel;
  if (k == CRC_VPCLMUL && len >= CRC_FOLD_VPCLMUL_MIN) return crc_fold_vpclmul(spec, s, p, len);
  if (k != CRC_TABLE && len >= CRC_FOLD_PCLMUL_MIN) return crc_fold_pclmul(spec, s, p, len);
  return small(s, p, len);
}

uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t len) {
  /* zlib answers 0 for a NULL buffer whatever the running value, and an empty typed array
   * may well have a NULL data pointer. */
  if (len == 0) return crc;
  return (uint32_t) ~run(&spec_crc32, raw_crc32_zlib, (uint32_t) ~crc, p, len);
}

uint32_t crc32c_update(uint32_t crc, const uint8_t *p, size_t len) {
  return (uint32_t) ~run(&spec_crc32c, kernel == CRC_TABLE ? raw_crc32c_table : raw_crc32c_sse42, (uint32_t) ~crc, p, len);
}

uint64_t crc64nvme_update(uint64_t crc, const uint8_t *p, size_t len) {
  return ~run(&spec_crc64nvme, raw_crc64nvme_table, ~crc, p, len);
}

int crc_kernel_supported(crc_kernel k) {
  switch (k) {
    case CRC_TABLE: return 1;
#if defined(__x86_64__)
    case CRC_PCLMUL: return cpu_has_pclmul_sse42();
    case CRC_VPCLMUL: return cpu_has_pclmul_sse42() && kernel_supported(KERNEL_AVX512) && cpu_has_vpclmulqdq();
#endif
    default: return 0;
  }
}

crc_kernel crc_kernel_current(void) {
  return kernel;
}

void crc_kernel_set(crc_kernel k) {
  assert(crc_kernel_supported(k));
  kernel = k;
}

void crc_init(void) {
  slice8_init(table_crc32c, POLY_CRC32C);
  slice8_init(table_crc64nvme, POLY_CRC64NVME);
  crc_fold_constants(&spec_crc32, POLY_CRC32, 32);
  crc_fold_constants(&spec_crc32c, POLY_CRC32C, 32);
  crc_fold_constants(&spec_crc64nvme, POLY_CRC64NVME, 64);
  spec_crc32.finish = raw_crc32_zlib;
  spec_crc32c.finish = raw_crc32c_sse42;
  spec_crc64nvme.finish = raw_crc64nvme_table;
  kernel = CRC_TABLE;
  for (int k = CRC_KERNEL_COUNT - 1; k > CRC_TABLE; k--) {
    if (crc_kernel_supported((crc_kernel) k)) {
      kernel = (crc_kernel) k;
      break;
    }
  }
}
