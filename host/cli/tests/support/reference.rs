//! The reference plugins: the verifier and connector templates of every
//! language, scaffolded with `gyre new` and built with `gyre build` and the
//! real toolchains, once per test (or benchmark) binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const LANGS: [&str; 5] = ["rust", "js", "python", "c", "zig"];
pub const KINDS: [&str; 2] = ["verifier", "connector"];

pub struct Reference {
    pub lang: &'static str,
    pub kind: &'static str,
    pub dir: PathBuf,
    pub wasm: PathBuf,
    /// What `gyre build` printed.
    pub build_output: String,
    pub build_time: Duration,
}

/// Everything these tests write, kept between runs under the target dir so
/// that Rust guests and compiled components are cached.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("languages")
}

/// The compile cache every process of these tests shares: each large
/// component is compiled once.
pub fn cache_dir() -> PathBuf {
    root().join("compile-cache")
}

/// The gyre binary, with the shared cache; Rust guests share one target
/// dir and resolve offline (the tests use no network beyond loopback).
pub fn gyre() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gyre"));
    cmd.env("GYRE_CACHE_DIR", cache_dir())
        .env("GYRE_STATE_DIR", root().join("state"))
        .env("CARGO_TARGET_DIR", root().join("rust-guests"))
        .env("CARGO_NET_OFFLINE", "true");
    cmd
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `gyre new KIND ref-KIND --lang LANG`, then `gyre build`.
pub fn scaffold_and_build(lang: &'static str, kind: &'static str) -> Result<Reference, String> {
    let dir = root().join(format!("{lang}-{kind}"));
    let _ = std::fs::remove_dir_all(&dir);
    let name = format!("ref-{kind}");
    let out = gyre()
        .args(["new", kind, &name, "--lang", lang, "--dir"])
        .arg(&dir)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("gyre new {kind} --lang {lang}: {}", text(&out)));
    }
    let start = Instant::now();
    let out = gyre()
        .arg("build")
        .arg(&dir)
        .output()
        .map_err(|e| e.to_string())?;
    let build_time = start.elapsed();
    if !out.status.success() {
        return Err(format!("gyre build ({lang} {kind}): {}", text(&out)));
    }
    Ok(Reference {
        lang,
        kind,
        wasm: dir.join(format!("{name}.wasm")),
        dir,
        build_output: text(&out),
        build_time,
    })
}

/// Every reference plugin, built on first use (two at a time). A language
/// whose toolchain is missing fails here with the command that installs it.
pub fn all() -> &'static [Reference] {
    static ALL: OnceLock<Vec<Reference>> = OnceLock::new();
    ALL.get_or_init(|| {
        std::fs::create_dir_all(root()).expect("creating the test root");
        let jobs: Vec<(&'static str, &'static str)> = LANGS
            .iter()
            .flat_map(|l| KINDS.iter().map(move |k| (*l, *k)))
            .collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let results = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((lang, kind)) = jobs.get(i) else {
                            break;
                        };
                        let built = scaffold_and_build(lang, kind);
                        results.lock().unwrap().push((i, built));
                    }
                });
            }
        });
        let mut results = results.into_inner().unwrap();
        results.sort_by_key(|(i, _)| *i);
        let failures: Vec<String> = results
            .iter()
            .filter_map(|(_, r)| r.as_ref().err().cloned())
            .collect();
        assert!(
            failures.is_empty(),
            "reference plugins failed to build:\n\n{}",
            failures.join("\n\n")
        );
        results.into_iter().filter_map(|(_, r)| r.ok()).collect()
    })
}

pub fn of_kind(kind: &str) -> impl Iterator<Item = &'static Reference> {
    all().iter().filter(move |r| r.kind == kind)
}

/// A runtime sharing the tests' compile cache.
pub fn runtime() -> gyre_sandbox::Runtime {
    gyre_sandbox::Runtime::new(gyre_sandbox::RuntimeConfig {
        cache_dir: Some(cache_dir()),
        ..gyre_sandbox::RuntimeConfig::default()
    })
    .expect("a runtime")
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(f)
}
