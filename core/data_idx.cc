// IDX files (LeCun's MNIST format, also used by Fashion-MNIST).
//
// Layout, all integers big-endian: a 4-byte magic (0x00000803 = 2051 for
// uint8 images with three dimensions n, rows, cols; 0x00000801 = 2049 for
// uint8 labels with one dimension n), the dimensions as uint32, then the
// payload. Files are read through zlib's gzread, which decompresses gzip
// streams and passes other files through unchanged, so both ".gz" and raw
// copies load with the same code.
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/data.h"

namespace shoal {
namespace {

constexpr uint32_t kImagesMagic = 2051;
constexpr uint32_t kLabelsMagic = 2049;

uint32_t ReadBigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// Whole (decompressed) contents of `path`. A gzip stream that ends early is
// reported here; a raw file that is too short is caught by the size checks.
Result<std::vector<uint8_t>> ReadMaybeGzipped(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return NotFound(path + ": file not found");
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) return NotFound(path + ": cannot open file: " + std::strerror(errno));
  std::vector<uint8_t> bytes;
  constexpr unsigned kChunk = 1u << 20;
  for (;;) {
    size_t old = bytes.size();
    bytes.resize(old + kChunk);
    int got = gzread(f, bytes.data() + old, kChunk);
    if (got < 0) {
      int errnum = 0;
      std::string msg = gzerror(f, &errnum);
      gzclose(f);
      return DataLoss(path + ": read failed: " + msg);
    }
    bytes.resize(old + static_cast<size_t>(got));
    if (got == 0) break;
  }
  // gzread stops quietly at a cut-off gzip stream; the error is only in gzerror.
  int errnum = Z_OK;
  std::string msg = gzerror(f, &errnum);
  int close_rc = gzclose(f);
  if (errnum != Z_OK || close_rc != Z_OK) {
    return DataLoss(path + ": truncated or corrupt gzip stream" + (msg.empty() ? "" : " (" + msg + ")"));
  }
  return bytes;
}

// Checks the magic and returns the `ndims` dimensions that follow it.
Result<std::vector<uint64_t>> ParseHeader(const std::string& path, const std::vector<uint8_t>& bytes,
                                          uint32_t want_magic, int ndims) {
  size_t header = 4 + 4 * static_cast<size_t>(ndims);
  if (bytes.size() < 4) {
    return DataLoss(path + ": truncated: " + std::to_string(bytes.size()) + " bytes, too short for an IDX magic");
  }
  uint32_t magic = ReadBigEndian32(bytes.data());
  if (magic != want_magic) {
    return InvalidArgument(path + ": bad magic " + std::to_string(magic) + ", expected " + std::to_string(want_magic) +
                           (want_magic == kImagesMagic ? " (IDX uint8 images)" : " (IDX uint8 labels)"));
  }
  if (bytes.size() < header) {
    return DataLoss(path + ": truncated: header needs " + std::to_string(header) + " bytes, file has " +
                    std::to_string(bytes.size()));
  }
  std::vector<uint64_t> dims(ndims);
  for (int i = 0; i < ndims; ++i) dims[i] = ReadBigEndian32(bytes.data() + 4 + 4 * i);
  return dims;
}

// Checks that exactly `payload` bytes follow the `header`.
Status CheckPayload(const std::string& path, const std::vector<uint8_t>& bytes, size_t header, uint64_t payload) {
  uint64_t want = header + payload;
  if (bytes.size() < want) {
    return DataLoss(path + ": truncated: expected " + std::to_string(want) + " bytes, got " +
                    std::to_string(bytes.size()));
  }
  if (bytes.size() > want) {
    return DataLoss(path + ": " + std::to_string(bytes.size() - want) + " unexpected trailing bytes after " +
                    std::to_string(want));
  }
  return Status::Ok();
}

}  // namespace

Result<Dataset> LoadIdx(const std::string& images_path, const std::string& labels_path) {
  ASSIGN_OR_RETURN(std::vector<uint8_t> images, ReadMaybeGzipped(images_path));
  ASSIGN_OR_RETURN(std::vector<uint8_t> labels, ReadMaybeGzipped(labels_path));

  ASSIGN_OR_RETURN(std::vector<uint64_t> image_dims, ParseHeader(images_path, images, kImagesMagic, 3));
  uint64_t n = image_dims[0], rows = image_dims[1], cols = image_dims[2];
  if (n == 0 || rows == 0 || cols == 0) {
    return InvalidArgument(images_path + ": empty image set (" + std::to_string(n) + " x " + std::to_string(rows) +
                           " x " + std::to_string(cols) + ")");
  }
  // Bound the header's dimensions by the file size before multiplying them out.
  if (rows * cols > images.size() || n > images.size() / (rows * cols)) {
    return DataLoss(images_path + ": truncated: header claims " + std::to_string(n) + " images of " +
                    std::to_string(rows) + "x" + std::to_string(cols) + " but the file has " +
                    std::to_string(images.size()) + " bytes");
  }
  RETURN_IF_ERROR(CheckPayload(images_path, images, 16, n * rows * cols));
  ASSIGN_OR_RETURN(std::vector<uint64_t> label_dims, ParseHeader(labels_path, labels, kLabelsMagic, 1));
  if (label_dims[0] != n) {
    return InvalidArgument(labels_path + ": has " + std::to_string(label_dims[0]) + " labels but " + images_path +
                           " has " + std::to_string(n) + " images");
  }
  RETURN_IF_ERROR(CheckPayload(labels_path, labels, 8, n));

  Dataset ds;
  ds.name = std::filesystem::path(images_path).filename().string();
  ds.sample_shape = {1, static_cast<int>(rows), static_cast<int>(cols)};
  ds.dim = static_cast<int64_t>(rows * cols);
  ds.x.resize(n * rows * cols);
  std::transform(images.begin() + 16, images.end(), ds.x.begin(),
                 [](uint8_t p) { return static_cast<float>(p) / 255.0f; });
  ds.y.assign(labels.begin() + 8, labels.end());
  int32_t max_label = ds.y.empty() ? -1 : *std::max_element(ds.y.begin(), ds.y.end());
  ds.num_classes = max_label + 1;
  return ds;
}

Result<FederatedData> LoadFashionMnist(const std::string& dir) {
  const std::string files[4] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                                "t10k-labels-idx1-ubyte.gz"};
  std::string paths[4];
  for (int i = 0; i < 4; ++i) {
    paths[i] = (std::filesystem::path(dir) / files[i]).string();
    std::error_code ec;
    if (!std::filesystem::is_regular_file(paths[i], ec)) {
      return NotFound("Fashion-MNIST: " + paths[i] +
                      " not found; install the data with `apt-get install dataset-fashion-mnist` "
                      "(it goes to /usr/share/datasets/fashion-mnist) or point the loader at a copy");
    }
  }
  FederatedData data;
  ASSIGN_OR_RETURN(data.train, LoadIdx(paths[0], paths[1]));
  ASSIGN_OR_RETURN(data.test, LoadIdx(paths[2], paths[3]));
  if (data.train.dim != data.test.dim) {
    return InvalidArgument("Fashion-MNIST: " + paths[2] + " has " + std::to_string(data.test.dim) +
                           " pixels per image but " + paths[0] + " has " + std::to_string(data.train.dim));
  }
  // A test split missing the top class must still share the train label space.
  int classes = std::max(data.train.num_classes, data.test.num_classes);
  data.train.num_classes = data.test.num_classes = classes;
  data.train.name = "fashion-mnist-train";
  data.test.name = "fashion-mnist-test";
  return data;
}

}  // namespace shoal
