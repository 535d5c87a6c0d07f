#include "server/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "algorithms/transforms/wire.h"

namespace shoal::server {
namespace {

constexpr uint32_t kCheckpointMagic = 0x4b434853;  // "SHCK"
constexpr uint16_t kCheckpointVersion = 1;

Status Errno(const std::string& what, const std::string& path) {
  return Unavailable(path + ": " + what + " failed: " + std::strerror(errno));
}

}  // namespace

std::string CheckpointPath(const std::string& dir) { return (std::filesystem::path(dir) / "checkpoint.bin").string(); }

Status WriteFileAtomic(const std::string& path, std::span<const uint8_t> bytes) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("open", tmp);
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status st = Errno("write", tmp);
      ::close(fd);
      return st;
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Status st = Errno("fsync", tmp);
    ::close(fd);
    return st;
  }
  if (::close(fd) != 0) return Errno("close", tmp);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return Errno("rename", tmp);
  return Status::Ok();
}

Result<std::vector<uint8_t>> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(path + ": cannot open");
  std::vector<uint8_t> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return b;
}

Status SaveCheckpoint(const std::string& dir, const Strategy& strategy, uint64_t seed) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Unavailable(dir + ": cannot create checkpoint directory: " + ec.message());
  wire::Writer w;
  w.Put<uint32_t>(kCheckpointMagic);
  w.Put<uint16_t>(kCheckpointVersion);
  w.PutString(strategy.name());
  w.Put<uint64_t>(seed);
  std::vector<uint8_t> state;
  RETURN_IF_ERROR(strategy.SaveState(state));
  w.Put<uint64_t>(state.size());
  w.PutBytes(state.data(), state.size());
  return WriteFileAtomic(CheckpointPath(dir), w.bytes());
}

Status LoadCheckpoint(const std::string& dir, Strategy& strategy, uint64_t seed) {
  const std::string path = CheckpointPath(dir);
  ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadWholeFile(path));
  wire::Reader r(bytes);
  uint32_t magic = 0;
  uint16_t version = 0;
  std::string name;
  uint64_t file_seed = 0, n = 0;
  RETURN_IF_ERROR(r.Get(&magic, "checkpoint magic"));
  if (magic != kCheckpointMagic) return InvalidArgument(path + ": not a shoal checkpoint");
  RETURN_IF_ERROR(r.Get(&version, "checkpoint version"));
  if (version != kCheckpointVersion)
    return InvalidArgument(path + ": checkpoint version " + std::to_string(version) + ", expected " +
                           std::to_string(kCheckpointVersion));
  RETURN_IF_ERROR(r.GetString(&name, "strategy name"));
  RETURN_IF_ERROR(r.Get(&file_seed, "seed"));
  if (name != strategy.name())
    return FailedPrecondition(path + ": checkpoint of strategy '" + name + "', this run uses '" + strategy.name() + "'");
  if (file_seed != seed)
    return FailedPrecondition(path + ": checkpoint of seed " + std::to_string(file_seed) + ", this run uses " +
                              std::to_string(seed));
  RETURN_IF_ERROR(r.Get(&n, "state size"));
  if (n != r.remaining()) return DataLoss(path + ": state size " + std::to_string(n) + " does not match the file");
  std::span<const uint8_t> state(bytes.data() + (bytes.size() - n), n);
  return strategy.LoadState(state).WithContext(path);
}

Status WriteModelFile(const std::string& path, std::span<const float> params) {
  std::span<const uint8_t> b(reinterpret_cast<const uint8_t*>(params.data()), params.size() * sizeof(float));
  return WriteFileAtomic(path, b);
}

}  // namespace shoal::server
