#include "proto/grpc_runtime.h"

#include <absl/synchronization/mutex.h>

namespace shoal {

void ConfigureGrpcRuntime() { absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore); }

}  // namespace shoal
