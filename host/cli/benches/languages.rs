//! What each language costs, for the same reference verifier (the
//! template `gyre new verifier --lang L` writes), measured side by side in
//! one run:
//!
//! - build time (`gyre build`, toolchain warm) and component size;
//! - cold compile (Cranelift, no cache) and cached load (from the compile
//!   cache into a running host);
//! - fresh invocation (new store, instantiate, call: what the host does for
//!   every call) and warm call (the same instance called again);
//! - fuel-metering overhead: the warm call with fuel metering against the
//!   same call in an engine without it.
//!
//! Run with `cargo bench -p gyre-cli --bench languages` (or, without a release build,
//! `cargo test -p gyre-cli --bench languages`). Speed is reported,
//! not asserted; only a wrong verdict or a recompilation of a cached
//! component fails the run.

#[path = "../tests/support/mod.rs"]
mod support;

use gyre_sandbox::verifier::{Evidence, VerifyRequest};
use gyre_sandbox::{Granted, Plugin, Runtime, RuntimeConfig};
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};
use support::reference;

const COMMAND: &str = "cargo bench -p gyre-cli --bench languages";

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

fn request() -> VerifyRequest {
    VerifyRequest {
        config: r#"{"min": 80}"#.into(),
        evidence: vec![Evidence {
            name: "report".into(),
            content_type: "application/json".into(),
            data: br#"{"value": 87.5, "lines": 1200, "covered": 1050}"#.to_vec(),
        }],
        workspace: None,
    }
}

fn runtime(cache: Option<&Path>, unmetered: bool) -> Runtime {
    Runtime::new(RuntimeConfig {
        cache_dir: cache.map(Path::to_path_buf),
        unmetered,
        ..RuntimeConfig::default()
    })
    .expect("Runtime::new")
}

struct Row {
    lang: &'static str,
    build: Duration,
    size: u64,
    cold: Duration,
    cached: Duration,
    fresh: Duration,
    warm: Duration,
    warm_unmetered: Duration,
}

fn fmt(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us >= 1e6 {
        format!("{:.1} s", us / 1e6)
    } else if us >= 1e3 {
        format!("{:.2} ms", us / 1e3)
    } else {
        format!("{us:.1} µs")
    }
}

fn size(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MB", bytes as f64 / (1u64 << 20) as f64)
    } else {
        format!("{} KB", bytes / 1024)
    }
}

fn fresh_verify(tokio: &tokio::runtime::Runtime, plugin: &Plugin, granted: &Granted) -> Duration {
    tokio.block_on(async {
        let start = Instant::now();
        let inv = plugin.verify(granted, request()).await;
        let elapsed = start.elapsed();
        match black_box(inv).outcome {
            Ok(Ok(v)) if v.passed && v.score == Some(87.5) => elapsed,
            other => panic!("{}: wrong verdict: {other:?}", plugin.name()),
        }
    })
}

fn warm(
    tokio: &tokio::runtime::Runtime,
    plugin: &Plugin,
    granted: &Granted,
    calls: usize,
) -> Duration {
    let times = tokio
        .block_on(plugin.bench_warm_verify(granted, &request(), calls))
        .unwrap_or_else(|f| panic!("{}: warm calls failed: {f}", plugin.name()));
    median(times)
}

fn measure(lang: &'static str, scratch: &Path, tokio: &tokio::runtime::Runtime) -> Row {
    // The toolchain is warm from a first build; the second one is timed.
    reference::scaffold_and_build(lang, "verifier").unwrap_or_else(|e| panic!("{e}"));
    let r = reference::scaffold_and_build(lang, "verifier").unwrap_or_else(|e| panic!("{e}"));
    let size = std::fs::metadata(&r.wasm).map(|m| m.len()).unwrap_or(0);
    let big = size > (1 << 20);
    let (cold_samples, load_samples, fresh_samples, warm_calls) = if big {
        (1, 10, 50, 300)
    } else {
        (5, 40, 300, 2000)
    };

    let cold = median(
        (0..cold_samples)
            .map(|_| {
                let (_, report) = runtime(None, false).load(&r.wasm).expect("loading");
                report.load_time
            })
            .collect(),
    );
    let cache = scratch.join(format!("cache-{lang}"));
    let metered = runtime(Some(&cache), false);
    metered.load(&r.wasm).expect("filling the cache");
    let cached = median(
        (0..load_samples)
            .map(|_| {
                let (_, report) = metered.load(&r.wasm).expect("loading");
                assert!(
                    !report.compiled,
                    "{lang}: a cached component was compiled again"
                );
                report.load_time
            })
            .collect(),
    );
    let (plugin, _) = metered.load(&r.wasm).expect("loading");
    let granted = Granted::nothing(plugin.name(), plugin.manifest().budgets, metered.limits());
    for _ in 0..fresh_samples / 5 {
        fresh_verify(tokio, &plugin, &granted);
    }
    let fresh = median(
        (0..fresh_samples)
            .map(|_| fresh_verify(tokio, &plugin, &granted))
            .collect(),
    );
    let warm_metered = warm(tokio, &plugin, &granted, warm_calls);

    let unmetered = runtime(Some(&cache), true);
    let (plain, _) = unmetered.load(&r.wasm).expect("loading unmetered");
    let granted_plain =
        Granted::nothing(plain.name(), plain.manifest().budgets, unmetered.limits());
    let warm_unmetered = warm(tokio, &plain, &granted_plain, warm_calls);
    // Interleave once more so that load on the machine falls on both.
    let warm_metered = warm_metered.min(warm(tokio, &plugin, &granted, warm_calls));
    let warm_unmetered = warm_unmetered.min(warm(tokio, &plain, &granted_plain, warm_calls));

    Row {
        lang,
        build: r.build_time,
        size,
        cold,
        cached,
        fresh,
        warm: warm_metered,
        warm_unmetered,
    }
}

fn main() {
    let started = Instant::now();
    let scratch = reference::root().join("bench");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).expect("creating the scratch dir");
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("gyre languages benchmark: {COMMAND}");
    println!(
        "machine: {} cores, load average {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        load.split_whitespace().next().unwrap_or("?")
    );
    println!();
    let rows: Vec<Row> = reference::LANGS
        .iter()
        .map(|lang| measure(lang, &scratch, &tokio))
        .collect();
    println!(
        "| language | build | size | cold compile | cached load | fresh invocation | warm call | fuel overhead |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for r in &rows {
        let overhead = r.warm.as_secs_f64() / r.warm_unmetered.as_secs_f64().max(1e-12) - 1.0;
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {:+.0} % |",
            match r.lang {
                "rust" => "Rust",
                "js" => "JavaScript",
                "python" => "Python",
                "c" => "C",
                _ => "Zig",
            },
            fmt(r.build),
            size(r.size),
            fmt(r.cold),
            fmt(r.cached),
            fmt(r.fresh),
            fmt(r.warm),
            overhead * 100.0
        );
    }
    println!();
    println!("total {:.0} s", started.elapsed().as_secs_f64());
}
