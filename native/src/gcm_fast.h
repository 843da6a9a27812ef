#ifndef SHARDGATE_GCM_FAST_H
#define SHARDGATE_GCM_FAST_H
#include <stddef.h>
#include <stdint.h>

/*
 * AES-256-GCM with a 12-byte IV and no additional data, the only shape the segment codec
 * uses, on VAES and VPCLMULQDQ (AVX-512): 16 blocks per step, counter mode four blocks to a
 * register and GHASH aggregated over the 16 before one reduction. OpenSSL 3.0, which Node
 * links, runs GCM with 128-bit AES-NI (about 4.5 GB/s a core here); this runs at about 8.
 * Same bytes and tags as OpenSSL: test/native/gcm.test.ts compares every length to a block
 * past two steps and lengths around later ones with node:crypto, and decodes each kernel's
 * segments with the other (which feeds it at piece boundaries of any length). Chosen at run
 * time (gcm_fast_supported); elsewhere the codec uses OpenSSL.
 */

typedef struct {
  /* Round keys, then H^16 .. H^1 (bit-reflected), 16-byte aligned by the compiler. */
  uint8_t rk[15][16];
  uint8_t hpow[16][16];
  uint8_t acc[16];  /* GHASH so far (reflected) */
  uint8_t ej0[16];  /* E(K, J0), XORed into the tag */
  uint8_t iv[12];
  uint32_t ctr;     /* counter of the next keystream block */
  uint8_t ks[16];   /* keystream of a block begun and not finished */
  uint8_t part[16]; /* ciphertext of that block so far */
  unsigned used;    /* bytes of it used; 0: none pending */
  uint64_t total;   /* bytes encrypted or decrypted */
  int enc;
} gcm_fast_ctx;

/* VAES, VPCLMULQDQ, AVX-512 F/BW/VL and AES-NI present and enabled by the OS. */
int gcm_fast_supported(void);

void gcm_fast_init(gcm_fast_ctx *c, const uint8_t key[32], const uint8_t iv[12], int enc);
/* Any lengths, in order; in == out allowed. */
void gcm_fast_update(gcm_fast_ctx *c, const uint8_t *in, size_t len, uint8_t *out);
void gcm_fast_tag(gcm_fast_ctx *c, uint8_t tag[16]);

#endif
