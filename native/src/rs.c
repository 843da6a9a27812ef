#include "rs.h"

#include <assert.h>

static rs_program encode_program;
static int encode_ready;

const rs_program *rs_encode_program(void) {
  if (!encode_ready) {
    int rc = rs_program_build((1u << RS_K) - 1, ((1u << RS_N) - 1) & ~((1u << RS_K) - 1), &encode_program);
    assert(rc == 0);
    (void) rc;
    encode_ready = 1;
  }
  return &encode_program;
}

void rs_run(const rs_program *p, xor_kernel_fn kernel, uint8_t *data, uint8_t *parity, uint32_t piece_size) {
  uint8_t *pieces[RS_N];
  for (int i = 0; i < RS_K; i++) pieces[i] = data + (size_t) i * piece_size;
  for (int i = 0; i < RS_M; i++) pieces[RS_K + i] = parity + (size_t) i * piece_size;
  rs_run_pieces(p, kernel, pieces, piece_size);
}

void rs_run_pieces(const rs_program *p, xor_kernel_fn kernel, uint8_t *const pieces[RS_N], uint32_t piece_size) {
  assert(piece_size % 8 == 0 && piece_size > 0);
  const uint32_t chunk = rs_chunk_size(piece_size);
  const uint32_t block = RS_W * chunk;
  assert(piece_size % block == 0);
  const uint8_t *in[RS_IN];
  uint8_t *out[RS_OUT];
  for (uint32_t base = 0; base < piece_size; base += block) {
    for (int s = 0; s < RS_K; s++)
      for (int t = 0; t < RS_W; t++) in[s * RS_W + t] = pieces[p->src_piece[s]] + base + (size_t) t * chunk;
    for (int o = 0; o < p->n_out; o++) out[o] = pieces[p->out_piece[o]] + base + (size_t) p->out_packet[o] * chunk;
    kernel(in, out, p, chunk);
  }
}
