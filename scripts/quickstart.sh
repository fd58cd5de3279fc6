#!/usr/bin/env bash
# Gyre quick start. Builds the host and the first-party plugins, then:
#  1. runs the "Ship PR Until Green" recipe end to end on a sample git
#     repository it creates, with a stand-in maker agent: a failing
#     iteration, a passing one, the ship steps delivering to a local HTTP
#     receiver, and the budget report;
#  2. tours the sandbox: a verifier and a connector, a denied capability, a
#     rebinding attempt, and a runaway plugin stopped by its fuel budget.
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

step "The main job: run the Ship PR Until Green recipe on a sample repository"
demo="$root/target/quickstart"
rm -rf "$demo"; mkdir -p "$demo"
project="$demo/project"
cp -r examples/quickstart/sample "$project"
git -C "$project" init -q -b main
git -C "$project" add -A
git -C "$project" -c user.name=demo -c user.email=demo@localhost commit -q -m "calc: two bugs"
git init -q --bare "$demo/origin.git"
git -C "$project" remote add origin "$demo/origin.git"
# A stand-in for GitHub's API and a Slack webhook, on loopback only.
python3 examples/quickstart/receiver.py "$demo/receiver.port" "$demo/deliveries.jsonl" &
receiver=$!
trap 'kill $receiver 2>/dev/null' EXIT
for _ in $(seq 50); do [ -s "$demo/receiver.port" ] && break; sleep 0.1; done
rport=$(cat "$demo/receiver.port")
export SLACK_WEBHOOK_URL="http://127.0.0.1:$rport/slack/T000/B000/demo"
# The project config: the only place roles are bound and access granted.
cat > "$project/gyre.toml" <<TOML
[project]
keep-worktrees = "on-failure"

# STAND-IN: a script that edits files the way an agent would. See the
# README ("Binding a real agent") for claude -p or codex exec.
[agents.maker]
run = ["python3", "$root/examples/quickstart/stand-in-agent.py"]
spend = "/total_cost_usd"
timeout = "2m"

[commands.test]
run = "cargo test --offline --color never"
timeout = "5m"

[commands.push]
run = "git push -q origin HEAD"

[plugins]
"gyre/tests-green" = "$wasm/tests_green.wasm"
"gyre/diff-guard" = "$wasm/diff_guard.wasm"
"gyre/http-json" = "$wasm/http_json.wasm"
"gyre/webhook-notify" = "$wasm/webhook_notify.wasm"

[loops.ship-pr-until-green]
recipe = "$root/recipes/ship-pr-until-green.toml"

[loops.ship-pr-until-green.config.open-pr]
base-url = "http://127.0.0.1:$rport/repos/demo/calc"

# Each step gets only its own grants: only notify sees the webhook URL.
[loops.ship-pr-until-green.grants.open-pr]
http = ["http://127.0.0.1:$rport"]
secrets = { GITHUB_TOKEN = { value = "stand-in-token" } }

[loops.ship-pr-until-green.grants.notify]
http = ["http://127.0.0.1:$rport"]
secrets = { SLACK_WEBHOOK_URL = { env = "SLACK_WEBHOOK_URL" } }
TOML
cd "$project"
expect 0 "$gyre" run ship-pr-until-green --once
run_id=$("$gyre" runs --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["run"]["id"])')
step "What the run recorded (gyre show)"
expect 0 "$gyre" show "$run_id"
step "What the receiver got: the pull request and the notification, once each"
cat "$demo/deliveries.jsonl"
test "$(wc -l < "$demo/deliveries.jsonl")" = 2 || { echo "quickstart: expected 2 deliveries" >&2; exit 1; }
step "The pushed branch"
git -C "$demo/origin.git" branch --list 'gyre/*'
cd "$root"

step "The sandbox tour"
# A local JSON service for the connector, on loopback only.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory examples/service >/dev/null 2>&1 &
server=$!
trap 'kill $server $receiver 2>/dev/null' EXIT
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
