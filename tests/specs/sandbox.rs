//! Sandbox properties that are not one boundary: deadlines that cover
//! blocked host calls, a compile cache that verifies what it loads, and
//! isolation between plugins in one process.

use gyre_manifest::SecretSource;
use gyre_sandbox::{Failure, Runtime, RuntimeConfig};
use gyre_tests::{Reply, Sandbox, TempDir, TestServer, artifacts, grants};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

#[tokio::test]
async fn the_deadline_covers_time_blocked_in_a_host_call() {
    let slow = TestServer::start(|_| {
        std::thread::sleep(Duration::from_secs(5));
        Reply::json(200, "{}")
    });
    let sandbox = Sandbox::new();
    let plugin = sandbox.load(artifacts::HTTP_JSON);
    let granted = sandbox.grant(
        &plugin,
        &grants(&format!(
            "http = [\"{}\"]\n[budgets]\ntimeout-ms = 400",
            slow.origin()
        )),
    );
    let started = Instant::now();
    let config = json!({"base-url": slow.origin()}).to_string();
    let inv = plugin
        .invoke(&granted, &config, "get", r#"{"path": "/slow"}"#)
        .await;
    assert_eq!(
        inv.outcome.unwrap_err(),
        Failure::TimedOut { after_ms: 400 }
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_tampered_compile_cache_entry_is_discarded_and_recompiled() {
    let cache = TempDir::new("cache-tamper");
    let config = || RuntimeConfig {
        cache_dir: Some(cache.path().into()),
        ..RuntimeConfig::default()
    };
    let wasm = Path::new(artifacts::TESTS_GREEN);

    let (_, first) = Runtime::new(config()).unwrap().load(wasm).unwrap();
    assert!(first.compiled);
    let (_, second) = Runtime::new(config()).unwrap().load(wasm).unwrap();
    assert!(!second.compiled, "an unchanged plugin is not recompiled");

    // Flip one byte of compiled code: the entry's checksum no longer matches.
    let entry = std::fs::read_dir(cache.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&entry).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&entry, bytes).unwrap();

    let runtime = Runtime::new(config()).unwrap();
    let (plugin, third) = runtime.load(wasm).unwrap();
    assert!(third.compiled, "the damaged entry must not be loaded");
    let granted =
        gyre_sandbox::Granted::nothing(plugin.name(), Default::default(), runtime.limits());
    let log = "test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n";
    let request = gyre_sandbox::verifier::VerifyRequest {
        config: "{}".into(),
        evidence: vec![gyre_sandbox::verifier::Evidence {
            name: "test-log".into(),
            content_type: "text/plain".into(),
            data: log.into(),
        }],
        workspace: None,
    };
    assert!(
        plugin
            .verify(&granted, request)
            .await
            .outcome
            .unwrap()
            .unwrap()
            .passed
    );
}

#[tokio::test]
async fn an_input_larger_than_the_host_accepts_is_refused_before_the_plugin_runs() {
    let sandbox = Sandbox::new();
    let plugin = sandbox.load(artifacts::TESTS_GREEN);
    let granted = sandbox.grant(&plugin, &Default::default());
    let limit = plugin.runtime().limits().max_input_bytes;
    let request = gyre_sandbox::verifier::VerifyRequest {
        config: "{}".into(),
        evidence: vec![gyre_sandbox::verifier::Evidence {
            name: "test-log".into(),
            content_type: "text/plain".into(),
            data: vec![b'x'; limit + 1],
        }],
        workspace: None,
    };
    let inv = plugin.verify(&granted, request).await;
    assert!(
        matches!(inv.outcome, Err(Failure::InputTooLarge { limit: l, .. }) if l == limit),
        "{:?}",
        inv.outcome
    );
    assert_eq!(inv.usage.fuel_consumed, 0, "the plugin never ran");
}

#[tokio::test]
async fn grants_made_for_one_plugin_cannot_be_used_by_another() {
    let sandbox = Sandbox::new();
    let a = sandbox.load(artifacts::HTTP_JSON);
    let b = sandbox.load(artifacts::HOSTILE_HTTP_NOT_GRANTED);
    let granted_to_a = sandbox.grant(&a, &grants("http = [\"http://127.0.0.1:*\"]"));
    let inv = b
        .invoke(&granted_to_a, "{}", "get", r#"{"behave": true}"#)
        .await;
    assert!(
        matches!(&inv.outcome, Err(Failure::Unsupported { message }) if message.contains("made for another plugin")),
        "{:?}",
        inv.outcome
    );
}

#[tokio::test]
async fn a_manifest_cannot_raise_its_own_budget_but_the_user_can() {
    let sandbox = Sandbox::new();
    // huge-return's manifest asks for 256 MiB; the host default is 128 MiB.
    let plugin = sandbox.load(artifacts::HOSTILE_HUGE_RETURN);
    let defaults = plugin.runtime().limits().clone();
    let granted = sandbox.grant(&plugin, &Default::default());
    assert_eq!(granted.budget.memory, defaults.default_memory);
    let granted = sandbox.grant(&plugin, &grants("[budgets]\nmemory-mib = 256"));
    assert_eq!(granted.budget.memory, 256 << 20);
}

/// A copy of a component whose embedded manifest says `to` where it said
/// `from` (its name, or with a dot, its version).
fn renamed(artifact: &str, from: &str, to: &str, dir: &TempDir) -> String {
    assert_eq!(from.len(), to.len());
    let mut bytes = std::fs::read(artifact).unwrap();
    let (needle, replacement) = if from.contains('.') {
        (
            format!("version = \"{from}\""),
            format!("version = \"{to}\""),
        )
    } else {
        (format!("name = \"{from}\""), format!("name = \"{to}\""))
    };
    let at = bytes
        .windows(needle.len())
        .rposition(|w| w == needle.as_bytes())
        .unwrap();
    bytes[at..at + needle.len()].copy_from_slice(replacement.as_bytes());
    let path = dir.join(&format!("{to}.wasm"));
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

#[tokio::test]
async fn two_plugins_in_one_process_share_no_state_and_no_secrets() {
    let dir = TempDir::new("isolation");
    let sandbox = Sandbox::new();
    let a = sandbox.load(artifacts::HOSTILE_TRAP_MIDCALL);
    // Same declared name, different component: an impostor. State is keyed
    // by content, so it must not see A's store.
    let b = sandbox.load(&renamed(
        artifacts::HOSTILE_TRAP_MIDCALL,
        "0.1.0",
        "0.1.1",
        &dir,
    ));
    assert_eq!(a.name(), b.name());
    assert_ne!(a.digest(), b.digest());
    let (ga, gb) = (
        sandbox.grant(&a, &Default::default()),
        sandbox.grant(&b, &Default::default()),
    );

    // A writes to its store (then traps, which keeps the write).
    let _ = a
        .invoke(&ga, "{}", "run", r#"{"mode": "panic", "key": "shared?"}"#)
        .await;
    let read = |out: Result<String, _>| -> Value { serde_json::from_str(&out.unwrap()).unwrap() };
    let seen_by_a = read(
        a.invoke(&ga, "{}", "run", r#"{"key": "shared?"}"#)
            .await
            .outcome
            .unwrap(),
    );
    let seen_by_b = read(
        b.invoke(&gb, "{}", "run", r#"{"key": "shared?"}"#)
            .await
            .outcome
            .unwrap(),
    );
    assert!(!seen_by_a["kv_before_trap"].is_null(), "{seen_by_a}");
    assert!(
        seen_by_b["kv_before_trap"].is_null(),
        "B saw A's state: {seen_by_b}"
    );

    // A secret granted to one plugin is invisible to the other.
    let s = sandbox.load(artifacts::HOSTILE_SECRET_NOT_GRANTED);
    let t = sandbox.load(&renamed(
        artifacts::HOSTILE_SECRET_NOT_GRANTED,
        "hostile-secret-not-granted",
        "hostile-secret-not-grantex",
        &dir,
    ));
    let mut granted_to_s = gyre_manifest::Grants::default();
    granted_to_s.secrets.insert(
        "GRANTED_TOKEN".parse().unwrap(),
        SecretSource::Value("only-for-s-7d2a".into()),
    );
    let gs = sandbox.grant(&s, &granted_to_s);
    let gt = sandbox.grant(&t, &Default::default());
    let on_s = s.invoke(&gs, "{}", "steal", "{}").await;
    let on_t = t.invoke(&gt, "{}", "steal", "{}").await;
    let denied = |inv: &gyre_sandbox::Invocation<_>| {
        inv.denials
            .iter()
            .any(|d| d.detail == "\"GRANTED_TOKEN\" is not granted")
    };
    assert!(!denied(&on_s), "{:?}", on_s.denials);
    assert!(denied(&on_t), "{:?}", on_t.denials);
    assert!(!format!("{on_t:?}").contains("only-for-s-7d2a"));
}
