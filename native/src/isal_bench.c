#define _GNU_SOURCE
#include "isal_bench.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "rs_matrix.h"

typedef void (*gen_fn)(unsigned char *a, int m, int k);
typedef int (*invert_fn)(unsigned char *in, unsigned char *out, const int n);
typedef void (*init_fn)(int k, int rows, unsigned char *a, unsigned char *gftbls);
typedef void (*encode_fn)(int len, int k, int rows, unsigned char *gftbls, unsigned char **data, unsigned char **coding);
typedef unsigned char (*mul_fn)(unsigned char a, unsigned char b);

static struct {
  int tried, ok;
  gen_fn gen;
  invert_fn invert;
  init_fn init;
  encode_fn encode;
  mul_fn mul;
} isal;

int isal_available(void) {
  if (isal.tried) return isal.ok;
  isal.tried = 1;
  /* DEEPBIND: the node binary exports its own gf_mul, which would otherwise win. */
  int flags = RTLD_NOW | RTLD_LOCAL;
#ifdef RTLD_DEEPBIND
  flags |= RTLD_DEEPBIND;
#endif
  void *h = dlopen("libisal.so.2", flags);
  if (!h) h = dlopen("libisal.so", flags);
  if (!h) return 0;
  isal.gen = (gen_fn) dlsym(h, "gf_gen_cauchy1_matrix");
  isal.invert = (invert_fn) dlsym(h, "gf_invert_matrix");
  isal.init = (init_fn) dlsym(h, "ec_init_tables");
  isal.encode = (encode_fn) dlsym(h, "ec_encode_data");
  isal.mul = (mul_fn) dlsym(h, "gf_mul");
  isal.ok = isal.gen && isal.invert && isal.init && isal.encode && isal.mul;
  return isal.ok;
}

int isal_run(uint32_t sources, uint32_t targets, uint8_t *data, uint8_t *parity, uint32_t piece_size) {
  if (!isal_available()) return -1;
  unsigned char a[RS_N * RS_K], b[RS_K * RS_K], inv[RS_K * RS_K], rows[RS_M * RS_K];
  unsigned char tables[32 * RS_K * RS_M];
  unsigned char *src[RS_K], *dst[RS_M];
  uint8_t *pieces[RS_N];
  for (int i = 0; i < RS_K; i++) pieces[i] = data + (size_t) i * piece_size;
  for (int i = 0; i < RS_M; i++) pieces[RS_K + i] = parity + (size_t) i * piece_size;
  isal.gen(a, RS_N, RS_K);
  int s = 0;
  for (int i = 0; i < RS_N && s < RS_K; i++) {
    if (!((sources >> i) & 1)) continue;
    memcpy(b + s * RS_K, a + i * RS_K, RS_K);
    src[s++] = pieces[i];
  }
  if (s < RS_K || isal.invert(b, inv, RS_K) != 0) return -1;
  int n = 0;
  for (int t = 0; t < RS_N && n < RS_M; t++) {
    if (!((targets >> t) & 1)) continue;
    for (int c = 0; c < RS_K; c++) {
      unsigned char v = 0;
      for (int j = 0; j < RS_K; j++) v ^= isal.mul(a[t * RS_K + j], inv[j * RS_K + c]);
      rows[n * RS_K + c] = v;
    }
    dst[n++] = pieces[t];
  }
  isal.init(RS_K, n, rows, tables);
  isal.encode((int) piece_size, RS_K, n, tables, src, dst);
  return 0;
}
