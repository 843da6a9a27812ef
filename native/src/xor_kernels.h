#ifndef SHARDGATE_XOR_KERNELS_H
#define SHARDGATE_XOR_KERNELS_H
#include <stddef.h>
#include <stdint.h>
#include "rs_matrix.h"

/* Computes every target packet of one block: out[o] = XOR of in[idx[o][*]], len bytes each. */
typedef void (*xor_kernel_fn)(const uint8_t *const *in, uint8_t *const *out, const rs_program *p, size_t len);

typedef enum { KERNEL_SCALAR = 0, KERNEL_SSE2, KERNEL_AVX2, KERNEL_AVX512, KERNEL_COUNT } kernel_id;

extern const char *const kernel_names[KERNEL_COUNT];
extern const xor_kernel_fn kernel_fns[KERNEL_COUNT];

/* Whether this CPU and OS can run a kernel (AVX state enabled by the OS via XCR0). */
int kernel_supported(kernel_id id);
/* The fastest supported kernel. */
kernel_id kernel_best(void);
/* VPCLMULQDQ (with AVX-512 state enabled): the CRC-32 folding kernel. */
int cpu_has_vpclmulqdq(void);
/* AES-NI, VAES, VPCLMULQDQ and AVX-512 F/BW/VL with AVX-512 state enabled: the fast AES-256-GCM (gcm_fast.c). */
int cpu_has_vaes_gcm(void);
/* The SHA extensions with SSSE3 and SSE4.1: four SHA-256 lanes at once (sha256_lanes.c). */
int cpu_has_sha_ni(void);
/* AVX-512F with its 128- and 256-bit forms (VL), enabled by the OS. */
int cpu_has_avx512vl(void);
/* PCLMULQDQ, SSE4.1 and SSE4.2 (the crc32 instruction): the 128-bit CRC folding kernel. */
int cpu_has_pclmul_sse42(void);
/* CPU features, comma separated, for `shardgate --version`. */
const char *cpu_features(void);

#endif
