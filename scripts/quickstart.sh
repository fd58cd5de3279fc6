#!/usr/bin/env bash
# Gyre quick start: builds the host and first-party plugins, then runs a
# verifier and a connector in the sandbox, shows their budgets, a denied
# capability, and a runaway plugin stopped by its fuel budget.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# expect CODE COMMAND...: runs it, shows its exit code, and stops the demo if
# it is not the documented one.
expect() {
  local want=$1; shift
  printf '$ %s\n' "$*"
  set +e; "$@"; local code=$?; set -e
  printf '(exit code %s)\n' "$code"
  if [ "$code" != "$want" ]; then echo "quickstart: expected exit code $want" >&2; exit 1; fi
}

step "Setting up (Rust wasm32-wasip2 target, host, plugins)"
rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
# The same build as the test suite's (so `cargo test` after this compiles
# nothing new, and neither does this after the tests): the gyre binary, and
# through tests/build.rs every plugin component under target/guest.
cargo build --quiet --workspace --tests
gyre="$root/target/debug/gyre"
wasm="$root/target/guest/wasm32-wasip2/release"
export GYRE_CACHE_DIR="$root/target/gyre-cache" GYRE_STATE_DIR="$root/target/gyre-state"

# A local JSON service for the connector, on loopback only.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory examples/service >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done

step "What does the tests-green verifier ask for? (nothing: no files, no network, no secrets)"
expect 0 "$gyre" plugin inspect "$wasm/tests_green.wasm"

step "Verifier on a passing cargo test log"
expect 0 "$gyre" plugin call "$wasm/tests_green.wasm" --evidence test-log=examples/evidence/cargo-pass.log

step "Verifier on a failing log: the verdict fails and names the test"
expect 1 "$gyre" plugin call "$wasm/tests_green.wasm" --evidence test-log=examples/evidence/cargo-fail.log

step "Connector with the origin granted: reads the local service"
expect 0 "$gyre" plugin call "$wasm/http_json.wasm" \
  --allow-http "http://127.0.0.1:$port" \
  --config "{\"base-url\": \"http://127.0.0.1:$port\"}" \
  --op get --input '{"path": "/status.json"}'

step "Same connector, no grant: the host denies the request (exit code 4)"
expect 4 "$gyre" plugin call "$wasm/http_json.wasm" \
  --config "{\"base-url\": \"http://127.0.0.1:$port\"}" \
  --op get --input '{"path": "/status.json"}'

step "A granted, trusted name that resolves to the cloud metadata address: refused before connecting"
expect 4 "$gyre" plugin call "$wasm/http_json.wasm" \
  --allow-http https://api.github.com --resolve api.github.com:169.254.169.254 \
  --config '{"base-url": "https://api.github.com"}' \
  --op get --input '{"path": "/latest/meta-data/"}'

step "A plugin that never stops, under a fuel budget: stopped, typed outcome (exit code 3)"
expect 3 "$gyre" plugin call "$wasm/hostile_infinite_loop.wasm" --fuel 200000000 --timeout 5s

printf '\nQuick start done: every step ended with its documented exit code.\n'
