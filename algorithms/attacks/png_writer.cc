#include "algorithms/attacks/png_writer.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <fstream>

namespace shoal::attacks {
namespace {

void PutU32(std::vector<uint8_t>& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
}

void PutChunk(std::vector<uint8_t>& out, const char type[4], const std::vector<uint8_t>& data) {
  PutU32(out, static_cast<uint32_t>(data.size()));
  const size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  const uLong crc = crc32(0L, out.data() + start, static_cast<uInt>(out.size() - start));
  PutU32(out, static_cast<uint32_t>(crc));
}

}  // namespace

std::vector<uint8_t> EncodePng(std::span<const uint8_t> pixels, int width, int height, int channels) {
  std::vector<uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  std::vector<uint8_t> ihdr;
  PutU32(ihdr, static_cast<uint32_t>(width));
  PutU32(ihdr, static_cast<uint32_t>(height));
  ihdr.push_back(8);                          // bit depth
  ihdr.push_back(channels == 3 ? 2 : 0);      // colour type: truecolour or greyscale
  ihdr.insert(ihdr.end(), {0, 0, 0});         // deflate, adaptive filtering, no interlace
  PutChunk(out, "IHDR", ihdr);
  const size_t row = static_cast<size_t>(width) * channels;
  std::vector<uint8_t> raw;
  raw.reserve((row + 1) * height);
  for (int y = 0; y < height; ++y) {
    raw.push_back(0);  // filter type None
    raw.insert(raw.end(), pixels.begin() + y * row, pixels.begin() + (y + 1) * row);
  }
  uLongf zlen = compressBound(static_cast<uLong>(raw.size()));
  std::vector<uint8_t> z(zlen);
  compress2(z.data(), &zlen, raw.data(), static_cast<uLong>(raw.size()), 9);
  z.resize(zlen);
  PutChunk(out, "IDAT", z);
  PutChunk(out, "IEND", {});
  return out;
}

bool WritePng(const std::string& path, std::span<const uint8_t> pixels, int width, int height, int channels,
              std::string* error) {
  const std::vector<uint8_t> bytes = EncodePng(pixels, width, height, channels);
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f) {
    if (error) *error = path + ": cannot write PNG file";
    return false;
  }
  return true;
}

std::vector<uint8_t> ImageGrid(const std::vector<std::span<const float>>& images, int channels, int height,
                               int width, int cols, int zoom, int* grid_width, int* grid_height) {
  constexpr int kBorder = 2;
  const int n = static_cast<int>(images.size());
  cols = std::max(1, std::min(cols, std::max(n, 1)));
  const int rows = (n + cols - 1) / cols;
  const int cw = width * zoom + kBorder, ch = height * zoom + kBorder;
  const int gw = cols * cw + kBorder, gh = rows * ch + kBorder;
  std::vector<uint8_t> px(static_cast<size_t>(gw) * gh * channels, 128);
  const int64_t plane = int64_t{height} * width;
  for (int k = 0; k < n; ++k) {
    const int ox = kBorder + (k % cols) * cw, oy = kBorder + (k / cols) * ch;
    for (int y = 0; y < height * zoom; ++y)
      for (int x = 0; x < width * zoom; ++x)
        for (int c = 0; c < channels; ++c) {
          const float v = images[static_cast<size_t>(k)][c * plane + (y / zoom) * width + x / zoom];
          const float cl = std::clamp(std::isfinite(v) ? v : 0.0f, 0.0f, 1.0f);
          px[(static_cast<size_t>(oy + y) * gw + ox + x) * channels + c] = static_cast<uint8_t>(std::lround(cl * 255));
        }
  }
  *grid_width = gw;
  *grid_height = gh;
  return px;
}

}  // namespace shoal::attacks
