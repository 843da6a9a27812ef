#include "xor_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#define HAVE_X86 1
#include <immintrin.h>
#endif
#include <string.h>

/*
 * The code is bit-sliced (see rs_matrix.h), so every kernel is the same XOR program at a
 * different vector width. Work goes in strips: a strip of each of the 40 source packets is
 * first copied into a contiguous scratch area, then each target packet of the strip is
 * XORed from there. The copy matters: packets sit 2^n bytes apart, so the 40 source lines
 * of one offset all fall in the same L1 set and would evict each other between targets;
 * the scratch area is contiguous and stays in L1, and every source byte is read from
 * memory exactly once whatever the number of targets.
 */
#ifndef STRIP
#define STRIP 512
#endif

const char *const kernel_names[KERNEL_COUNT] = { "scalar", "sse2", "avx2", "avx512" };

static void xor_tail(const uint8_t *const *in, uint8_t *const *out, const rs_program *p, size_t off, size_t len) {
  for (int o = 0; o < p->n_out; o++) {
    const uint8_t *ix = p->idx[o];
    for (size_t j = off; j < len; j++) {
      uint8_t v = in[ix[0]][j];
      for (int t = 1; t < p->count[o]; t++) v ^= in[ix[t]][j];
      out[o][j] = v;
    }
  }
}

static void xor_scalar(const uint8_t *const *in, uint8_t *const *out, const rs_program *p, size_t len) {
  size_t off = 0;
  for (; off + STRIP <= len; off += STRIP) {
    for (int o = 0; o < p->n_out; o++) {
      const uint8_t *ix = p->idx[o];
      for (size_t j = off; j < off + STRIP; j += 8) {
        uint64_t v, w;
        memcpy(&v, in[ix[0]] + j, 8);
        for (int t = 1; t < p->count[o]; t++) {
          memcpy(&w, in[ix[t]] + j, 8);
          v ^= w;
        }
        memcpy(out[o] + j, &v, 8);
      }
    }
  }
  xor_tail(in, out, p, off, len);
}

#ifdef HAVE_X86
__attribute__((target("sse2")))
static void xor_sse2(const uint8_t *const *in, uint8_t *const *out, const rs_program *p, size_t len) {
  _Alignas(64) uint8_t scratch[RS_IN * STRIP];
  size_t off = 0;
  for (; off + STRIP <= len; off += STRIP) {
    for (int i = 0; i < RS_IN; i++)
      for (size_t j = 0; j < STRIP; j += 16)
        _mm_store_si128((__m128i *) (scratch + i * STRIP + j), _mm_loadu_si128((const __m128i *) (in[i] + off + j)));
    for (int o = 0; o < p->n_out; o++) {
      const uint8_t *ix = p->idx[o];
      int n = p->count[o];
      for (size_t j = 0; j < STRIP; j += 64) {
        const uint8_t *s = scratch + ix[0] * STRIP + j;
        __m128i a0 = _mm_loadu_si128((const __m128i *) s), a1 = _mm_loadu_si128((const __m128i *) (s + 16));
        __m128i a2 = _mm_loadu_si128((const __m128i *) (s + 32)), a3 = _mm_loadu_si128((const __m128i *) (s + 48));
        for (int t = 1; t < n; t++) {
          s = scratch + ix[t] * STRIP + j;
          a0 = _mm_xor_si128(a0, _mm_loadu_si128((const __m128i *) s));
          a1 = _mm_xor_si128(a1, _mm_loadu_si128((const __m128i *) (s + 16)));
          a2 = _mm_xor_si128(a2, _mm_loadu_si128((const __m128i *) (s + 32)));
          a3 = _mm_xor_si128(a3, _mm_loadu_si128((const __m128i *) (s + 48)));
        }
        uint8_t *d = out[o] + off + j;
        _mm_storeu_si128((__m128i *) d, a0);
        _mm_storeu_si128((__m128i *) (d + 16), a1);
        _mm_storeu_si128((__m128i *) (d + 32), a2);
        _mm_storeu_si128((__m128i *) (d + 48), a3);
      }
    }
  }
  xor_tail(in, out, p, off, len);
}

__attribute__((target("avx2")))
static void xor_avx2(const uint8_t *const *in, uint8_t *const *out, const rs_program *p, size_t len) {
  _Alignas(64) uint8_t scratch[RS_IN * STRIP];
  size_t off = 0;
  for (; off + STRIP <= len; off += STRIP) {
    for (int i = 0; i < RS_IN; i++)
      for (size_t j = 0; j < STRIP; j += 32)
        _mm256_store_si256((__m256i *) (scratch + i * STRIP + j), _mm256_loadu_si256((const __m256i *) (in[i] + off + j)));
    for (int o = 0; o < p->n_out; o++) {
      const uint8_t *ix = p->idx[o];
      int n = p->count[o];
      for (size_t j = 0; j < STRIP; j += 128) {
        const uint8_t *s = scratch + ix[0] * STRIP + j;
        __m256i a0 = _mm256_loadu_si256((const __m256i *) s), a1 = _mm256_loadu_si256((const __m256i *) (s + 32));
        __m256i a2 = _mm256_loadu_si256((const __m256i *) (s + 64)), a3 = _mm256_loadu_si256((const __m256i *) (s + 96));
        for (int t = 1; t < n; t++) {
          s = scratch + ix[t] * STRIP + j;
          a0 = _mm256_xor_si256(a0, _mm256_loadu_si256((const __m256i *) s));
          a1 = _mm256_xor_si256(a1, _mm256_loadu_si256((const __m256i *) (s + 32)));
          a2 = _mm256_xor_si256(a2, _mm256_loadu_si256((const __m256i *) (s + 64)));
          a3 = _mm256_xor_si256(a3, _mm256_loadu_si256((const __m256i *) (s + 96)));
        }
        uint8_t *d = out[o] + off + j;
        _mm256_storeu_si256((__m256i *) d, a0);
        _mm256_storeu_si256((__m256i *) (d + 32), a1);
        _mm256_storeu_si256((__m256i *) (d + 64), a2);
        _mm256_storeu_si256((__m256i *) (d + 96), a3);
      }
    }
  }
  xor_tail(in, out, p, off, len);
}

/* One target packet over [off, off + 64*V) with V zmm accumulators; vpternlogq folds two
 * sources per instruction. */
#define AVX512_ROW_FROM(src, dst, V)                                                                  \
  do {                                                                                   \
    __m512i acc[V];                                                                      \
    const uint8_t *s = src[ix[0]] + j;                                                   \
    for (int v = 0; v < V; v++) acc[v] = _mm512_loadu_si512(s + 64 * v);                 \
    int t = 1;                                                                           \
    for (; t + 1 < n; t += 2) {                                                          \
      const uint8_t *s1 = src[ix[t]] + j, *s2 = src[ix[t + 1]] + j;                      \
      for (int v = 0; v < V; v++)                                                        \
        acc[v] = _mm512_ternarylogic_epi64(acc[v], _mm512_loadu_si512(s1 + 64 * v),      \
                                           _mm512_loadu_si512(s2 + 64 * v), 0x96);       \
    }                                                                                    \
    if (t < n) {                                                                         \
      const uint8_t *s1 = src[ix[t]] + j;                                                \
      for (int v = 0; v < V; v++) acc[v] = _mm512_xor_si512(acc[v], _mm512_loadu_si512(s1 + 64 * v)); \
    }                                                                                    \
    for (int v = 0; v < V; v++) _mm512_storeu_si512(dst[o] + j + 64 * v, acc[v]);         \
  } while (0)

__attribute__((target("avx512f,avx512bw")))
static void xor_avx512(const uint8_t *const *in, uint8_t *const *out, const rs_program *p, size_t len) {
  _Alignas(64) uint8_t scratch[RS_IN * STRIP];
  const uint8_t *rows[RS_IN];
  uint8_t *dst[RS_OUT];
  for (int i = 0; i < RS_IN; i++) rows[i] = scratch + i * STRIP;
  size_t off = 0;
  for (; off + STRIP <= len; off += STRIP) {
    for (int i = 0; i < RS_IN; i++)
      for (size_t j = 0; j < STRIP; j += 64) _mm512_store_si512(scratch + i * STRIP + j, _mm512_loadu_si512(in[i] + off + j));
    for (int o = 0; o < p->n_out; o++) dst[o] = out[o] + off;
    for (int o = 0; o < p->n_out; o++) {
      const uint8_t *ix = p->idx[o];
      int n = p->count[o];
      for (size_t j = 0; j < STRIP; j += 256) AVX512_ROW_FROM(rows, dst, 4);
    }
  }
  /* Whole vectors, then one masked vector: no scalar loop on sizes that are not a multiple of 64. */
  for (int o = 0; o < p->n_out; o++) {
    const uint8_t *ix = p->idx[o];
    int n = p->count[o];
    size_t j = off;
    for (; j + 64 <= len; j += 64) AVX512_ROW_FROM(in, out, 1);
    if (j < len) {
      __mmask64 m = _cvtu64_mask64(((uint64_t) 1 << (len - j)) - 1);
      __m512i acc = _mm512_maskz_loadu_epi8(m, in[ix[0]] + j);
      for (int t = 1; t < n; t++) acc = _mm512_xor_si512(acc, _mm512_maskz_loadu_epi8(m, in[ix[t]] + j));
      _mm512_mask_storeu_epi8(out[o] + j, m, acc);
    }
  }
}

const xor_kernel_fn kernel_fns[KERNEL_COUNT] = { xor_scalar, xor_sse2, xor_avx2, xor_avx512 };
#else
/* Other architectures: the portable kernel under every name; kernel_supported() says no. */
const xor_kernel_fn kernel_fns[KERNEL_COUNT] = { xor_scalar, xor_scalar, xor_scalar, xor_scalar };
#endif
