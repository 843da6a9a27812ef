#include "crc_fold.h"

#include <assert.h>

/* x^e mod P, bit-reflected in `width` bits (the coefficient of x^d at bit width - 1 - d). */
static uint64_t xpow_mod(uint64_t poly, unsigned width, unsigned e) {
  uint64_t r = (uint64_t) 1 << (width - 1); /* x^0 */
  for (unsigned i = 0; i < e; i++) r = (r & 1) ? (r >> 1) ^ poly : r >> 1;
  return r;
}

static void pair(uint64_t k[2], uint64_t poly, unsigned width, unsigned distance) {
  /* Shifted so that the coefficient of x^d sits at bit 63 - d whatever the width. */
  k[0] = xpow_mod(poly, width, 64 + distance - 1) << (64 - width);
  k[1] = xpow_mod(poly, width, distance - 1) << (64 - width);
}

void crc_fold_constants(crc_fold_spec *spec, uint64_t poly, unsigned width) {
  assert(width == 32 || width == 64);
  pair(spec->k2048, poly, width, 2048);
  pair(spec->k512, poly, width, 512);
  pair(spec->k128, poly, width, 128);
}

#if defined(__x86_64__)
#include <immintrin.h>

#define PCLMUL_TARGET __attribute__((target("pclmul,sse4.1")))
#define VPCLMUL_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,vpclmulqdq,pclmul,sse4.1")))

/* The folded lane, then the bytes after it, through the spec's table (or crc32) code:
 * the raw state after a message is the raw state, from 0, after its folded remainder. */
static uint64_t finish_lane(const crc_fold_spec *spec, const uint8_t lane[16], const uint8_t *rest, size_t len) {
  return spec->finish(spec->finish(0, lane, 16), rest, len);
}

PCLMUL_TARGET static inline __m128i fold128(__m128i x, __m128i k) {
  return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11));
}

PCLMUL_TARGET static inline __m128i load128(const uint8_t *p) {
  return _mm_loadu_si128((const __m128i *) p);
}

PCLMUL_TARGET uint64_t crc_fold_pclmul(const crc_fold_spec *spec, uint64_t state, const uint8_t *p, size_t len) {
  assert(len >= CRC_FOLD_PCLMUL_MIN);
  const __m128i k512 = load128((const uint8_t *) spec->k512);
  const __m128i k128 = load128((const uint8_t *) spec->k128);
  /* The state goes into the first bits of the message (reflected CRCs are little-endian). */
  __m128i x0 = _mm_xor_si128(load128(p), _mm_cvtsi64_si128((long long) state));
  __m128i x1 = load128(p + 16), x2 = load128(p + 32), x3 = load128(p + 48);
  p += 64;
  len -= 64;
  for (; len >= 64; p += 64, len -= 64) {
    x0 = _mm_xor_si128(fold128(x0, k512), load128(p));
    x1 = _mm_xor_si128(fold128(x1, k512), load128(p + 16));
    x2 = _mm_xor_si128(fold128(x2, k512), load128(p + 32));
    x3 = _mm_xor_si128(fold128(x3, k512), load128(p + 48));
  }
  __m128i a = _mm_xor_si128(fold128(x0, k128), x1);
  a = _mm_xor_si128(fold128(a, k128), x2);
  a = _mm_xor_si128(fold128(a, k128), x3);
  for (; len >= 16; p += 16, len -= 16) a = _mm_xor_si128(fold128(a, k128), load128(p));
  uint8_t lane[16];
  _mm_storeu_si128((__m128i *) lane, a);
  return finish_lane(spec, lane, p, len);
}

/* x' = lo(x) * k_lo ^ hi(x) * k_hi, per 128-bit lane. */
VPCLMUL_TARGET static inline __m512i fold512(__m512i x, __m512i k) {
  return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00), _mm512_clmulepi64_epi128(x, k, 0x11),
                                   _mm512_setzero_si512(), 0x96);
}

VPCLMUL_TARGET uint64_t crc_fold_vpclmul(const crc_fold_spec *spec, uint64_t state, const uint8_t *p, size_t len) {
  assert(len >= CRC_FOLD_VPCLMUL_MIN);
  const __m512i k2048 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *) spec->k2048));
  const __m512i k512 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *) spec->k512));
  const __m128i k128 = _mm_loadu_si128((const __m128i *) spec->k128);
  __m512i x0 = _mm512_xor_si512(_mm512_loadu_si512(p), _mm512_castsi128_si512(_mm_cvtsi64_si128((long long) state)));
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
  uint8_t lane[16];
  _mm_storeu_si128((__m128i *) lane, a);
  return finish_lane(spec, lane, p, len);
}

#else

uint64_t crc_fold_pclmul(const crc_fold_spec *spec, uint64_t state, const uint8_t *p, size_t len) {
  return spec->finish(state, p, len);
}

uint64_t crc_fold_vpclmul(const crc_fold_spec *spec, uint64_t state, const uint8_t *p, size_t len) {
  return spec->finish(state, p, len);
}

#endif
