#include "gcm.h"

#include <openssl/crypto.h>

const char *const gcm_kernel_names[GCM_KERNEL_COUNT] = { "openssl", "vaes512" };

static gcm_kernel current = GCM_OPENSSL;

int gcm_kernel_supported(gcm_kernel k) {
  switch (k) {
    case GCM_OPENSSL: return 1;
    case GCM_VAES512: return gcm_fast_supported();
    default: return 0;
  }
}

void gcm_init_kernel(void) {
  current = gcm_kernel_supported(GCM_VAES512) ? GCM_VAES512 : GCM_OPENSSL;
}

gcm_kernel gcm_kernel_current(void) {
  return current;
}

void gcm_kernel_set(gcm_kernel k) {
  if (gcm_kernel_supported(k)) current = k;
}

const char *seg_gcm_start(seg_gcm *g, const uint8_t key[32], const uint8_t nonce[12], int enc) {
  if (current == GCM_VAES512) {
    g->evp = NULL;
    gcm_fast_init(&g->fast, key, nonce, enc);
    return NULL;
  }
  g->evp = crypto_thread_cipher();
  if (!g->evp) return "out of memory";
  /* The default GCM IV length is 12 bytes, the nonce we use. */
  if (CRYPTO_CIPHER_INIT(g->evp, crypto_aes_256_gcm(), key, nonce, enc) != 1) return "AES-256-GCM init failed";
  return NULL;
}

const char *seg_gcm_update(seg_gcm *g, const uint8_t *in, size_t len, uint8_t *out) {
  if (!g->evp) {
    gcm_fast_update(&g->fast, in, len, out);
    return NULL;
  }
  /* EVP takes int lengths; segments are at most 64 MiB but stay general. */
  while (len > 0) {
    int n = len > (1u << 30) ? (1 << 30) : (int) len;
    int wrote = 0;
    if (EVP_CipherUpdate(g->evp, out, &wrote, in, n) != 1 || wrote != n) return "AES-256-GCM update failed";
    in += n;
    out += n;
    len -= (size_t) n;
  }
  return NULL;
}

const char *seg_gcm_tag(seg_gcm *g, uint8_t tag[16]) {
  if (!g->evp) {
    gcm_fast_tag(&g->fast, tag);
    /* The key schedule lived on this thread's stack: leave none of it behind. */
    OPENSSL_cleanse(&g->fast, sizeof(g->fast));
    return NULL;
  }
  uint8_t spare[32];
  int wrote = 0;
  if (EVP_EncryptFinal_ex(g->evp, spare, &wrote) != 1 || wrote != 0) return "AES-256-GCM final failed";
  if (EVP_CIPHER_CTX_ctrl(g->evp, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1) return "AES-256-GCM tag failed";
  return NULL;
}

const char *seg_gcm_check(seg_gcm *g, const uint8_t tag[16], int *ok) {
  if (!g->evp) {
    uint8_t mine[16];
    gcm_fast_tag(&g->fast, mine);
    *ok = CRYPTO_memcmp(mine, tag, 16) == 0;
    OPENSSL_cleanse(&g->fast, sizeof(g->fast));
    return NULL;
  }
  uint8_t spare[32];
  int wrote = 0;
  if (EVP_CIPHER_CTX_ctrl(g->evp, EVP_CTRL_GCM_SET_TAG, 16, (void *) tag) != 1) return "AES-256-GCM tag failed";
  *ok = EVP_DecryptFinal_ex(g->evp, spare, &wrote) == 1;
  return NULL;
}

void seg_gcm_discard(seg_gcm *g) {
  if (!g->evp) OPENSSL_cleanse(&g->fast, sizeof(g->fast));
}
