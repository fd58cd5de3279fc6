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
# clang's wasm32 runtime is packaged per LLVM version (libclang-rt-14 on
# Debian 12, -18 on Ubuntu 24.04): install the one of the clang installed.
if ! command -v clang >/dev/null || [ ! -f /usr/include/wasm32-wasi/stdlib.h ] \
   || ! ls /usr/lib/llvm-*/lib/clang/*/lib/*wasi*/libclang_rt.builtins*.a >/dev/null 2>&1; then
  $SUDO apt-get update && $SUDO apt-get install -y clang lld wasi-libc
  llvm=$(clang --version | sed -n 's/.*clang version \([0-9][0-9]*\).*/\1/p' | head -n 1)
  $SUDO apt-get install -y "libclang-rt-${llvm:-14}-dev-wasm32"
fi
python3 -m pip --version >/dev/null 2>&1 || { $SUDO apt-get update && $SUDO apt-get install -y python3-pip; }
# PEP 668 (Debian 12, Ubuntu 23.04+): a system python3 refuses `pip install`
# outside a virtual environment. Install for this user instead, into
# ~/.local, which must then be on PATH (componentize-py's script is there).
PIP="python3 -m pip install"
if python3 -c 'import os, sys, sysconfig; sys.exit(not (sys.prefix == sys.base_prefix and os.path.isfile(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))))'; then
  PIP="python3 -m pip install --user --break-system-packages"
  export PATH="$HOME/.local/bin:$PATH"
fi
command -v componentize-py >/dev/null || $PIP componentize-py==0.25.1
command -v zig >/dev/null || python3 -c 'import ziglang' 2>/dev/null || $PIP ziglang==0.17.0
command -v npm >/dev/null || { $SUDO apt-get update && $SUDO apt-get install -y nodejs npm; }
# npm's global prefix (/usr/local) is root's.
command -v componentize-js >/dev/null || $SUDO npm install -g @bytecodealliance/componentize-js@0.23.0
# The benchmarks are not run here (speed is measured, not tested), but they
# must keep compiling.
cargo test --workspace --benches --no-run
cargo test --workspace "$@"
