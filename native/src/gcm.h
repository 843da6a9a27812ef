#ifndef SHARDGATE_GCM_H
#define SHARDGATE_GCM_H
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "gcm_fast.h"

/*
 * The segment codec's AES-256-GCM (12-byte nonce, no additional data), on one of two
 * kernels giving the same bytes: OpenSSL as Node links it, or gcm_fast.c where the CPU has
 * VAES and VPCLMULQDQ. The fastest supported one is picked at load.
 */
typedef enum { GCM_OPENSSL = 0, GCM_VAES512, GCM_KERNEL_COUNT } gcm_kernel;

extern const char *const gcm_kernel_names[GCM_KERNEL_COUNT];

void gcm_init_kernel(void);
int gcm_kernel_supported(gcm_kernel k);
gcm_kernel gcm_kernel_current(void);
/* Process-wide; for tests and benchmarks. A segment already started keeps its kernel. */
void gcm_kernel_set(gcm_kernel k);

typedef struct {
  EVP_CIPHER_CTX *evp; /* NULL on the fast kernel */
  gcm_fast_ctx fast;
} seg_gcm;

const char *seg_gcm_start(seg_gcm *g, const uint8_t key[32], const uint8_t nonce[12], int enc);
const char *seg_gcm_update(seg_gcm *g, const uint8_t *in, size_t len, uint8_t *out);
/* Encrypting: the tag. */
const char *seg_gcm_tag(seg_gcm *g, uint8_t tag[16]);
/* Decrypting: *ok set to whether `tag` is the ciphertext's (compared in constant time). */
const char *seg_gcm_check(seg_gcm *g, const uint8_t tag[16], int *ok);
/* Abandoned before its tag (an error, too few pieces): wipe the key schedule. */
void seg_gcm_discard(seg_gcm *g);

#endif
