// Shared by the gRPC ingest benchmark's parts (grpc_ingest_bench.cc: the
// driver, the plain socket and shoal-server runs; grpc_ingest_floor.cc: the
// transport floor).
#pragma once

#include <cstdint>
#include <string>

namespace shoal::bench {

// Server knobs, passed to the server child process on its command line.
struct Knobs {
  double budget_models = 2;       // upload budget in dense update sizes (shoal-server's default)
  int bdp = 0;                    // gRPC BDP probing (as shoal-server's default)
  int lookahead = 4 << 20;        // server stream window bytes (shoal-server's default)
  int mmap_threshold = 32 << 20;  // as shoal-server
  int downloads = 8;              // concurrent task downloads (shoal-server's default)
  int chunk = 1 << 20;            // stream chunk bytes (shoal-server's default)
  int floor_admit = 0;            // the floor's uploads read at once (0 = all)
  int floor_work = 0;             // the floor scans and adds each chunk into an aggregate
  int quota_mb = 16;              // gRPC transport memory quota (shoal-server's default)
};

// The calling process's peak resident set (VmHWM), KiB.
int64_t PeakRssKb();

// Child process: the transport floor, a gRPC server on shoal-server's
// service, port options and credentials (TLS when `certs` is set) whose
// SubmitResult admits uploads (all, or k.floor_admit at once), reads them
// and drops them; with k.floor_work it also scans each chunk for NaN/Inf and
// adds it into a `params` aggregate straight from gRPC's slices. Its rate is
// the most a server built on this gRPC can ingest on the machine. Writes its
// port to `port_file`, serves `clients` x `rounds` uploads, then writes its
// peak RSS (KiB) to `rss_file`.
int ServeDiscard(int clients, int64_t params, int rounds, const std::string& certs, const std::string& port_file,
                 const std::string& rss_file, const Knobs& k);

}  // namespace shoal::bench
