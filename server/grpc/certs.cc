#include "server/grpc/certs.h"

#include <cstdlib>
#include <filesystem>
#include <vector>

namespace shoal::server {
namespace {

// `s` as one single-quoted shell word (a ' inside becomes '\'').
std::string ShellQuote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  q += '\'';
  return q;
}

}  // namespace

Status GenerateCerts(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Unavailable(dir + ": cannot create: " + ec.message());
  const std::string d = ShellQuote(fs::absolute(dir).string());
  const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  const std::vector<std::string> cmds = {
      "openssl req -x509 " + key + " -keyout " + d + "/ca.key -out " + d + "/ca.crt -days 365 -subj /CN=shoal-ca",
      "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' > " + d + "/server.ext",
      "printf 'extendedKeyUsage=clientAuth\\n' > " + d + "/client.ext",
      "openssl req " + key + " -keyout " + d + "/server.key -out " + d + "/server.csr -subj /CN=localhost",
      "openssl x509 -req -in " + d + "/server.csr -CA " + d + "/ca.crt -CAkey " + d + "/ca.key -CAcreateserial -out " +
          d + "/server.crt -days 365 -extfile " + d + "/server.ext",
      "openssl req " + key + " -keyout " + d + "/client.key -out " + d + "/client.csr -subj /CN=shoal-client",
      "openssl x509 -req -in " + d + "/client.csr -CA " + d + "/ca.crt -CAkey " + d + "/ca.key -CAcreateserial -out " +
          d + "/client.crt -days 365 -extfile " + d + "/client.ext",
  };
  for (const auto& c : cmds)
    if (std::system((c + " >/dev/null 2>&1").c_str()) != 0) return Internal("gen-certs: command failed: " + c);
  return Status::Ok();
}

}  // namespace shoal::server
