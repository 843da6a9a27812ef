#ifndef SHARDGATE_CRYPTO_H
#define SHARDGATE_CRYPTO_H
#include <openssl/evp.h>
#include <openssl/opensslv.h>

/*
 * OpenSSL as Node links it: algorithms looked up once at load, and contexts reused per
 * thread. With OpenSSL 3, initialising a context from EVP_aes_256_gcm() or EVP_sha256()
 * looks the algorithm up in the provider store every time, and a new context is an
 * allocation: together ~1 us per segment and per piece hash, more than the hashing itself
 * for the pieces of a 4 KiB object. A thread's contexts serve one task at a time (a task runs
 * to completion on its thread), so reusing them is safe; they are freed when the thread ends.
 */

/* Call once, on the main thread, at load. NULL or what failed. */
const char *crypto_init(void);

const EVP_CIPHER *crypto_aes_256_gcm(void);
const EVP_MD *crypto_md5(void);

/* This thread's contexts, or NULL when out of memory. Initialise before each use. */
EVP_CIPHER_CTX *crypto_thread_cipher(void);
EVP_MD_CTX *crypto_thread_sha256(void);

#if defined(OPENSSL_VERSION_MAJOR) && OPENSSL_VERSION_MAJOR >= 3
#define CRYPTO_CIPHER_INIT(ctx, cipher, key, iv, enc) EVP_CipherInit_ex2((ctx), (cipher), (key), (iv), (enc), NULL)
#define CRYPTO_DIGEST_INIT(ctx, md) EVP_DigestInit_ex2((ctx), (md), NULL)
#else
#define CRYPTO_CIPHER_INIT(ctx, cipher, key, iv, enc) EVP_CipherInit_ex((ctx), (cipher), NULL, (key), (iv), (enc))
#define CRYPTO_DIGEST_INIT(ctx, md) EVP_DigestInit_ex((ctx), (md), NULL)
#endif

/* SHA-256 of one piece into out (32 bytes), with this thread's context. */
const char *crypto_sha256(const uint8_t *buf, size_t len, uint8_t *out);

#endif
