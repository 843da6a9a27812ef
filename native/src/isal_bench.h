#ifndef SHARDGATE_ISAL_BENCH_H
#define SHARDGATE_ISAL_BENCH_H
#include <stdint.h>

/*
 * Intel ISA-L's ec_encode_data, loaded at run time with dlopen, for `npm run bench:codec`
 * only. ISA-L's code (GF(2^8) Cauchy) is not ours: its parity is not comparable, only its
 * speed. The project never needs the library to build, test or run.
 */
int isal_available(void);

/* Rebuild `targets` from the first 10 of `sources` (encode: sources = data, targets = parity). */
int isal_run(uint32_t sources, uint32_t targets, uint8_t *data, uint8_t *parity, uint32_t piece_size);

#endif
