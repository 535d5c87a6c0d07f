// Count sketch with the hash families of FetchSGD's csvec (Rothchild et al.,
// ICML 2020, arXiv 2007.07682; nikitaivkin/csh csvec.py): a table T of
// rows x cols; row r hashes coordinate i to bucket
//   h_r(i) = ((a_r i + b_r) mod P) mod cols             (2-wise independent)
// with sign s_r(i) = 2 (((c3 i^3 + c2 i^2 + c1 i + c0) mod P) mod 2) - 1 (4-wise),
// P = 2^61 - 1. Coefficients come from the run's shared stream, so every
// client and the server hash identically in every round. The sketch is
// linear: tables of different clients merge by weighted addition.
// Immutable after construction; methods are const and thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "algorithms/transforms/compressor.h"

namespace shoal::compress {

class CountSketchHash {
 public:
  // REQUIRES rows >= 1, cols >= 1.
  CountSketchHash(int rows, int64_t cols, uint64_t run_seed);
  int rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t table_size() const { return int64_t{rows_} * cols_; }
  int64_t Bucket(int r, uint64_t i) const;
  float Sign(int r, uint64_t i) const;
  // table += sketch of x (table has rows*cols entries, row-major).
  void Accumulate(std::span<const float> x, std::span<float> table) const;
  // out[i] = median_r s_r(i) table[r, h_r(i)] for i < out.size().
  void Estimate(std::span<const float> table, std::span<float> out) const;

 private:
  int rows_;
  int64_t cols_;
  std::vector<uint64_t> coef_;  // per row: a, b, c0, c1, c2, c3
};

// client.pipeline entry "fetchsgd": {rows: 5, cols: 50000}. Uploads the
// count sketch of the update (method 4, rows*cols f32); the decoded update's
// `delta` is that table, for the fetchsgd strategy to merge (algorithms/fetchsgd.h).
Result<std::shared_ptr<const UpdateTransform>> MakeFetchSgdSketch(const ConfigNode& n);

}  // namespace shoal::compress
