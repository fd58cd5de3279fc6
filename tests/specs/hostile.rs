//! Hostile plugins, one per sandbox boundary (see tests/hostile/README.md).
//! Each test shows the attack contained with its specific outcome, checks
//! the host side (servers untouched, files unchanged, secrets absent), and
//! that the host serves the next call normally.

use gyre_manifest::{Access, DirGrant, Grants, SecretSource};
use gyre_sandbox::verifier::{Evidence, Verdict, VerifyRequest};
use gyre_sandbox::{Failure, Granted, Invocation, Plugin, PluginError};
use gyre_tests::{Reply, Sandbox, TempDir, TestServer, artifacts, grants};
use serde_json::{Value, json};
use std::net::IpAddr;
use std::time::{Duration, Instant};

fn request(config: Value, behave: bool) -> VerifyRequest {
    let evidence = if behave {
        vec![Evidence {
            name: "behave".into(),
            content_type: "text/plain".into(),
            data: Vec::new(),
        }]
    } else {
        Vec::new()
    };
    VerifyRequest {
        config: config.to_string(),
        evidence,
        workspace: None,
    }
}

fn budget(toml: &str) -> Grants {
    grants(&format!("[budgets]\n{toml}"))
}

async fn behaves(plugin: &Plugin, granted: &Granted) {
    let inv = plugin.verify(granted, request(json!({}), true)).await;
    match inv.outcome {
        Ok(Ok(v)) => assert!(v.passed, "the benign call should pass: {v:?}"),
        other => panic!("the host must serve the next call normally, got {other:?}"),
    }
}

async fn connector_behaves(plugin: &Plugin, granted: &Granted) {
    let out = plugin
        .invoke(
            granted,
            "{}",
            &operation(plugin).await,
            r#"{"behave": true}"#,
        )
        .await;
    match &out.outcome {
        Ok(Ok(text)) => assert!(text.contains("behaved"), "{text}"),
        other => panic!("the host must serve the next call normally, got {other:?}"),
    }
}

/// The report a hostile connector returned; it must say the attack failed.
fn contained(inv: &Invocation<Result<String, PluginError>>) -> Value {
    let text = match &inv.outcome {
        Ok(Ok(text)) => text.clone(),
        other => panic!("expected the plugin's report, got {other:?}"),
    };
    let report: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("report is not JSON ({e}): {text}"));
    assert_eq!(report["ok"], false, "the attack succeeded: {report:#}");
    report
}

/// Everything the host shows of a call, for "appears nowhere" checks.
fn everything<T: std::fmt::Debug>(inv: &Invocation<T>) -> String {
    format!(
        "{:?}\n{:?}\n{}\n{}\n{:?}",
        inv.outcome, inv.output.logs, inv.output.stdout, inv.output.stderr, inv.denials
    )
}

async fn operation(plugin: &Plugin) -> String {
    // Hostile connectors answer any operation; use whatever they describe.
    let sandbox_granted =
        Granted::nothing(plugin.name(), Default::default(), plugin.runtime().limits());
    let ops = plugin
        .operations(&sandbox_granted)
        .await
        .outcome
        .expect("describe");
    ops.first()
        .map(|o| o.name.clone())
        .expect("at least one operation")
}

async fn attack(
    plugin: &Plugin,
    granted: &Granted,
    input: Value,
) -> Invocation<Result<String, PluginError>> {
    let op = operation(plugin).await;
    plugin.invoke(granted, "{}", &op, &input.to_string()).await
}

// CPU -------------------------------------------------------------------

#[tokio::test]
async fn an_infinite_loop_runs_out_of_fuel_or_time_and_the_next_call_is_served() {
    let sandbox = Sandbox::new();
    let plugin = sandbox.load(artifacts::HOSTILE_INFINITE_LOOP);

    let granted = sandbox.grant(&plugin, &budget("fuel = 50_000_000"));
    let inv = plugin.verify(&granted, request(json!({}), false)).await;
    assert_eq!(
        inv.outcome.unwrap_err(),
        Failure::OutOfFuel { budget: 50_000_000 }
    );
    assert!(
        inv.usage.fuel_consumed >= 50_000_000 - 1000,
        "{:?}",
        inv.usage
    );
    behaves(&plugin, &granted).await;

    let granted = sandbox.grant(&plugin, &budget("fuel = 100_000_000_000\ntimeout-ms = 300"));
    let started = Instant::now();
    let inv = plugin.verify(&granted, request(json!({}), false)).await;
    assert_eq!(
        inv.outcome.unwrap_err(),
        Failure::TimedOut { after_ms: 300 }
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the deadline must fire promptly: {:?}",
        started.elapsed()
    );
    behaves(&plugin, &granted).await;
}

// Stack -----------------------------------------------------------------

#[tokio::test]
async fn unbounded_recursion_traps_on_the_stack_limit_not_the_budget() {
    let sandbox = Sandbox::new();
    let plugin = sandbox.load(artifacts::HOSTILE_DEEP_RECURSION);
    let granted = sandbox.grant(&plugin, &Grants::default());
    let inv = plugin.verify(&granted, request(json!({}), false)).await;
    match inv.outcome {
        Err(Failure::Trapped { message }) => {
            assert!(
                message.contains("stack overflow") || message.contains("out of bounds"),
                "{message}"
            )
        }
        other => panic!("expected a stack trap, got {other:?}"),
    }
    assert!(
        inv.usage.wall_time() < Duration::from_secs(5),
        "stopped by the stack, not the deadline"
    );
    behaves(&plugin, &granted).await;
}

// Memory ----------------------------------------------------------------

#[tokio::test]
async fn a_memory_bomb_hits_the_memory_limit_and_never_exceeds_it() {
    let sandbox = Sandbox::new();
    let plugin = sandbox.load(artifacts::HOSTILE_MEMORY_BOMB);
    let granted = sandbox.grant(&plugin, &budget("memory-mib = 64"));
    let inv = plugin.verify(&granted, request(json!({}), false)).await;
    assert_eq!(
        inv.outcome.unwrap_err(),
        Failure::MemoryLimit {
            limit_bytes: 64 << 20
        }
    );
    assert!(inv.usage.peak_memory_bytes <= 64 << 20, "{:?}", inv.usage);
    assert!(
        inv.usage.peak_memory_bytes > 32 << 20,
        "the bomb really allocated: {:?}",
        inv.usage
    );
    behaves(&plugin, &granted).await;
}

#[tokio::test]
async fn many_memories_are_refused_before_running_and_other_calls_go_on() {
    let sandbox = Sandbox::new();
    let refused = sandbox
        .runtime
        .load(std::path::Path::new(artifacts::HOSTILE_MANY_MEMORIES));
    let Err(error) = refused else {
        panic!("a plugin with 20 memories was loaded")
    };
    assert!(
        error
            .to_string()
            .contains("defines 20 linear memories; this host allows at most 8"),
        "{error}"
    );

    let other = sandbox.load(artifacts::TESTS_GREEN);
    let granted = sandbox.grant(&other, &Grants::default());
    let log = "test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n";
    let request = VerifyRequest {
        config: "{}".into(),
        evidence: vec![Evidence {
            name: "test-log".into(),
            content_type: "text/plain".into(),
            data: log.into(),
        }],
        workspace: None,
    };
    assert!(matches!(
        other.verify(&granted, request).await.outcome,
        Ok(Ok(Verdict { passed: true, .. }))
    ));
}

// Output ----------------------------------------------------------------

#[tokio::test]
async fn an_output_flood_is_truncated_not_fatal() {
    let sandbox = Sandbox::new();
    let plugin = sandbox.load(artifacts::HOSTILE_OUTPUT_FLOOD);
    let granted = sandbox.grant(&plugin, &Grants::default());
    let limits = plugin.runtime().limits().clone();
    let inv = plugin.verify(&granted, request(json!({}), false)).await;
    let verdict = inv
        .outcome
        .as_ref()
        .expect("returns normally")
        .as_ref()
        .expect("a verdict");
    assert!(verdict.passed, "{verdict:?}");
    let out = &inv.output;
    assert!(
        out.stdout.len() <= limits.max_output_bytes && out.stdout_dropped >= 60 << 20,
        "stdout kept {} dropped {}",
        out.stdout.len(),
        out.stdout_dropped
    );
    assert!(out.stderr.len() <= limits.max_output_bytes && out.stderr_dropped >= 60 << 20);
    assert!(
        out.logs.len() <= limits.max_log_lines && out.logs_dropped > 100_000,
        "{} kept, {} dropped",
        out.logs.len(),
        out.logs_dropped
    );
    let cap = limits.max_log_line_bytes + "…[truncated]".len();
    assert!(
        out.logs
            .iter()
            .all(|l| l.message.len() <= cap && l.fields.iter().all(|(_, v)| v.len() <= cap))
    );
    behaves(&plugin, &granted).await;
}

#[tokio::test]
async fn a_huge_result_is_refused_and_the_host_never_copies_it() {
    let sandbox = Sandbox::new();
    let plugin = sandbox.load(artifacts::HOSTILE_HUGE_RETURN);
    // Enough memory to build the result: the limits under test are sizes.
    let granted = sandbox.grant(&plugin, &budget("memory-mib = 256"));
    let limits = plugin.runtime().limits().clone();

    // 48 MiB: stopped while wasmtime would copy it out, before the host
    // holds it.
    let inv = attack(&plugin, &granted, json!({"bytes": 48 << 20})).await;
    assert_eq!(
        inv.outcome.unwrap_err(),
        Failure::PayloadTooLarge {
            limit: limits.max_hostcall_bytes
        }
    );

    // 6 MiB: copied, then refused by the result cap.
    let inv = attack(&plugin, &granted, json!({"bytes": 6 << 20})).await;
    match inv.outcome {
        Err(Failure::ResultTooLarge { bytes, limit }) => {
            assert!(bytes > limit && limit == limits.max_result_bytes)
        }
        other => panic!("expected result-too-large, got {other:?}"),
    }
    connector_behaves(&plugin, &granted).await;
}

// Filesystem ------------------------------------------------------------

/// `T/outside.txt` beside the granted `T/data` (with inside.txt, existing.txt, sub/).
struct Tree {
    root: TempDir,
}

const OUTSIDE: &str = "outside-the-grant 5b0d3c9e";

impl Tree {
    fn new() -> Self {
        let root = TempDir::new("hostile-fs");
        std::fs::write(root.join("outside.txt"), OUTSIDE).unwrap();
        std::fs::create_dir_all(root.join("data/sub")).unwrap();
        std::fs::write(root.join("data/inside.txt"), "inside the grant").unwrap();
        std::fs::write(root.join("data/existing.txt"), "existing content").unwrap();
        Self { root }
    }
    fn grant(&self, access: Access) -> Grants {
        let mut g = Grants::default();
        g.directories.push(DirGrant {
            host: self.root.join("data"),
            guest: "/data".parse().unwrap(),
            access,
        });
        g
    }
    fn snapshot(&self) -> Vec<(String, Vec<u8>, Option<std::time::SystemTime>)> {
        let mut out = Vec::new();
        for dir in [
            self.root.path().to_path_buf(),
            self.root.join("data"),
            self.root.join("data/sub"),
        ] {
            for entry in std::fs::read_dir(dir).unwrap() {
                let entry = entry.unwrap();
                let meta = std::fs::symlink_metadata(entry.path()).unwrap();
                let bytes = if meta.is_file() {
                    std::fs::read(entry.path()).unwrap()
                } else {
                    Vec::new()
                };
                out.push((
                    entry.path().display().to_string(),
                    bytes,
                    meta.modified().ok(),
                ));
            }
        }
        out.sort();
        out
    }
}

#[tokio::test]
async fn host_files_outside_every_grant_are_invisible() {
    let sandbox = Sandbox::new();
    let plugin = sandbox.load(artifacts::HOSTILE_READ_ETC_PASSWD);
    let workspace = TempDir::new("hostile-workspace");
    let mut g = Grants::default();
    g.mounts.insert(
        "workspace".parse().unwrap(),
        gyre_manifest::MountGrant {
            host: workspace.path().into(),
            access: Access::ReadOnly,
        },
    );
    let granted = sandbox.grant(&plugin, &g);
    let inv = attack(&plugin, &granted, json!({})).await;
    contained(&inv);
    let shown = everything(&inv);
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    if let Some(first) = passwd.lines().next() {
        assert!(!shown.contains(first), "/etc/passwd leaked");
    }
    let path = std::env::var("PATH").unwrap();
    assert!(!shown.contains(&path), "the host environment leaked");
    connector_behaves(&plugin, &granted).await;
}

#[tokio::test]
async fn dotdot_cannot_climb_out_of_a_grant() {
    let sandbox = Sandbox::new();
    let tree = Tree::new();
    let plugin = sandbox.load(artifacts::HOSTILE_DOTDOT_TRAVERSAL);
    let granted = sandbox.grant(&plugin, &tree.grant(Access::ReadOnly));
    let inv = attack(&plugin, &granted, json!({})).await;
    contained(&inv);
    assert!(!everything(&inv).contains(OUTSIDE));
    // The grant itself still works.
    let ok = attack(
        &plugin,
        &granted,
        json!({"behave": true, "path": "/data/inside.txt"}),
    )
    .await;
    assert!(
        format!("{:?}", ok.outcome).contains("inside the grant"),
        "{:?}",
        ok.outcome
    );
}

#[tokio::test]
async fn symlinks_inside_a_grant_cannot_reach_outside_it() {
    let sandbox = Sandbox::new();
    let tree = Tree::new();
    std::os::unix::fs::symlink(tree.root.join("outside.txt"), tree.root.join("data/escape"))
        .unwrap();
    std::os::unix::fs::symlink(tree.root.path(), tree.root.join("data/escape-dir")).unwrap();
    let before = std::fs::read(tree.root.join("outside.txt")).unwrap();
    let plugin = sandbox.load(artifacts::HOSTILE_SYMLINK_ESCAPE);
    let granted = sandbox.grant(&plugin, &tree.grant(Access::ReadWrite));
    let inv = attack(&plugin, &granted, json!({})).await;
    contained(&inv);
    assert!(!everything(&inv).contains(OUTSIDE));
    assert_eq!(
        std::fs::read(tree.root.join("outside.txt")).unwrap(),
        before,
        "the outside file changed"
    );
    assert!(
        !tree.root.join("gyre-planted.txt").exists(),
        "a file was planted outside the grant"
    );
    connector_behaves(&plugin, &granted).await;
}

#[tokio::test]
async fn a_read_only_grant_cannot_be_written() {
    let sandbox = Sandbox::new();
    let tree = Tree::new();
    let before = tree.snapshot();
    let plugin = sandbox.load(artifacts::HOSTILE_WRITE_READONLY);
    let granted = sandbox.grant(&plugin, &tree.grant(Access::ReadWrite));
    // The user grants read-write, but the manifest requests read-only:
    // the plugin gets the narrower of the two.
    let inv = attack(&plugin, &granted, json!({})).await;
    contained(&inv);
    assert_eq!(tree.snapshot(), before, "the read-only directory changed");
    connector_behaves(&plugin, &granted).await;
}

// Network ---------------------------------------------------------------

fn attempts(report: &Value) -> Vec<Value> {
    report["attempts"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn http_to_an_origin_that_was_not_granted_never_leaves_the_sandbox() {
    let server = TestServer::json(r#"{"secret": "server-data"}"#);
    let sandbox = Sandbox::new();
    let plugin = sandbox.load(artifacts::HOSTILE_HTTP_NOT_GRANTED);
    let granted =
        sandbox.grant_resolving(&plugin, &grants("http = [\"http://granted.test:*\"]"), &[]);
    let inv = attack(
        &plugin,
        &granted,
        json!({"url": server.url("/data"), "port": server.port()}),
    )
    .await;
    let report = contained(&inv);
    assert!(attempts(&report).len() >= 8, "{report:#}");
    assert!(
        server.requests().is_empty(),
        "the server was reached: {:?}",
        server.requests()
    );
    assert!(!inv.denials.is_empty());
    connector_behaves(&plugin, &granted).await;
}

#[tokio::test]
async fn a_granted_name_that_resolves_to_loopback_or_metadata_is_refused() {
    let server = TestServer::json(r#"{"secret": "server-data"}"#);
    let sandbox = Sandbox::new();
    let plugin = sandbox.load(artifacts::HOSTILE_DNS_REBINDING);
    let names: [(&str, IpAddr); 2] = [
        ("rebind.test", "127.0.0.1".parse().unwrap()),
        ("metadata.test", "169.254.169.254".parse().unwrap()),
    ];
    let granted = sandbox.grant_resolving(
        &plugin,
        &grants("http = [\"http://rebind.test:*\", \"http://metadata.test:*\"]"),
        &names,
    );
    let inv = attack(
        &plugin,
        &granted,
        json!({"hosts": ["rebind.test", "metadata.test"], "port": server.port(), "repeat": 2}),
    )
    .await;
    let report = contained(&inv);
    for attempt in attempts(&report) {
        assert_eq!(attempt["kind"], "denied", "{attempt}");
    }
    assert!(server.requests().is_empty());
    assert!(
        inv.usage.wall_time() < Duration::from_secs(5),
        "refused before connecting, not timed out"
    );
    let details: Vec<&str> = inv.denials.iter().map(|d| d.detail.as_str()).collect();
    assert!(
        details.iter().any(|d| d.contains("loopback"))
            && details.iter().any(|d| d.contains("cloud metadata")),
        "{details:?}"
    );
    connector_behaves(&plugin, &granted).await;
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_not_followed_and_cannot_be() {
    let target = TestServer::json(r#"{"stolen": true}"#);
    let target_url = target.url("/loot");
    let redirector = TestServer::start(move |_| Reply::redirect(&target_url));
    let sandbox = Sandbox::new();
    let plugin = sandbox.load(artifacts::HOSTILE_REDIRECT_ESCAPE);
    let granted = sandbox.grant(
        &plugin,
        &grants(&format!("http = [\"{}\"]", redirector.origin())),
    );
    let inv = attack(&plugin, &granted, json!({"url": redirector.url("/start")})).await;
    contained(&inv);
    assert_eq!(
        redirector.requests().len(),
        1,
        "the granted hop happens once"
    );
    assert!(
        target.requests().is_empty(),
        "the redirect target was reached"
    );
    assert!(!everything(&inv).contains("stolen"));
    connector_behaves(&plugin, &granted).await;
}

#[tokio::test]
async fn raw_sockets_and_guest_dns_are_refused() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_nonblocking(true).unwrap();
    let sandbox = Sandbox::new();
    let plugin = sandbox.load(artifacts::HOSTILE_TCP_SOCKET);
    let granted = sandbox.grant(&plugin, &Grants::default());
    let inv = attack(
        &plugin,
        &granted,
        json!({"connect": listener.local_addr().unwrap().to_string(), "udp": udp.local_addr().unwrap().to_string(), "resolve": "localhost:80"}),
    )
    .await;
    contained(&inv);
    assert!(listener.accept().is_err(), "a TCP connection got through");
    let mut buf = [0u8; 64];
    assert!(
        udp.recv_from(&mut buf).is_err(),
        "a UDP datagram got through"
    );
    connector_behaves(&plugin, &granted).await;
}

// Secrets and environment -------------------------------------------------

const SECRET: &str = "gyre-sentinel-3c1f9a77e2";

#[tokio::test]
async fn ungranted_secrets_are_refused_and_granted_ones_never_leak() {
    let sandbox = Sandbox::new();
    let plugin = sandbox.load(artifacts::HOSTILE_SECRET_NOT_GRANTED);
    let mut g = Grants::default();
    g.secrets.insert(
        "GRANTED_TOKEN".parse().unwrap(),
        SecretSource::Value(SECRET.into()),
    );
    let granted = sandbox.grant(&plugin, &g);

    let inv = attack(&plugin, &granted, json!({})).await;
    let shown = everything(&inv);
    assert!(!shown.contains(SECRET), "the secret leaked: {shown}");
    assert!(
        shown.contains("[redacted:GRANTED_TOKEN]"),
        "the leak attempt should show as redacted: {shown}"
    );
    assert!(
        inv.denials
            .iter()
            .any(|d| d.capability == "secret" && d.detail == "\"GITHUB_TOKEN\" is not granted"),
        "{:?}",
        inv.denials
    );
    let Ok(Err(PluginError::Internal(report))) = &inv.outcome else {
        panic!("{:?}", inv.outcome)
    };
    let report: Value = serde_json::from_str(report).unwrap();
    assert_eq!(
        report["ok"], false,
        "an ungranted name resolved: {report:#}"
    );

    let inv = attack(&plugin, &granted, json!({"leak_in": "result"})).await;
    assert!(
        !everything(&inv).contains(SECRET),
        "the secret leaked through the result"
    );

    // Asking for a secret *named* like the value must not echo it either.
    let inv = attack(&plugin, &granted, json!({"names": [SECRET]})).await;
    assert!(
        !everything(&inv).contains(SECRET),
        "the secret leaked through a denial: {:?}",
        inv.denials
    );
    connector_behaves(&plugin, &granted).await;
}

#[tokio::test]
async fn the_host_environment_is_invisible() {
    let sandbox = Sandbox::new();
    let plugin = sandbox.load(artifacts::HOSTILE_READ_ENV);
    let granted = sandbox.grant(&plugin, &Grants::default());
    let inv = attack(&plugin, &granted, json!({"sentinel": "PATH"})).await;
    let report = contained(&inv);
    assert_eq!(report["vars"], json!({}), "{report:#}");
    assert!(!everything(&inv).contains(&std::env::var("PATH").unwrap()));
    connector_behaves(&plugin, &granted).await;
}

// Traps -----------------------------------------------------------------

#[tokio::test]
async fn a_trap_mid_call_is_typed_and_the_next_call_runs_from_a_fresh_store() {
    let sandbox = Sandbox::new();
    let plugin = sandbox.load(artifacts::HOSTILE_TRAP_MIDCALL);
    let granted = sandbox.grant(&plugin, &Grants::default());
    for mode in ["panic", "unreachable", "abort", "oob", "exit"] {
        let inv = attack(
            &plugin,
            &granted,
            json!({"mode": mode, "key": "before-trap"}),
        )
        .await;
        match &inv.outcome {
            Err(Failure::Trapped { message }) => {
                if mode == "panic" {
                    assert!(
                        message.contains("panicked at"),
                        "the panic message is surfaced: {message}"
                    );
                }
                if mode == "oob" {
                    assert!(message.contains("out of bounds"), "{message}");
                }
            }
            other => panic!("{mode}: expected a trap, got {other:?}"),
        }
        // What the plugin said before trapping is kept.
        assert!(
            !inv.output.logs.is_empty() || !inv.output.stdout.is_empty(),
            "{mode}: output before the trap was lost"
        );
    }
    let next = plugin
        .invoke(
            &granted,
            "{}",
            &operation(&plugin).await,
            r#"{"key": "before-trap"}"#,
        )
        .await;
    let report: Value = serde_json::from_str(next.outcome.unwrap().unwrap().as_str()).unwrap();
    assert_eq!(report["behaved"], true, "{report}");
    // Key-value writes are durable as soon as they return, so a later trap
    // does not undo them.
    assert!(!report["kv_before_trap"].is_null(), "{report}");
}
