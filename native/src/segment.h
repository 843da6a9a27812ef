#ifndef SHARDGATE_SEGMENT_H
#define SHARDGATE_SEGMENT_H
#include <stddef.h>
#include <openssl/evp.h>
#include <stdint.h>
#include "md5_lanes.h"
#include "xor_kernels.h"

#define SEGMENT_KEY_BYTES 32
#define SEGMENT_TAG_BYTES 16
#define SEGMENT_HASH_BYTES 32

/* One segment's worth of work, as codec/segment.ts's JsSegmentEncoder does it. */
typedef struct {
  const uint8_t *key;         /* 32 bytes, AES-256-GCM data key */
  uint64_t index;             /* segment index: the nonce */
  const uint8_t *plain;
  size_t plain_len;
  uint8_t *data;              /* K * piece_size, ciphertext || tag || zero padding */
  uint8_t *parity;            /* M * piece_size */
  uint32_t piece_size;
  uint8_t *crc_out;           /* 16 x CRC-32, little-endian host order (a Uint32Array) */
  uint8_t *hash_out;          /* NULL, or 16 x SHA-256 */
  EVP_MD_CTX *md5;            /* NULL, or the object's running MD5, advanced over the plaintext */
  md5x_ctx *md5x;             /* the same in md5_lanes.c's form (at most one of the two) */
} segment_job;

/* codec/layout.ts segmentNonce: the 12-byte GCM nonce of segment `index`. */
void segment_nonce(uint64_t index, uint8_t nonce[12]);

/* Returns NULL, or a static message saying what OpenSSL refused. */
const char *segment_encode(const segment_job *job, xor_kernel_fn kernel);

/* Piece hashes SHA256_LANES at a time with SHA-NI (sha256_lanes.c), or one by one with
 * OpenSSL: picked at load (segment_init_hashing); segment_set_lanes forces it, for tests
 * and benchmarks. The digests are the same. */
void segment_init_hashing(void);
void segment_set_lanes(int on);
int segment_lanes(void);

/* AES-256-GCM of `len` bytes with the segment nonce into out (len + 16 bytes). For tests. */
const char *segment_gcm(const uint8_t *key, uint64_t index, const uint8_t *plain, size_t len, uint8_t *out);

#endif
