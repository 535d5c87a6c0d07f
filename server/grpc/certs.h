// Self-signed certificates for local use, made with the openssl CLI: a CA
// (ca.crt/ca.key), a server certificate for localhost and 127.0.0.1
// (server.crt/key) and a client certificate for mutual TLS (client.crt/key).
#pragma once

#include <string>

#include "core/status.h"

namespace shoal::server {

// Writes the files into `dir` (created if needed). Needs `openssl` on PATH.
Status GenerateCerts(const std::string& dir);

}  // namespace shoal::server
