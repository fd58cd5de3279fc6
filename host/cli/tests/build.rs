//! `gyre build` on plugins that are not what they claim, directories that
//! are not what they seem, and toolchains that are not the tested ones;
//! and the SDKs' HTTP helpers facing the host's refusals. Real toolchains
//! and real components throughout; fake programs on PATH only where the
//! point is what gyre build makes of a tool's answer.

mod support;

use gyre_manifest::Grants;
use gyre_sandbox::{Plugin, StaticResolver};
use gyre_tests::{Reply, TempDir, TestServer};
use serde_json::json;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, OnceLock};
use support::reference::{self, block_on, runtime};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `gyre new KIND NAME --lang LANG` into `dir`.
fn scaffold(kind: &str, name: &str, lang: &str, dir: &Path) {
    let out = reference::gyre()
        .args(["new", kind, name, "--lang", lang, "--dir"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", reference::text(&out));
}

fn build(dir: &Path) -> Output {
    reference::gyre().arg("build").arg(dir).output().unwrap()
}

fn edit(path: &Path, f: impl FnOnce(String) -> String) {
    let text = std::fs::read_to_string(path).unwrap();
    std::fs::write(path, f(text)).unwrap();
}

/// A shell script named `name` in `dir`, executable.
fn fake_program(dir: &Path, name: &str, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// PATH with `dir` first.
fn path_with(dir: &Path) -> std::ffi::OsString {
    let mut paths = vec![dir.to_path_buf()];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(paths).unwrap()
}

// --- The world check --------------------------------------------------------

#[test]
fn a_rust_plugin_that_opens_sockets_does_not_build() {
    let dir = repo().join("tests/hostile/tcp-socket");
    let out = build(&dir);
    let text = reference::text(&out);
    let wasm = dir.join("hostile-tcp-socket.wasm");
    let written = wasm.exists();
    let _ = std::fs::remove_file(&wasm);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(!written, "nothing is written: {text}");
    assert!(
        text.contains("wasi:sockets/tcp@"),
        "names the import: {text}"
    );
    assert!(
        text.contains("through HTTP"),
        "says what to do instead: {text}"
    );
    assert!(
        !dir.join(".gyre").exists(),
        "a Rust build leaves no scratch files in the source tree"
    );
}

/// A C verifier whose code reads a secret.
fn c_verifier_reading_a_secret(dir: &Path) {
    scaffold("verifier", "reads-secret", "c", dir);
    std::fs::write(
        dir.join("src/plugin.c"),
        r#"#include "gyre.h"

bool exports_gyre_plugin_verification_verify(gyre_verify_request_t *request, gyre_verdict_t *ret,
                                             gyre_error_t *err) {
  (void)err;
  plugin_string_t name = gyre_string("TOKEN"), value;
  gyre_plugin_secrets_secret_error_t serr;
  bool found = gyre_plugin_secrets_get(&name, &value, &serr);
  plugin_string_free(&name);
  if (found) plugin_string_free(&value);
  else gyre_plugin_secrets_secret_error_free(&serr);
  exports_gyre_plugin_verification_verify_request_free(request);
  gyre_verdict(ret, found, "the token is %s", found ? "there" : "missing");
  return true;
}
"#,
    )
    .unwrap();
}

#[test]
fn reading_secrets_needs_a_requested_secret() {
    let tmp = TempDir::new("build-secrets");
    let dir = tmp.join("p");
    c_verifier_reading_a_secret(&dir);
    let out = build(&dir);
    let text = reference::text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("gyre:plugin/secrets@0.1.0"), "{text}");
    assert!(text.contains("requests no secret"), "{text}");
    assert!(text.contains("secrets = ["), "says what to do: {text}");
    assert!(!dir.join("reads-secret.wasm").exists());

    edit(&dir.join("gyre.toml"), |t| {
        t.replace("[capabilities]", "[capabilities]\nsecrets = [\"TOKEN\"]")
    });
    let out = build(&dir);
    assert_eq!(out.status.code(), Some(0), "{}", reference::text(&out));
}

#[test]
fn a_python_connector_without_an_origin_builds_without_http_and_answers_denied() {
    let tmp = TempDir::new("build-python-offline");
    let dir = tmp.join("p");
    scaffold("connector", "offline", "python", &dir);
    edit(&dir.join("gyre.toml"), |t| {
        t.replace("http = [\"http://127.0.0.1:*\"]", "")
    });
    let out = build(&dir);
    let text = reference::text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let wasm = dir.join("offline.wasm");
    let info = gyre_sandbox::inspect::read(&std::fs::read(&wasm).unwrap()).unwrap();
    assert!(
        !info.imports.iter().any(|i| i.starts_with("wasi:http/")),
        "{:?}",
        info.imports
    );

    let runtime = runtime();
    let plugin = runtime.load(&wasm).unwrap().0;
    let granted = plugin
        .grant(
            &Grants::default().resolve(plugin.manifest()),
            Arc::new(StaticResolver::new(None)),
        )
        .unwrap();
    let config = json!({"base-url": "http://127.0.0.1:9"}).to_string();
    let inv = block_on(plugin.invoke(&granted, &config, "get", r#"{"path": "/"}"#));
    match inv.outcome {
        Ok(Err(e)) => {
            assert_eq!(e.kind(), "denied", "{e:?}");
            assert!(format!("{e:?}").contains("gyre.toml"), "says why: {e:?}");
        }
        other => panic!("expected a denied plugin error, got {other:?}"),
    }
}

// --- Symbolic links out of the plugin directory ----------------------------

/// A C verifier in `tmp/p`, and a file of the user's outside it.
fn plugin_and_a_precious_file(tmp: &TempDir) -> (PathBuf, PathBuf) {
    let dir = tmp.join("p");
    scaffold("verifier", "linked", "c", &dir);
    let precious = tmp.join("precious.txt");
    std::fs::write(&precious, "the user's file").unwrap();
    (dir, precious)
}

fn assert_refused(out: &Output, link: &str, precious: &Path) {
    let text = reference::text(out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains(link) && text.contains("symbolic link"),
        "names the link {link}: {text}"
    );
    assert_eq!(
        std::fs::read_to_string(precious).unwrap(),
        "the user's file",
        "the file outside is untouched"
    );
}

#[test]
fn build_does_not_write_the_component_through_a_symlink() {
    let tmp = TempDir::new("build-link-out");
    let (dir, precious) = plugin_and_a_precious_file(&tmp);
    std::os::unix::fs::symlink(&precious, dir.join("linked.wasm")).unwrap();
    let out = build(&dir);
    assert_refused(&out, "linked.wasm", &precious);
    assert!(
        dir.join("linked.wasm").is_symlink(),
        "the link is left as it was"
    );

    // The same for an explicit -o.
    let out = reference::gyre()
        .arg("build")
        .arg(&dir)
        .arg("-o")
        .arg(dir.join("linked.wasm"))
        .output()
        .unwrap();
    assert_refused(&out, "linked.wasm", &precious);
}

#[test]
fn build_does_not_write_scratch_files_through_a_symlinked_gyre_dir() {
    let tmp = TempDir::new("build-link-scratch");
    let (dir, precious) = plugin_and_a_precious_file(&tmp);
    let elsewhere = tmp.join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, dir.join(".gyre")).unwrap();
    let out = build(&dir);
    assert_refused(&out, ".gyre", &precious);
    assert_eq!(
        std::fs::read_dir(&elsewhere).unwrap().count(),
        0,
        "nothing was written through .gyre"
    );

    // A link deeper in .gyre (where a toolchain writes) is refused too.
    std::fs::remove_file(dir.join(".gyre")).unwrap();
    std::fs::create_dir_all(dir.join(".gyre")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, dir.join(".gyre/c")).unwrap();
    let out = build(&dir);
    assert_refused(&out, ".gyre/c", &precious);
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

#[test]
fn build_does_not_write_sdk_helpers_through_a_symlink() {
    let tmp = TempDir::new("build-link-helper");
    let dir = tmp.join("p");
    scaffold("verifier", "linked-js", "js", &dir);
    let precious = tmp.join("precious.txt");
    std::fs::write(&precious, "the user's file").unwrap();
    let _ = std::fs::remove_file(dir.join("gyre.js"));
    std::os::unix::fs::symlink(&precious, dir.join("gyre.js")).unwrap();
    let out = build(&dir);
    assert_refused(&out, "gyre.js", &precious);
}

#[test]
fn build_does_not_read_sources_from_outside_the_plugin_directory() {
    let tmp = TempDir::new("build-link-in");
    let (dir, _) = plugin_and_a_precious_file(&tmp);
    let secret = tmp.join("secret.c");
    std::fs::write(&secret, "const char *stolen = \"the user's secret\";\n").unwrap();
    std::os::unix::fs::symlink(&secret, dir.join("src/stolen.c")).unwrap();
    let out = build(&dir);
    let text = reference::text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("stolen.c") && text.contains("out of the plugin directory"),
        "{text}"
    );
}

// --- Toolchains ----------------------------------------------------------------

#[test]
fn an_untested_toolchain_version_is_named_in_a_warning() {
    let tmp = TempDir::new("build-versions");
    let bin = tmp.join("bin");
    std::fs::create_dir(&bin).unwrap();
    // Each answers its version question with an untested version and fails
    // any build: what matters is that gyre build names both versions.
    fake_program(
        &bin,
        "componentize-py",
        r#"[ "$1" = --version ] && { echo "componentize-py 0.19.0"; exit 0; }; echo "no such world" >&2; exit 1"#,
    );
    fake_program(
        &bin,
        "componentize-js",
        r#"[ "$1" = --version ] && { echo "0.18.5"; exit 0; }; echo "no such world" >&2; exit 1"#,
    );
    fake_program(
        &bin,
        "zig",
        r#"[ "$1" = version ] && { echo "0.15.1"; exit 0; }; echo "unknown command" >&2; exit 1"#,
    );
    for (lang, tool, installed, tested) in [
        ("python", "componentize-py", "0.19.0", "0.25.1"),
        ("js", "componentize-js", "0.18.5", "0.23.0"),
        ("zig", "zig", "0.15.1", "0.17.0"),
    ] {
        let dir = tmp.join(lang);
        scaffold("verifier", "versioned", lang, &dir);
        let out = reference::gyre()
            .arg("build")
            .arg(&dir)
            .env("PATH", path_with(&bin))
            .output()
            .unwrap();
        let text = reference::text(&out);
        assert_eq!(out.status.code(), Some(2), "{lang}: {text}");
        assert!(
            text.contains(&format!("{tool} {installed} is installed"))
                && text.contains(&format!("tested with {tool} {tested}")),
            "{lang}: {text}"
        );
    }
}

#[test]
fn the_c_install_hint_names_the_runtime_of_the_installed_llvm() {
    let tmp = TempDir::new("build-llvm");
    let bin = tmp.join("bin");
    std::fs::create_dir(&bin).unwrap();
    // A clang 18 without its wasm32 runtime library.
    fake_program(
        &bin,
        "clang",
        r#"[ "$1" = --version ] && { echo "Ubuntu clang version 18.1.3 (1ubuntu1)"; exit 0; }
echo "wasm-ld: error: cannot open /usr/lib/llvm-18/lib/clang/18/lib/wasi/libclang_rt.builtins-wasm32.a" >&2; exit 1"#,
    );
    let dir = tmp.join("c");
    scaffold("verifier", "llvm", "c", &dir);
    let out = reference::gyre()
        .arg("build")
        .arg(&dir)
        .env("PATH", path_with(&bin))
        .output()
        .unwrap();
    let text = reference::text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("libclang-rt-18-dev-wasm32"), "{text}");
    assert!(!text.contains("libclang-rt-14"), "{text}");
}

#[test]
fn pip_hints_work_where_pip_refuses_system_wide_installs() {
    let tmp = TempDir::new("build-pep668");
    let bin = tmp.join("bin");
    std::fs::create_dir(&bin).unwrap();
    // A python3 that is externally managed (PEP 668), without ziglang.
    fake_program(
        &bin,
        "python3",
        r#"case "$*" in *EXTERNALLY-MANAGED*) echo True; exit 0;; esac; exit 1"#,
    );
    for (lang, hint) in [
        (
            "python",
            "python3 -m pip install --user --break-system-packages componentize-py==0.25.1",
        ),
        ("python", "pipx install componentize-py==0.25.1"),
        (
            "zig",
            "python3 -m pip install --user --break-system-packages ziglang==0.17.0",
        ),
    ] {
        let dir = tmp.join(lang);
        if !dir.exists() {
            scaffold("verifier", "pep668", lang, &dir);
        }
        let out = reference::gyre()
            .arg("build")
            .arg(&dir)
            // Only the fake python3: no toolchain, no zig.
            .env("PATH", &bin)
            .output()
            .unwrap();
        let text = reference::text(&out);
        assert_eq!(out.status.code(), Some(2), "{lang}: {text}");
        assert!(text.contains(hint), "{lang}: {text}");
    }
}

// --- The SDKs' HTTP helpers and the host's refusals ---------------------------

/// The reference connector in `lang`, requesting the loopback origin of
/// the templates and two names the tests pin to prohibited addresses.
fn prohibited_connector(lang: &'static str) -> PathBuf {
    let dir = reference::root().join(format!("build-prohibited-{lang}"));
    let _ = std::fs::remove_dir_all(&dir);
    scaffold("connector", "reaches", lang, &dir);
    edit(&dir.join("gyre.toml"), |t| {
        t.replace(
            "http = [\"http://127.0.0.1:*\"]",
            "http = [\"http://127.0.0.1:*\", \"http://metadata.test:*\", \"http://loopback.test:*\"]",
        )
    });
    let out = build(&dir);
    assert!(out.status.success(), "{lang}: {}", reference::text(&out));
    dir.join("reaches.wasm")
}

/// The connectors of every non-Rust language, built once, two at a time.
fn prohibited_connectors() -> &'static [(&'static str, PathBuf)] {
    static ALL: OnceLock<Vec<(&'static str, PathBuf)>> = OnceLock::new();
    ALL.get_or_init(|| {
        std::fs::create_dir_all(reference::root()).unwrap();
        const PAIRS: [[&str; 2]; 2] = [["js", "c"], ["python", "zig"]];
        std::thread::scope(|s| {
            let handles: Vec<_> = PAIRS
                .iter()
                .map(|pair| {
                    s.spawn(move || {
                        pair.iter()
                            .map(|l| (*l, prohibited_connector(l)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("building a connector"))
                .collect()
        })
    })
}

fn get_pinned(
    plugin: &Plugin,
    base: &str,
    names: &[(&str, IpAddr)],
) -> (Result<String, String>, bool) {
    let grants = Grants::parse(
        "http = [\"http://127.0.0.1:*\", \"http://metadata.test:*\", \"http://loopback.test:*\"]\n",
        "test grants",
    )
    .unwrap();
    let mut resolver = StaticResolver::new(None);
    for (name, ip) in names {
        resolver.insert(name, *ip);
    }
    let granted = plugin
        .grant(&grants.resolve(plugin.manifest()), Arc::new(resolver))
        .unwrap();
    let config = json!({ "base-url": base }).to_string();
    let inv = block_on(plugin.invoke(&granted, &config, "get", r#"{"path": "/status"}"#));
    let outcome = match inv.outcome {
        Ok(Ok(text)) => Ok(text),
        Ok(Err(e)) => Err(e.kind().to_string()),
        Err(failure) => panic!("{}: the call failed: {failure}", plugin.name()),
    };
    (outcome, !inv.denials.is_empty())
}

#[test]
fn a_granted_name_resolving_to_a_prohibited_address_is_denied_in_every_sdk() {
    let server = TestServer::json(r#"{"reached": true}"#);
    let runtime = runtime();
    for (lang, wasm) in prohibited_connectors() {
        let plugin = runtime.load(wasm).unwrap().0;
        // The granted loopback address itself works: the helper is fine.
        let (outcome, denied) = get_pinned(&plugin, &server.origin(), &[]);
        assert!(outcome.is_ok() && !denied, "{lang}: {outcome:?}");
        // A granted name the host resolves to the cloud metadata address,
        // or to loopback where the server listens: refused by the host,
        // and the plugin answers `denied`, not an upstream failure.
        for (name, ip) in [
            ("metadata.test", "169.254.169.254".parse().unwrap()),
            ("loopback.test", "127.0.0.1".parse().unwrap()),
        ] {
            let base = format!("http://{name}:{}", server.port());
            let (outcome, denied) = get_pinned(&plugin, &base, &[(name, ip)]);
            assert_eq!(outcome, Err("denied".into()), "{lang}: {name} → {ip}");
            assert!(denied, "{lang}: the host records the refusal");
        }
    }
    assert_eq!(
        server.requests().len(),
        prohibited_connectors().len(),
        "only the granted address was reached"
    );
}

/// A C connector whose operations use the helper's POST and size cap.
const C_POSTER: &str = r#"#include <stdlib.h>
#include <string.h>

#include "gyre.h"

void exports_gyre_plugin_operations_describe(exports_gyre_plugin_operations_list_operation_t *ret) {
  ret->len = 2;
  ret->ptr = calloc(2, sizeof *ret->ptr);
  gyre_operation(&ret->ptr[0], "post", "POST the input to base-url/echo.", "{\"type\":\"object\"}", false);
  gyre_operation(&ret->ptr[1], "small", "GET base-url/big, at most 16 bytes.", "{\"type\":\"object\"}", true);
}

bool exports_gyre_plugin_operations_invoke(plugin_string_t *config, plugin_string_t *operation,
                                           plugin_string_t *input, plugin_string_t *ret, gyre_error_t *err) {
  char *base = NULL;
  bool ok;
  if (gyre_json_string(config->ptr, config->len, "base-url", &base) != GYRE_JSON_OK) {
    ok = gyre_fail(err, GYRE_INVALID_CONFIG, "no base-url");
  } else {
    gyre_http_response_t response;
    bool post = gyre_string_eq(operation, "post");
    char *url = malloc(strlen(base) + 8);
    strcpy(url, base);
    strcat(url, post ? "/echo" : "/big");
    ok = post ? gyre_http_post(url, "application/json", input->ptr, input->len, "application/json", &response, err)
              : gyre_http_request("GET", url, NULL, NULL, NULL, 0, 16, &response, err);
    if (ok) {
      *ret = gyre_stringf("{\"status\": %d, \"length\": %zu}", response.status, response.body_len);
      gyre_http_response_free(&response);
    }
    free(url);
  }
  free(base);
  plugin_string_free(config);
  plugin_string_free(operation);
  plugin_string_free(input);
  return ok;
}
"#;

#[test]
fn the_c_sdk_posts_a_body_and_caps_the_response() {
    let tmp = TempDir::new("build-c-post");
    let dir = tmp.join("p");
    scaffold("connector", "poster", "c", &dir);
    std::fs::write(dir.join("src/plugin.c"), C_POSTER).unwrap();
    let out = build(&dir);
    assert!(out.status.success(), "{}", reference::text(&out));

    let server = TestServer::start(|req| match req.path.as_str() {
        "/echo" => Reply::json(201, r#"{"ok": true}"#),
        _ => Reply::text(200, &"x".repeat(17)),
    });
    let runtime = runtime();
    let plugin = runtime.load(&dir.join("poster.wasm")).unwrap().0;
    let grants = Grants::parse(&format!("http = [\"{}\"]\n", server.origin()), "test").unwrap();
    let granted = plugin
        .grant(
            &grants.resolve(plugin.manifest()),
            Arc::new(StaticResolver::new(None)),
        )
        .unwrap();
    let config = json!({ "base-url": server.origin() }).to_string();
    // A body of several 4096-byte writes.
    let input = json!({ "text": "y".repeat(10_000) }).to_string();
    let inv = block_on(plugin.invoke(&granted, &config, "post", &input));
    let answer: serde_json::Value = serde_json::from_str(&inv.outcome.unwrap().unwrap()).unwrap();
    assert_eq!(answer, json!({"status": 201, "length": 12}));
    let requests = server.requests();
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].body, input.as_bytes());
    assert_eq!(requests[0].header("content-type"), Some("application/json"));

    // A POST to an origin not granted: the host refuses it while the body
    // is being written, and the helper reports that refusal.
    let other = TestServer::json(r#"{"secret": "do not post"}"#);
    let elsewhere = json!({ "base-url": other.origin() }).to_string();
    let inv = block_on(plugin.invoke(&granted, &elsewhere, "post", &input));
    match inv.outcome {
        Ok(Err(e)) => assert_eq!(e.kind(), "denied", "{e:?}"),
        other => panic!("expected a denied plugin error, got {other:?}"),
    }
    assert!(other.requests().is_empty());

    let inv = block_on(plugin.invoke(&granted, &config, "small", "{}"));
    match inv.outcome {
        Ok(Err(gyre_sandbox::PluginError::Upstream(u))) => {
            assert_eq!(u.status, 502);
            assert!(u.message.contains("larger than 16 bytes"), "{}", u.message);
        }
        other => panic!("expected an upstream error, got {other:?}"),
    }
}
