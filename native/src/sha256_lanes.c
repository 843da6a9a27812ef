#include "sha256_lanes.h"

#include <string.h>

#include "xor_kernels.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define SHA_TARGET __attribute__((target("sha,sse4.1,ssse3")))

int sha256_lanes_supported(void) {
  return cpu_has_sha_ni();
}

static const uint32_t K256[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static const uint32_t H0[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };

#define L SHA256_LANES

/*
 * One 64-byte block of each lane. The state is kept as SHA256RNDS2 wants it: ABEF and CDGH.
 * Message words in groups of four: W[4g..4g+3] = msg2(msg1(W[g-4], W[g-3]) + W[4g-7..4g-4], W[g-1]).
 * The lanes' instructions are interleaved group by group, so their chains overlap.
 */
SHA_TARGET static inline void blocks(__m128i abef[L], __m128i cdgh[L], const uint8_t *const blk[L]) {
  const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  __m128i m[L][4], save0[L], save1[L];
  for (int l = 0; l < L; l++) {
    save0[l] = abef[l];
    save1[l] = cdgh[l];
  }
  for (int g = 0; g < 16; g++) {
    const __m128i k = _mm_loadu_si128((const __m128i *) &K256[4 * g]);
    for (int l = 0; l < L; l++) {
      __m128i w;
      if (g < 4) {
        w = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *) (blk[l] + 16 * g)), bswap);
      } else {
        const __m128i a = _mm_sha256msg1_epu32(m[l][g & 3], m[l][(g + 1) & 3]);
        const __m128i b = _mm_alignr_epi8(m[l][(g + 3) & 3], m[l][(g + 2) & 3], 4);
        w = _mm_sha256msg2_epu32(_mm_add_epi32(a, b), m[l][(g + 3) & 3]);
      }
      m[l][g & 3] = w;
      const __m128i x = _mm_add_epi32(w, k);
      cdgh[l] = _mm_sha256rnds2_epu32(cdgh[l], abef[l], x);
      abef[l] = _mm_sha256rnds2_epu32(abef[l], cdgh[l], _mm_shuffle_epi32(x, 0x0e));
    }
  }
  for (int l = 0; l < L; l++) {
    abef[l] = _mm_add_epi32(abef[l], save0[l]);
    cdgh[l] = _mm_add_epi32(cdgh[l], save1[l]);
  }
}

SHA_TARGET void sha256_lanes(const uint8_t *const in[L], size_t len, uint8_t *const out[L]) {
  __m128i abef[L], cdgh[L];
  {
    /* a b c d / e f g h as SHA256RNDS2 holds them: ABEF and CDGH. */
    const __m128i abcd = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *) &H0[0]), 0xb1); /* CDAB */
    const __m128i efgh = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *) &H0[4]), 0x1b); /* EFGH */
    for (int l = 0; l < L; l++) {
      abef[l] = _mm_alignr_epi8(abcd, efgh, 8);
      cdgh[l] = _mm_blend_epi16(efgh, abcd, 0xf0);
    }
  }
  const uint8_t *blk[L];
  size_t done = 0;
  for (; done + 64 <= len; done += 64) {
    for (int l = 0; l < L; l++) blk[l] = in[l] + done;
    blocks(abef, cdgh, blk);
  }
  /* The tail, 0x80, zeros, and the length in bits (big-endian): one block or two. */
  uint8_t tail[L][128];
  const size_t rest = len - done;
  const size_t tail_len = rest + 9 <= 64 ? 64 : 128;
  const uint64_t bits = (uint64_t) len * 8;
  for (int l = 0; l < L; l++) {
    memset(tail[l], 0, tail_len);
    if (rest) memcpy(tail[l], in[l] + done, rest);
    tail[l][rest] = 0x80;
    for (int i = 0; i < 8; i++) tail[l][tail_len - 1 - i] = (uint8_t) (bits >> (8 * i));
  }
  for (size_t at = 0; at < tail_len; at += 64) {
    for (int l = 0; l < L; l++) blk[l] = tail[l] + at;
    blocks(abef, cdgh, blk);
  }
  const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  for (int l = 0; l < L; l++) {
    const __m128i feba = _mm_shuffle_epi32(abef[l], 0x1b);
    const __m128i dchg = _mm_shuffle_epi32(cdgh[l], 0xb1);
    const __m128i dcba = _mm_blend_epi16(feba, dchg, 0xf0);
    const __m128i hgfe = _mm_alignr_epi8(dchg, feba, 8);
    /* Words a..d, e..h, each big-endian. */
    _mm_storeu_si128((__m128i *) out[l], _mm_shuffle_epi8(dcba, bswap));
    _mm_storeu_si128((__m128i *) (out[l] + 16), _mm_shuffle_epi8(hgfe, bswap));
  }
}

#else

int sha256_lanes_supported(void) {
  return 0;
}

void sha256_lanes(const uint8_t *const in[SHA256_LANES], size_t len, uint8_t *const out[SHA256_LANES]) {
  (void) in; (void) len; (void) out;
}

#endif
