#include "rs_matrix.h"

#include <assert.h>
#include <string.h>

/* GF(2^4) with p = 19 and the Cauchy offsets x = 0, y = 10: ronomon's PARAMETERS[9][5]. */
#define GF_W 4
#define GF_P 19
#define CAUCHY_X 0
#define CAUCHY_Y 10
#define EXPECTED_ONES 426

static int gf_log[16];
static int gf_exp[16];
static int gf_bits[16];
/* Generator rows over the 40 data packets: rows 0..39 identity, 40..63 parity. */
static uint64_t generator[RS_N * RS_W];

static int gf_mul(int a, int b) {
  if (a == 0 || b == 0) return 0;
  return gf_exp[(gf_log[a] + gf_log[b]) % 15];
}

static int gf_div(int a, int b) {
  assert(b != 0);
  if (a == 0) return 0;
  return gf_exp[(gf_log[a] + 15 - gf_log[b]) % 15];
}

/* Ones in the w x w bit matrix of multiplication by n (ronomon's create_tables_bits). */
static int bits_of(int n) {
  int count = 0;
  for (int r = 0; r < GF_W; r++) {
    for (int c = 0; c < GF_W; c++) count += (n >> c) & 1;
    n = gf_mul(n, 2);
  }
  return count;
}

static void build_tables(void) {
  for (int a = 0; a < 16; a++) { gf_log[a] = 15; gf_exp[a] = 0; }
  int b = 1;
  for (int a = 0; a < 15; a++) {
    gf_log[b] = a;
    gf_exp[a] = b;
    b <<= 1;
    if (b & 16) b = (b ^ GF_P) & 15;
  }
  for (int n = 0; n < 16; n++) gf_bits[n] = bits_of(n);
}

/* ronomon's create_matrix for m > 2, step for step: the choice of column divisor depends
 * on exact tie-breaking, so it is copied rather than re-derived. */
static void build_matrix(int matrix[RS_M][RS_K]) {
  for (int r = 0; r < RS_M; r++)
    for (int c = 0; c < RS_K; c++) matrix[r][c] = gf_div(1, (CAUCHY_Y + r) ^ (CAUCHY_X + c));
  for (int r = 1; r < RS_M; r++)
    for (int c = 0; c < RS_K; c++) matrix[r][c] = gf_div(matrix[r][c], matrix[0][c]);
  for (int c = 0; c < RS_K; c++) matrix[0][c] = gf_div(matrix[0][c], matrix[0][c]);
  for (int r = 1; r < RS_M; r++) {
    int result = 0;
    int column = -1;
    for (int c = 0; c < RS_K; c++) result += gf_bits[matrix[r][c]];
    for (int c = 0; c < RS_K; c++) {
      int bits = 0;
      for (int d = 0; d < RS_K; d++) bits += gf_bits[gf_div(matrix[r][d], matrix[r][c])];
      if (bits < result) {
        result = bits;
        column = matrix[r][c];
      }
    }
    if (column >= 0)
      for (int c = 0; c < RS_K; c++) matrix[r][c] = gf_div(matrix[r][c], column);
  }
}

int rs_matrix_init(void) {
  build_tables();
  int matrix[RS_M][RS_K];
  build_matrix(matrix);
  int ones = 0;
  for (int i = 0; i < RS_K * RS_W; i++) generator[i] = (uint64_t) 1 << i;
  for (int r = 0; r < RS_M; r++) {
    for (int t = 0; t < RS_W; t++) {
      uint64_t row = 0;
      for (int c = 0; c < RS_K; c++) {
        int x = matrix[r][c];
        /* Column a of the block of symbol x is x * 2^a; bit t of it feeds target packet t. */
        for (int a = 0; a < RS_W; a++) {
          if ((x >> t) & 1) row |= (uint64_t) 1 << (c * RS_W + a);
          x = gf_mul(x, 2);
        }
      }
      generator[(RS_K + r) * RS_W + t] = row;
      ones += __builtin_popcountll(row);
    }
  }
  return ones;
}

/* Invert a 40 x 40 matrix over GF(2) (rows as bit masks); returns -1 if singular. */
static int invert(uint64_t a[RS_IN], uint64_t inv[RS_IN]) {
  for (int i = 0; i < RS_IN; i++) inv[i] = (uint64_t) 1 << i;
  for (int c = 0; c < RS_IN; c++) {
    int p = c;
    while (p < RS_IN && !((a[p] >> c) & 1)) p++;
    if (p == RS_IN) return -1;
    if (p != c) {
      uint64_t t = a[p]; a[p] = a[c]; a[c] = t;
      t = inv[p]; inv[p] = inv[c]; inv[c] = t;
    }
    for (int r = 0; r < RS_IN; r++) {
      if (r != c && ((a[r] >> c) & 1)) {
        a[r] ^= a[c];
        inv[r] ^= inv[c];
      }
    }
  }
  return 0;
}

int rs_program_build(uint32_t sources, uint32_t targets, rs_program *out) {
  memset(out, 0, sizeof(*out));
  int s = 0;
  for (int i = 0; i < RS_N && s < RS_K; i++)
    if ((sources >> i) & 1) out->src_piece[s++] = (uint8_t) i;
  if (s < RS_K) return -1;
  /* Source packet values = A * data packets; so data = A^-1 * sources. */
  uint64_t a[RS_IN];
  uint64_t inv[RS_IN];
  for (int i = 0; i < RS_K; i++)
    for (int t = 0; t < RS_W; t++) a[i * RS_W + t] = generator[out->src_piece[i] * RS_W + t];
  if (invert(a, inv) != 0) return -1;
  int o = 0;
  for (int piece = 0; piece < RS_N; piece++) {
    if (!((targets >> piece) & 1)) continue;
    for (int t = 0; t < RS_W; t++) {
      assert(o < RS_OUT);
      uint64_t g = generator[piece * RS_W + t];
      uint64_t row = 0;
      for (int j = 0; j < RS_IN; j++)
        if ((g >> j) & 1) row ^= inv[j];
      if (row == 0) return -1;
      out->out_piece[o] = (uint8_t) piece;
      out->out_packet[o] = (uint8_t) t;
      int n = 0;
      for (int j = 0; j < RS_IN; j++)
        if ((row >> j) & 1) out->idx[o][n++] = (uint8_t) j;
      out->count[o] = (uint8_t) n;
      o++;
    }
  }
  out->n_out = o;
  return 0;
}

uint32_t rs_chunk_size(uint32_t piece_size) {
  /* ronomon's dot_chunk_size: packets shrink until (1 + K*W) packets fit in 1 MiB.
   * It changes the parity bytes, so it is part of the on-disk format. */
  uint32_t chunk = piece_size / RS_W;
  while (chunk > 64 && chunk % 2 == 0 && (uint64_t) (1 + RS_K * RS_W) * chunk > 1048576) chunk /= 2;
  return chunk;
}
