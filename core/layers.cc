// The layers of Model<T>: Linear, Conv2d, ReLU, MaxPool2d (stride = kernel)
// and Flatten.
//
// Heavy math (GEMM, im2col, col2im) goes through the Backend; the loops here
// are O(activations) bias, copy and pooling passes. Scratch buffers only grow,
// so once the batch size is stable a training step allocates nothing.
// Initialisation follows PyTorch's defaults: weights and biases are
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn weights first, then biases.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/model.h"
#include "core/dual.h"
#include "core/tensor_ops.h"

namespace shoal {
namespace {

int64_t Product(const std::vector<int>& shape) {
  int64_t n = 1;
  for (int d : shape) n *= d;
  return n;
}

// Grows `v` to at least n elements, never shrinks: steady-state steps reuse it.
template <typename U>
void EnsureSize(std::vector<U>& v, int64_t n) {
  if (v.size() < static_cast<size_t>(n)) v.resize(static_cast<size_t>(n));
}

// Sum in 16 interleaved lanes, combined in a fixed order: vectorisable without
// -ffast-math (a single accumulator would serialise on add latency) and
// independent of anything but n.
template <typename T>
T LaneSum(const T* x, int64_t n) {
  T acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; ++l) acc[l] += x[i + l];
  for (; i < n; ++i) acc[i % 16] += x[i];
  for (int w = 8; w > 0; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  return acc[0];
}

template <typename T>
void FillUniform(std::span<T> p, double bound, RngStream& rng) {
  for (T& v : p) v = static_cast<T>((2.0 * rng.NextDouble() - 1.0) * bound);
}

// y[r, :] = x[r, :] W^T + b, with W [out, in] as in PyTorch.
template <typename T>
class Linear final : public Layer<T> {
 public:
  Linear(int in, int out) : in_(in), out_(out) { SHOAL_CHECK(in > 0 && out > 0); }
  std::string kind() const override { return "linear"; }
  // Any input shape with in_ elements: rows are flat, so no Flatten is needed.
  std::vector<int> OutputShape(const std::vector<int>& in) const override {
    SHOAL_CHECK(Product(in) == in_);
    return {out_};
  }
  std::vector<std::pair<std::string, std::vector<int64_t>>> ParamShapes() const override {
    return {{"weight", {out_, in_}}, {"bias", {out_}}};
  }
  void Init(std::span<T> params, RngStream& rng) const override {
    const double bound = 1.0 / std::sqrt(double(in_));
    FillUniform(params, bound, rng);  // weight then bias: the same bound for both
  }

  void Forward(const Backend& be, std::span<const T> params, const T* in, T* out, int batch) override {
    const T* w = params.data();
    const T* bias = w + int64_t{out_} * in_;
    // Seed every row with the bias and let the GEMM accumulate (beta = 1):
    // this fuses the bias add into the GEMM's single pass over `out`.
    for (int r = 0; r < batch; ++r) std::memcpy(out + int64_t{r} * out_, bias, sizeof(T) * out_);
    OpGemm(be, false, true, batch, out_, in_, T(1), in, in_, w, in_, T(1), out, out_);
  }

  void Backward(const Backend& be, std::span<const T> params, const T* in, const T*, const T* dout,
                std::span<T> dparams, T* din, int batch) override {
    T* dw = dparams.data();
    T* db = dw + int64_t{out_} * in_;
    OpGemm(be, true, false, out_, in_, batch, T(1), dout, out_, in, in_, T(0), dw, in_);  // dout^T x
    std::fill(db, db + out_, T(0));
    for (int r = 0; r < batch; ++r) {
      const T* row = dout + int64_t{r} * out_;
      for (int j = 0; j < out_; ++j) db[j] += row[j];
    }
    if (din) OpGemm(be, false, false, batch, in_, out_, T(1), dout, out_, params.data(), in_, T(0), din, in_);
  }

  // Row b: dW_b = dout_b in_b^T (a rank-1 GEMM), db_b = dout_b.
  void PerExampleGrad(const Backend& be, std::span<const T>, const T* in, const T* dout, T* grads, int64_t ld,
                      int batch) override {
    for (int b = 0; b < batch; ++b) {
      T* dw = grads + int64_t{b} * ld;
      const T* d = dout + int64_t{b} * out_;
      OpGemm(be, true, false, out_, in_, 1, T(1), d, out_, in + int64_t{b} * in_, in_, T(0), dw, in_);
      std::copy(d, d + out_, dw + int64_t{out_} * in_);
    }
  }

 private:
  int in_, out_;
};

// 2-D convolution on NCHW rows via im2col + GEMM. The batch is processed in
// chunks of samples whose im2col matrices sit side by side in one
// [K x chunk*HW] block (K = cin*kh*kw), sized to stay in L2. Measured on the
// FedAvg CNN at batch 32, one [K x B*HW] block for the whole batch spreads
// im2col/col2im over 20 MB of strided rows and made the step ~15% slower
// (~30% with a row-copy im2col) while the GEMMs gained nothing. The im2col
// of every chunk is kept (chunk-major) for Backward's dW.
template <typename T>
class Conv2d final : public Layer<T> {
 public:
  Conv2d(int in_ch, int out_ch, int kernel, int pad, int stride)
      : in_ch_(in_ch), out_ch_(out_ch), kernel_(kernel), pad_(pad), stride_(stride) {
    SHOAL_CHECK(in_ch > 0 && out_ch > 0 && kernel > 0 && pad >= 0 && stride > 0);
  }
  std::string kind() const override { return "conv2d"; }
  std::vector<int> OutputShape(const std::vector<int>& in) const override {
    SHOAL_CHECK(in.size() == 3 && in[0] == in_ch_);
    geom_ = ConvGeom{in_ch_, in[1], in[2], kernel_, kernel_, pad_, stride_};
    SHOAL_CHECK(geom_.out_h() > 0 && geom_.out_w() > 0);
    return {out_ch_, geom_.out_h(), geom_.out_w()};
  }
  std::vector<std::pair<std::string, std::vector<int64_t>>> ParamShapes() const override {
    return {{"weight", {out_ch_, in_ch_, kernel_, kernel_}}, {"bias", {out_ch_}}};
  }
  void Init(std::span<T> params, RngStream& rng) const override {
    const double bound = 1.0 / std::sqrt(double(in_ch_) * kernel_ * kernel_);
    FillUniform(params, bound, rng);
  }

  void Forward(const Backend& be, std::span<const T> params, const T* in, T* out, int batch) override {
    const int64_t k = geom_.col_rows(), hw = geom_.col_cols();
    const int chunk = ChunkSamples(batch);
    EnsureSize(col_, k * hw * batch);
    if (chunk > 1) EnsureSize(mat_, out_ch_ * hw * chunk);
    const T* bias = params.data() + out_ch_ * k;
    for (int s0 = 0; s0 < batch; s0 += chunk) {
      const int nb = std::min(chunk, batch - s0);
      const int64_t n = hw * nb;
      T* col = col_.data() + s0 * k * hw;
      T* dst = out + s0 * out_ch_ * hw;
      for (int b = 0; b < nb; ++b) OpIm2Col(be, geom_, in + (s0 + b) * in_dim(), col + b * hw, n);
      if (nb == 1) {
        // One sample's [cout x HW] result is already NCHW: GEMM straight into
        // `out`, seeded with the bias (beta = 1), with no scatter pass.
        for (int c = 0; c < out_ch_; ++c) std::fill(dst + c * hw, dst + (c + 1) * hw, bias[c]);
        OpGemm(be, false, false, out_ch_, n, k, T(1), params.data(), k, col, n, T(1), dst, n);
      } else {
        OpGemm(be, false, false, out_ch_, n, k, T(1), params.data(), k, col, n, T(0), mat_.data(), n);
        ScatterAddBias(bias, nb, dst);
      }
    }
  }

  // Uses col_ from the matching Forward.
  void Backward(const Backend& be, std::span<const T> params, const T*, const T*, const T* dout, std::span<T> dparams,
                T* din, int batch) override {
    const int64_t k = geom_.col_rows(), hw = geom_.col_cols();
    const int chunk = ChunkSamples(batch);
    T* dw = dparams.data();
    T* db = dw + out_ch_ * k;
    std::fill(db, db + out_ch_, T(0));
    if (batch == 0) std::fill(dw, db, T(0));
    if (chunk > 1) EnsureSize(mat_, out_ch_ * hw * chunk);
    if (din) EnsureSize(dcol_, k * hw * chunk);
    for (int s0 = 0; s0 < batch; s0 += chunk) {
      const int nb = std::min(chunk, batch - s0);
      const int64_t n = hw * nb;
      const T* col = col_.data() + s0 * k * hw;
      const T* dmat = DoutMatrix(dout + s0 * out_ch_ * hw, nb, db);
      OpGemm(be, false, true, out_ch_, k, n, T(1), dmat, n, col, n, T(s0 == 0 ? 0 : 1), dw, k);
      if (!din) continue;
      OpGemm(be, true, false, k, n, out_ch_, T(1), params.data(), k, dmat, n, T(0), dcol_.data(), n);
      T* dimg = din + s0 * in_dim();
      std::fill(dimg, dimg + nb * in_dim(), T(0));  // Col2Im accumulates
      for (int b = 0; b < nb; ++b) OpCol2Im(be, geom_, dcol_.data() + b * hw, n, dimg + b * in_dim());
    }
  }

  // Row b: dW_b = dout_b [cout x HW] times sample b's im2col block [K x HW]
  // (kept by Forward, inside its chunk) transposed; db_b = row sums of dout_b.
  void PerExampleGrad(const Backend& be, std::span<const T>, const T*, const T* dout, T* grads, int64_t ld,
                      int batch) override {
    const int64_t k = geom_.col_rows(), hw = geom_.col_cols();
    const int chunk = ChunkSamples(batch);
    for (int s = 0; s < batch; ++s) {
      const int s0 = s / chunk * chunk, nb = std::min(chunk, batch - s0);
      const T* col = col_.data() + s0 * k * hw + (s - s0) * hw;
      const T* d = dout + int64_t{s} * out_ch_ * hw;
      T* dw = grads + int64_t{s} * ld;
      OpGemm(be, false, true, out_ch_, k, hw, T(1), d, hw, col, hw * nb, T(0), dw, k);
      for (int c = 0; c < out_ch_; ++c) dw[out_ch_ * k + c] = LaneSum(d + c * hw, hw);
    }
  }

 private:
  // About half of a typical per-core L2, leaving room for GEMM panels. Chunks
  // of 128 KiB to 2 MiB measured alike; one block for the batch was slower.
  static constexpr int64_t kChunkBytes = 512 * 1024;

  int64_t in_dim() const { return int64_t{in_ch_} * geom_.height * geom_.width; }
  int ChunkSamples(int batch) const {
    const int64_t per_sample = geom_.col_rows() * geom_.col_cols() * int64_t{sizeof(T)};
    return static_cast<int>(std::clamp<int64_t>(kChunkBytes / per_sample, 1, std::max(batch, 1)));
  }
  // mat_ [cout x nb*HW] -> nb NCHW samples at out, adding the bias in the same pass.
  void ScatterAddBias(const T* bias, int nb, T* out) const {
    const int64_t hw = geom_.col_cols(), n = hw * nb;
    for (int b = 0; b < nb; ++b)
      for (int c = 0; c < out_ch_; ++c) {
        const T* src = mat_.data() + c * n + b * hw;
        T* dst = out + (int64_t{b} * out_ch_ + c) * hw;
        const T bc = bias[c];
        for (int64_t p = 0; p < hw; ++p) dst[p] = src[p] + bc;
      }
  }
  // nb NCHW samples of dout as a [cout x nb*HW] matrix: dout itself when
  // nb == 1, else gathered into mat_. Adds every row's sum to db.
  const T* DoutMatrix(const T* dout, int nb, T* db) {
    const int64_t hw = geom_.col_cols(), n = hw * nb;
    for (int c = 0; c < out_ch_; ++c)
      for (int b = 0; b < nb; ++b) {
        const T* src = dout + (int64_t{b} * out_ch_ + c) * hw;
        db[c] += LaneSum(src, hw);
        if (nb > 1) std::copy(src, src + hw, mat_.data() + c * n + b * hw);
      }
    return nb == 1 ? dout : mat_.data();
  }

  int in_ch_, out_ch_, kernel_, pad_, stride_;
  mutable ConvGeom geom_;  // recorded by OutputShape
  std::vector<T> col_;     // im2col of the last Forward, chunk after chunk
  std::vector<T> mat_;     // a multi-sample chunk's GEMM output or gathered dout
  std::vector<T> dcol_;    // one chunk's W^T dout
};

template <typename T>
class ReLU final : public Layer<T> {
 public:
  std::string kind() const override { return "relu"; }
  std::vector<int> OutputShape(const std::vector<int>& in) const override {
    dim_ = Product(in);
    return in;
  }
  void Forward(const Backend&, std::span<const T>, const T* in, T* out, int batch) override {
    const int64_t n = dim_ * batch;
    for (int64_t i = 0; i < n; ++i) out[i] = in[i] > T(0) ? in[i] : T(0);
  }
  // The mask comes from `out` (out > 0 iff in > 0), so `in` need not be kept.
  void Backward(const Backend&, std::span<const T>, const T*, const T* out, const T* dout, std::span<T>, T* din,
                int batch) override {
    if (!din) return;
    const int64_t n = dim_ * batch;
    for (int64_t i = 0; i < n; ++i) din[i] = out[i] > T(0) ? dout[i] : T(0);
  }

 private:
  mutable int64_t dim_ = 0;
};

// Non-overlapping max pooling (stride = kernel, floor); remembers the argmax
// of every window so Backward routes each gradient to exactly one input.
template <typename T>
class MaxPool2d final : public Layer<T> {
 public:
  explicit MaxPool2d(int kernel) : k_(kernel) { SHOAL_CHECK(kernel > 0); }
  std::string kind() const override { return "maxpool2d"; }
  std::vector<int> OutputShape(const std::vector<int>& in) const override {
    SHOAL_CHECK(in.size() == 3 && in[1] >= k_ && in[2] >= k_);
    c_ = in[0], h_ = in[1], w_ = in[2];
    return {c_, h_ / k_, w_ / k_};
  }
  void Forward(const Backend&, std::span<const T>, const T* in, T* out, int batch) override {
    const int64_t planes = int64_t{batch} * c_, in_plane = int64_t{h_} * w_;
    const int64_t out_plane = int64_t{h_ / k_} * (w_ / k_);
    EnsureSize(argmax_, planes * out_plane);
    for (int64_t pl = 0; pl < planes; ++pl) {
      T* o = out + pl * out_plane;
      int32_t* arg = argmax_.data() + pl * out_plane;
      // A compile-time 2 (the FedAvg CNN's pools) lets the window loops unroll.
      if (k_ == 2)
        PoolPlane<2>(in + pl * in_plane, o, arg);
      else
        PoolPlane<0>(in + pl * in_plane, o, arg);
    }
  }
  void Backward(const Backend&, std::span<const T>, const T*, const T*, const T* dout, std::span<T>, T* din,
                int batch) override {
    if (!din) return;
    const int64_t planes = int64_t{batch} * c_, in_plane = int64_t{h_} * w_;
    const int64_t out_plane = int64_t{h_ / k_} * (w_ / k_);
    std::fill(din, din + planes * in_plane, T(0));
    const int32_t* arg = argmax_.data();
    for (int64_t pl = 0; pl < planes; ++pl) {
      T* dst = din + pl * in_plane;
      for (int64_t o = 0; o < out_plane; ++o) dst[*arg++] += *dout++;
    }
  }

 private:
  // Window maxima of one plane; kFixed > 0 replaces k_ by a constant.
  template <int kFixed>
  void PoolPlane(const T* src, T* out, int32_t* arg) const {
    const int k = kFixed > 0 ? kFixed : k_, oh = h_ / k, ow = w_ / k;
    for (int y = 0; y < oh; ++y)
      for (int x = 0; x < ow; ++x) {
        int32_t best = (y * k) * w_ + x * k;
        T m = src[best];
        for (int i = 0; i < k; ++i)
          for (int j = 0; j < k; ++j) {
            // Selects, not branches: on real data the winner is unpredictable.
            const int32_t idx = (y * k + i) * w_ + x * k + j;
            const bool greater = src[idx] > m;  // first max wins on ties
            m = greater ? src[idx] : m;
            best = greater ? idx : best;
          }
        *out++ = m;
        *arg++ = best;
      }
  }

  int k_;
  mutable int c_ = 0, h_ = 0, w_ = 0;
  std::vector<int32_t> argmax_;  // per output element: index within its input plane
};

// Rows are already flat, so Flatten only changes the recorded shape; it
// copies because Model gives every layer its own output buffer.
template <typename T>
class Flatten final : public Layer<T> {
 public:
  std::string kind() const override { return "flatten"; }
  std::vector<int> OutputShape(const std::vector<int>& in) const override {
    const int64_t n = Product(in);
    SHOAL_CHECK(n <= std::numeric_limits<int>::max());
    dim_ = n;
    return {static_cast<int>(n)};
  }
  void Forward(const Backend&, std::span<const T>, const T* in, T* out, int batch) override {
    std::memcpy(out, in, sizeof(T) * dim_ * batch);
  }
  void Backward(const Backend&, std::span<const T>, const T*, const T*, const T* dout, std::span<T>, T* din,
                int batch) override {
    if (din) std::memcpy(din, dout, sizeof(T) * dim_ * batch);
  }

 private:
  mutable int64_t dim_ = 0;
};

}  // namespace

template <typename T>
std::unique_ptr<Layer<T>> MakeLinear(int in, int out) {
  return std::make_unique<Linear<T>>(in, out);
}
template <typename T>
std::unique_ptr<Layer<T>> MakeConv2d(int in_ch, int out_ch, int kernel, int pad, int stride) {
  return std::make_unique<Conv2d<T>>(in_ch, out_ch, kernel, pad, stride);
}
template <typename T>
std::unique_ptr<Layer<T>> MakeReLU() {
  return std::make_unique<ReLU<T>>();
}
template <typename T>
std::unique_ptr<Layer<T>> MakeMaxPool2d(int kernel) {
  return std::make_unique<MaxPool2d<T>>(kernel);
}
template <typename T>
std::unique_ptr<Layer<T>> MakeFlatten() {
  return std::make_unique<Flatten<T>>();
}

#define SHOAL_INSTANTIATE_LAYERS(T)                                          \
  template std::unique_ptr<Layer<T>> MakeLinear<T>(int, int);                \
  template std::unique_ptr<Layer<T>> MakeConv2d<T>(int, int, int, int, int); \
  template std::unique_ptr<Layer<T>> MakeReLU<T>();                          \
  template std::unique_ptr<Layer<T>> MakeMaxPool2d<T>(int);                  \
  template std::unique_ptr<Layer<T>> MakeFlatten<T>();
SHOAL_INSTANTIATE_LAYERS(float)
SHOAL_INSTANTIATE_LAYERS(double)
SHOAL_INSTANTIATE_LAYERS(Dual<float>)
SHOAL_INSTANTIATE_LAYERS(Dual<double>)
#undef SHOAL_INSTANTIATE_LAYERS

}  // namespace shoal
