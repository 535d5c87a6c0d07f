// Backend: the one place where hot math lives.
//
// Every op has a reference implementation in `cpu_ref` (plain loops, the
// oracle of the conformance test); faster backends override what they
// accelerate and answer Supports() honestly. Callers ask Supports() before
// dispatching ops that a backend may lack (e.g. double precision on CUDA).
//
// Pointers are host pointers unless a backend documents otherwise. All
// methods are const and thread-safe: backends hold no mutable state, so one
// instance is shared by every worker. Reductions (Dot, SquaredNorm) use a
// fixed summation order so results do not depend on threads or call history.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace shoal {

enum class Op : int {
  kGemm,
  kIm2Col,
  kCol2Im,
  kSoftmaxXent,
  kAxpy,
  kScale,
  kWeightedAccumulate,
  kDot,
  kSquaredNorm,
  kClipByNorm,
  kGaussianFill,
  kSgdStep,
  kMomentumStep,
  kAdamStep,
  kQuantizeInt8,
  kDequantizeInt8,
  kCountSketchApply,
  kCountSketchUnapply,
  kRandomSketchApply,
  kRandomSketchUnapply,
  kAdam8bitStep,
  kCount
};
inline constexpr std::array<std::string_view, static_cast<int>(Op::kCount)> kOpNames = {
    "gemm", "im2col", "col2im", "softmax_xent", "axpy", "scale", "weighted_accumulate",
    "dot", "squared_norm", "clip_by_norm", "gaussian_fill", "sgd_step", "momentum_step", "adam_step",
    "quantize_int8", "dequantize_int8", "count_sketch_apply", "count_sketch_unapply",
    "random_sketch_apply", "random_sketch_unapply", "adam8bit_step"};
static_assert(kOpNames.size() == static_cast<size_t>(Op::kCount));

enum class DType : int { kF32, kF64 };

// Hyperparameters of one fused Adam/AdamW step (PyTorch form, see
// shared/OPTIMIZERS.md §2): m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
// p -= lr (m/bc1) / (sqrt(v/bc2) + eps); coupled weight decay adds wd*p to g,
// decoupled multiplies p by (1 - lr wd) first. `step` is 1-based.
struct AdamStepParams {
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.0f;
  bool decoupled = false;
  int64_t step = 1;
};

// One 8-bit Adam step (Dettmers et al. 2022; algorithms/optimizers/adam8bit.cc)
// with both moments stored as codes of the dynamic maps (core/dynamic_quant.h)
// scaled per block by absmax.
struct Adam8bitStepParams {
  float step = 1e-3f;   // lr / (1 - beta1^t)
  float rsbc2 = 1.0f;   // 1 / sqrt(1 - beta2^t)
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.0f;  // coupled (L2) decay
  int64_t block = 256;  // entries per absmax block, in [1, 256]
};

// Geometry of a 2-D convolution on one image (NCHW, square stride/padding).
struct ConvGeom {
  int channels = 1, height = 0, width = 0;
  int kernel_h = 1, kernel_w = 1, pad = 0, stride = 1;
  int out_h() const { return (height + 2 * pad - kernel_h) / stride + 1; }
  int out_w() const { return (width + 2 * pad - kernel_w) / stride + 1; }
  int64_t col_rows() const { return int64_t{channels} * kernel_h * kernel_w; }
  int64_t col_cols() const { return int64_t{out_h()} * out_w(); }
};

// A count sketch (Charikar et al. 2002; FetchSGD, Rothchild et al. 2020):
// `rows` hash tables of `cols` buckets, stored row-major as rows x cols floats.
// Coordinate i goes to bucket h_j(i) with sign s_j(i) in row j, both drawn from
// the Philox block at counter (i, j, kCountSketchTag) under `key`
// (see CountSketchSlot in core/backend_rng.h), so every backend and every
// client with the same key uses the same hashes.
struct CountSketchSpec {
  int64_t rows = 1, cols = 1;
  std::array<uint32_t, 2> key{0, 0};
};

// A dense random projection R (rows x d, d = input length) applied without
// materialising R: R_ji = e_ji / sqrt(rows) with e_ji a Rademacher sign
// (bit i%128 of the Philox block at counter (i/128, j, kRademacherTag)) or a
// standard normal (GaussianAt(key, 0, j*d + i)). E[R^T R] = I.
enum class SketchDist : int { kRademacher, kGaussian };
struct RandomSketchSpec {
  int64_t rows = 1;
  SketchDist dist = SketchDist::kRademacher;
  std::array<uint32_t, 2> key{0, 0};
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;
  virtual bool Supports(Op op, DType dtype) const = 0;

  // C = alpha * op(A) * op(B) + beta * C, row-major; op(A) is m x k, op(B) k x n.
  // lda/ldb/ldc are row strides of the stored (untransposed) matrices.
  virtual void Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                    const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                    int64_t ldc) const = 0;
  virtual void Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                    const double* a, int64_t lda, const double* b, int64_t ldb, double beta,
                    double* c, int64_t ldc) const = 0;

  // im2col of one CHW image into a [col_rows x col_cols] row-major matrix whose
  // rows are written with stride `ldc` (>= col_cols), so a batch can be laid out
  // side by side. col2im accumulates (+=) the columns back into the image.
  virtual void Im2Col(const ConvGeom& g, const float* img, float* col, int64_t ldc) const = 0;
  virtual void Im2Col(const ConvGeom& g, const double* img, double* col, int64_t ldc) const = 0;
  virtual void Col2Im(const ConvGeom& g, const float* col, int64_t ldc, float* img) const = 0;
  virtual void Col2Im(const ConvGeom& g, const double* col, int64_t ldc, double* img) const = 0;

  // Mean softmax cross-entropy over `batch` rows of `classes` logits; writes
  // d(mean loss)/d(logits) into grad (may be null) and returns the mean loss.
  // Labels must be in [0, classes). Also counts correct argmax predictions.
  virtual double SoftmaxXent(const float* logits, const int32_t* labels, int64_t batch,
                             int64_t classes, float* grad, int64_t* correct) const = 0;
  virtual double SoftmaxXent(const double* logits, const int32_t* labels, int64_t batch,
                             int64_t classes, double* grad, int64_t* correct) const = 0;

  // y += a * x
  virtual void Axpy(float a, std::span<const float> x, std::span<float> y) const = 0;
  // x *= a
  virtual void Scale(float a, std::span<float> x) const = 0;
  // acc += w * x (aggregation; same math as Axpy, separate op so backends may
  // use a wider accumulator type in the future).
  virtual void WeightedAccumulate(float w, std::span<const float> x, std::span<float> acc) const = 0;
  // Fixed-order reductions in double.
  virtual double Dot(std::span<const float> x, std::span<const float> y) const = 0;
  virtual double SquaredNorm(std::span<const float> x) const = 0;
  // Scales x so that ||x||_2 <= max_norm; returns the norm before clipping.
  virtual double ClipByNorm(std::span<float> x, double max_norm) const = 0;
  // x[i] = mean + stddev * GaussianAt(key, offset, i)  (see core/rng.h).
  virtual void GaussianFill(std::array<uint32_t, 2> key, uint64_t offset, float mean, float stddev,
                            std::span<float> x) const = 0;
  // p -= lr * g
  virtual void SgdStep(float lr, std::span<const float> g, std::span<float> p) const = 0;
  // PyTorch momentum SGD, one pass: d = g + wd p; b = first ? d : mu b + d;
  // p -= lr (nesterov ? d + mu b : b).
  virtual void MomentumStep(float lr, float mu, float wd, bool nesterov, bool first, std::span<const float> g,
                            std::span<float> b, std::span<float> p) const = 0;
  // Fused Adam/AdamW step over p, g, m, v in one pass.
  virtual void AdamStep(const AdamStepParams& h, std::span<const float> g, std::span<float> m, std::span<float> v,
                        std::span<float> p) const = 0;
  // 8-bit Adam over one tensor of n = p.size() entries, block by block
  // (block b: entries [b*block, min((b+1)*block, n))): m = b1 cs[qm] absm +
  // (1-b1) d, v = b2 cu[qv] absv + (1-b2) d^2 with d = g + wd p (cs, cu: the
  // signed and unsigned dynamic maps); p -= step m / (sqrt(v) rsbc2 + eps);
  // absm/absv = the block's max |m| / max v (a max over bit patterns); qm/qv =
  // the nearest codes of m / absm and v / absv (NearestCodeReference; 0 when
  // the absmax is 0), except that a positive v never takes the zero code but
  // the next one. Fresh state (codes of 0, absmax 0) dequantizes to exactly 0.
  // Bit-identical on every CPU backend and target for finite inputs (codes of
  // NaN moments are unspecified); the op is single-threaded.
  // REQUIRES g, qm, qv of size n; absm, absv of size ceil(n / block);
  // 1 <= block <= 256.
  virtual void Adam8bitStep(const Adam8bitStepParams& h, std::span<const float> g, std::span<float> p,
                            std::span<uint8_t> qm, std::span<uint8_t> qv, std::span<float> absm,
                            std::span<float> absv) const = 0;

  // The ops below check their shapes and return InvalidArgument on mismatch;
  // the defaults answer Unimplemented (Supports() is false for them).
  //
  // Int8 block-wise quantisation with stochastic rounding. Block b covers
  // x[b*block, min((b+1)*block, n)); scales[b] = max|x| / 127 over the block
  // (0 for an all-zero block); q[i] = clamp(floor(x[i] * 127 / max|x| + u_i),
  // -127, 127) with u_i uniform noise on a 2^-15 grid from the counter-based
  // hash at position offset + i (exact fixed-point formula: QuantizeValue in
  // core/backend_rng.h), so E[q * scale] = x to 2^-15 of a step.
  // REQUIRES q.size() == x.size(), block > 0,
  // scales.size() == ceil(n / block).
  virtual Status QuantizeInt8(std::span<const float> x, int64_t block, std::array<uint32_t, 2> key,
                              uint64_t offset, std::span<int8_t> q, std::span<float> scales) const;
  // x[i] = q[i] * scales[i / block].
  virtual Status DequantizeInt8(std::span<const int8_t> q, std::span<const float> scales, int64_t block,
                                std::span<float> x) const;
  // table[j][h_j(i)] += s_j(i) * x[i] for every row j (accumulates, so the
  // sketches of several vectors sum; zero the table first for one vector).
  // Per bucket, terms are added in increasing i on the CPU backends.
  // REQUIRES table.size() == rows * cols.
  virtual Status CountSketchApply(const CountSketchSpec& s, std::span<const float> x,
                                  std::span<float> table) const;
  // Median-of-rows estimate x[i] = median_j s_j(i) * table[j][h_j(i)]
  // (mean of the two middle values for an even row count).
  virtual Status CountSketchUnapply(const CountSketchSpec& s, std::span<const float> table,
                                    std::span<float> x) const;
  // y = R x (y.size() == rows); sums in double.
  virtual Status RandomSketchApply(const RandomSketchSpec& s, std::span<const float> x,
                                   std::span<float> y) const;
  // x = R^T y (overwrites x; its length is d); sums in double.
  virtual Status RandomSketchUnapply(const RandomSketchSpec& s, std::span<const float> y,
                                     std::span<float> x) const;
};

// Registered backend names.
std::vector<std::string> BackendNames();
// Returns the named backend: "auto" (= cpu_simd: the CUDA backend, which
// copies host memory per op, is chosen only by name; backend_registry.cc gives
// the measurement), "cpu" (= cpu_simd), "cpu_simd", "cpu_ref", "cuda"
// (an error naming the reason when CUDA is not compiled in or no device).
// Backends are process-lifetime singletons; the pointer is never null on success.
Result<const Backend*> GetBackend(std::string_view name);
// One line per backend: compiled in or not, CPU target, device.
std::string DescribeBackends();

}  // namespace shoal
