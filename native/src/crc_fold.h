#ifndef SHARDGATE_CRC_FOLD_H
#define SHARDGATE_CRC_FOLD_H
#include <stddef.h>
#include <stdint.h>

/*
 * Carry-less multiply folding for any reflected CRC of width <= 64 ("Fast CRC Computation
 * for Generic Polynomials Using PCLMULQDQ", Intel, 2009). States here are raw: no initial
 * value and no final XOR (the caller applies both).
 *
 * A 128-bit lane of message bits V = H·x^64 + L (H the first 8 bytes) is moved D bits further
 * into the message as H·(x^(64+D) mod P) + L·(x^D mod P), which has the same remainder and
 * fits in 128 bits. PCLMULQDQ of two bit-reflected operands yields their product times x,
 * so each constant is x^(e-1) mod P, stored with the coefficient of x^d at bit 63 - d:
 * k[0] multiplies H (e = 64 + D) and k[1] multiplies L (e = D).
 */
typedef uint64_t (*crc_raw_fn)(uint64_t state, const uint8_t *buf, size_t len);

typedef struct {
  uint64_t k2048[2]; /* 4 x 512-bit accumulators */
  uint64_t k512[2];  /* one 512-bit lane, or 4 x 128-bit accumulators */
  uint64_t k128[2];  /* one 128-bit lane */
  crc_raw_fn finish; /* runs the folded remainder and the tail */
} crc_fold_spec;

/* Fill the constants of the reflected polynomial `poly` of `width` bits. */
void crc_fold_constants(crc_fold_spec *spec, uint64_t poly, unsigned width);

/* The raw state after `len` bytes: len >= 64 (PCLMULQDQ) or >= 256 (VPCLMULQDQ). */
uint64_t crc_fold_pclmul(const crc_fold_spec *spec, uint64_t state, const uint8_t *buf, size_t len);
uint64_t crc_fold_vpclmul(const crc_fold_spec *spec, uint64_t state, const uint8_t *buf, size_t len);

#define CRC_FOLD_PCLMUL_MIN 64
#define CRC_FOLD_VPCLMUL_MIN 256

#endif
