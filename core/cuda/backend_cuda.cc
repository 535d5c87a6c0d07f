// The cuda Backend: host-pointer staging around the device op entries of
// core/cuda/<op>.cuh (contract in backend_cuda.h).
#include "core/cuda/backend_cuda.h"

#include <cuda_runtime_api.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "core/backend_checks.h"
#include "core/cuda/adam_step.cuh"
#include "core/cuda/axpy.cuh"
#include "core/cuda/count_sketch.cuh"
#include "core/cuda/dot.cuh"
#include "core/cuda/gaussian_fill.cuh"
#include "core/cuda/gemm.cuh"
#include "core/cuda/im2col.cuh"
#include "core/cuda/momentum_step.cuh"
#include "core/cuda/quantize_int8.cuh"
#include "core/cuda/random_sketch.cuh"
#include "core/cuda/scale.cuh"
#include "core/cuda/sgd_step.cuh"
#include "core/cuda/softmax_xent.cuh"

namespace shoal::cuda {
namespace {

// Void ops cannot return a Status: a failing device is fatal for them.
void Check(const Status& st) {
  if (st.ok()) return;
  std::fprintf(stderr, "shoal cuda backend: %s\n", st.message().c_str());
  std::abort();
}
Status Cuda(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return Status::Ok();
  return Internal(std::string("cuda ") + what + ": " + cudaGetErrorString(e));
}

// Grow-only device buffers of the calling host thread, one per argument slot.
class DeviceScratch {
 public:
  ~DeviceScratch() {
    for (auto& b : bufs_)
      if (b.ptr) cudaFree(b.ptr);
  }
  void* Get(int slot, size_t bytes) {
    Buf& b = bufs_.at(slot);
    if (b.cap < bytes) {
      if (b.ptr) cudaFree(b.ptr);
      b.ptr = nullptr;
      b.cap = std::max<size_t>(bytes, 256);
      Check(Cuda(cudaMalloc(&b.ptr, b.cap), "malloc"));
    }
    return b.ptr;
  }

 private:
  struct Buf {
    void* ptr = nullptr;
    size_t cap = 0;
  };
  std::array<Buf, 6> bufs_;
};
DeviceScratch& Scratch() {
  thread_local DeviceScratch scratch;
  return scratch;
}

template <typename T>
T* Alloc(int slot, size_t n) {
  return static_cast<T*>(Scratch().Get(slot, n * sizeof(T)));
}
template <typename T>
T* Upload(int slot, const T* host, size_t n) {
  T* dev = Alloc<T>(slot, n);
  if (n) Check(Cuda(cudaMemcpy(dev, host, n * sizeof(T), cudaMemcpyHostToDevice), "copy to device"));
  return dev;
}
template <typename T>
void Download(T* host, const T* dev, size_t n) {
  if (n) Check(Cuda(cudaMemcpy(host, dev, n * sizeof(T), cudaMemcpyDeviceToHost), "copy to host"));
}
// Elements a row-major rows x cols matrix with row stride ld spans.
size_t Span(int64_t rows, int64_t cols, int64_t ld) {
  return rows <= 0 || cols <= 0 ? 0 : static_cast<size_t>((rows - 1) * ld + cols);
}

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(const Backend& host) : host_(host) {}
  std::string_view name() const override { return "cuda"; }
  // 8-bit Adam has no device kernel: callers run it on the host (cpu_simd).
  bool Supports(Op op, DType dtype) const override { return dtype == DType::kF32 && op != Op::kAdam8bitStep; }

  void Gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
            const float* b, int64_t ldb, float beta, float* c, int64_t ldc) const override {
    if (m == 0 || n == 0) return;
    const float* da = Upload(0, a, Span(ta ? k : m, ta ? m : k, lda));
    const float* db = Upload(1, b, Span(tb ? n : k, tb ? k : n, ldb));
    float* dc = Upload(2, c, Span(m, n, ldc));
    Check(cuda::Gemm(ta, tb, m, n, k, alpha, da, lda, db, ldb, beta, dc, ldc));
    Download(c, dc, Span(m, n, ldc));
  }
  void Gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
            const double* b, int64_t ldb, double beta, double* c, int64_t ldc) const override {
    host_.Gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  void Im2Col(const ConvGeom& g, const float* img, float* col, int64_t ldc) const override {
    const size_t cspan = Span(g.col_rows(), g.col_cols(), ldc);
    const float* di = Upload(0, img, size_t(g.channels) * g.height * g.width);
    float* dc = Upload(1, col, cspan);  // the gaps between rows must come back unchanged
    Check(cuda::Im2Col(g, di, dc, ldc));
    Download(col, dc, cspan);
  }
  void Im2Col(const ConvGeom& g, const double* img, double* col, int64_t ldc) const override {
    host_.Im2Col(g, img, col, ldc);
  }
  void Col2Im(const ConvGeom& g, const float* col, int64_t ldc, float* img) const override {
    const size_t n_img = size_t(g.channels) * g.height * g.width;
    const float* dc = Upload(0, col, Span(g.col_rows(), g.col_cols(), ldc));
    float* di = Upload(1, img, n_img);
    Check(cuda::Col2Im(g, dc, ldc, di));
    Download(img, di, n_img);
  }
  void Col2Im(const ConvGeom& g, const double* col, int64_t ldc, double* img) const override {
    host_.Col2Im(g, col, ldc, img);
  }
  double SoftmaxXent(const float* logits, const int32_t* labels, int64_t batch, int64_t classes, float* grad,
                     int64_t* correct) const override {
    const size_t n = size_t(batch) * classes;
    const float* dz = Upload(0, logits, n);
    const int32_t* dl = Upload(1, labels, batch);
    float* dg = grad ? Alloc<float>(2, n) : nullptr;
    double* dloss = Alloc<double>(3, batch);
    int32_t* dok = Alloc<int32_t>(4, batch);
    Check(cuda::SoftmaxXent(dz, dl, batch, classes, dg, dloss, dok));
    std::vector<double> loss(batch);
    std::vector<int32_t> ok(batch);
    Download(loss.data(), dloss, batch);
    Download(ok.data(), dok, batch);
    if (grad) Download(grad, dg, n);
    double total = 0;
    int64_t hits = 0;
    for (int64_t r = 0; r < batch; ++r) total += loss[r], hits += ok[r];  // row order, as cpu_ref
    if (correct) *correct = hits;
    return batch > 0 ? total / double(batch) : 0.0;
  }
  double SoftmaxXent(const double* logits, const int32_t* labels, int64_t batch, int64_t classes, double* grad,
                     int64_t* correct) const override {
    return host_.SoftmaxXent(logits, labels, batch, classes, grad, correct);
  }
  void Axpy(float a, std::span<const float> x, std::span<float> y) const override { AxpyOn(a, x, y); }
  void WeightedAccumulate(float w, std::span<const float> x, std::span<float> acc) const override {
    AxpyOn(w, x, acc);
  }
  void Scale(float a, std::span<float> x) const override {
    float* dx = Upload(0, x.data(), x.size());
    Check(cuda::Scale(a, dx, x.size()));
    Download(x.data(), dx, x.size());
  }
  double Dot(std::span<const float> x, std::span<const float> y) const override {
    double out = 0;
    const float* dx = Upload(0, x.data(), x.size());
    const float* dy = Upload(1, y.data(), y.size());
    Check(cuda::Dot(dx, dy, x.size(), Alloc<double>(2, kDotBlocks + 1), &out));
    return out;
  }
  double SquaredNorm(std::span<const float> x) const override {
    double out = 0;
    const float* dx = Upload(0, x.data(), x.size());
    Check(cuda::Dot(dx, nullptr, x.size(), Alloc<double>(2, kDotBlocks + 1), &out));
    return out;
  }
  double ClipByNorm(std::span<float> x, double max_norm) const override {
    double sq = 0;
    float* dx = Upload(0, x.data(), x.size());
    Check(cuda::Dot(dx, nullptr, x.size(), Alloc<double>(2, kDotBlocks + 1), &sq));
    const double norm = std::sqrt(sq);
    if (norm > max_norm && norm > 0) {
      Check(cuda::Scale(static_cast<float>(max_norm / norm), dx, x.size()));
      Download(x.data(), dx, x.size());
    }
    return norm;
  }
  void GaussianFill(std::array<uint32_t, 2> key, uint64_t offset, float mean, float stddev,
                    std::span<float> x) const override {
    float* dx = Alloc<float>(0, x.size());
    Check(cuda::GaussianFill(key, offset, mean, stddev, dx, x.size()));
    Download(x.data(), dx, x.size());
  }
  void SgdStep(float lr, std::span<const float> g, std::span<float> p) const override {
    const float* dg = Upload(0, g.data(), p.size());
    float* dp = Upload(1, p.data(), p.size());
    Check(cuda::SgdStep(lr, dg, dp, p.size()));
    Download(p.data(), dp, p.size());
  }
  void MomentumStep(float lr, float mu, float wd, bool nesterov, bool first, std::span<const float> g,
                    std::span<float> b, std::span<float> p) const override {
    const float* dg = Upload(0, g.data(), p.size());
    float* db = Upload(1, b.data(), p.size());
    float* dp = Upload(2, p.data(), p.size());
    Check(cuda::MomentumStep(lr, mu, wd, nesterov, first, dg, db, dp, p.size()));
    Download(b.data(), db, p.size());
    Download(p.data(), dp, p.size());
  }
  void AdamStep(const AdamStepParams& h, std::span<const float> g, std::span<float> m, std::span<float> v,
                std::span<float> p) const override {
    // cpu_ref's scalar preamble, so the kernel sees identical constants.
    const double bc1 = 1.0 - std::pow(double(h.beta1), double(h.step));
    const double bc2 = 1.0 - std::pow(double(h.beta2), double(h.step));
    const float step_size = static_cast<float>(h.lr / bc1);
    const float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
    const float decay = h.decoupled ? 1.0f - h.lr * h.weight_decay : 1.0f;
    const float l2 = h.decoupled ? 0.0f : h.weight_decay;
    const size_t n = p.size();
    const float* dg = Upload(0, g.data(), n);
    float* dm = Upload(1, m.data(), n);
    float* dv = Upload(2, v.data(), n);
    float* dp = Upload(3, p.data(), n);
    Check(cuda::AdamStep(h.beta1, h.beta2, h.eps, step_size, inv_sqrt_bc2, decay, l2, dg, dm, dv, dp, n));
    Download(m.data(), dm, n);
    Download(v.data(), dv, n);
    Download(p.data(), dp, n);
  }
  // Not a device op (Supports() says no): the host backend's kernel, on host memory.
  void Adam8bitStep(const Adam8bitStepParams& h, std::span<const float> g, std::span<float> p,
                    std::span<uint8_t> qm, std::span<uint8_t> qv, std::span<float> absm,
                    std::span<float> absv) const override {
    host_.Adam8bitStep(h, g, p, qm, qv, absm, absv);
  }
  Status QuantizeInt8(std::span<const float> x, int64_t block, std::array<uint32_t, 2> key, uint64_t offset,
                      std::span<int8_t> q, std::span<float> scales) const override {
    RETURN_IF_ERROR(backend_checks::Quantize("quantize_int8", x.size(), block, q.size(), scales.size()));
    const float* dx = Upload(0, x.data(), x.size());
    int8_t* dq = Alloc<int8_t>(1, q.size());
    float* ds = Alloc<float>(2, scales.size());
    RETURN_IF_ERROR(cuda::QuantizeInt8(dx, x.size(), block, key, offset, dq, ds));
    Download(q.data(), dq, q.size());
    Download(scales.data(), ds, scales.size());
    return Status::Ok();
  }
  Status DequantizeInt8(std::span<const int8_t> q, std::span<const float> scales, int64_t block,
                        std::span<float> x) const override {
    RETURN_IF_ERROR(backend_checks::Quantize("dequantize_int8", x.size(), block, q.size(), scales.size()));
    const int8_t* dq = Upload(0, q.data(), q.size());
    const float* ds = Upload(1, scales.data(), scales.size());
    float* dx = Alloc<float>(2, x.size());
    RETURN_IF_ERROR(cuda::DequantizeInt8(dq, ds, block, dx, x.size()));
    Download(x.data(), dx, x.size());
    return Status::Ok();
  }
  Status CountSketchApply(const CountSketchSpec& s, std::span<const float> x, std::span<float> table) const override {
    RETURN_IF_ERROR(backend_checks::CountSketch("count_sketch_apply", s, table.size()));
    const float* dx = Upload(0, x.data(), x.size());
    float* dt = Upload(1, table.data(), table.size());
    RETURN_IF_ERROR(cuda::CountSketchApply(s, dx, x.size(), dt));
    Download(table.data(), dt, table.size());
    return Status::Ok();
  }
  Status CountSketchUnapply(const CountSketchSpec& s, std::span<const float> table,
                            std::span<float> x) const override {
    RETURN_IF_ERROR(backend_checks::CountSketch("count_sketch_unapply", s, table.size()));
    const float* dt = Upload(0, table.data(), table.size());
    float* dx = Alloc<float>(1, x.size());
    RETURN_IF_ERROR(cuda::CountSketchUnapply(s, dt, dx, x.size()));
    Download(x.data(), dx, x.size());
    return Status::Ok();
  }
  Status RandomSketchApply(const RandomSketchSpec& s, std::span<const float> x, std::span<float> y) const override {
    RETURN_IF_ERROR(backend_checks::RandomSketch("random_sketch_apply", s, y.size()));
    const float* dx = Upload(0, x.data(), x.size());
    float* dy = Alloc<float>(1, y.size());
    RETURN_IF_ERROR(cuda::RandomSketchApply(s, dx, x.size(), dy, Alloc<double>(2, s.rows * kSketchBlocks)));
    Download(y.data(), dy, y.size());
    return Status::Ok();
  }
  Status RandomSketchUnapply(const RandomSketchSpec& s, std::span<const float> y, std::span<float> x) const override {
    RETURN_IF_ERROR(backend_checks::RandomSketch("random_sketch_unapply", s, y.size()));
    const float* dy = Upload(0, y.data(), y.size());
    float* dx = Alloc<float>(1, x.size());
    RETURN_IF_ERROR(cuda::RandomSketchUnapply(s, dy, dx, x.size()));
    Download(x.data(), dx, x.size());
    return Status::Ok();
  }

 private:
  void AxpyOn(float a, std::span<const float> x, std::span<float> y) const {
    const float* dx = Upload(0, x.data(), x.size());
    float* dy = Upload(1, y.data(), y.size());
    Check(cuda::Axpy(a, dx, dy, x.size()));
    Download(y.data(), dy, y.size());
  }

  const Backend& host_;
};

}  // namespace

Result<std::string> DescribeDevice() {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) return Unavailable(std::string("no usable CUDA device: ") + cudaGetErrorString(e));
  if (count == 0) return Unavailable("no CUDA device found");
  cudaDeviceProp prop{};
  e = cudaGetDeviceProperties(&prop, 0);
  if (e != cudaSuccess) return Unavailable(std::string("cannot query device 0: ") + cudaGetErrorString(e));
  char buf[512];
  std::snprintf(buf, sizeof buf, "device 0: %s, %.1f GiB, compute capability %d.%d (%d device%s)", prop.name,
                double(prop.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0), prop.major, prop.minor, count,
                count == 1 ? "" : "s");
  return std::string(buf);
}

std::string BuildInfo() {
  int rt = 0;
  cudaRuntimeGetVersion(&rt);
  return "CUDA runtime " + std::to_string(rt / 1000) + "." + std::to_string((rt % 1000) / 10) + ", GEMM: " +
         GemmImplementation();
}

std::unique_ptr<Backend> MakeCudaBackend(const Backend& host) { return std::make_unique<CudaBackend>(host); }

}  // namespace shoal::cuda
