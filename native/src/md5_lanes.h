#ifndef SHARDGATE_MD5_LANES_H
#define SHARDGATE_MD5_LANES_H
#include <stddef.h>
#include <stdint.h>

/*
 * MD5 (the ETag of an object written in one PUT) of many objects at once. MD5 is a chain:
 * each 64-byte block waits for the last, and one object's MD5 runs at about 0.5 GB/s whatever
 * the core. But the objects being written at the same time are independent chains, and
 * AVX-512 runs sixteen of them side by side in about the time of one (md5_update_many). Same
 * digests as OpenSSL: test/native/md5-lanes.test.ts.
 */

#define MD5_LANES 16

/* An object's running MD5: the chaining state, the bytes taken so far and the unfinished block. */
typedef struct {
  uint32_t h[4];
  uint64_t bytes;
  uint8_t buf[64];
} md5x_ctx;

void md5x_init(md5x_ctx *c);
/* One stream, on this core alone. */
void md5x_update(md5x_ctx *c, const uint8_t *p, size_t n);
void md5x_final(md5x_ctx *c, uint8_t out[16]);

/* AVX-512F present (and enabled by the OS). */
int md5_lanes_supported(void);

/*
 * Advance n contexts, context i over len[i] bytes at p[i]. Whole blocks run MD5_LANES streams
 * at a time where md5_lanes_supported(), one by one elsewhere; `lanes` 0 forces the latter.
 * The contexts must be distinct.
 */
void md5x_update_many(md5x_ctx *const c[], const uint8_t *const p[], const size_t len[], size_t n, int lanes);

#endif
