#include "segment.h"

#include <string.h>

#include "crc.h"
#include "crypto.h"
#include "gcm.h"
#include "rs.h"

/* Plaintext bytes hashed (MD5) then encrypted at a time: GCM reads what MD5 just left in L1. */
#define MD5_STEP (16 * 1024)

/* codec/layout.ts segmentNonce: 4 zero bytes, then the index as a big-endian uint64. */
void segment_nonce(uint64_t index, uint8_t nonce[12]) {
  memset(nonce, 0, 4);
  for (int i = 0; i < 8; i++) nonce[4 + i] = (uint8_t) (index >> (56 - 8 * i));
}

/* Encrypt, and advance the object's MD5 over the same plaintext when asked. */
static const char *encrypt_span(seg_gcm *ctx, EVP_MD_CTX *md5, const uint8_t *in, size_t len, uint8_t *out) {
  if (!md5) return seg_gcm_update(ctx, in, len, out);
  while (len > 0) {
    const size_t n = len < MD5_STEP ? len : MD5_STEP;
    if (EVP_DigestUpdate(md5, in, n) != 1) return "MD5 update failed";
    const char *err = seg_gcm_update(ctx, in, n, out);
    if (err) return err;
    in += n;
    out += n;
    len -= n;
  }
  return NULL;
}

const char *segment_gcm(const uint8_t *key, uint64_t index, const uint8_t *plain, size_t len, uint8_t *out) {
  seg_gcm ctx;
  uint8_t nonce[12];
  segment_nonce(index, nonce);
  const char *err = seg_gcm_start(&ctx, key, nonce, 1);
  if (!err) err = seg_gcm_update(&ctx, plain, len, out);
  if (!err) err = seg_gcm_tag(&ctx, out + len);
  return err;
}

static const char *seal_piece(const segment_job *job, int i, const uint8_t *piece) {
  uint32_t crc = crc32_piece(piece, job->piece_size);
  memcpy(job->crc_out + 4 * i, &crc, 4);
  return job->hash_out ? crypto_sha256(piece, job->piece_size, job->hash_out + SEGMENT_HASH_BYTES * i) : NULL;
}

const char *segment_encode(const segment_job *job, xor_kernel_fn kernel) {
  const size_t p = job->piece_size;
  const size_t len = job->plain_len;
  seg_gcm ctx;
  uint8_t nonce[12];
  segment_nonce(job->index, nonce);
  const char *err = seg_gcm_start(&ctx, job->key, nonce, 1);
  /* Encrypt piece by piece and checksum each piece while it is still in cache. */
  int i = 0;
  for (; !err && i < RS_K && (size_t) (i + 1) * p <= len; i++) {
    err = encrypt_span(&ctx, job->md5, job->plain + i * p, p, job->data + i * p);
    if (!err) err = seal_piece(job, i, job->data + i * p);
  }
  if (!err) err = encrypt_span(&ctx, job->md5, job->plain + i * p, len - i * p, job->data + i * p);
  if (!err) err = seg_gcm_tag(&ctx, job->data + len);
  if (err) return err;
  memset(job->data + len + SEGMENT_TAG_BYTES, 0, RS_K * p - len - SEGMENT_TAG_BYTES);
  for (; i < RS_K; i++) {
    err = seal_piece(job, i, job->data + i * p);
    if (err) return err;
  }
  rs_run(rs_encode_program(), kernel, job->data, job->parity, job->piece_size);
  for (int j = 0; j < RS_M; j++) {
    err = seal_piece(job, RS_K + j, job->parity + j * p);
    if (err) return err;
  }
  return NULL;
}
