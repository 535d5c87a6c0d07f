#include "core/cuda/common.cuh"
#include "core/cuda/softmax_xent.cuh"

namespace shoal::cuda {
namespace {
__global__ void SoftmaxXentKernel(const float* __restrict__ logits, const int32_t* __restrict__ labels, int64_t batch,
                                  int64_t classes, float* __restrict__ grad, double* __restrict__ row_loss,
                                  int32_t* __restrict__ row_correct) {
  for (int64_t r = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; r < batch; r += int64_t{gridDim.x} * blockDim.x) {
    const float* z = logits + r * classes;
    int64_t arg = 0;
    float mx = z[0];
    for (int64_t j = 1; j < classes; ++j)
      if (z[j] > mx) mx = z[j], arg = j;
    double sum = 0;
    for (int64_t j = 0; j < classes; ++j) sum += exp(double(z[j]) - double(mx));
    const double lse = double(mx) + log(sum);
    row_loss[r] = lse - double(z[labels[r]]);
    row_correct[r] = arg == labels[r] ? 1 : 0;
    if (grad)
      for (int64_t j = 0; j < classes; ++j)
        grad[r * classes + j] =
            static_cast<float>((exp(double(z[j]) - lse) - (j == labels[r] ? 1.0 : 0.0)) / double(batch));
  }
}
}  // namespace

Status SoftmaxXent(const float* logits, const int32_t* labels, int64_t batch, int64_t classes, float* grad,
                   double* row_loss, int32_t* row_correct) {
  if (batch == 0) return Status::Ok();
  SoftmaxXentKernel<<<GridFor(batch), kThreads>>>(logits, labels, batch, classes, grad, row_loss, row_correct);
  return LaunchStatus("softmax_xent");
}
}  // namespace shoal::cuda
