//! `gyre plugin test` as a plugin author meets it: the battery fails a
//! plugin that traps, spins, or hides a refusal; the author's cases fail
//! on a wrong expectation and pass on a right one; and the test file that
//! travels with a plugin cannot grant it anything beyond loopback.

mod support;

use gyre_tests::{TempDir, TestServer, artifacts};
use std::path::{Path, PathBuf};
use support::reference;

/// `wasm` copied into a fresh directory, with `cases` as the gyre-test.toml
/// beside it (none when empty).
fn plugin_with_cases(tag: &str, wasm: &str, cases: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new(tag);
    let copy = dir.join("plugin.wasm");
    std::fs::copy(wasm, &copy).unwrap();
    if !cases.is_empty() {
        std::fs::write(dir.join("gyre-test.toml"), cases).unwrap();
    }
    (dir, copy)
}

fn plugin_test(wasm: &Path, extra: &[&str]) -> (i32, String) {
    let out = reference::gyre()
        .args(["plugin", "test"])
        .arg(wasm)
        .args(extra)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), reference::text(&out))
}

/// The line a check printed: `ok`, `FAIL` or `skip`, then its name.
fn verdict<'a>(report: &'a str, check: &str) -> &'a str {
    report
        .lines()
        .find(|l| l.contains(check))
        .unwrap_or_else(|| panic!("no line for {check:?} in:\n{report}"))
        .split_whitespace()
        .next()
        .unwrap_or_default()
}

#[test]
fn a_plugin_that_traps_mid_call_fails() {
    let (_dir, wasm) = plugin_with_cases(
        "trap",
        artifacts::HOSTILE_TRAP_MIDCALL,
        r#"
[[case]]
name = "it traps"
operation = "run"
input = { mode = "unreachable" }
expect = { error = "internal" }
"#,
    );
    let (code, text) = plugin_test(&wasm, &[]);
    assert_eq!(code, 1, "{text}");
    assert_eq!(verdict(&text, "case: it traps"), "FAIL", "{text}");
    assert!(text.contains("the call failed"), "{text}");
}

#[test]
fn a_plugin_that_spins_fails_on_its_budget_and_the_test_still_ends() {
    let (_dir, wasm) = plugin_with_cases("spin", artifacts::HOSTILE_INFINITE_LOOP, "");
    let (code, text) = plugin_test(&wasm, &[]);
    assert_eq!(code, 1, "{text}");
    assert_eq!(
        verdict(&text, "an empty request is answered"),
        "FAIL",
        "{text}"
    );
    let reason = text
        .lines()
        .skip_while(|l| !l.contains("an empty request is answered"))
        .nth(1)
        .unwrap_or_default();
    assert!(
        reason.contains("out of fuel") || reason.contains("timed out"),
        "the budget that stopped it is named under the failed check:\n{text}"
    );
}

#[test]
fn a_plugin_that_hides_a_refused_origin_fails() {
    // It answers success with {"ok": false} where it must answer `denied`.
    let (_dir, wasm) = plugin_with_cases(
        "hides",
        artifacts::HOSTILE_HTTP_NOT_GRANTED,
        r#"
[[case]]
name = "an origin that is not granted"
operation = "get"
input = { url = "http://127.0.0.1:9/" }
expect = { error = "denied", denied = true }
"#,
    );
    let (code, text) = plugin_test(&wasm, &[]);
    assert_eq!(code, 1, "{text}");
    assert_eq!(
        verdict(&text, "a refused capability is reported as denied"),
        "FAIL",
        "{text}"
    );
    assert!(text.contains("answered success"), "{text}");
    assert_eq!(
        verdict(&text, "case: an origin that is not granted"),
        "FAIL"
    );
}

#[test]
fn a_plugin_that_requests_an_origin_needs_a_case_that_shows_its_refusal() {
    let (_dir, wasm) = plugin_with_cases("no-cases", artifacts::HTTP_JSON, "");
    let (code, text) = plugin_test(&wasm, &[]);
    assert_eq!(code, 1, "{text}");
    assert_eq!(
        verdict(&text, "a refused capability is reported as denied"),
        "FAIL",
        "{text}"
    );
    assert!(text.contains("add a case"), "{text}");
}

/// http-json's cases against a real server on 127.0.0.1, granted by the
/// test file: a right expectation passes, each wrong one fails.
fn http_json_cases(server: &TestServer, wrong: &str) -> String {
    let port = server.port();
    format!(
        r#"
[grants]
http = ["http://127.0.0.1:{port}"]

[[case]]
name = "an origin that is not granted is denied"
operation = "get"
config = {{ base-url = "http://127.0.0.1:9" }}
input = {{ path = "/" }}
expect = {{ error = "denied", denied = true }}

[[case]]
name = "the granted server answers"
operation = "get"
config = {{ base-url = "http://127.0.0.1:{port}" }}
input = {{ path = "/status" }}
expect = {{ output = {{ status = 200, headers = {{ content-type = "application/json" }}, body = {{ green = true }} }} }}

[[case]]
name = "wrong"
operation = "get"
config = {{ base-url = "http://127.0.0.1:{port}" }}
input = {{ path = "/status" }}
{wrong}
"#
    )
}

#[test]
fn author_cases_pass_when_right_and_fail_when_wrong() {
    let server = TestServer::json(r#"{"green":true}"#);
    for (wrong, says) in [
        (
            "expect = { output = { status = 200, body = { green = false } } }",
            "expected output",
        ),
        (
            "expect = { error = \"not-found\" }",
            "expected a not-found error",
        ),
        ("expect = { denied = true }", "refused none"),
    ] {
        let (_dir, wasm) = plugin_with_cases(
            "cases",
            artifacts::HTTP_JSON,
            &http_json_cases(&server, wrong),
        );
        let (code, text) = plugin_test(&wasm, &["--grant-cases"]);
        assert_eq!(code, 1, "{wrong}: {text}");
        assert!(
            text.contains("granted to the cases by") && text.contains("http http://127.0.0.1:"),
            "the grants are shown before anything runs:\n{text}"
        );
        assert_eq!(
            verdict(&text, "case: the granted server answers"),
            "ok",
            "{text}"
        );
        assert_eq!(
            verdict(&text, "case: an origin that is not granted"),
            "ok",
            "{text}"
        );
        assert_eq!(verdict(&text, "case: wrong"), "FAIL", "{text}");
        assert!(text.contains(says), "{wrong}: {text}");
        assert!(
            text.contains("1 failed"),
            "only the wrong case fails: {text}"
        );
    }
    assert!(
        server.requests().iter().all(|r| r.path == "/status"),
        "the fixture grant reached the server"
    );
    assert!(!server.requests().is_empty());
}

#[test]
fn a_wrong_verdict_fails_and_cases_can_live_elsewhere() {
    let dir = TempDir::new("verdict");
    let cases = dir.join("my-cases.toml");
    std::fs::write(
        &cases,
        r#"
[[case]]
name = "at the minimum"
config = { min-line-percent = 50.0 }
evidence = [{ name = "coverage", text = "SF:a.rs\nDA:1,1\nDA:2,0\nLF:2\nLH:1\nend_of_record\n" }]
expect = { passed = false }
"#,
    )
    .unwrap();
    let wasm = Path::new(artifacts::COVERAGE_THRESHOLD);
    let (code, text) = plugin_test(wasm, &["--cases", cases.to_str().unwrap()]);
    assert_eq!(code, 1, "{text}");
    assert_eq!(verdict(&text, "case: at the minimum"), "FAIL", "{text}");
    assert!(text.contains("expected passed = false, got true"), "{text}");

    std::fs::write(
        &cases,
        std::fs::read_to_string(&cases)
            .unwrap()
            .replace("passed = false", "passed = true"),
    )
    .unwrap();
    let (code, text) = plugin_test(wasm, &["--cases", cases.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(verdict(&text, "case: at the minimum"), "ok", "{text}");
}

#[test]
fn the_test_file_beside_a_plugin_cannot_grant_beyond_loopback() {
    let outside = TempDir::new("outside");
    std::fs::write(outside.join("id_ed25519"), "PRIVATE").unwrap();
    for (grants, says) in [
        (
            "http = [\"https://api.github.com\"]",
            "https://api.github.com is not a loopback origin",
        ),
        (
            "http = [\"http://*.corp.example\"]",
            "is not a loopback origin",
        ),
        (
            "http = [\"http://localhost:*\"]",
            "is not a loopback origin",
        ),
        (
            "http = [\"http://[::ffff:127.0.0.1]:*\"]",
            "is not a loopback origin",
        ),
        (
            "budgets = { fuel = 200_000_000_000 }",
            "may not change budgets",
        ),
        (
            "mounts = { workspace = { host = \".\", access = \"read-write\" } }",
            "is not a read-only directory beside the file",
        ),
        (
            "secrets = { TOKEN = { env = \"HOME\" } }",
            "secrets.TOKEN: only `value",
        ),
        (
            "secrets = { TOKEN = { file = \"/etc/passwd\" } }",
            "secrets.TOKEN: only `value",
        ),
        (
            "directories = [{ host = \"/\", guest = \"/root\", access = \"read-only\" }]",
            "is not a read-only directory beside the file",
        ),
        (
            "directories = [{ host = \"..\", guest = \"/up\", access = \"read-only\" }]",
            "is not a read-only directory beside the file",
        ),
        (
            "directories = [{ host = \".\", guest = \"/here\", access = \"read-write\" }]",
            "is not a read-only directory beside the file",
        ),
        (
            "directories = [{ host = \"link\", guest = \"/link\", access = \"read-only\" }]",
            "leads out of",
        ),
    ] {
        let (dir, wasm) = plugin_with_cases(
            "grants",
            artifacts::HTTP_JSON,
            &format!(
                "[grants]\n{grants}\n\n[[case]]\nname = \"x\"\noperation = \"get\"\nconfig = {{ base-url = \"https://api.github.com\" }}\ninput = {{ path = \"/\" }}\nexpect = {{ error = \"denied\" }}\n"
            ),
        );
        std::os::unix::fs::symlink(outside.path(), dir.join("link")).unwrap();
        let (code, text) = plugin_test(&wasm, &["--grant-cases"]);
        assert_eq!(code, 2, "{grants}: {text}");
        assert!(text.contains(says), "{grants}: {text}");
        assert!(text.contains("gyre-test.toml"), "the file is named: {text}");
        assert!(
            text.contains("--grants FILE"),
            "the way out is named: {text}"
        );
        assert!(!text.contains("  ok "), "nothing ran: {text}");
    }
}

#[test]
fn the_user_can_grant_more_with_a_grants_file() {
    let server = TestServer::json(r#"{"green":true}"#);
    let (dir, wasm) = plugin_with_cases(
        "user-grants",
        artifacts::HTTP_JSON,
        &http_json_cases(&server, "expect = { error = \"internal\" }")
            .replace("[grants]", "[grants]\nsecrets = { T = { env = \"HOME\" } }"),
    );
    let grants = dir.join("mine.toml");
    std::fs::write(
        &grants,
        format!("http = [\"http://127.0.0.1:{}\"]\n", server.port()),
    )
    .unwrap();
    let (code, text) = plugin_test(&wasm, &["--grants", grants.to_str().unwrap()]);
    // The test file's grants were not read; the user's were used.
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("granted to the cases by"), "{text}");
    assert!(text.contains("mine.toml: http http://127.0.0.1:"), "{text}");
    assert_eq!(
        verdict(&text, "case: the granted server answers"),
        "ok",
        "{text}"
    );
}

#[test]
fn expectations_a_plugin_kind_cannot_meet_are_refused() {
    for (wasm, case, says) in [
        (
            artifacts::COVERAGE_THRESHOLD,
            "operation = \"get\"\nexpect = { passed = true }",
            "`operation` does not apply to a verifier",
        ),
        (
            artifacts::HTTP_JSON,
            "operation = \"get\"\nexpect = { passed = true }",
            "`expect.passed` does not apply to a connector",
        ),
        (
            artifacts::HTTP_JSON,
            "expect = { error = \"denied\" }",
            "a connector case needs `operation`",
        ),
        (
            artifacts::SCHEDULE,
            "expect = { output = { x = 1 } }",
            "`expect.output` does not apply to a trigger",
        ),
        (
            artifacts::COVERAGE_THRESHOLD,
            "expect = { error = \"oops\" }",
            "is not an error kind",
        ),
    ] {
        let (_dir, wasm) =
            plugin_with_cases("kind", wasm, &format!("[[case]]\nname = \"c\"\n{case}\n"));
        let (code, text) = plugin_test(&wasm, &[]);
        assert_eq!(code, 2, "{case}: {text}");
        assert!(text.contains(says), "{case}: {text}");
    }
}

#[test]
fn first_party_plugins_pass_with_their_cases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins");
    for (wasm, name) in [
        (artifacts::HTTP_JSON, "http-json"),
        (artifacts::WEBHOOK, "webhook"),
        (artifacts::SCHEDULE, "schedule"),
        (artifacts::COVERAGE_THRESHOLD, "coverage-threshold"),
        (artifacts::TESTS_GREEN, "tests-green"),
        (artifacts::DIFF_GUARD, "diff-guard"),
        (artifacts::WEBHOOK_NOTIFY, "webhook-notify"),
    ] {
        let cases = root.join(name).join("gyre-test.toml");
        let (code, text) = plugin_test(Path::new(wasm), &["--cases", cases.to_str().unwrap()]);
        assert_eq!(code, 0, "{name}:\n{text}");
        assert!(!text.contains("FAIL"), "{name}:\n{text}");
    }
}

#[test]
fn the_test_files_grants_apply_only_once_the_user_accepts_them() {
    let server = TestServer::json(r#"{"green":true}"#);
    let (_dir, wasm) = plugin_with_cases(
        "consent",
        artifacts::HTTP_JSON,
        &http_json_cases(&server, "expect = { denied = false }"),
    );
    let (code, text) = plugin_test(&wasm, &[]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("asks to grant the cases: http http://127.0.0.1:"),
        "the grants are shown: {text}"
    );
    assert!(text.contains("--grant-cases"), "{text}");
    assert!(!text.contains("  ok "), "nothing ran: {text}");
    assert!(server.requests().is_empty(), "nothing reached the server");

    let (code, text) = plugin_test(&wasm, &["--grant-cases"]);
    assert_eq!(code, 0, "{text}");
    assert!(!server.requests().is_empty());
}

#[test]
fn imports_the_host_will_refuse_are_shown_as_a_warning() {
    let (_code, text) = plugin_test(Path::new(artifacts::HOSTILE_TCP_SOCKET), &[]);
    assert_eq!(
        verdict(&text, "the component matches its manifest"),
        "warn",
        "{text}"
    );
    assert!(text.contains("wasi:sockets"), "{text}");
}

#[test]
fn a_test_file_cannot_drive_the_terminal_through_an_error() {
    let (_dir, wasm) = plugin_with_cases(
        "escape",
        artifacts::HTTP_JSON,
        "[[case]]\nname = \"\u{1b}]0;owned\u{7}\"\nbogus = \"\u{1b}[2J\"\n",
    );
    let (code, text) = plugin_test(&wasm, &[]);
    assert_eq!(code, 2, "{text}");
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
    assert!(text.contains("gyre-test.toml"), "{text}");
}
