#include "segment.h"

#include <string.h>

#include "crc.h"
#include "crypto.h"
#include "gcm.h"
#include "rs.h"
#include "sha256_lanes.h"

/* Plaintext bytes hashed (MD5) then encrypted at a time: GCM reads what MD5 just left in L1. */
#define MD5_STEP (16 * 1024)

/* codec/layout.ts segmentNonce: 4 zero bytes, then the index as a big-endian uint64. */
void segment_nonce(uint64_t index, uint8_t nonce[12]) {
  memset(nonce, 0, 4);
  for (int i = 0; i < 8; i++) nonce[4 + i] = (uint8_t) (index >> (56 - 8 * i));
}

/* Encrypt, and advance the object's MD5 over the same plaintext when asked. */
static const char *encrypt_span(seg_gcm *ctx, const segment_job *job, const uint8_t *in, size_t len, uint8_t *out) {
  if (!job->md5 && !job->md5x) return seg_gcm_update(ctx, in, len, out);
  while (len > 0) {
    const size_t n = len < MD5_STEP ? len : MD5_STEP;
    if (job->md5x) md5x_update(job->md5x, in, n);
    else if (EVP_DigestUpdate(job->md5, in, n) != 1) return "MD5 update failed";
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
  else seg_gcm_discard(&ctx);
  return err;
}

_Static_assert(RS_N % SHA256_LANES == 0, "a segment's pieces make whole groups of lanes");

/* Whether piece hashes are taken SHA256_LANES at a time (sha256_lanes.c) or one by one. */
static int lanes_on = 0;

void segment_init_hashing(void) {
  lanes_on = sha256_lanes_supported();
}

void segment_set_lanes(int on) {
  lanes_on = on && sha256_lanes_supported();
}

int segment_lanes(void) {
  return lanes_on > 0;
}

static uint8_t *piece_at(const segment_job *job, int i) {
  return i < RS_K ? job->data + (size_t) i * job->piece_size : job->parity + (size_t) (i - RS_K) * job->piece_size;
}

/*
 * The CRC of piece i, and its SHA-256 when asked: at once, one by one, or, with SHA-NI, for
 * SHA256_LANES pieces together once the last of them is sealed (`*hashed` pieces are done).
 * All pieces of a segment have one length, and a group is still in cache when hashed.
 */
static const char *seal_piece(const segment_job *job, int i, int *hashed) {
  const uint8_t *piece = piece_at(job, i);
  uint32_t crc = crc32_piece(piece, job->piece_size);
  memcpy(job->crc_out + 4 * i, &crc, 4);
  if (!job->hash_out) return NULL;
  if (!lanes_on) return crypto_sha256(piece, job->piece_size, job->hash_out + SEGMENT_HASH_BYTES * i);
  while (*hashed + SHA256_LANES <= i + 1) {
    const uint8_t *in[SHA256_LANES];
    uint8_t *out[SHA256_LANES];
    for (int l = 0; l < SHA256_LANES; l++) {
      in[l] = piece_at(job, *hashed + l);
      out[l] = job->hash_out + SEGMENT_HASH_BYTES * (*hashed + l);
    }
    sha256_lanes(in, job->piece_size, out);
    *hashed += SHA256_LANES;
  }
  return NULL;
}

const char *segment_encode(const segment_job *job, xor_kernel_fn kernel) {
  const size_t p = job->piece_size;
  const size_t len = job->plain_len;
  seg_gcm ctx;
  uint8_t nonce[12];
  segment_nonce(job->index, nonce);
  const char *err = seg_gcm_start(&ctx, job->key, nonce, 1);
  /* Encrypt piece by piece and checksum each piece while it is still in cache. */
  int i = 0, hashed = 0;
  for (; !err && i < RS_K && (size_t) (i + 1) * p <= len; i++) {
    err = encrypt_span(&ctx, job, job->plain + i * p, p, job->data + i * p);
    if (!err) err = seal_piece(job, i, &hashed);
  }
  if (!err) err = encrypt_span(&ctx, job, job->plain + i * p, len - i * p, job->data + i * p);
  if (!err) err = seg_gcm_tag(&ctx, job->data + len);
  else seg_gcm_discard(&ctx);
  if (err) return err;
  memset(job->data + len + SEGMENT_TAG_BYTES, 0, RS_K * p - len - SEGMENT_TAG_BYTES);
  for (; i < RS_K; i++) {
    err = seal_piece(job, i, &hashed);
    if (err) return err;
  }
  rs_run(rs_encode_program(), kernel, job->data, job->parity, job->piece_size);
  for (int j = 0; j < RS_M; j++) {
    err = seal_piece(job, RS_K + j, &hashed);
    if (err) return err;
  }
  return NULL;
}
