#!/usr/bin/env bash
# The README's test command: installs what the tests need and a clean
# machine lacks (each step skipped when already there), then runs every
# test in the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
# The quickstart serves its demo API with Python's http.server.
command -v python3 >/dev/null || { $SUDO apt-get update && $SUDO apt-get install -y python3; }
# The registry tests start Debian's OCI registry and inspect with skopeo.
if ! command -v docker-registry >/dev/null || ! command -v skopeo >/dev/null; then
  $SUDO apt-get update
  $SUDO apt-get install -y docker-registry skopeo
fi
# Guest toolchains for plugins in other languages: `gyre build` drives them
# and host/cli/tests/languages.rs builds every language's reference plugins
# from source (versions as in sdk/README.md).
if ! command -v clang >/dev/null || [ ! -f /usr/include/wasm32-wasi/stdlib.h ] \
   || ! ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a >/dev/null 2>&1; then
  $SUDO apt-get update && $SUDO apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32
fi
python3 -m pip --version >/dev/null 2>&1 || { $SUDO apt-get update && $SUDO apt-get install -y python3-pip; }
command -v componentize-py >/dev/null || python3 -m pip install componentize-py==0.25.1
command -v zig >/dev/null || python3 -c 'import ziglang' 2>/dev/null || python3 -m pip install ziglang==0.17.0
command -v npm >/dev/null || { $SUDO apt-get update && $SUDO apt-get install -y nodejs npm; }
command -v componentize-js >/dev/null || npm install -g @bytecodealliance/componentize-js@0.23.0
cargo test --workspace "$@"
