// Minimal PNG writer (8-bit grayscale or RGB, no interlace) and image grids.
//
// Depends only on zlib: signature, IHDR, one IDAT holding the zlib stream of
// filter-0 scanlines, IEND; chunk CRCs from zlib's crc32. Core-free so tools
// and tests can reuse it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace shoal::attacks {

// Encodes width x height pixels (channels = 1 or 3, interleaved, row-major)
// as PNG bytes.
std::vector<uint8_t> EncodePng(std::span<const uint8_t> pixels, int width, int height, int channels);

// Writes a PNG file; false (and `error` set) when the file cannot be written.
bool WritePng(const std::string& path, std::span<const uint8_t> pixels, int width, int height, int channels,
              std::string* error);

// A grid of CHW float images in [0, 1] (values clamped), `cols` per row, each
// scaled up by `zoom` and separated by a 2-pixel border of mid grey.
// channels must be 1 or 3. Returns interleaved pixels; width/height out.
std::vector<uint8_t> ImageGrid(const std::vector<std::span<const float>>& images, int channels, int height,
                               int width, int cols, int zoom, int* grid_width, int* grid_height);

}  // namespace shoal::attacks
