#include "crypto.h"

#include <pthread.h>
#include <stdlib.h>

static const EVP_CIPHER *aes_256_gcm;
static const EVP_MD *sha256, *md5;
static pthread_key_t thread_key;

typedef struct {
  EVP_CIPHER_CTX *cipher;
  EVP_MD_CTX *sha256;
} thread_contexts;

static void thread_contexts_free(void *p) {
  thread_contexts *t = p;
  EVP_CIPHER_CTX_free(t->cipher);
  EVP_MD_CTX_free(t->sha256);
  free(t);
}

const char *crypto_init(void) {
#if defined(OPENSSL_VERSION_MAJOR) && OPENSSL_VERSION_MAJOR >= 3
  /* Kept for the life of the process, as Node keeps its own. */
  aes_256_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
  sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
  md5 = EVP_MD_fetch(NULL, "MD5", NULL);
#else
  aes_256_gcm = EVP_aes_256_gcm();
  sha256 = EVP_sha256();
  md5 = EVP_md5();
#endif
  if (!aes_256_gcm || !sha256 || !md5) return "OpenSSL has no AES-256-GCM, SHA-256 or MD5";
  if (pthread_key_create(&thread_key, thread_contexts_free) != 0) return "pthread_key_create failed";
  return NULL;
}

const EVP_CIPHER *crypto_aes_256_gcm(void) {
  return aes_256_gcm;
}

const EVP_MD *crypto_md5(void) {
  return md5;
}

static thread_contexts *contexts(void) {
  thread_contexts *t = pthread_getspecific(thread_key);
  if (t) return t;
  t = calloc(1, sizeof(*t));
  if (!t) return NULL;
  t->cipher = EVP_CIPHER_CTX_new();
  t->sha256 = EVP_MD_CTX_new();
  if (!t->cipher || !t->sha256 || pthread_setspecific(thread_key, t) != 0) {
    thread_contexts_free(t);
    return NULL;
  }
  return t;
}

EVP_CIPHER_CTX *crypto_thread_cipher(void) {
  thread_contexts *t = contexts();
  return t ? t->cipher : NULL;
}

EVP_MD_CTX *crypto_thread_sha256(void) {
  thread_contexts *t = contexts();
  return t ? t->sha256 : NULL;
}

const char *crypto_sha256(const uint8_t *buf, size_t len, uint8_t *out) {
  EVP_MD_CTX *ctx = crypto_thread_sha256();
  unsigned int n = 0;
  if (!ctx) return "out of memory";
  if (CRYPTO_DIGEST_INIT(ctx, sha256) != 1 || EVP_DigestUpdate(ctx, buf, len) != 1 || EVP_DigestFinal_ex(ctx, out, &n) != 1 ||
      n != 32) {
    return "SHA-256 failed";
  }
  return NULL;
}
