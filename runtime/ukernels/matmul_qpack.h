//===- matmul_qpack.h - the packed layout of quantized weights -*- C -*-===//
//
// kiln.qmatmul's weight operand and kiln_uk_matmul_q{8,4}_f32 share this
// layout: kiln-quantize-weights packs constant weights into it at compile
// time, the artifact stores it as is (so it is 4x / 8x smaller than fp32),
// and the runtime streams it without repacking. Header-only plain C so that
// the compiler, the runtime and the tests include the same definition.
//
// The logical weight is W[k, n] (K rows, N columns; y = x W). N is cut into
// panels of KILN_UK_QMATMUL_NR = 64 columns; panel p holds columns
// [64p, 64p + 64) of all K rows, K-major, so that one k step of a panel is
// one 64-byte line (int8) or half of one (int4), and a decode-sized product
// reads every panel as one sequential stream:
//
//   int8: byte [p][k][j]      = q(k, 64p + j),                 j < 64
//   int4: byte [p][k][j]      = q(k, 64p + j) | q(k, 64p + 32 + j) << 4,
//                                                              j < 32
//
// int8 values are signed (symmetric quantization, no zero point); int4
// values are unsigned nibbles 0..15 with a zero point of 8 unless explicit
// zero points are given. Columns past N in the last panel hold zeros (int8)
// or 8 (int4) and are never stored by the kernels. The dequantized weight is
//
//   W[k, n] = (q(k, n) - z[k / gs, n]) * s[k / gs, n]
//
// with G = K / gs groups of gs consecutive k (G = 1: per output channel).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_UKERNELS_MATMUL_QPACK_H
#define KILN_RUNTIME_UKERNELS_MATMUL_QPACK_H

#include <stdint.h>

/// Columns per panel of a packed quantized weight.
#define KILN_UK_QMATMUL_NR 64

/// Number of panels for N columns.
static inline int64_t kiln_uk_qmatmul_panels(int64_t n) {
  return (n + KILN_UK_QMATMUL_NR - 1) / KILN_UK_QMATMUL_NR;
}

/// Bytes per k step of one panel: 64 (int8) or 32 (int4).
static inline int64_t kiln_uk_qmatmul_panel_width(int bits) {
  return bits == 4 ? KILN_UK_QMATMUL_NR / 2 : KILN_UK_QMATMUL_NR;
}

/// Bytes of a packed weight of K rows and N columns.
static inline int64_t kiln_uk_qmatmul_packed_bytes(int64_t k, int64_t n,
                                                   int bits) {
  return kiln_uk_qmatmul_panels(n) * k * kiln_uk_qmatmul_panel_width(bits);
}

/// q(k, n) of a packed weight (K rows): a signed value for int8, the nibble
/// 0..15 for int4.
static inline int kiln_uk_qmatmul_get(const uint8_t *packed, int64_t k_size,
                                      int bits, int64_t k, int64_t n) {
  int64_t p = n / KILN_UK_QMATMUL_NR, j = n % KILN_UK_QMATMUL_NR;
  int64_t width = kiln_uk_qmatmul_panel_width(bits);
  const uint8_t *row = packed + (p * k_size + k) * width;
  if (bits == 8)
    return (int8_t)row[j];
  return j < 32 ? (row[j] & 15) : (row[j - 32] >> 4);
}

/// Packs the row-major q ([K, N], q[k * N + n]) into `packed`
/// (kiln_uk_qmatmul_packed_bytes bytes). int8: q holds signed values;
/// int4: q holds values 0..15.
static inline void kiln_uk_qmatmul_pack(const int8_t *q, int64_t k_size,
                                        int64_t n_size, int bits,
                                        uint8_t *packed) {
  const int64_t nr = KILN_UK_QMATMUL_NR;
  int64_t width = kiln_uk_qmatmul_panel_width(bits);
  int64_t panels = kiln_uk_qmatmul_panels(n_size);
  for (int64_t p = 0; p < panels; ++p) {
    for (int64_t k = 0; k < k_size; ++k) {
      uint8_t *row = packed + (p * k_size + k) * width;
      const int8_t *src = q + k * n_size;
      for (int64_t j = 0; j < width; ++j) {
        int64_t n = p * nr + j;
        if (bits == 8) {
          row[j] = (uint8_t)(n < n_size ? src[n] : 0);
        } else {
          int lo = n < n_size ? src[n] & 15 : 8;
          int hi = n + 32 < n_size ? src[n + 32] & 15 : 8;
          row[j] = (uint8_t)(lo | hi << 4);
        }
      }
    }
  }
}

#endif // KILN_RUNTIME_UKERNELS_MATMUL_QPACK_H
