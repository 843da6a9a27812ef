#ifndef SHARDGATE_SHA256_LANES_H
#define SHARDGATE_SHA256_LANES_H
#include <stddef.h>
#include <stdint.h>

/*
 * SHA-256 of four messages of the same length at once, on the SHA extensions (SHA-NI). One
 * message is a chain of SHA256RNDS2 instructions, each waiting for the last: a core runs
 * several such chains in the time of one, and a segment's 16 pieces, whose hashes are their
 * audit leaves, all have one length. Same digests as OpenSSL: test/native/sha256-lanes.test.ts.
 */

#define SHA256_LANES 4

/* SHA-NI and SSE4.1 present. */
int sha256_lanes_supported(void);

/* out[i] (32 bytes each) = SHA-256 of in[i][0 .. len). */
void sha256_lanes(const uint8_t *const in[SHA256_LANES], size_t len, uint8_t *const out[SHA256_LANES]);

#endif
