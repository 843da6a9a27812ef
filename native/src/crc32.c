#include "crc32.h"

#include <zlib.h>

#include "xor_kernels.h"

/*
 * zlib's table CRC (as Node links it) runs at ~6 GB/s; piece checksums cover 1.6x the
 * segment, so they are worth a carry-less multiply kernel: 4 x 512 bits folded per step
 * with VPCLMULQDQ ("Fast CRC Computation for Generic Polynomials Using PCLMULQDQ", Intel,
 * 2009). Fold constants are bit-reflected x^(D±32) mod P for a fold distance of D bits.
 * The folded 128-bit remainder is finished with zlib's table code, which is exact by
 * construction: CRC state after a message = CRC of its folded remainder from state 0.
 */
#define MIN_FAST_LEN 256

static int use_fast = -1;

int crc32_fast_supported(void) {
#if defined(__x86_64__)
  return kernel_supported(KERNEL_AVX512) && cpu_has_vpclmulqdq();
#else
  return 0;
#endif
}

void crc32_set_fast(int on) {
  use_fast = on && crc32_fast_supported();
}

#if defined(__x86_64__)
#include <immintrin.h>

#define FOLD_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,vpclmulqdq,pclmul,sse4.1")))

/* x' = lo(x) * k_lo ^ hi(x) * k_hi, per 128-bit lane. */
FOLD_TARGET static inline __m512i fold512(__m512i x, __m512i k) {
  return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00), _mm512_clmulepi64_epi128(x, k, 0x11),
                                   _mm512_setzero_si512(), 0x96);
}

FOLD_TARGET static inline __m128i fold128(__m128i x, __m128i k) {
  return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11));
}

FOLD_TARGET static uint32_t crc32_vpclmul(const uint8_t *p, size_t len) {
  const __m512i k2048 = _mm512_broadcast_i32x4(_mm_set_epi64x(0x1322d1430, 0x11542778a));
  const __m512i k512 = _mm512_broadcast_i32x4(_mm_set_epi64x(0x1c6e41596, 0x154442bd4));
  const __m128i k128 = _mm_set_epi64x(0xccaa009e, 0x1751997d0);
  /* zlib's initial state ~0 goes into the first 32 bits of the message. */
  __m512i x0 = _mm512_xor_si512(_mm512_loadu_si512(p), _mm512_castsi128_si512(_mm_cvtsi32_si128((int) 0xffffffff)));
  __m512i x1 = _mm512_loadu_si512(p + 64), x2 = _mm512_loadu_si512(p + 128), x3 = _mm512_loadu_si512(p + 192);
  p += 256;
  len -= 256;
  for (; len >= 256; p += 256, len -= 256) {
    x0 = _mm512_xor_si512(fold512(x0, k2048), _mm512_loadu_si512(p));
    x1 = _mm512_xor_si512(fold512(x1, k2048), _mm512_loadu_si512(p + 64));
    x2 = _mm512_xor_si512(fold512(x2, k2048), _mm512_loadu_si512(p + 128));
    x3 = _mm512_xor_si512(fold512(x3, k2048), _mm512_loadu_si512(p + 192));
  }
  __m512i x = _mm512_xor_si512(fold512(x0, k512), x1);
  x = _mm512_xor_si512(fold512(x, k512), x2);
  x = _mm512_xor_si512(fold512(x, k512), x3);
  for (; len >= 64; p += 64, len -= 64) x = _mm512_xor_si512(fold512(x, k512), _mm512_loadu_si512(p));
  __m128i a = _mm512_extracti32x4_epi32(x, 0);
  a = _mm_xor_si128(fold128(a, k128), _mm512_extracti32x4_epi32(x, 1));
  a = _mm_xor_si128(fold128(a, k128), _mm512_extracti32x4_epi32(x, 2));
  a = _mm_xor_si128(fold128(a, k128), _mm512_extracti32x4_epi32(x, 3));
  for (; len >= 16; p += 16, len -= 16) a = _mm_xor_si128(fold128(a, k128), _mm_loadu_si128((const __m128i *) p));
  uint8_t rest[16];
  _mm_storeu_si128((__m128i *) rest, a);
  /* crc32_z(~0, .) runs the table code from state 0 and returns the state inverted, which
   * is what zlib expects as the running value for the tail. */
  uLong crc = crc32_z(0xffffffffUL, rest, 16);
  return (uint32_t) crc32_z(crc, p, len);
}
#endif

uint32_t crc32_piece(const uint8_t *buf, size_t len) {
  if (use_fast < 0) use_fast = crc32_fast_supported();
#if defined(__x86_64__)
  if (use_fast && len >= MIN_FAST_LEN) return crc32_vpclmul(buf, len);
#endif
  return (uint32_t) crc32_z(0, buf, len);
}
