//===- matmul_pack.h - the packed layout of a matmul's B operand -*- C -*-===//
//
// kiln_uk_matmul_packed_f32 takes its B operand ([K, N] fp32) already packed,
// so that the compiler can pack constant weights once, at compile time, and
// the runtime never repacks them. This header is that layout's definition; it
// is header-only (inline functions, plain C) so that both the compiler and
// the runtime include it.
//
// The layout: N is cut into panels of KILN_UK_MATMUL_PACK_NR columns; panel p
// holds columns [p*NR, p*NR + NR) of all K rows, K-major: element (k, n) of B
// is at
//
//   packed[(n / NR) * K * NR + k * NR + n % NR]
//
// The columns of the last panel past N are zeros. A panel is what the
// micro-kernel streams (a row of NR floats is two 64-byte AVX-512 vectors),
// and since a panel holds every K row, the runtime's K blocking (KC) just
// starts at row pc of each panel: the layout does not depend on the runtime's
// cache blocking or on M. The runtime reads panels with 64-byte vector loads,
// so the buffer should be 64-byte aligned for speed (any alignment works).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_UKERNELS_MATMUL_PACK_H
#define KILN_RUNTIME_UKERNELS_MATMUL_PACK_H

#include <stdint.h>

/// Columns per panel of a packed B. Fixed: packed buffers built with one
/// value are only valid for a runtime built with the same.
#define KILN_UK_MATMUL_PACK_NR 32

/// Number of panels of a packed B with N columns.
static inline int64_t kiln_uk_matmul_packed_panels(int64_t n) {
  return (n + KILN_UK_MATMUL_PACK_NR - 1) / KILN_UK_MATMUL_PACK_NR;
}

/// Number of floats of a packed B of K rows and N columns.
static inline int64_t kiln_uk_matmul_packed_size(int64_t k, int64_t n) {
  return kiln_uk_matmul_packed_panels(n) * k * KILN_UK_MATMUL_PACK_NR;
}

/// Offset in a packed B (K rows) of element (k, n).
static inline int64_t kiln_uk_matmul_packed_offset(int64_t k_size, int64_t k,
                                                   int64_t n) {
  return (n / KILN_UK_MATMUL_PACK_NR) * k_size * KILN_UK_MATMUL_PACK_NR +
         k * KILN_UK_MATMUL_PACK_NR + n % KILN_UK_MATMUL_PACK_NR;
}

/// Packs B ([K, N], element (k, n) at b[k * stride_k + n * stride_n]) into
/// `packed`, which holds kiln_uk_matmul_packed_size(K, N) floats.
static inline void kiln_uk_matmul_pack_b_f32(const float *b, int64_t k_size,
                                             int64_t n_size, int64_t stride_k,
                                             int64_t stride_n, float *packed) {
  const int64_t nr = KILN_UK_MATMUL_PACK_NR;
  int64_t panels = kiln_uk_matmul_packed_panels(n_size);
  for (int64_t p = 0; p < panels; ++p) {
    float *panel = packed + p * k_size * nr;
    int64_t n0 = p * nr;
    for (int64_t k = 0; k < k_size; ++k) {
      for (int64_t j = 0; j < nr; ++j) {
        int64_t n = n0 + j;
        panel[k * nr + j] = n < n_size ? b[k * stride_k + n * stride_n] : 0.0f;
      }
    }
  }
}

#endif // KILN_RUNTIME_UKERNELS_MATMUL_PACK_H
