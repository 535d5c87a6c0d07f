// Process-wide settings for the gRPC runtime, shared by shoal-server,
// shoal-client and the benchmarks. Call ConfigureGrpcRuntime() once from
// main(), before any gRPC object exists.
#pragma once

namespace shoal {

// Turns off abseil's mutex deadlock detector. Debian builds abseil without
// NDEBUG, so the detector is on by default there: every absl::Mutex that
// gRPC takes then updates a global lock-order graph (GraphCycles), about 3%
// of the server's and the clients' CPU on the ingest benchmark. Upstream
// release builds of abseil ship with it off, as this makes it.
void ConfigureGrpcRuntime();

}  // namespace shoal
