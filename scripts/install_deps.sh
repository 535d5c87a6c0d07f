#!/usr/bin/env bash
# Installs the Debian packages Shoal needs, only when something is missing.
# Usage: scripts/install_deps.sh [--with-python]   (root or sudo required only when installing)
set -euo pipefail
pkgs=(cmake ninja-build ccache g++ pkg-config zlib1g-dev
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
      libeigen3-dev libssl-dev openssl libboost-dev libboost-system-dev libspdlog-dev libgtest-dev libgmock-dev
      libyaml-cpp-dev libcli11-dev nlohmann-json3-dev libhwy-dev libbenchmark-dev
      dataset-fashion-mnist)
if [[ "${1:-}" == "--with-python" ]]; then pkgs+=(python3-matplotlib python3-numpy); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} == 0 )); then exit 0; fi
echo "[shoal] installing missing Debian packages: ${missing[*]}"
SUDO=""; if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
