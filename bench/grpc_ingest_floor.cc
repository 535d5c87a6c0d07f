// The transport floor of bench_grpc_ingest: see ServeDiscard in
// grpc_ingest_bench.h.
#include <grpcpp/grpcpp.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/security/server_credentials.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <span>
#include <sstream>
#include <vector>

#include "bench/grpc_ingest_bench.h"
#include "core/backend.h"
#include "core/finite.h"
#include "proto/shoal.grpc.pb.h"

namespace shoal::bench {
namespace {

namespace fs = std::filesystem;

// See ServeDiscard.
class DiscardService final
    : public shoal::v1::Aggregator::WithRawCallbackMethod_SubmitResult<shoal::v1::Aggregator::CallbackService> {
 public:
  // `admit`: uploads read at once (0 = all); others wait for their "go".
  DiscardService(int64_t expect, int admit) : expect_(expect), admit_(admit) {}
  // Adds each upload into a `params` aggregate as it streams in (see Work).
  void EnableWork(int64_t params) {
    work_ = true;
    agg_.assign(static_cast<size_t>(params), 0.0f);
    backend_ = GetBackend("auto").value();
  }
  grpc::ServerReadReactor<grpc::ByteBuffer>* SubmitResult(grpc::CallbackServerContext*,
                                                          grpc::ByteBuffer* reply) override {
    return new Reader(this, reply);
  }
  // Waits for every expected upload; false when none ended for 60 s (a
  // client failed: its error is printed by the driver).
  bool Wait() {
    std::unique_lock<std::mutex> l(mu_);
    for (int64_t seen = -1; done_ < expect_;) {
      if (done_ == seen && !cv_.wait_for(l, std::chrono::seconds(60), [&] { return done_ != seen; })) return false;
      seen = done_;
    }
    return true;
  }

 private:
  class Reader final : public grpc::ServerReadReactor<grpc::ByteBuffer> {
   public:
    Reader(DiscardService* svc, grpc::ByteBuffer* reply) : svc_(svc), reply_(reply) { StartRead(&in_); }
    void OnReadDone(bool ok) override {
      if (!ok) {
        shoal::v1::SubmitReply r;
        r.set_protocol_version(1);
        r.set_accepted(true);
        bool own = false;
        (void)grpc::SerializationTraits<shoal::v1::SubmitReply>::Serialize(r, reply_, &own);
        Finish(grpc::Status::OK);
        svc_->Leave();
        return;
      }
      if (first_) {
        first_ = false;
        if (!svc_->Admit(this)) return;  // queued: Go() when a place frees
        StartSendInitialMetadata();      // "go", as shoal-server once admitted
      }
      if (svc_->work_) svc_->Work(in_, &offset_);
      in_.Clear();
      StartRead(&in_);
    }
    void OnDone() override {
      {
        std::lock_guard<std::mutex> l(svc_->mu_);
        ++svc_->done_;
      }
      svc_->cv_.notify_all();
      delete this;
    }

    void Go() {
      StartSendInitialMetadata();
      in_.Clear();
      StartRead(&in_);
    }

   private:
    DiscardService* svc_;
    grpc::ByteBuffer* reply_;
    grpc::ByteBuffer in_;
    bool first_ = true;
    size_t offset_ = 0;  // next aggregate element (Work)
  };
  // The least an aggregating server must do with each chunk: scan its floats
  // for NaN/Inf and add them into the aggregate, straight from gRPC's slices
  // (the chunk's few framing bytes are counted as data).
  void Work(const grpc::ByteBuffer& b, size_t* offset) {
    std::vector<grpc::Slice> slices;
    if (!b.Dump(&slices).ok()) return;
    thread_local std::vector<float> tmp;
    std::lock_guard<std::mutex> l(agg_mu_);
    for (const auto& sl : slices) {
      const size_t n = sl.size() / sizeof(float);
      const float* x = reinterpret_cast<const float*>(sl.begin());
      if (reinterpret_cast<uintptr_t>(x) % alignof(float) != 0) {
        tmp.resize(n);
        std::memcpy(tmp.data(), sl.begin(), n * sizeof(float));
        x = tmp.data();
      }
      for (size_t done = 0; done < n;) {
        if (*offset >= agg_.size()) *offset = 0;
        const size_t m = std::min(n - done, agg_.size() - *offset);
        std::span<const float> xs(x + done, m);
        if (FinitePrefix(xs) == m) backend_->WeightedAccumulate(1.0f, xs, std::span<float>(agg_).subspan(*offset, m));
        *offset += m;
        done += m;
      }
    }
  }
  bool work_ = false;
  std::mutex agg_mu_;
  std::vector<float> agg_;
  const Backend* backend_ = nullptr;
  bool Admit(Reader* r) {
    std::lock_guard<std::mutex> l(mu_);
    if (admit_ == 0 || active_ < admit_) {
      ++active_;
      return true;
    }
    waiting_.push_back(r);
    return false;
  }
  void Leave() {
    Reader* next = nullptr;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (waiting_.empty()) {
        --active_;
      } else {
        next = waiting_.front();
        waiting_.pop_front();
      }
    }
    if (next) next->Go();
  }
  const int64_t expect_;
  const int admit_;
  int active_ = 0;
  std::deque<Reader*> waiting_;
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t done_ = 0;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

// Child process: the transport floor for `clients` x `rounds` uploads.
int ServeDiscard(int clients, int64_t params, int rounds, const std::string& certs, const std::string& port_file,
                 const std::string& rss_file, const Knobs& k) {
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  if (!certs.empty()) {
    grpc::SslServerCredentialsOptions o;
    o.pem_key_cert_pairs.push_back({ReadAll(certs + "/server.key"), ReadAll(certs + "/server.crt")});
    creds = grpc::SslServerCredentials(o);
  }
  DiscardService svc(static_cast<int64_t>(clients) * rounds, k.floor_admit);
  if (k.floor_work) svc.EnableWork(params);
  grpc::ServerBuilder b;
  int port = 0;
  b.AddListeningPort("127.0.0.1:0", creds, &port);
  b.RegisterService(&svc);
  b.SetMaxReceiveMessageSize(k.chunk + (64 << 10));
  b.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, k.bdp);
  if (k.lookahead > 0) b.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, k.lookahead);
  // No transport memory quota: the floor measures gRPC unconstrained (with
  // every upload admitted at once, shoal-server's 16 MiB quota stalls 200
  // TLS streams).
  auto server = b.BuildAndStart();
  if (!server) return 1;
  std::ofstream(port_file + ".tmp") << port << "\n";
  fs::rename(port_file + ".tmp", port_file);
  const bool all = svc.Wait();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server.reset();
  std::ofstream(rss_file) << PeakRssKb() << "\n";
  return all ? 0 : 1;
}

int64_t PeakRssKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  return -1;
}

}  // namespace shoal::bench
