#ifndef SHARDGATE_RS_H
#define SHARDGATE_RS_H
#include <stdint.h>
#include "xor_kernels.h"

/* Run `p` over a segment laid out as K contiguous data pieces and M contiguous parity pieces. */
void rs_run(const rs_program *p, xor_kernel_fn kernel, uint8_t *data, uint8_t *parity, uint32_t piece_size);

/* The same over 16 separate piece pointers (only the program's sources and targets are
 * touched; sources are read, never written). Pieces may sit anywhere, at any alignment. */
void rs_run_pieces(const rs_program *p, xor_kernel_fn kernel, uint8_t *const pieces[RS_N], uint32_t piece_size);

/* The program that computes all parity from the data pieces, built once. */
const rs_program *rs_encode_program(void);

#endif
