//! Plugins in every language: the same reference verifier and connector,
//! written in Rust, JavaScript, Python, C and Zig, scaffolded by `gyre new`,
//! built from source by `gyre build` with the real toolchains, pass the same
//! conformance battery and give the same answers on the same inputs,
//! including real HTTP to 127.0.0.1 and a refused origin.
//!
//! A missing toolchain fails these tests with the command that installs it.

mod support;

use gyre_manifest::Grants;
use gyre_sandbox::verifier::{Evidence, VerifyRequest};
use gyre_sandbox::{Plugin, Runtime, StaticResolver};
use gyre_tests::{Reply, TempDir, TestServer};
use serde_json::{Value, json};
use std::sync::Arc;
use support::reference::{self, Reference, block_on, runtime};

fn load(runtime: &Runtime, r: &Reference) -> Plugin {
    runtime
        .load(&r.wasm)
        .unwrap_or_else(|e| panic!("loading the {} {}: {e}", r.lang, r.kind))
        .0
}

#[test]
fn every_language_builds_both_reference_plugins_and_reports_size_and_time() {
    for r in reference::all() {
        let size = std::fs::metadata(&r.wasm).map(|m| m.len()).unwrap_or(0);
        assert!(
            size > 0,
            "{} {}: no component at {}",
            r.lang,
            r.kind,
            r.wasm.display()
        );
        assert!(
            r.build_output.contains("Built ") && r.build_output.contains(" s"),
            "{} {}: gyre build should print the size and the time: {}",
            r.lang,
            r.kind,
            r.build_output
        );
        let bytes = std::fs::read(&r.wasm).unwrap();
        let info = gyre_sandbox::inspect::read(&bytes).unwrap();
        assert!(
            info.manifest_text.is_some(),
            "{} {}: the manifest is embedded",
            r.lang,
            r.kind
        );
        let verifier = r.kind == "verifier";
        for import in &info.imports {
            assert!(
                !(verifier && import.starts_with("wasi:http/")),
                "{} verifier imports {import} though it requests no origin",
                r.lang
            );
            // CPython's libc imports sockets (the host refuses each one);
            // no other runtime does.
            assert!(
                r.lang == "python" || !import.starts_with("wasi:sockets/"),
                "{} {} imports {import}",
                r.lang,
                r.kind
            );
        }
    }
}

#[test]
fn every_reference_plugin_passes_gyre_plugin_test() {
    for r in reference::all() {
        let out = reference::gyre()
            .args(["plugin", "test"])
            .arg(&r.wasm)
            .output()
            .unwrap();
        let text = reference::text(&out);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{} {} fails conformance:\n{text}",
            r.lang,
            r.kind
        );
        assert!(!text.contains("FAIL"), "{text}");
        // The author cases beside the plugin ran too.
        assert!(text.contains("case: "), "{} {}: {text}", r.lang, r.kind);
    }
}

/// What a verifier answered, in a form every language must agree on.
#[derive(Debug, PartialEq)]
enum Answer {
    Verdict { passed: bool, score: Option<f64> },
    Error(&'static str),
}

fn verify(plugin: &Plugin, config: &str, evidence: &[(&str, &str)]) -> Answer {
    let granted = plugin
        .grant(
            &Grants::default().resolve(plugin.manifest()),
            Arc::new(StaticResolver::new(None)),
        )
        .unwrap();
    let request = VerifyRequest {
        config: config.into(),
        evidence: evidence
            .iter()
            .map(|(name, data)| Evidence {
                name: name.to_string(),
                content_type: "application/json".into(),
                data: data.as_bytes().to_vec(),
            })
            .collect(),
        workspace: None,
    };
    let inv = block_on(plugin.verify(&granted, request));
    match inv.outcome {
        Ok(Ok(v)) => Answer::Verdict {
            passed: v.passed,
            score: v.score,
        },
        Ok(Err(e)) => Answer::Error(e.kind()),
        Err(failure) => panic!("{}: the call failed: {failure}", plugin.name()),
    }
}

/// A configuration, the evidence (name, JSON text) and the answer.
type VerifierCase = (
    &'static str,
    &'static [(&'static str, &'static str)],
    Answer,
);

#[test]
fn verifiers_give_the_same_answers_in_every_language() {
    let cases: &[VerifierCase] = &[
        (
            r#"{"min": 80}"#,
            &[("report", r#"{"value": 80}"#)],
            Answer::Verdict {
                passed: true,
                score: Some(80.0),
            },
        ),
        (
            r#"{"min": 80}"#,
            &[("report", r#"{"value": 79.99}"#)],
            Answer::Verdict {
                passed: false,
                score: Some(79.99),
            },
        ),
        (
            r#"{"min": -1.5e1}"#,
            &[("report", r#"{"value": -15, "other": [1, {"x": "}"}]}"#)],
            Answer::Verdict {
                passed: true,
                score: Some(-15.0),
            },
        ),
        (
            "{}",
            &[("report", r#"{"value": 100}"#)],
            Answer::Verdict {
                passed: true,
                score: Some(100.0),
            },
        ),
        (
            "{}",
            &[("report", r#"{"value": "100"}"#)],
            Answer::Error("invalid-input"),
        ),
        (
            "{}",
            &[("report", r#"[{"value": 100}]"#)],
            Answer::Error("invalid-input"),
        ),
        (
            "{}",
            &[("report", r#"{"value": 100"#)],
            Answer::Error("invalid-input"),
        ),
        (
            "{}",
            &[("log", r#"{"value": 100}"#)],
            Answer::Error("invalid-input"),
        ),
        (
            r#"{"min": "80"}"#,
            &[("report", r#"{"value": 100}"#)],
            Answer::Error("invalid-config"),
        ),
        (
            r#"{"min": 80, "max": 90}"#,
            &[("report", r#"{"value": 85}"#)],
            Answer::Error("invalid-config"),
        ),
        (
            "[80]",
            &[("report", r#"{"value": 85}"#)],
            Answer::Error("invalid-config"),
        ),
        (
            "not json",
            &[("report", r#"{"value": 85}"#)],
            Answer::Error("invalid-config"),
        ),
    ];
    let runtime = runtime();
    let mut mismatches = Vec::new();
    for r in reference::of_kind("verifier") {
        let plugin = load(&runtime, r);
        for (config, evidence, want) in cases {
            let got = verify(&plugin, config, evidence);
            if &got != want {
                mismatches.push(format!(
                    "{}: config {config} evidence {evidence:?}: expected {want:?}, got {got:?}",
                    r.lang
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

fn connector_grants(origin: &str) -> Grants {
    Grants::parse(&format!("http = [\"{origin}\"]\n"), "test grants").unwrap()
}

/// `get` of `path` under `base` with `grants`; the outcome as JSON or the
/// error's kind and status, and whether the host refused anything.
fn get(
    plugin: &Plugin,
    grants: &Grants,
    base: &str,
    path: &str,
) -> (Result<Value, (String, Option<u16>)>, bool) {
    let granted = plugin
        .grant(
            &grants.resolve(plugin.manifest()),
            Arc::new(StaticResolver::new(None)),
        )
        .unwrap();
    let config = json!({ "base-url": base }).to_string();
    let input = json!({ "path": path }).to_string();
    let inv = block_on(plugin.invoke(&granted, &config, "get", &input));
    let outcome = match inv.outcome {
        Ok(Ok(text)) => Ok(serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {text}", plugin.name()))),
        Ok(Err(e)) => Err((
            e.kind().to_string(),
            match &e {
                gyre_sandbox::PluginError::Upstream(u) => Some(u.status),
                _ => None,
            },
        )),
        Err(failure) => panic!("{}: the call failed: {failure}", plugin.name()),
    };
    (outcome, !inv.denials.is_empty())
}

#[test]
fn connectors_reach_a_granted_loopback_server_in_every_language() {
    let server = TestServer::start(|req| match req.path.as_str() {
        "/status" => Reply::json(
            200,
            r#"{"ok": true, "build": {"id": 42, "tags": ["a", "b"]}}"#,
        ),
        "/text" => Reply::text(200, "not json"),
        _ => Reply::json(404, r#"{"error": "no such thing"}"#),
    });
    let grants = connector_grants(&server.origin());
    let runtime = runtime();
    let mut seen = 0;
    for r in reference::of_kind("connector") {
        let plugin = load(&runtime, r);
        let lang = r.lang;
        let (outcome, denied) = get(&plugin, &grants, &server.origin(), "/status");
        assert_eq!(
            outcome,
            Ok(json!({"ok": true, "build": {"id": 42, "tags": ["a", "b"]}})),
            "{lang}"
        );
        assert!(!denied, "{lang}");
        let (outcome, _) = get(
            &plugin,
            &grants,
            &format!("{}/", server.origin()),
            "/missing",
        );
        assert_eq!(outcome, Err(("upstream".into(), Some(404))), "{lang}");
        let (outcome, _) = get(&plugin, &grants, &server.origin(), "/text");
        assert_eq!(
            outcome.map_err(|(kind, _)| kind),
            Err("upstream".into()),
            "{lang}: a body that is not JSON"
        );

        let requests = server.requests();
        let mine = &requests[seen..];
        assert_eq!(mine.len(), 3, "{lang}: {mine:?}");
        assert_eq!(mine[0].method, "GET", "{lang}");
        assert_eq!(mine[0].path, "/status", "{lang}");
        assert_eq!(
            mine[1].path, "/missing",
            "{lang}: base-url's trailing / is trimmed"
        );
        assert!(
            mine[0]
                .header("accept")
                .is_some_and(|a| a.contains("application/json")),
            "{lang}: {:?}",
            mine[0].headers
        );
        seen = requests.len();
    }
}

#[test]
fn connectors_are_denied_an_origin_that_is_not_granted_in_every_language() {
    let granted = TestServer::json(r#"{"granted": true}"#);
    let other = TestServer::json(r#"{"secret": "do not read"}"#);
    let grants = connector_grants(&granted.origin());
    let runtime = runtime();
    for r in reference::of_kind("connector") {
        let plugin = load(&runtime, r);
        let (outcome, denied) = get(&plugin, &grants, &other.origin(), "/status");
        assert_eq!(outcome, Err(("denied".into(), None)), "{}", r.lang);
        assert!(denied, "{}: the host records the refusal", r.lang);
    }
    assert!(
        other.requests().is_empty(),
        "nothing reached the origin that was not granted"
    );
}

#[test]
fn a_missing_toolchain_fails_with_the_command_that_installs_it() {
    let empty = TempDir::new("no-tools");
    for (lang, install) in [
        ("python", "pip install componentize-py==0.25.1"),
        (
            "js",
            "npm install -g @bytecodealliance/componentize-js@0.23.0",
        ),
        (
            "c",
            "apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32",
        ),
        ("zig", "pip install ziglang==0.17.0"),
    ] {
        let dir = empty.join(lang);
        let out = reference::gyre()
            .args(["new", "verifier", "tool-check", "--lang", lang, "--dir"])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", reference::text(&out));
        // Nothing on PATH: no toolchain, no python3 for ziglang.
        let out = reference::gyre()
            .arg("build")
            .arg(&dir)
            .env("PATH", empty.path())
            .output()
            .unwrap();
        let text = reference::text(&out);
        assert_eq!(out.status.code(), Some(2), "{lang}: {text}");
        assert!(text.contains(install), "{lang}: {text}");
    }
}

#[test]
fn build_refuses_a_connector_that_imports_http_without_requesting_an_origin() {
    let dir = TempDir::new("no-origin");
    let plugin = dir.join("p");
    let out = reference::gyre()
        .args(["new", "connector", "no-origin", "--lang", "c", "--dir"])
        .arg(&plugin)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", reference::text(&out));
    let manifest = plugin.join("gyre.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("http = [\"http://127.0.0.1:*\"]", ""),
    )
    .unwrap();
    let out = reference::gyre()
        .arg("build")
        .arg(&plugin)
        .output()
        .unwrap();
    let text = reference::text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("requests no HTTP origin"), "{text}");
    assert!(
        !plugin.join("no-origin.wasm").exists(),
        "nothing is written"
    );
}

#[test]
fn triggers_are_scaffolded_in_rust_only() {
    let dir = TempDir::new("trigger");
    let out = reference::gyre()
        .args(["new", "trigger", "tick", "--lang", "python", "--dir"])
        .arg(dir.join("t"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(reference::text(&out).contains("--lang rust"));
}
