#include "gcm_fast.h"

#include <string.h>

#include "xor_kernels.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define GCM_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,vaes,vpclmulqdq,aes,pclmul,sse4.1,ssse3")))

int gcm_fast_supported(void) {
  return cpu_has_vaes_gcm();
}

/* Reverses the bytes of each 128-bit lane: GHASH works on bit-reflected blocks. */
GCM_TARGET static inline __m128i rev(__m128i x) {
  return _mm_shuffle_epi8(x, _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
}

GCM_TARGET static inline __m512i rev512(__m512i x) {
  const __m512i m = _mm512_broadcast_i32x4(_mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  return _mm512_shuffle_epi8(x, m);
}

GCM_TARGET static inline __m128i ld(const uint8_t *p) {
  return _mm_loadu_si128((const __m128i *) p);
}

GCM_TARGET static inline void st(uint8_t *p, __m128i x) {
  _mm_storeu_si128((__m128i *) p, x);
}

/* Each word XORed with the words below it: x ^ x<<32 ^ x<<64 ^ x<<96. */
GCM_TARGET static inline __m128i prefix_xor(__m128i x) {
  __m128i t = _mm_slli_si128(x, 4);
  x = _mm_xor_si128(x, t);
  t = _mm_slli_si128(t, 4);
  x = _mm_xor_si128(x, t);
  t = _mm_slli_si128(t, 4);
  return _mm_xor_si128(x, t);
}

/* AES-256 key schedule with AESKEYGENASSIST (Intel's AES-NI white paper, figure 25): the even
 * round keys from the last odd one's assist (rcon), the odd ones from SubWord of the even. */
GCM_TARGET static inline __m128i expand_a(__m128i t1, __m128i assist) {
  return _mm_xor_si128(prefix_xor(t1), _mm_shuffle_epi32(assist, 0xff));
}

GCM_TARGET static inline __m128i expand_b(__m128i t1, __m128i t3) {
  return _mm_xor_si128(prefix_xor(t3), _mm_shuffle_epi32(_mm_aeskeygenassist_si128(t1, 0), 0xaa));
}

#define EXPAND_STEP(i, rcon)                                     \
  do {                                                           \
    t1 = expand_a(t1, _mm_aeskeygenassist_si128(t3, (rcon)));    \
    rk[(i)] = t1;                                                \
    if ((i) < 14) {                                              \
      t3 = expand_b(t1, t3);                                     \
      rk[(i) + 1] = t3;                                          \
    }                                                            \
  } while (0)

GCM_TARGET static void expand_key(const uint8_t key[32], __m128i rk[15]) {
  __m128i t1 = ld(key), t3 = ld(key + 16);
  rk[0] = t1;
  rk[1] = t3;
  EXPAND_STEP(2, 0x01);
  EXPAND_STEP(4, 0x02);
  EXPAND_STEP(6, 0x04);
  EXPAND_STEP(8, 0x08);
  EXPAND_STEP(10, 0x10);
  EXPAND_STEP(12, 0x20);
  EXPAND_STEP(14, 0x40);
}

GCM_TARGET static inline __m128i aes_block(const __m128i rk[15], __m128i x) {
  x = _mm_xor_si128(x, rk[0]);
  for (int r = 1; r < 14; r++) x = _mm_aesenc_si128(x, rk[r]);
  return _mm_aesenclast_si128(x, rk[14]);
}

/*
 * The 256-bit carry-less product hi:lo of two reflected blocks, shifted left one bit and
 * reduced modulo x^128 + x^7 + x^2 + x + 1 (the white paper's gfmul, figure 5, split in
 * two so that sums of products are reduced once).
 */
GCM_TARGET static inline __m128i reduce(__m128i lo, __m128i hi) {
  /* Shift hi:lo left by one bit. */
  __m128i t7 = _mm_srli_epi32(lo, 31);
  __m128i t8 = _mm_srli_epi32(hi, 31);
  lo = _mm_slli_epi32(lo, 1);
  hi = _mm_slli_epi32(hi, 1);
  __m128i t9 = _mm_srli_si128(t7, 12);
  t8 = _mm_slli_si128(t8, 4);
  t7 = _mm_slli_si128(t7, 4);
  lo = _mm_or_si128(lo, t7);
  hi = _mm_or_si128(hi, t8);
  hi = _mm_or_si128(hi, t9);
  /* Reduce. */
  t7 = _mm_slli_epi32(lo, 31);
  t8 = _mm_slli_epi32(lo, 30);
  t9 = _mm_slli_epi32(lo, 25);
  t7 = _mm_xor_si128(t7, t8);
  t7 = _mm_xor_si128(t7, t9);
  t8 = _mm_srli_si128(t7, 4);
  t7 = _mm_slli_si128(t7, 12);
  lo = _mm_xor_si128(lo, t7);
  __m128i t2 = _mm_srli_epi32(lo, 1);
  __m128i t4 = _mm_srli_epi32(lo, 2);
  __m128i t5 = _mm_srli_epi32(lo, 7);
  t2 = _mm_xor_si128(t2, t4);
  t2 = _mm_xor_si128(t2, t5);
  t2 = _mm_xor_si128(t2, t8);
  lo = _mm_xor_si128(lo, t2);
  return _mm_xor_si128(hi, lo);
}

GCM_TARGET static inline __m128i gfmul(__m128i a, __m128i b) {
  __m128i lo = _mm_clmulepi64_si128(a, b, 0x00);
  __m128i hi = _mm_clmulepi64_si128(a, b, 0x11);
  __m128i mid = _mm_xor_si128(_mm_clmulepi64_si128(a, b, 0x10), _mm_clmulepi64_si128(a, b, 0x01));
  lo = _mm_xor_si128(lo, _mm_slli_si128(mid, 8));
  hi = _mm_xor_si128(hi, _mm_srli_si128(mid, 8));
  return reduce(lo, hi);
}

GCM_TARGET static inline __m128i fold4(__m512i z) {
  __m256i t = _mm256_xor_si256(_mm512_castsi512_si256(z), _mm512_extracti64x4_epi64(z, 1));
  return _mm_xor_si128(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
}

/* The counter block with counter n, byte-reversed: n sits in the low dword, little-endian. */
GCM_TARGET static inline __m128i ctr_rev(const uint8_t iv[12], uint32_t n) {
  uint8_t b[16];
  memcpy(b, iv, 12);
  b[12] = (uint8_t) (n >> 24);
  b[13] = (uint8_t) (n >> 16);
  b[14] = (uint8_t) (n >> 8);
  b[15] = (uint8_t) n;
  return rev(ld(b));
}

GCM_TARGET void gcm_fast_init(gcm_fast_ctx *c, const uint8_t key[32], const uint8_t iv[12], int enc) {
  __m128i rk[15];
  expand_key(key, rk);
  for (int i = 0; i < 15; i++) st(c->rk[i], rk[i]);
  const __m128i h = rev(aes_block(rk, _mm_setzero_si128()));
  __m128i p = h;
  for (int i = 15; i >= 0; i--) {
    st(c->hpow[i], p); /* hpow[15] = H, hpow[0] = H^16 */
    p = gfmul(p, h);
  }
  memcpy(c->iv, iv, 12);
  st(c->ej0, aes_block(rk, rev(ctr_rev(iv, 1))));
  st(c->acc, _mm_setzero_si128());
  c->ctr = 2;
  c->used = 0;
  c->total = 0;
  c->enc = enc;
}

GCM_TARGET static inline __m128i ghash1(__m128i acc, __m128i block, __m128i h) {
  return gfmul(_mm_xor_si128(acc, rev(block)), h);
}

GCM_TARGET void gcm_fast_update(gcm_fast_ctx *c, const uint8_t *in, size_t len, uint8_t *out) {
  __m128i rk[15];
  for (int i = 0; i < 15; i++) rk[i] = ld(c->rk[i]);
  const __m128i h1 = ld(c->hpow[15]);
  __m128i acc = ld(c->acc);
  c->total += len;

  /* Finish a block begun by the last call. */
  if (c->used) {
    while (c->used < 16 && len) {
      const uint8_t x = *in++;
      const uint8_t y = (uint8_t) (x ^ c->ks[c->used]);
      *out++ = y;
      c->part[c->used++] = c->enc ? y : x;
      len--;
    }
    if (c->used == 16) {
      acc = ghash1(acc, ld(c->part), h1);
      c->used = 0;
    }
  }

  if (len >= 256) {
    __m512i k[15];
    for (int i = 0; i < 15; i++) k[i] = _mm512_broadcast_i32x4(rk[i]);
    const __m512i p0 = _mm512_loadu_si512(c->hpow[0]), p1 = _mm512_loadu_si512(c->hpow[4]);
    const __m512i p2 = _mm512_loadu_si512(c->hpow[8]), p3 = _mm512_loadu_si512(c->hpow[12]);
    /* Counters n..n+3 in the four lanes (reversed: the low dword of each), stepped by 4. */
    const __m512i base = _mm512_broadcast_i32x4(ctr_rev(c->iv, 0));
    __m512i ctr = _mm512_add_epi32(base, _mm512_set_epi32(0, 0, 0, (int) (c->ctr + 3), 0, 0, 0, (int) (c->ctr + 2), 0, 0, 0,
                                                          (int) (c->ctr + 1), 0, 0, 0, (int) c->ctr));
    const __m512i four = _mm512_set_epi32(0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4);
    while (len >= 256) {
      __m512i b0 = rev512(ctr);
      ctr = _mm512_add_epi32(ctr, four);
      __m512i b1 = rev512(ctr);
      ctr = _mm512_add_epi32(ctr, four);
      __m512i b2 = rev512(ctr);
      ctr = _mm512_add_epi32(ctr, four);
      __m512i b3 = rev512(ctr);
      ctr = _mm512_add_epi32(ctr, four);
      b0 = _mm512_xor_si512(b0, k[0]);
      b1 = _mm512_xor_si512(b1, k[0]);
      b2 = _mm512_xor_si512(b2, k[0]);
      b3 = _mm512_xor_si512(b3, k[0]);
      for (int r = 1; r < 14; r++) {
        b0 = _mm512_aesenc_epi128(b0, k[r]);
        b1 = _mm512_aesenc_epi128(b1, k[r]);
        b2 = _mm512_aesenc_epi128(b2, k[r]);
        b3 = _mm512_aesenc_epi128(b3, k[r]);
      }
      b0 = _mm512_aesenclast_epi128(b0, k[14]);
      b1 = _mm512_aesenclast_epi128(b1, k[14]);
      b2 = _mm512_aesenclast_epi128(b2, k[14]);
      b3 = _mm512_aesenclast_epi128(b3, k[14]);
      /* All input is loaded before any output is stored: in == out works. */
      const __m512i x0 = _mm512_loadu_si512(in), x1 = _mm512_loadu_si512(in + 64);
      const __m512i x2 = _mm512_loadu_si512(in + 128), x3 = _mm512_loadu_si512(in + 192);
      const __m512i y0 = _mm512_xor_si512(x0, b0), y1 = _mm512_xor_si512(x1, b1);
      const __m512i y2 = _mm512_xor_si512(x2, b2), y3 = _mm512_xor_si512(x3, b3);
      _mm512_storeu_si512(out, y0);
      _mm512_storeu_si512(out + 64, y1);
      _mm512_storeu_si512(out + 128, y2);
      _mm512_storeu_si512(out + 192, y3);
      /* GHASH of the 16 ciphertext blocks: (acc + C1)H^16 + C2 H^15 + ... + C16 H. */
      __m512i g0 = rev512(c->enc ? y0 : x0), g1 = rev512(c->enc ? y1 : x1);
      __m512i g2 = rev512(c->enc ? y2 : x2), g3 = rev512(c->enc ? y3 : x3);
      g0 = _mm512_xor_si512(g0, _mm512_inserti32x4(_mm512_setzero_si512(), acc, 0));
      __m512i lo = _mm512_clmulepi64_epi128(g0, p0, 0x00);
      __m512i hi = _mm512_clmulepi64_epi128(g0, p0, 0x11);
      __m512i mid = _mm512_xor_si512(_mm512_clmulepi64_epi128(g0, p0, 0x10), _mm512_clmulepi64_epi128(g0, p0, 0x01));
      lo = _mm512_xor_si512(lo, _mm512_clmulepi64_epi128(g1, p1, 0x00));
      hi = _mm512_xor_si512(hi, _mm512_clmulepi64_epi128(g1, p1, 0x11));
      mid = _mm512_ternarylogic_epi64(mid, _mm512_clmulepi64_epi128(g1, p1, 0x10), _mm512_clmulepi64_epi128(g1, p1, 0x01), 0x96);
      lo = _mm512_xor_si512(lo, _mm512_clmulepi64_epi128(g2, p2, 0x00));
      hi = _mm512_xor_si512(hi, _mm512_clmulepi64_epi128(g2, p2, 0x11));
      mid = _mm512_ternarylogic_epi64(mid, _mm512_clmulepi64_epi128(g2, p2, 0x10), _mm512_clmulepi64_epi128(g2, p2, 0x01), 0x96);
      lo = _mm512_xor_si512(lo, _mm512_clmulepi64_epi128(g3, p3, 0x00));
      hi = _mm512_xor_si512(hi, _mm512_clmulepi64_epi128(g3, p3, 0x11));
      mid = _mm512_ternarylogic_epi64(mid, _mm512_clmulepi64_epi128(g3, p3, 0x10), _mm512_clmulepi64_epi128(g3, p3, 0x01), 0x96);
      const __m128i m = fold4(mid);
      acc = reduce(_mm_xor_si128(fold4(lo), _mm_slli_si128(m, 8)), _mm_xor_si128(fold4(hi), _mm_srli_si128(m, 8)));
      in += 256;
      out += 256;
      len -= 256;
      c->ctr += 16;
    }
  }

  while (len >= 16) {
    const __m128i x = ld(in);
    const __m128i y = _mm_xor_si128(x, aes_block(rk, rev(ctr_rev(c->iv, c->ctr++))));
    st(out, y);
    acc = ghash1(acc, c->enc ? y : x, h1);
    in += 16;
    out += 16;
    len -= 16;
  }

  if (len) {
    st(c->ks, aes_block(rk, rev(ctr_rev(c->iv, c->ctr++))));
    for (size_t i = 0; i < len; i++) {
      const uint8_t y = (uint8_t) (in[i] ^ c->ks[i]);
      c->part[i] = c->enc ? y : in[i];
      out[i] = y;
    }
    c->used = (unsigned) len;
  }
  st(c->acc, acc);
}

GCM_TARGET void gcm_fast_tag(gcm_fast_ctx *c, uint8_t tag[16]) {
  const __m128i h1 = ld(c->hpow[15]);
  __m128i acc = ld(c->acc);
  if (c->used) {
    memset(c->part + c->used, 0, 16 - c->used);
    acc = ghash1(acc, ld(c->part), h1);
    c->used = 0;
  }
  /* The length block: no additional data, then the ciphertext's length in bits, big-endian. */
  uint8_t lens[16] = { 0 };
  const uint64_t bits = c->total * 8;
  for (int i = 0; i < 8; i++) lens[8 + i] = (uint8_t) (bits >> (56 - 8 * i));
  acc = ghash1(acc, ld(lens), h1);
  st(tag, _mm_xor_si128(rev(acc), ld(c->ej0)));
}

#else

int gcm_fast_supported(void) {
  return 0;
}

void gcm_fast_init(gcm_fast_ctx *c, const uint8_t key[32], const uint8_t iv[12], int enc) {
  (void) c; (void) key; (void) iv; (void) enc;
}

void gcm_fast_update(gcm_fast_ctx *c, const uint8_t *in, size_t len, uint8_t *out) {
  (void) c; (void) in; (void) len; (void) out;
}

void gcm_fast_tag(gcm_fast_ctx *c, uint8_t tag[16]) {
  (void) c;
  memset(tag, 0, 16);
}

#endif
