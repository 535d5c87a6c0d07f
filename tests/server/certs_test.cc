// shoal-server gen-certs: the files it writes form a CA that verifies the
// server and client certificates (checked with the openssl CLI, independent
// of the code that made them), also under a directory whose name needs
// shell quoting.
#include "server/grpc/certs.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace shoal::server {
namespace {

namespace fs = std::filesystem;

int Verify(const fs::path& dir, const std::string& cert) {
  const std::string cmd =
      "openssl verify -CAfile \"" + (dir / "ca.crt").string() + "\" \"" + (dir / cert).string() + "\" >/dev/null 2>&1";
  return std::system(cmd.c_str());
}

TEST(GenCerts, CaVerifiesServerAndClientCertsEvenInAQuotedDirectory) {
  const fs::path dir = fs::temp_directory_path() / ("shoal certs 'q' " + std::to_string(::getpid()));
  fs::remove_all(dir);
  ASSERT_TRUE(GenerateCerts(dir.string()).ok());
  for (const char* f : {"ca.crt", "server.crt", "server.key", "client.crt", "client.key"}) {
    ASSERT_TRUE(fs::exists(dir / f)) << f;
    EXPECT_GT(fs::file_size(dir / f), 100u) << f;
  }
  EXPECT_EQ(Verify(dir, "server.crt"), 0);
  EXPECT_EQ(Verify(dir, "client.crt"), 0);
  // A certificate the CA did not sign fails the same check.
  const std::string other = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout \"" +
                            (dir / "other.key").string() + "\" -out \"" + (dir / "other.crt").string() +
                            "\" -days 1 -subj /CN=other >/dev/null 2>&1";
  ASSERT_EQ(std::system(other.c_str()), 0);
  EXPECT_NE(Verify(dir, "other.crt"), 0);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace shoal::server
