// Run-time loading of cuBLAS (core/cuda/cublas_library.h). Runs without a GPU:
// it checks that nothing maps libcublas until a GEMM asks for it, that loading
// resolves the four *_v2 symbols, and that failures name the library and carry
// dlerror()'s text; with a device, that the first GEMM goes through cuBLAS.
// ctest runs each test in its own process, so the first test sees a process
// in which nothing has loaded cuBLAS yet.
#include "core/cuda/cublas_library.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "core/backend.h"

namespace shoal::cuda {
namespace {

bool CublasMapped() {
  std::ifstream maps("/proc/self/maps");
  std::stringstream text;
  text << maps.rdbuf();
  return text.str().find("libcublas") != std::string::npos;
}

// Declared first: run alone (ctest) or first (the whole program), nothing in
// the process has called Cublas() yet.
TEST(CublasLibrary, NotMappedUntilAGemmNeedsIt) {
  EXPECT_FALSE(CublasMapped()) << "libcublas is mapped at start-up: is it linked again?";
  // Choosing and constructing the cuda backend (when a device exists) must not load it either.
  auto cuda = GetBackend("cuda");
  (void)GetBackend("auto");
  EXPECT_FALSE(CublasMapped()) << "GetBackend(\"cuda\") loaded cuBLAS (" << (cuda.ok() ? "device present" : "no device")
                               << ")";
}

// On a machine with a device (skipped elsewhere): the first GEMM loads cuBLAS
// and runs through it, not silently through the tiled fallback.
TEST(CublasLibrary, FirstGemmOnADeviceLoadsAndUsesCublas) {
  auto cuda = GetBackend("cuda");
  if (!cuda.ok()) GTEST_SKIP() << cuda.status().message();
  if (const char* env = std::getenv("SHOAL_CUBLAS")) GTEST_SKIP() << "SHOAL_CUBLAS=" << env << " overrides the library";
  // [1 2 3; 4 5 6] * [1 0; 0 1; 1 1] = [4 5; 10 11], added to 0.5 * C.
  const float a[] = {1, 2, 3, 4, 5, 6}, b[] = {1, 0, 0, 1, 1, 1};
  float c[] = {2, 2, 2, 2};
  (*cuda)->Gemm(false, false, 2, 2, 3, 1.0f, a, 3, b, 2, 0.5f, c, 2);
  EXPECT_EQ(c[0], 5.0f);
  EXPECT_EQ(c[1], 6.0f);
  EXPECT_EQ(c[2], 11.0f);
  EXPECT_EQ(c[3], 12.0f);
  ASSERT_TRUE(Cublas().ok()) << Cublas().status().message();
  EXPECT_TRUE(CublasMapped());
  EXPECT_NE(ThreadCublasHandle(), nullptr) << "cuBLAS loaded but no handle: GEMM ran on the tiled kernel";
}

TEST(CublasLibrary, MissingLibraryNamesItAndDlerror) {
  const char* const names[] = {"libshoal_no_such_cublas.so.99"};
  auto lib = LoadCublas(names);
  ASSERT_FALSE(lib.ok());
  EXPECT_EQ(lib.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(lib.status().message().find("libshoal_no_such_cublas.so.99"), std::string::npos) << lib.status().message();
  // glibc's dlerror() text for a file that is not there.
  EXPECT_NE(lib.status().message().find("cannot open shared object file"), std::string::npos) << lib.status().message();
}

TEST(CublasLibrary, LibraryWithoutTheSymbolsIsRejected) {
  // zlib is a real shared object (the project links it) without any cuBLAS symbol.
  const char* const names[] = {"libz.so.1"};
  auto lib = LoadCublas(names);
  ASSERT_FALSE(lib.ok());
  EXPECT_NE(lib.status().message().find("libz.so.1"), std::string::npos) << lib.status().message();
  EXPECT_NE(lib.status().message().find("cublasCreate_v2"), std::string::npos) << lib.status().message();
}

TEST(CublasLibrary, EmptyCandidateListIsAnError) {
  auto lib = LoadCublas({});
  ASSERT_FALSE(lib.ok());
  EXPECT_EQ(lib.status().code(), StatusCode::kUnavailable);
}

TEST(CublasLibrary, CandidatesStartWithTheToolkitSoname) {
  auto names = CublasCandidates();
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(std::string(names[0]).rfind("libcublas.so.", 0), 0u) << names[0];
  const std::string path = names[1], soname = names[0];
  EXPECT_EQ(path.substr(path.size() - soname.size()), soname) << path;
  EXPECT_EQ(path.front(), '/') << path;
  EXPECT_EQ(std::string(names[2]), "libcublas.so");
}

// Where the toolkit's cuBLAS is installed (as on the build machine), loading
// resolves every entry point and skips candidates that fail.
TEST(CublasLibrary, LoadsTheInstalledLibraryAndSkipsBadCandidates) {
  const auto& process = Cublas();
  if (!process.ok()) GTEST_SKIP() << "cuBLAS not installed here: " << process.status().message();
  EXPECT_NE(process->create, nullptr);
  EXPECT_NE(process->set_stream, nullptr);
  EXPECT_NE(process->sgemm, nullptr);
  EXPECT_NE(process->destroy, nullptr);
  EXPECT_TRUE(CublasMapped());
  EXPECT_EQ(&Cublas(), &process) << "one process-wide library";

  const char* const names[] = {"libshoal_no_such_cublas.so.99", "libz.so.1", process->path.c_str()};
  auto lib = LoadCublas(names);
  ASSERT_TRUE(lib.ok()) << lib.status().message();
  EXPECT_EQ(lib->path, process->path);
  // dlopen of an already loaded library returns the same object: same entry points.
  EXPECT_EQ(lib->sgemm, process->sgemm);
}

}  // namespace
}  // namespace shoal::cuda
