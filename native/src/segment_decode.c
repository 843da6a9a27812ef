#include "segment_decode.h"

#include <limits.h>
#include <openssl/evp.h>

#include "crc.h"
#include "crypto.h"
#include "gcm.h"
#include "rs.h"
#include "segment.h"

#define DATA_PIECES ((1u << RS_K) - 1)

static uint32_t read_be32(const uint8_t *p) {
  return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | (uint32_t) p[3];
}

/* The plaintext of data piece i, decrypted from `src` (a record, or piece i's slot in out
 * itself: GCM may work in place). Pieces past the plaintext hold only tag and padding. */
static const char *decrypt_piece(seg_gcm *ctx, const decode_job *job, int i, const uint8_t *src) {
  const size_t start = (size_t) i * job->piece_size;
  if (start >= job->plain_len) return NULL;
  size_t len = job->plain_len - start;
  if (len > job->piece_size) len = job->piece_size;
  return seg_gcm_update(ctx, src, len, job->out + start);
}

/* The 16 tag bytes follow the ciphertext, so they may straddle two pieces. */
static void gather_tag(const decode_job *job, uint8_t *const pieces[RS_N], uint8_t tag[SEGMENT_TAG_BYTES]) {
  for (size_t j = 0; j < SEGMENT_TAG_BYTES; j++) {
    const size_t at = job->plain_len + j;
    tag[j] = pieces[at / job->piece_size][at % job->piece_size];
  }
}

const char *segment_decode(decode_job *job, xor_kernel_fn kernel) {
  const size_t p = job->piece_size;
  if (p > INT_MAX) return "piece too large";
  job->corrupt = 0;
  job->status = DECODE_OK;
  uint8_t nonce[12];
  segment_nonce(job->index, nonce);
  seg_gcm ctx;
  const char *err = seg_gcm_start(&ctx, job->key, nonce, 0);

  /* Check each record and, while the leading data pieces are all good, decrypt each one
   * right after its CRC, while it is still in cache. GCM is sequential, so decryption
   * stops at the first missing data piece and resumes once that piece is rebuilt. */
  uint8_t *pieces[RS_N] = { NULL };
  uint32_t valid = 0;
  int next = 0;
  for (int i = 0; !err && i < RS_N; i++) {
    const uint8_t *rec = job->records[i];
    if (!rec) continue;
    if (crc32_piece(rec, p) != read_be32(rec + p)) {
      job->corrupt |= 1u << i;
      continue;
    }
    valid |= 1u << i;
    pieces[i] = (uint8_t *) rec; /* only ever a source: read, never written */
    if (i == next && i < RS_K) err = decrypt_piece(&ctx, job, next++, rec);
  }
  if (!err && __builtin_popcount(valid) < RS_K) {
    job->status = DECODE_TOO_FEW;
    seg_gcm_discard(&ctx);
    return NULL;
  }

  /* Rebuild missing data pieces straight into their slots in out; parity is never rebuilt. */
  const uint32_t missing = ~valid & DATA_PIECES;
  if (!err && missing) {
    rs_program program;
    for (int i = 0; i < RS_K; i++)
      if ((missing >> i) & 1) pieces[i] = job->out + (size_t) i * p;
    if (rs_program_build(valid, missing, &program) != 0) err = "sources do not determine the missing pieces";
    else rs_run_pieces(&program, kernel, pieces, job->piece_size);
  }

  uint8_t tag[SEGMENT_TAG_BYTES];
  if (!err) gather_tag(job, pieces, tag);
  for (; !err && next < RS_K; next++) err = decrypt_piece(&ctx, job, next, pieces[next]);
  if (!err) {
    int ok = 0;
    err = seg_gcm_check(&ctx, tag, &ok);
    if (!err && !ok) job->status = DECODE_AUTH;
  } else {
    seg_gcm_discard(&ctx);
  }
  return err;
}
