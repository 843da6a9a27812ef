#ifndef SHARDGATE_RS_MATRIX_H
#define SHARDGATE_RS_MATRIX_H
#include <stdint.h>

/*
 * The 10+6 code that @ronomon/reed-solomon writes, reproduced bit for bit: a Cauchy
 * matrix over GF(2^4) (polynomial x^4+x+1) expanded to a 24 x 40 bit matrix. Each piece
 * is cut into blocks of W packets; bit t of a GF(2^4) symbol lives in packet t, so the
 * whole code is XORs of packets (a bit-sliced code: no table multiplies at all).
 */
#define RS_K 10
#define RS_M 6
#define RS_N 16
#define RS_W 4
#define RS_IN (RS_K * RS_W)   /* source packets per block */
#define RS_OUT (RS_M * RS_W)  /* at most this many target packets per block */

/* Which source packets XOR into each target packet of a block. */
typedef struct {
  int n_out;
  uint8_t src_piece[RS_K];      /* the K source pieces, ascending */
  uint8_t out_piece[RS_OUT];    /* target packet o is packet out_packet[o] of piece out_piece[o] */
  uint8_t out_packet[RS_OUT];
  uint8_t count[RS_OUT];        /* number of source packets XORed into target o (>= 1) */
  uint8_t idx[RS_OUT][RS_IN];   /* source packet indices s * RS_W + t */
} rs_program;

/* Build the tables once (not thread-safe; called at module load). Returns the number of
 * ones in the encoding bit matrix (426 for 10+6, as in ronomon's parameter table). */
int rs_matrix_init(void);

/* Program rebuilding `targets` from the first K pieces of `sources` (bit masks over 16).
 * Returns 0, or -1 when the sources do not determine the targets (cannot happen for a
 * valid MDS code with K sources, but checked). */
int rs_program_build(uint32_t sources, uint32_t targets, rs_program *out);

/* Packet size ronomon uses for a piece of `piece_size` bytes (part of the format). */
uint32_t rs_chunk_size(uint32_t piece_size);

#endif
