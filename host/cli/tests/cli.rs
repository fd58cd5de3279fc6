//! The `gyre` command as a user runs it: real binary, real components, real
//! HTTP on 127.0.0.1, documented exit codes.

use gyre_tests::{TempDir, TestServer, artifacts};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

const SUCCESS: i32 = 0;
const FAILED: i32 = 1;
const USAGE: i32 = 2;
const BUDGET: i32 = 3;
const DENIED: i32 = 4;

struct Gyre {
    home: TempDir,
}

impl Gyre {
    fn new() -> Self {
        Self {
            home: TempDir::new("cli"),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_gyre"))
            .args(args)
            .env("GYRE_CACHE_DIR", self.home.join("cache"))
            .env("GYRE_STATE_DIR", self.home.join("state"))
            .output()
            .expect("running gyre")
    }

    fn json(&self, args: &[&str]) -> (i32, Value) {
        let mut args = args.to_vec();
        args.push("--json");
        let out = self.run(&args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {stdout}\nstderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), value)
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn write(dir: &TempDir, name: &str, contents: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path.display().to_string()
}

const PASSING_LOG: &str = "running 2 tests\ntest a ... ok\ntest b ... ok\n\ntest result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n";
const FAILING_LOG: &str = "running 2 tests\ntest a ... ok\ntest b ... FAILED\n\ntest result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n";

#[test]
fn inspect_shows_kind_world_requests_imports_and_exports() {
    let gyre = Gyre::new();
    let out = gyre.run(&["plugin", "inspect", artifacts::HTTP_JSON]);
    let text = text(&out);
    assert_eq!(out.status.code(), Some(SUCCESS), "{text}");
    assert!(text.contains("http-json 0.1.0 — connector"), "{text}");
    assert!(
        text.contains("world: gyre:plugin/connector@0.1.0"),
        "{text}"
    );
    assert!(text.contains("http http://127.0.0.1:*"), "{text}");
    assert!(text.contains("wasi:http/outgoing-handler"), "{text}");
    assert!(text.contains("gyre:plugin/operations@0.1.0"), "{text}");

    let (code, json) = gyre.json(&["plugin", "inspect", artifacts::TESTS_GREEN]);
    assert_eq!(code, SUCCESS);
    assert_eq!(json["manifest"]["plugin"]["kind"], "verifier");
    assert_eq!(json["worlds"][0]["api-version"], "0.1.0");
    assert!(json["digest"].as_str().unwrap().starts_with("sha256:"));
    assert!(json["mismatches"].as_array().unwrap().is_empty(), "{json}");
}

#[test]
fn inspect_flags_a_manifest_that_contradicts_the_component() {
    let gyre = Gyre::new();
    let dir = TempDir::new("cli-mismatch");
    // Same length, so the component stays valid: the manifest now claims a
    // trigger while the component exports the verifier interface.
    let bytes = std::fs::read(artifacts::TESTS_GREEN).unwrap();
    let lying = replace(&bytes, b"kind = \"verifier\"", b"kind = \"trigger\" ");
    let path = dir.join("lying.wasm");
    std::fs::write(&path, lying).unwrap();
    let out = gyre.run(&["plugin", "inspect", path.to_str().unwrap()]);
    let text = text(&out);
    assert_eq!(out.status.code(), Some(USAGE), "{text}");
    assert!(
        text.contains(
            "the manifest says trigger, but the component does not export gyre:plugin/events"
        ),
        "{text}"
    );

    // And it will not run.
    let out = gyre.run(&["plugin", "call", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(USAGE), "{}", text_of(&out));
}

#[test]
fn a_component_without_a_manifest_or_a_file_that_is_not_one_is_refused_clearly() {
    let gyre = Gyre::new();
    let dir = TempDir::new("cli-nomanifest");
    let bytes = std::fs::read(artifacts::TESTS_GREEN).unwrap();
    let anonymous = dir.join("anonymous.wasm");
    std::fs::write(
        &anonymous,
        replace(&bytes, b"gyre-manifest", b"gyre-manifesx"),
    )
    .unwrap();
    let out = gyre.run(&["plugin", "call", anonymous.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(USAGE));
    assert!(
        text(&out).contains("has no embedded gyre.toml manifest"),
        "{}",
        text(&out)
    );

    let junk = write(&dir, "junk.wasm", "not wasm at all");
    let out = gyre.run(&["plugin", "inspect", &junk]);
    assert_eq!(out.status.code(), Some(USAGE));
    assert!(
        text(&out).contains("junk.wasm: it is not WebAssembly"),
        "{}",
        text(&out)
    );
}

fn replace(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    // The last copy: the custom section the host reads (rustc also leaves
    // a dead copy of the manifest in the data segment).
    let at = haystack
        .windows(from.len())
        .rposition(|w| w == from)
        .expect("pattern present");
    let mut out = haystack.to_vec();
    out[at..at + to.len()].copy_from_slice(to);
    out
}

fn text_of(out: &Output) -> String {
    text(out)
}

#[test]
fn a_passing_verifier_exits_0_and_reports_its_usage() {
    let gyre = Gyre::new();
    let dir = TempDir::new("cli-pass");
    let log = write(&dir, "test.log", PASSING_LOG);
    let out = gyre.run(&[
        "plugin",
        "call",
        artifacts::TESTS_GREEN,
        "--evidence",
        &format!("test-log={log}"),
    ]);
    let text = text(&out);
    assert_eq!(out.status.code(), Some(SUCCESS), "{text}");
    assert!(text.contains("tests-green: PASS"), "{text}");
    assert!(text.contains("usage: fuel "), "{text}");
    assert!(text.contains("peak memory"), "{text}");
}

#[test]
fn a_failing_verdict_exits_1_and_names_the_failure() {
    let gyre = Gyre::new();
    let dir = TempDir::new("cli-fail");
    let log = write(&dir, "test.log", FAILING_LOG);
    let (code, json) = gyre.json(&[
        "plugin",
        "call",
        artifacts::TESTS_GREEN,
        "--evidence",
        &format!("test-log={log}"),
    ]);
    assert_eq!(code, FAILED, "{json}");
    assert_eq!(json["result"]["status"], "fail");
    assert_eq!(json["result"]["verdict"]["passed"], false);
    let findings = json["result"]["verdict"]["findings"].as_array().unwrap();
    let names_b = |f: &Value| {
        f["severity"] == "Error" && f["message"].as_str().is_some_and(|m| m.starts_with('b'))
    };
    assert!(
        findings.iter().any(names_b),
        "the failed test `b` is named: {findings:?}"
    );
    assert!(json["usage"]["fuel_consumed"].as_u64().unwrap() > 0);
}

#[test]
fn the_second_call_of_an_unchanged_plugin_does_not_compile() {
    let gyre = Gyre::new();
    let dir = TempDir::new("cli-cache");
    let log = write(&dir, "test.log", PASSING_LOG);
    let evidence = format!("test-log={log}");
    let args = [
        "plugin",
        "call",
        artifacts::TESTS_GREEN,
        "--evidence",
        &evidence,
    ];
    let (_, first) = gyre.json(&args);
    let (_, second) = gyre.json(&args);
    assert_eq!(first["load"]["compiled"], true);
    assert_eq!(second["load"]["compiled"], false);
}

#[test]
fn a_connector_reaches_a_granted_origin_and_is_denied_otherwise() {
    let gyre = Gyre::new();
    let server = TestServer::json(r#"{"open": 3}"#);
    let config = format!(r#"{{"base-url": "{}"}}"#, server.origin());
    let input = r#"{"path": "/status"}"#;
    let base = [
        "plugin",
        "call",
        artifacts::HTTP_JSON,
        "--config",
        &config,
        "--op",
        "get",
        "--input",
        input,
    ];

    let origin = server.origin();
    let mut granted = base.to_vec();
    granted.extend(["--allow-http", &origin]);
    let (code, json) = gyre.json(&granted);
    assert_eq!(code, SUCCESS, "{json}");
    assert_eq!(json["result"]["output"]["body"]["open"], 3, "{json}");
    assert_eq!(server.requests().len(), 1);

    let (code, json) = gyre.json(&base);
    assert_eq!(code, DENIED, "{json}");
    assert_eq!(json["denials"][0]["capability"], "http", "{json}");
    assert_eq!(
        server.requests().len(),
        1,
        "the denied call must not reach the server"
    );
}

#[test]
fn a_runaway_plugin_exits_3_with_a_typed_outcome() {
    let gyre = Gyre::new();
    let (code, json) = gyre.json(&[
        "plugin",
        "call",
        artifacts::HOSTILE_INFINITE_LOOP,
        "--fuel",
        "50000000",
    ]);
    assert_eq!(code, BUDGET, "{json}");
    assert_eq!(json["result"]["failure"]["kind"], "out-of-fuel", "{json}");

    let (code, json) = gyre.json(&[
        "plugin",
        "call",
        artifacts::HOSTILE_INFINITE_LOOP,
        "--fuel",
        "100000000000",
        "--timeout",
        "200ms",
    ]);
    assert_eq!(code, BUDGET, "{json}");
    assert_eq!(json["result"]["failure"]["kind"], "timed-out", "{json}");
}

#[test]
fn bad_arguments_exit_2_and_say_what_to_fix() {
    let gyre = Gyre::new();
    let out = gyre.run(&[
        "plugin",
        "call",
        artifacts::TESTS_GREEN,
        "--dir",
        "/definitely/not/here:/data",
    ]);
    assert_eq!(out.status.code(), Some(USAGE));
    assert!(
        text(&out).contains("/definitely/not/here does not exist"),
        "{}",
        text(&out)
    );

    let out = gyre.run(&[
        "plugin",
        "call",
        artifacts::HTTP_JSON,
        "--allow-http",
        "https://*",
    ]);
    assert_eq!(out.status.code(), Some(USAGE));
    assert!(
        text(&out).contains("granting every host is not allowed"),
        "{}",
        text(&out)
    );

    let out = gyre.run(&[
        "plugin",
        "call",
        artifacts::TESTS_GREEN,
        "--secret",
        "TOKEN=hunter2",
    ]);
    assert_eq!(out.status.code(), Some(USAGE));
    assert!(
        !text(&out).contains("hunter2"),
        "a secret value must not be echoed"
    );

    let out = gyre.run(&["plugin", "call", "/no/such/plugin.wasm"]);
    assert_eq!(out.status.code(), Some(USAGE));
    assert!(
        text(&out).contains("cannot read plugin /no/such/plugin.wasm"),
        "{}",
        text(&out)
    );
}

#[test]
fn new_scaffolds_plugins_of_every_kind_that_build_and_run_on_the_first_try() {
    let gyre = Gyre::new();
    let dir = TempDir::new("cli-new");
    // Share the guest build directory so dependencies compile once.
    let target = Path::new(artifacts::TESTS_GREEN)
        .ancestors()
        .nth(3)
        .unwrap()
        .to_path_buf();
    for (kind, name) in [
        ("verifier", "report-gate"),
        ("connector", "status-feed"),
        ("trigger", "hourly-tick"),
    ] {
        let plugin_dir = dir.join(name);
        let out = gyre.run(&[
            "new",
            kind,
            name,
            "--lang",
            "rust",
            "--dir",
            plugin_dir.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(SUCCESS), "{}", text(&out));
        let build = Command::new(env!("CARGO"))
            .args(["build", "--release", "--offline"])
            .current_dir(&plugin_dir)
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("RUSTFLAGS")
            .output()
            .unwrap();
        assert!(
            build.status.success(),
            "the {kind} scaffold must build: {}",
            text(&build)
        );
        let wasm = target.join(format!(
            "wasm32-wasip2/release/{}.wasm",
            name.replace('-', "_")
        ));
        let out = gyre.run(&["plugin", "inspect", wasm.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(SUCCESS), "{}", text(&out));
        assert!(
            text(&out).contains(&format!("{name} 0.1.0 — {kind}")),
            "{}",
            text(&out)
        );
    }

    let report = write(&dir, "report.json", r#"{"value": 91.5}"#);
    let verifier = target.join("wasm32-wasip2/release/report_gate.wasm");
    let out = gyre.run(&[
        "plugin",
        "call",
        verifier.to_str().unwrap(),
        "--evidence",
        &format!("report={report}"),
    ]);
    assert_eq!(out.status.code(), Some(SUCCESS), "{}", text(&out));
    assert!(text(&out).contains("PASS"), "{}", text(&out));

    let server = TestServer::json(r#"{"up": true}"#);
    let connector = target.join("wasm32-wasip2/release/status_feed.wasm");
    let config = format!(r#"{{"base-url": "{}"}}"#, server.origin());
    let (code, json) = gyre.json(&[
        "plugin",
        "call",
        connector.to_str().unwrap(),
        "--allow-http",
        &server.origin(),
        "--config",
        &config,
        "--op",
        "get",
        "--input",
        r#"{"path": "/"}"#,
    ]);
    assert_eq!(code, SUCCESS, "{json}");
    assert_eq!(json["result"]["output"]["up"], true, "{json}");

    let trigger = target.join("wasm32-wasip2/release/hourly_tick.wasm");
    let (code, json) = gyre.json(&[
        "plugin",
        "call",
        trigger.to_str().unwrap(),
        "--cursor",
        "0",
        "--now-ms",
        "7200000",
    ]);
    assert_eq!(code, SUCCESS, "{json}");
    assert_eq!(
        json["result"]["events"].as_array().map(Vec::len),
        Some(1),
        "{json}"
    );
}

#[test]
fn names_cargo_would_refuse_are_refused_by_new() {
    let gyre = Gyre::new();
    let dir = TempDir::new("cli-new-bad");
    for bad in ["test", "1password", "loop"] {
        let out = gyre.run(&[
            "new",
            "verifier",
            bad,
            "--dir",
            dir.join(bad).to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(USAGE), "{bad}: {}", text(&out));
        assert!(!dir.join(bad).exists(), "{bad}: nothing may be created");
    }
}

#[test]
fn a_plugin_blocked_on_a_fifo_is_stopped_at_its_deadline_and_gyre_exits() {
    let gyre = Gyre::new();
    let workspace = TempDir::new("cli-fifo");
    let fifo = workspace.join("pipe");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let mount = format!("workspace={}", workspace.path().display());
    let started = std::time::Instant::now();
    let (code, json) = gyre.json(&[
        "plugin",
        "call",
        artifacts::HOSTILE_READ_ETC_PASSWD,
        "--mount",
        &mount,
        "--timeout",
        "500ms",
        "--op",
        "read",
        "--input",
        r#"{"paths": ["/workspace/pipe"]}"#,
    ]);
    assert_eq!(code, BUDGET, "{json}");
    assert_eq!(json["result"]["failure"]["kind"], "timed-out", "{json}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "gyre hung: {:?}",
        started.elapsed()
    );
}

#[test]
fn secrets_never_reach_the_json_output() {
    let gyre = Gyre::new();
    let value = "cli-sentinel-77aa41";
    let out = Command::new(env!("CARGO_BIN_EXE_gyre"))
        .args([
            "plugin",
            "call",
            artifacts::HOSTILE_SECRET_NOT_GRANTED,
            "--secret",
            "GRANTED_TOKEN=env:GYRE_TEST_VALUE",
            "--op",
            "steal",
            "--json",
        ])
        .args(["--input", &format!(r#"{{"names": ["{value}"]}}"#)])
        .env("GYRE_TEST_VALUE", value)
        .env("GYRE_CACHE_DIR", gyre.home.join("cache"))
        .env("GYRE_STATE_DIR", gyre.home.join("state"))
        .output()
        .unwrap();
    let all = text(&out);
    assert!(!all.contains(value), "the secret reached the output: {all}");
    assert!(all.contains("[redacted:GRANTED_TOKEN]"), "{all}");
}

#[test]
fn no_grant_reaches_the_users_keys_trust_policy_or_state() {
    let g = Gyre::new();
    let config = g.home.join("config");
    std::fs::create_dir_all(config.join("keys")).unwrap();
    std::fs::write(config.join("trust.toml"), "# the user's trust policy\n").unwrap();
    // A plugin that writes wherever it is allowed, granted read-write a
    // directory holding the config, the config itself, a directory inside
    // it, and the state directory: each grant is refused before it runs.
    let home = g.home.path().display().to_string();
    let targets = [
        home.clone(),
        config.display().to_string(),
        config.join("keys").display().to_string(),
        g.home.join("state").display().to_string(),
    ];
    std::fs::create_dir_all(g.home.join("state")).unwrap();
    for target in targets {
        let out = Command::new(env!("CARGO_BIN_EXE_gyre"))
            .args(["plugin", "call", artifacts::HOSTILE_WRITE_READONLY])
            .args(["--dir", &format!("{target}:/data:rw")])
            .env("GYRE_CACHE_DIR", g.home.join("cache"))
            .env("GYRE_STATE_DIR", g.home.join("state"))
            .env("GYRE_CONFIG_DIR", &config)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(USAGE), "{target}: {}", text(&out));
        assert!(text(&out).contains("overlaps"), "{target}: {}", text(&out));
    }
    assert_eq!(
        std::fs::read_to_string(config.join("trust.toml")).unwrap(),
        "# the user's trust policy\n"
    );
    assert_eq!(std::fs::read_dir(config.join("keys")).unwrap().count(), 0);
}
