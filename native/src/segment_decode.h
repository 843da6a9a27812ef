#ifndef SHARDGATE_SEGMENT_DECODE_H
#define SHARDGATE_SEGMENT_DECODE_H
#include <stddef.h>
#include <stdint.h>
#include "xor_kernels.h"

/* What a decode found, besides internal failures (those are returned as messages). */
typedef enum {
  DECODE_OK = 0,
  DECODE_TOO_FEW = 1,  /* fewer than K records passed their CRC: `corrupt` says which failed */
  DECODE_AUTH = 2,     /* AES-256-GCM refused the tag: wrong key or damaged ciphertext */
} decode_status;

/* One segment's read side, as codec/segment.ts's verifyRecord + decodeSegment do it. */
typedef struct {
  const uint8_t *key;                /* 32 bytes */
  uint64_t index;                    /* segment index: the nonce */
  const uint8_t *records[RS_N];      /* NULL where missing; else piece_size bytes then CRC-32 BE */
  uint32_t piece_size;
  size_t plain_len;
  uint8_t *out;                      /* RS_K * piece_size bytes; the plaintext lands in [0, plain_len) */
  uint32_t corrupt;                  /* out: mask of records whose CRC failed */
  decode_status status;              /* out */
} decode_job;

/*
 * Verify every record, rebuild missing data pieces into `out`, and decrypt into `out`.
 * Records are only read. Returns NULL, or a static message saying what OpenSSL refused.
 */
const char *segment_decode(decode_job *job, xor_kernel_fn kernel);

#endif
