#include "core/cuda/common.cuh"
#include "core/cuda/im2col.cuh"

namespace shoal::cuda {
namespace {
__global__ void Im2ColKernel(ConvGeom g, int oh, int ow, const float* __restrict__ img, float* __restrict__ col,
                             int64_t ldc, int64_t total) {
  const int64_t cols = int64_t{oh} * ow;
  for (int64_t t = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; t < total; t += int64_t{gridDim.x} * blockDim.x) {
    const int64_t row = t / cols, pos = t % cols;
    const int kj = static_cast<int>(row % g.kernel_w), ki = static_cast<int>((row / g.kernel_w) % g.kernel_h);
    const int c = static_cast<int>(row / (int64_t{g.kernel_w} * g.kernel_h));
    const int y = static_cast<int>(pos / ow), x = static_cast<int>(pos % ow);
    const int iy = y * g.stride - g.pad + ki, ix = x * g.stride - g.pad + kj;
    const bool in = iy >= 0 && iy < g.height && ix >= 0 && ix < g.width;
    col[row * ldc + pos] = in ? img[(int64_t{c} * g.height + iy) * g.width + ix] : 0.0f;
  }
}

__global__ void Col2ImKernel(ConvGeom g, int oh, int ow, const float* __restrict__ col, int64_t ldc,
                             float* __restrict__ img, int64_t total) {
  for (int64_t t = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; t < total; t += int64_t{gridDim.x} * blockDim.x) {
    const int ix = static_cast<int>(t % g.width), iy = static_cast<int>((t / g.width) % g.height);
    const int c = static_cast<int>(t / (int64_t{g.width} * g.height));
    float acc = img[t];
    for (int ki = 0; ki < g.kernel_h; ++ki) {
      const int ys = iy + g.pad - ki;
      if (ys < 0 || ys % g.stride != 0 || ys / g.stride >= oh) continue;
      for (int kj = 0; kj < g.kernel_w; ++kj) {
        const int xs = ix + g.pad - kj;
        if (xs < 0 || xs % g.stride != 0 || xs / g.stride >= ow) continue;
        const int64_t row = (int64_t{c} * g.kernel_h + ki) * g.kernel_w + kj;
        acc += col[row * ldc + int64_t{ys / g.stride} * ow + xs / g.stride];
      }
    }
    img[t] = acc;
  }
}
}  // namespace

Status Im2Col(const ConvGeom& g, const float* img, float* col, int64_t ldc) {
  const int64_t total = g.col_rows() * g.col_cols();
  if (total <= 0) return Status::Ok();
  Im2ColKernel<<<GridFor(total), kThreads>>>(g, g.out_h(), g.out_w(), img, col, ldc, total);
  return LaunchStatus("im2col");
}

Status Col2Im(const ConvGeom& g, const float* col, int64_t ldc, float* img) {
  const int64_t total = int64_t{g.channels} * g.height * g.width;
  if (total <= 0 || g.col_cols() <= 0) return Status::Ok();
  Col2ImKernel<<<GridFor(total), kThreads>>>(g, g.out_h(), g.out_w(), col, ldc, img, total);
  return LaunchStatus("col2im");
}
}  // namespace shoal::cuda
