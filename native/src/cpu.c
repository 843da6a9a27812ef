#include "xor_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#define HAVE_X86 1
#include <cpuid.h>
#endif
#include <stdio.h>
#include <string.h>

/* XCR0 bits the OS must enable before AVX / AVX-512 registers may be used. */
#define XCR0_SSE_AVX 0x6u
#define XCR0_AVX512 0xe0u

typedef struct {
  int sse2, ssse3, sse41, sse42, pclmul, aesni, avx2, avx512f, avx512bw, avx512vl, gfni, vaes, vpclmulqdq, sha, os_avx, os_avx512;
} cpu_info;

static cpu_info detect(void) {
  cpu_info c;
  memset(&c, 0, sizeof(c));
#ifdef HAVE_X86
  unsigned a, b, cx, d;
  if (!__get_cpuid(1, &a, &b, &cx, &d)) return c;
  c.sse2 = (d >> 26) & 1;
  c.ssse3 = (cx >> 9) & 1;
  c.sse41 = (cx >> 19) & 1;
  c.sse42 = (cx >> 20) & 1;
  c.pclmul = (cx >> 1) & 1;
  c.aesni = (cx >> 25) & 1;
  int osxsave = (cx >> 27) & 1;
  if (osxsave) {
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    c.os_avx = (lo & XCR0_SSE_AVX) == XCR0_SSE_AVX;
    c.os_avx512 = c.os_avx && (lo & XCR0_AVX512) == XCR0_AVX512;
  }
  if (__get_cpuid_max(0, NULL) >= 7) {
    __cpuid_count(7, 0, a, b, cx, d);
    c.avx2 = (b >> 5) & 1;
    c.avx512f = (b >> 16) & 1;
    c.avx512bw = (b >> 30) & 1;
    c.avx512vl = (b >> 31) & 1;
    c.sha = (b >> 29) & 1;
    c.gfni = (cx >> 8) & 1;
    c.vaes = (cx >> 9) & 1;
    c.vpclmulqdq = (cx >> 10) & 1;
  }
#endif
  return c;
}

static cpu_info cached;
static int have_cached;

static const cpu_info *info(void) {
  if (!have_cached) {
    cached = detect();
    have_cached = 1;
  }
  return &cached;
}

int kernel_supported(kernel_id id) {
  const cpu_info *c = info();
  switch (id) {
    case KERNEL_SCALAR: return 1;
    case KERNEL_SSE2: return c->sse2;
    case KERNEL_AVX2: return c->avx2 && c->os_avx;
    case KERNEL_AVX512: return c->avx512f && c->avx512bw && c->os_avx512;
    default: return 0;
  }
}

int cpu_has_vpclmulqdq(void) {
  return info()->vpclmulqdq && info()->os_avx512;
}

int cpu_has_vaes_gcm(void) {
  const cpu_info *c = info();
  return c->aesni && c->pclmul && c->ssse3 && c->sse41 && c->vaes && c->vpclmulqdq && c->avx512f && c->avx512bw && c->avx512vl && c->os_avx512;
}

int cpu_has_avx512vl(void) {
  const cpu_info *c = info();
  return c->avx512f && c->avx512vl && c->os_avx512;
}

int cpu_has_sha_ni(void) {
  const cpu_info *c = info();
  return c->sha && c->ssse3 && c->sse41;
}

int cpu_has_pclmul_sse42(void) {
  return info()->pclmul && info()->sse41 && info()->sse42;
}

kernel_id kernel_best(void) {
  for (int id = KERNEL_COUNT - 1; id > 0; id--)
    if (kernel_supported((kernel_id) id)) return (kernel_id) id;
  return KERNEL_SCALAR;
}

const char *cpu_features(void) {
  static char buf[200];
  const cpu_info *c = info();
  buf[0] = 0;
  struct { int on; const char *name; } list[] = {
    { c->sse2, "sse2" }, { c->ssse3, "ssse3" }, { c->sse42, "sse4.2" }, { c->pclmul, "pclmulqdq" }, { c->aesni, "aes" }, { c->avx2 && c->os_avx, "avx2" },
    { c->avx512f && c->os_avx512, "avx512f" }, { c->avx512bw && c->os_avx512, "avx512bw" },
    { c->gfni, "gfni" }, { c->vaes, "vaes" }, { c->vpclmulqdq, "vpclmulqdq" }, { c->sha, "sha" },
  };
  for (size_t i = 0; i < sizeof(list) / sizeof(list[0]); i++) {
    if (!list[i].on) continue;
    if (buf[0]) strncat(buf, ",", sizeof(buf) - strlen(buf) - 1);
    strncat(buf, list[i].name, sizeof(buf) - strlen(buf) - 1);
  }
  return buf;
}
