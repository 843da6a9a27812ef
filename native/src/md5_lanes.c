#include "md5_lanes.h"

#include <string.h>

#include "xor_kernels.h"

/*
 * RFC 1321's 64 steps, written out so that every shift, word and constant is known at compile
 * time: STEP(round, a, b, c, d, word, shift, constant) is a = b + ((a + f(b, c, d) + M[word] +
 * constant) <<< shift), f being round 0-3's F, G, H or I. Each kernel defines STEP.
 */
#define MD5_STEPS(STEP) \
  STEP(0, a, b, c, d, 0, 7, 0xd76aa478u) \
  STEP(0, d, a, b, c, 1, 12, 0xe8c7b756u) \
  STEP(0, c, d, a, b, 2, 17, 0x242070dbu) \
  STEP(0, b, c, d, a, 3, 22, 0xc1bdceeeu) \
  STEP(0, a, b, c, d, 4, 7, 0xf57c0fafu) \
  STEP(0, d, a, b, c, 5, 12, 0x4787c62au) \
  STEP(0, c, d, a, b, 6, 17, 0xa8304613u) \
  STEP(0, b, c, d, a, 7, 22, 0xfd469501u) \
  STEP(0, a, b, c, d, 8, 7, 0x698098d8u) \
  STEP(0, d, a, b, c, 9, 12, 0x8b44f7afu) \
  STEP(0, c, d, a, b, 10, 17, 0xffff5bb1u) \
  STEP(0, b, c, d, a, 11, 22, 0x895cd7beu) \
  STEP(0, a, b, c, d, 12, 7, 0x6b901122u) \
  STEP(0, d, a, b, c, 13, 12, 0xfd987193u) \
  STEP(0, c, d, a, b, 14, 17, 0xa679438eu) \
  STEP(0, b, c, d, a, 15, 22, 0x49b40821u) \
  STEP(1, a, b, c, d, 1, 5, 0xf61e2562u) \
  STEP(1, d, a, b, c, 6, 9, 0xc040b340u) \
  STEP(1, c, d, a, b, 11, 14, 0x265e5a51u) \
  STEP(1, b, c, d, a, 0, 20, 0xe9b6c7aau) \
  STEP(1, a, b, c, d, 5, 5, 0xd62f105du) \
  STEP(1, d, a, b, c, 10, 9, 0x02441453u) \
  STEP(1, c, d, a, b, 15, 14, 0xd8a1e681u) \
  STEP(1, b, c, d, a, 4, 20, 0xe7d3fbc8u) \
  STEP(1, a, b, c, d, 9, 5, 0x21e1cde6u) \
  STEP(1, d, a, b, c, 14, 9, 0xc33707d6u) \
  STEP(1, c, d, a, b, 3, 14, 0xf4d50d87u) \
  STEP(1, b, c, d, a, 8, 20, 0x455a14edu) \
  STEP(1, a, b, c, d, 13, 5, 0xa9e3e905u) \
  STEP(1, d, a, b, c, 2, 9, 0xfcefa3f8u) \
  STEP(1, c, d, a, b, 7, 14, 0x676f02d9u) \
  STEP(1, b, c, d, a, 12, 20, 0x8d2a4c8au) \
  STEP(2, a, b, c, d, 5, 4, 0xfffa3942u) \
  STEP(2, d, a, b, c, 8, 11, 0x8771f681u) \
  STEP(2, c, d, a, b, 11, 16, 0x6d9d6122u) \
  STEP(2, b, c, d, a, 14, 23, 0xfde5380cu) \
  STEP(2, a, b, c, d, 1, 4, 0xa4beea44u) \
  STEP(2, d, a, b, c, 4, 11, 0x4bdecfa9u) \
  STEP(2, c, d, a, b, 7, 16, 0xf6bb4b60u) \
  STEP(2, b, c, d, a, 10, 23, 0xbebfbc70u) \
  STEP(2, a, b, c, d, 13, 4, 0x289b7ec6u) \
  STEP(2, d, a, b, c, 0, 11, 0xeaa127fau) \
  STEP(2, c, d, a, b, 3, 16, 0xd4ef3085u) \
  STEP(2, b, c, d, a, 6, 23, 0x04881d05u) \
  STEP(2, a, b, c, d, 9, 4, 0xd9d4d039u) \
  STEP(2, d, a, b, c, 12, 11, 0xe6db99e5u) \
  STEP(2, c, d, a, b, 15, 16, 0x1fa27cf8u) \
  STEP(2, b, c, d, a, 2, 23, 0xc4ac5665u) \
  STEP(3, a, b, c, d, 0, 6, 0xf4292244u) \
  STEP(3, d, a, b, c, 7, 10, 0x432aff97u) \
  STEP(3, c, d, a, b, 14, 15, 0xab9423a7u) \
  STEP(3, b, c, d, a, 5, 21, 0xfc93a039u) \
  STEP(3, a, b, c, d, 12, 6, 0x655b59c3u) \
  STEP(3, d, a, b, c, 3, 10, 0x8f0ccc92u) \
  STEP(3, c, d, a, b, 10, 15, 0xffeff47du) \
  STEP(3, b, c, d, a, 1, 21, 0x85845dd1u) \
  STEP(3, a, b, c, d, 8, 6, 0x6fa87e4fu) \
  STEP(3, d, a, b, c, 15, 10, 0xfe2ce6e0u) \
  STEP(3, c, d, a, b, 6, 15, 0xa3014314u) \
  STEP(3, b, c, d, a, 13, 21, 0x4e0811a1u) \
  STEP(3, a, b, c, d, 4, 6, 0xf7537e82u) \
  STEP(3, d, a, b, c, 11, 10, 0xbd3af235u) \
  STEP(3, c, d, a, b, 2, 15, 0x2ad7d2bbu) \
  STEP(3, b, c, d, a, 9, 21, 0xeb86d391u)

static inline uint32_t rol(uint32_t x, int s) {
  return (x << s) | (x >> (32 - s));
}

static inline uint32_t load_le32(const uint8_t *p) {
  return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/* The 64 steps over one block, one stream (about 0.74 GB/s here, as OpenSSL's assembly). */
static void block_scalar(uint32_t h[4], const uint8_t *p) {
  uint32_t m[16];
  for (int w = 0; w < 16; w++) m[w] = load_le32(p + 4 * w);
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
  /* G's two halves are disjoint, so its OR is a sum, and the half without b is ready before b. */
#define F_OF(r, x, y, z)                                                                                  \
  ((r) == 0 ? ((((y) ^ (z)) & (x)) ^ (z)) : (r) == 1 ? (((y) & ~(z)) + ((x) & (z))) : (r) == 2 ? ((x) ^ ((y) ^ (z))) \
            : ((y) ^ ((x) | ~(z))))
#define STEP(r, a, b, c, d, w, s, k) (a) = (b) + rol(((a) + m[w] + (k)) + F_OF(r, (b), (c), (d)), (s));
  MD5_STEPS(STEP)
#undef STEP
#undef F_OF
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
}

void md5x_init(md5x_ctx *c) {
  c->h[0] = 0x67452301;
  c->h[1] = 0xefcdab89;
  c->h[2] = 0x98badcfe;
  c->h[3] = 0x10325476;
  c->bytes = 0;
}

/* Bytes of p that complete the context's unfinished block, if it has one; returns how many it took. */
static size_t fill_block(md5x_ctx *c, const uint8_t *p, size_t n) {
  const size_t have = (size_t) (c->bytes & 63);
  if (have == 0) return 0;
  const size_t take = n < 64 - have ? n : 64 - have;
  memcpy(c->buf + have, p, take);
  if (have + take == 64) block_scalar(c->h, c->buf);
  return take;
}

void md5x_update(md5x_ctx *c, const uint8_t *p, size_t n) {
  const size_t took = fill_block(c, p, n);
  c->bytes += n;
  p += took;
  n -= took;
  for (; n >= 64; p += 64, n -= 64) block_scalar(c->h, p);
  if (n) memcpy(c->buf, p, n);
}

void md5x_final(md5x_ctx *c, uint8_t out[16]) {
  const uint64_t bits = c->bytes * 8;
  static const uint8_t pad[64] = { 0x80 };
  const size_t have = (size_t) (c->bytes & 63);
  md5x_update(c, pad, have < 56 ? 56 - have : 120 - have);
  uint8_t len[8];
  for (int i = 0; i < 8; i++) len[i] = (uint8_t) (bits >> (8 * i));
  md5x_update(c, len, 8);
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) out[4 * i + j] = (uint8_t) (c->h[i] >> (8 * j));
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AVX512_TARGET __attribute__((target("avx512f,avx512vl")))
/* F = b ? c : d; G = d ? b : c; H = b ^ c ^ d; I = c ^ (b | ~d): ternary-logic tables over (b, c, d). */
#define TERNARY(r) ((r) == 0 ? 0xca : (r) == 1 ? 0xe4 : (r) == 2 ? 0x96 : 0x39)

int md5_lanes_supported(void) {
  return cpu_has_avx512vl();
}

static const uint8_t ZERO_BLOCK[64];

/*
 * `blocks` blocks of each of the 16 lanes: lane l reads p[l], p[l] + step[l], ... (a step of 0
 * keeps an idle lane on one block; its state is discarded). st holds the lanes' states, 4
 * words each. The block words are transposed into one vector per word (M[w] holds word w of
 * every lane), four stages that each swap one bit of the lane and word indices.
 */
AVX512_TARGET static void lanes_x16(uint32_t st[MD5_LANES][4], const uint8_t *const p[MD5_LANES], const size_t step[MD5_LANES], size_t blocks) {
  const __m512i lane4 = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(4));
  __m512i a = _mm512_i32gather_epi32(lane4, st, 4);
  __m512i b = _mm512_i32gather_epi32(_mm512_add_epi32(lane4, _mm512_set1_epi32(1)), st, 4);
  __m512i c = _mm512_i32gather_epi32(_mm512_add_epi32(lane4, _mm512_set1_epi32(2)), st, 4);
  __m512i d = _mm512_i32gather_epi32(_mm512_add_epi32(lane4, _mm512_set1_epi32(3)), st, 4);
  /* Stage s (half = 8, 4, 2, 1) swaps bit `half` of the lane and word indices between rows i and i | half. */
  static const uint32_t SWAP[8][16] = {
    { 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23 },
    { 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31 },
    { 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27 },
    { 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31 },
    { 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29 },
    { 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31 },
    { 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30 },
    { 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31 },
  };
  __m512i lo[4], hi[4];
  for (int s = 0; s < 4; s++) {
    lo[s] = _mm512_loadu_si512(SWAP[2 * s]);
    hi[s] = _mm512_loadu_si512(SWAP[2 * s + 1]);
  }
  for (size_t blk = 0; blk < blocks; blk++) {
    __m512i m[16], x, y;
    for (int l = 0; l < 16; l++) m[l] = _mm512_loadu_si512(p[l] + blk * step[l]);
    /* Written out, so that the 16 rows stay in registers. */
#define SWAP_ROWS(s, i, j) x = m[i], y = m[j], m[i] = _mm512_permutex2var_epi32(x, lo[s], y), m[j] = _mm512_permutex2var_epi32(x, hi[s], y)
    SWAP_ROWS(0, 0, 8);
    SWAP_ROWS(0, 1, 9);
    SWAP_ROWS(0, 2, 10);
    SWAP_ROWS(0, 3, 11);
    SWAP_ROWS(0, 4, 12);
    SWAP_ROWS(0, 5, 13);
    SWAP_ROWS(0, 6, 14);
    SWAP_ROWS(0, 7, 15);
    SWAP_ROWS(1, 0, 4);
    SWAP_ROWS(1, 1, 5);
    SWAP_ROWS(1, 2, 6);
    SWAP_ROWS(1, 3, 7);
    SWAP_ROWS(1, 8, 12);
    SWAP_ROWS(1, 9, 13);
    SWAP_ROWS(1, 10, 14);
    SWAP_ROWS(1, 11, 15);
    SWAP_ROWS(2, 0, 2);
    SWAP_ROWS(2, 1, 3);
    SWAP_ROWS(2, 4, 6);
    SWAP_ROWS(2, 5, 7);
    SWAP_ROWS(2, 8, 10);
    SWAP_ROWS(2, 9, 11);
    SWAP_ROWS(2, 12, 14);
    SWAP_ROWS(2, 13, 15);
    SWAP_ROWS(3, 0, 1);
    SWAP_ROWS(3, 2, 3);
    SWAP_ROWS(3, 4, 5);
    SWAP_ROWS(3, 6, 7);
    SWAP_ROWS(3, 8, 9);
    SWAP_ROWS(3, 10, 11);
    SWAP_ROWS(3, 12, 13);
    SWAP_ROWS(3, 14, 15);
#undef SWAP_ROWS
    const __m512i a0 = a, b0 = b, c0 = c, d0 = d;
    /* K + M is added off the chain the steps wait on (F, add, rotate, add). */
#define STEP(r, a, b, c, d, w, s, k)                                                                          \
  (a) = _mm512_add_epi32((b), _mm512_rol_epi32(_mm512_add_epi32(_mm512_ternarylogic_epi32((b), (c), (d), TERNARY(r)),                  \
                                                       _mm512_add_epi32((a), _mm512_add_epi32(m[w], _mm512_set1_epi32((int) (k))))), (s)));
    MD5_STEPS(STEP)
#undef STEP
    a = _mm512_add_epi32(a, a0);
    b = _mm512_add_epi32(b, b0);
    c = _mm512_add_epi32(c, c0);
    d = _mm512_add_epi32(d, d0);
  }
  _mm512_i32scatter_epi32(st, lane4, a, 4);
  _mm512_i32scatter_epi32(st, _mm512_add_epi32(lane4, _mm512_set1_epi32(1)), b, 4);
  _mm512_i32scatter_epi32(st, _mm512_add_epi32(lane4, _mm512_set1_epi32(2)), c, 4);
  _mm512_i32scatter_epi32(st, _mm512_add_epi32(lane4, _mm512_set1_epi32(3)), d, 4);
}


/*
 * The same on 8 lanes of 256 bits. With few streams at once it does less work than the 16-lane
 * kernel for the same blocks: on a core that runs 512-bit operations as two 256-bit halves
 * (AMD Zen 4) a block of 16 lanes costs about twice one of 8. m[w] holds words w of lanes 0-7;
 * each lane's block is two rows of 8 words, transposed apart.
 */
AVX512_TARGET static void lanes_x8(uint32_t st[MD5_LANES][4], const uint8_t *const p[MD5_LANES], const size_t step[MD5_LANES], size_t blocks) {
  const __m256i lane4 = _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28);
  __m256i a = _mm256_i32gather_epi32((const int *) st, lane4, 4);
  __m256i b = _mm256_i32gather_epi32((const int *) st, _mm256_add_epi32(lane4, _mm256_set1_epi32(1)), 4);
  __m256i c = _mm256_i32gather_epi32((const int *) st, _mm256_add_epi32(lane4, _mm256_set1_epi32(2)), 4);
  __m256i d = _mm256_i32gather_epi32((const int *) st, _mm256_add_epi32(lane4, _mm256_set1_epi32(3)), 4);
  static const uint32_t SWAP[6][8] = {
    { 0, 1, 2, 3, 8, 9, 10, 11 },
    { 4, 5, 6, 7, 12, 13, 14, 15 },
    { 0, 1, 8, 9, 4, 5, 12, 13 },
    { 2, 3, 10, 11, 6, 7, 14, 15 },
    { 0, 8, 2, 10, 4, 12, 6, 14 },
    { 1, 9, 3, 11, 5, 13, 7, 15 },
  };
  __m256i lo[3], hi[3];
  for (int s = 0; s < 3; s++) {
    lo[s] = _mm256_loadu_si256((const __m256i *) SWAP[2 * s]);
    hi[s] = _mm256_loadu_si256((const __m256i *) SWAP[2 * s + 1]);
  }
  for (size_t blk = 0; blk < blocks; blk++) {
    __m256i m[16], x, y;
    for (int l = 0; l < 8; l++) {
      m[l] = _mm256_loadu_si256((const __m256i *) (p[l] + blk * step[l]));
      m[8 + l] = _mm256_loadu_si256((const __m256i *) (p[l] + blk * step[l] + 32));
    }
#define SWAP_ROWS(s, i, j) x = m[i], y = m[j], m[i] = _mm256_permutex2var_epi32(x, lo[s], y), m[j] = _mm256_permutex2var_epi32(x, hi[s], y)
    SWAP_ROWS(0, 0, 4);
    SWAP_ROWS(0, 1, 5);
    SWAP_ROWS(0, 2, 6);
    SWAP_ROWS(0, 3, 7);
    SWAP_ROWS(1, 0, 2);
    SWAP_ROWS(1, 1, 3);
    SWAP_ROWS(1, 4, 6);
    SWAP_ROWS(1, 5, 7);
    SWAP_ROWS(2, 0, 1);
    SWAP_ROWS(2, 2, 3);
    SWAP_ROWS(2, 4, 5);
    SWAP_ROWS(2, 6, 7);
    SWAP_ROWS(0, 8, 12);
    SWAP_ROWS(0, 9, 13);
    SWAP_ROWS(0, 10, 14);
    SWAP_ROWS(0, 11, 15);
    SWAP_ROWS(1, 8, 10);
    SWAP_ROWS(1, 9, 11);
    SWAP_ROWS(1, 12, 14);
    SWAP_ROWS(1, 13, 15);
    SWAP_ROWS(2, 8, 9);
    SWAP_ROWS(2, 10, 11);
    SWAP_ROWS(2, 12, 13);
    SWAP_ROWS(2, 14, 15);
#undef SWAP_ROWS
    const __m256i a0 = a, b0 = b, c0 = c, d0 = d;
#define STEP(r, a, b, c, d, w, s, k)                                                                          \
  (a) = _mm256_add_epi32((b), _mm256_rol_epi32(_mm256_add_epi32(_mm256_ternarylogic_epi32((b), (c), (d), TERNARY(r)),                  \
                                                       _mm256_add_epi32((a), _mm256_add_epi32(m[w], _mm256_set1_epi32((int) (k))))), (s)));
    MD5_STEPS(STEP)
#undef STEP
    a = _mm256_add_epi32(a, a0);
    b = _mm256_add_epi32(b, b0);
    c = _mm256_add_epi32(c, c0);
    d = _mm256_add_epi32(d, d0);
  }
  _mm256_i32scatter_epi32(st, lane4, a, 4);
  _mm256_i32scatter_epi32(st, _mm256_add_epi32(lane4, _mm256_set1_epi32(1)), b, 4);
  _mm256_i32scatter_epi32(st, _mm256_add_epi32(lane4, _mm256_set1_epi32(2)), c, 4);
  _mm256_i32scatter_epi32(st, _mm256_add_epi32(lane4, _mm256_set1_epi32(3)), d, 4);
}

/* Lanes after the last one in use: the 8-lane kernel runs lanes 0-7 only. */
static int lanes_used(const long job[MD5_LANES]) {
  int last = 0;
  for (int l = 0; l < MD5_LANES; l++) if (job[l] >= 0) last = l + 1;
  return last;
}

/*
 * Whole blocks of n streams (stream i: nb[i] blocks at p[i], chaining state h[i]), 16 lanes
 * at a time: the lanes run together for as many blocks as the shortest has left, then a lane
 * that is done takes the next stream.
 */
static void run_lanes(uint32_t *const h[], const uint8_t *const p[], const size_t nb[], size_t n) {
  uint32_t st[MD5_LANES][4];
  const uint8_t *at[MD5_LANES];
  size_t step[MD5_LANES], left[MD5_LANES];
  long job[MD5_LANES];
  size_t next = 0;
  int active = 0;
  for (int l = 0; l < MD5_LANES; l++) job[l] = -1;
  for (;;) {
    for (int l = 0; l < MD5_LANES; l++) {
      if (job[l] >= 0) continue;
      while (next < n && nb[next] == 0) next++;
      if (next < n) {
        job[l] = (long) next;
        memcpy(st[l], h[next], sizeof(st[l]));
        at[l] = p[next];
        left[l] = nb[next];
        step[l] = 64;
        active++;
        next++;
      } else {
        at[l] = ZERO_BLOCK;
        step[l] = 0;
        left[l] = 0;
      }
    }
    if (active == 0) return;
    size_t run = SIZE_MAX;
    for (int l = 0; l < MD5_LANES; l++) if (job[l] >= 0 && left[l] < run) run = left[l];
    if (lanes_used(job) <= 8) lanes_x8(st, at, step, run);
    else lanes_x16(st, at, step, run);
    for (int l = 0; l < MD5_LANES; l++) {
      if (job[l] < 0) continue;
      at[l] += run * 64;
      left[l] -= run;
      if (left[l] == 0) {
        memcpy(h[job[l]], st[l], sizeof(st[l]));
        job[l] = -1;
        active--;
      }
    }
  }
}

#else

int md5_lanes_supported(void) {
  return 0;
}

static void run_lanes(uint32_t *const h[], const uint8_t *const p[], const size_t nb[], size_t n) {
  (void) h;
  (void) p;
  (void) nb;
  (void) n;
}

#endif

void md5x_update_many(md5x_ctx *const c[], const uint8_t *const p[], const size_t len[], size_t n, int lanes) {
  enum { CHUNK = 64 };
  uint32_t *h[CHUNK];
  const uint8_t *at[CHUNK];
  size_t nb[CHUNK];
  for (size_t base = 0; base < n; base += CHUNK) {
    const size_t k = n - base < CHUNK ? n - base : CHUNK;
    size_t streams = 0;
    for (size_t i = 0; i < k; i++) {
      md5x_ctx *x = c[base + i];
      const size_t took = fill_block(x, p[base + i], len[base + i]);
      h[i] = x->h;
      at[i] = p[base + i] + took;
      nb[i] = (len[base + i] - took) / 64;
      if (nb[i]) streams++;
    }
    if (lanes && streams > 1 && md5_lanes_supported()) {
      run_lanes(h, at, nb, k);
    } else {
      for (size_t i = 0; i < k; i++)
        for (size_t b = 0; b < nb[i]; b++) block_scalar(h[i], at[i] + 64 * b);
    }
    for (size_t i = 0; i < k; i++) {
      md5x_ctx *x = c[base + i];
      const size_t rest = (len[base + i] - (size_t) (at[i] - p[base + i])) - nb[i] * 64;
      if (rest) memcpy(x->buf, at[i] + nb[i] * 64, rest);
      x->bytes += len[base + i];
    }
  }
}
