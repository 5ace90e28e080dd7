#!/usr/bin/env bash
# Install every build and test dependency from Debian's packages. Idempotent: when everything
# is already installed it does nothing (and needs no root). Used by .ci/run and the README.
set -euo pipefail

packages=(
    build-essential cmake ninja-build pkg-config   # the build
    clang libclang-rt-14-dev                       # fuzz targets (libFuzzer) and sanitizer runtimes
    libuv1-dev                                     # the event loop
    libssl-dev                                     # TLS for JNLP4-connect, HTTPS and WSS
    libwebsockets-dev                              # WebSocket transport (ws/wss), on our libuv loop
    zlib1g-dev                                     # gzip streams (remote file copies, archives)
    libarchive-dev                                 # tar and zip for FilePath archive callables
    openjdk-17-jdk-headless                        # the test controller and Java golden generators
    tinyproxy                                      # a real HTTP CONNECT proxy for the proxy tests
    python3 procps iproute2 curl ca-certificates   # test scripts
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "installing: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" != 0 ]; then
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
