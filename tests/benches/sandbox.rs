//! The sandbox's cost, measured side by side in one run:
//!
//! - a fresh sandboxed invocation of `tests-green` (new store, instantiate
//!   from the pre-instantiated component, call) against spawning a native
//!   process that does the same work (`tests-green-native`), on the same
//!   cargo test log;
//! - what the public API tells about the call itself (`Usage`), since the
//!   host never calls the same instance twice;
//! - a cold compile against a load from the compile cache, which must not
//!   compile again.
//!
//! Run with `cargo bench -p gyre-tests --bench sandbox`. Speed is reported,
//! not asserted: a missed target prints MISSED. Only a recompilation of an
//! unchanged plugin fails the run, as it is a correctness bug.
//!
//! No criterion: a small harness warms up, takes samples and reports the
//! median, p10 and p90. The invocation cases run interleaved in rounds so
//! that load from other processes on the machine falls on all of them alike.

use gyre_sandbox::verifier::{Evidence, Verdict, VerifyRequest};
use gyre_sandbox::{Granted, Invocation, LoadReport, PluginError, Runtime, RuntimeConfig, Usage};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tests_green::check::{Config, check};

const COMMAND: &str = "cargo bench -p gyre-tests --bench sandbox";
const NATIVE: &str = env!("CARGO_BIN_EXE_tests-green-native");

/// Targets from the issue.
const TARGET_RATIO: f64 = 20.0;
const TARGET_CACHED_LOAD: Duration = Duration::from_millis(1);

/// Invocation cases: rounds, and samples of each case per round.
const WARM_CALLS: usize = 1000;
const ROUNDS: usize = 20;
const FRESH_PER_ROUND: usize = 40;
const EMPTY_PER_ROUND: usize = 20;
const SPAWN_PER_ROUND: usize = 10;
const NATIVE_PER_ROUND: usize = 50;
/// Load cases.
const COLD_SAMPLES: usize = 8;
const CACHED_SAMPLES: usize = 40;

fn main() {
    let started = Instant::now();
    let scratch = Scratch::new();
    let wasm = Path::new(gyre_tests::artifacts::TESTS_GREEN);
    let log = cargo_log();
    let log_path = scratch.0.join("cargo-test.log");
    std::fs::write(&log_path, &log).expect("writing the test log");
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");

    println!("gyre sandbox benchmark: {COMMAND}");
    println!(
        "plugin   {} ({} bytes)",
        wasm.display(),
        std::fs::metadata(wasm).map(|m| m.len()).unwrap_or(0)
    );
    println!("process  {NATIVE}");
    println!(
        "log      {} lines, {} bytes: {} test lines, 3 test binaries",
        log.lines().count(),
        log.len(),
        log.lines()
            .filter(|l| l.starts_with("test ") && l.contains(" ... "))
            .count()
    );
    println!("machine  {} cores, load average {}", cores(), loadavg());
    println!();

    // ---- the invocation cases ---------------------------------------------
    let runtime = Runtime::new(config(scratch.0.join("cache-main"))).expect("Runtime::new");
    let (plugin, _) = runtime.load(wasm).expect("loading tests-green");
    let granted = Granted::nothing(plugin.name(), plugin.manifest().budgets, runtime.limits());
    let request = VerifyRequest {
        config: "{}".into(),
        evidence: vec![Evidence {
            name: "test-log".into(),
            content_type: "text/plain".into(),
            data: log.clone().into_bytes(),
        }],
        workspace: None,
    };
    // The same call with nothing to read: the guest fails at once with
    // "no evidence", so this is the store, instantiation and call overhead.
    let empty = VerifyRequest {
        config: "{}".into(),
        evidence: Vec::new(),
        workspace: None,
    };
    let native_config = Config {
        evidence: "test-log".into(),
        format: None,
        min_tests: 1,
    };

    let fresh_once =
        |request: &VerifyRequest| -> (Duration, Invocation<Result<Verdict, PluginError>>) {
            let request = request.clone();
            tokio.block_on(async {
                let start = Instant::now();
                let invocation = plugin.verify(&granted, request).await;
                let elapsed = start.elapsed();
                (elapsed, black_box(invocation))
            })
        };
    let spawn_once = || -> (Duration, std::process::Output) {
        let start = Instant::now();
        let output = Command::new(NATIVE)
            .arg(&log_path)
            .output()
            .expect("spawning tests-green-native");
        let elapsed = start.elapsed();
        (elapsed, black_box(output))
    };
    let native_once = || -> (Duration, bool) {
        let start = Instant::now();
        let verdict = check(black_box(&native_config), black_box(&log));
        let elapsed = start.elapsed();
        (elapsed, black_box(verdict).passed)
    };

    // Both sides do the same work and agree.
    let (_, invocation) = fresh_once(&request);
    let verdict = match invocation.outcome {
        Ok(Ok(verdict)) => verdict,
        other => panic!("tests-green did not return a verdict: {other:?}"),
    };
    assert!(
        verdict.passed,
        "the benchmark log should pass: {}",
        verdict.summary
    );
    let (_, output) = spawn_once();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "tests-green-native failed: {printed}"
    );
    assert_eq!(
        printed.trim(),
        format!("passed: {}", verdict.summary),
        "the process and the plugin disagree"
    );
    let (_, invocation) = fresh_once(&empty);
    assert!(
        matches!(invocation.outcome, Ok(Err(_))),
        "an empty request should be a plugin error: {:?}",
        invocation.outcome
    );
    println!(
        "verdict  {} ({} findings), the same from the plugin and the process",
        verdict.summary,
        verdict.findings.len()
    );
    println!();

    // Warm-up, then interleaved rounds.
    for _ in 0..50 {
        black_box(fresh_once(&request));
        black_box(fresh_once(&empty));
        black_box(native_once());
    }
    for _ in 0..10 {
        black_box(spawn_once());
    }
    let mut fresh = Vec::new();
    let mut usage = Vec::new();
    let mut fresh_empty = Vec::new();
    let mut usage_empty = Vec::new();
    let mut spawn = Vec::new();
    let mut native = Vec::new();
    for _ in 0..ROUNDS {
        for _ in 0..FRESH_PER_ROUND {
            let (t, inv) = fresh_once(&request);
            assert!(
                matches!(&inv.outcome, Ok(Ok(v)) if v.passed),
                "a fresh invocation failed: {:?}",
                inv.outcome
            );
            fresh.push(t);
            usage.push(inv.usage);
        }
        for _ in 0..EMPTY_PER_ROUND {
            let (t, inv) = fresh_once(&empty);
            assert!(matches!(&inv.outcome, Ok(Err(_))), "{:?}", inv.outcome);
            fresh_empty.push(t);
            usage_empty.push(inv.usage);
        }
        for _ in 0..SPAWN_PER_ROUND {
            let (t, output) = spawn_once();
            assert!(output.status.success(), "tests-green-native failed");
            spawn.push(t);
        }
        for _ in 0..NATIVE_PER_ROUND {
            let (t, passed) = native_once();
            assert!(passed);
            native.push(t);
        }
    }
    // A warm call: the same instance called again (the host never does
    // this; it shows what a call costs once an instance exists).
    let warm_times = tokio
        .block_on(plugin.bench_warm_verify(&granted, &request, 50 + WARM_CALLS))
        .expect("warm calls");
    let warm = Stats::of(warm_times[50..].to_vec());
    let fresh = Stats::of(fresh);
    let spawn = Stats::of(spawn);
    let fresh_empty = Stats::of(fresh_empty);
    let native = Stats::of(native);
    let wall = Stats::of(usage.iter().map(Usage::wall_time).collect());
    let wall_empty = Stats::of(usage_empty.iter().map(Usage::wall_time).collect());
    let fuel = median_u64(usage.iter().map(|u| u.fuel_consumed).collect());
    let fuel_empty = median_u64(usage_empty.iter().map(|u| u.fuel_consumed).collect());
    let peak = median_u64(usage.iter().map(|u| u.peak_memory_bytes).collect());

    println!("invocation: {ROUNDS} interleaved rounds");
    header();
    fresh.row("fresh invocation (store + instantiate + call)");
    spawn.row("process spawn (tests-green-native, same log)");
    warm.row("warm call (same instance, called again)");
    println!();
    println!("where a fresh invocation goes");
    header();
    wall.row("  Usage.wall_time (store + instantiate + call)");
    fresh_empty.row("  fresh invocation, no evidence (guest exits at once)");
    wall_empty.row("  Usage.wall_time, no evidence");
    native.row("  check() natively, in-process (the guest's work)");
    println!(
        "  guest work on the log ~ {} (fresh - no evidence); fuel {} vs {} without evidence; peak memory {} KiB",
        fmt(fresh.median.saturating_sub(fresh_empty.median)),
        fuel,
        fuel_empty,
        peak / 1024
    );
    println!(
        "  host work outside Usage.wall_time (redaction, output, dropping the store) ~ {}",
        fmt(fresh.median.saturating_sub(wall.median))
    );
    println!();

    // ---- cold compile against cached load ---------------------------------
    let mut cold_total = Vec::new();
    let mut cold_load = Vec::new();
    let mut cold_digest = None;
    for i in 0..=COLD_SAMPLES {
        let dir = scratch.0.join(format!("cache-cold-{i}"));
        let start = Instant::now();
        let rt = Runtime::new(config(dir.clone())).expect("Runtime::new");
        let mid = Instant::now();
        let (plugin, report) = rt.load(wasm).expect("loading tests-green");
        let end = Instant::now();
        assert!(
            report.compiled,
            "a load on an empty cache dir ({}) did not compile",
            dir.display()
        );
        cold_digest.get_or_insert(plugin.digest().to_string());
        drop((black_box(plugin), rt));
        let _ = std::fs::remove_dir_all(&dir);
        if i > 0 {
            // The first one was the warm-up.
            cold_total.push(end - start);
            cold_load.push(end - mid);
        }
    }
    let cold_digest = cold_digest.unwrap();

    let cache_dir = scratch.0.join("cache-shared");
    {
        let rt = Runtime::new(config(cache_dir.clone())).expect("Runtime::new");
        let (_, report) = rt.load(wasm).expect("loading tests-green");
        assert!(
            report.compiled,
            "a load on an empty cache dir did not compile"
        );
    }
    let assert_cached = |report: &LoadReport, plugin: &gyre_sandbox::Plugin| {
        assert!(
            !report.compiled,
            "no recompilation of an unchanged plugin: loading tests-green again with the same cache dir ({}) compiled it again",
            cache_dir.display()
        );
        assert_eq!(
            plugin.digest(),
            cold_digest,
            "the digest of an unchanged plugin changed"
        );
    };
    let mut cached_total = Vec::new();
    let mut runtime_new = Vec::new();
    let mut cached_load = Vec::new();
    let mut cached_loads = 0;
    for i in 0..=CACHED_SAMPLES {
        // Including Runtime::new: a new host process's first load.
        let start = Instant::now();
        let rt = Runtime::new(config(cache_dir.clone())).expect("Runtime::new");
        let mid = Instant::now();
        let (plugin, report) = rt.load(wasm).expect("loading tests-green");
        let end = Instant::now();
        assert_cached(&report, &plugin);
        drop((black_box(plugin), rt));
        // Excluding Runtime::new: a load into a running host.
        let rt = Runtime::new(config(cache_dir.clone())).expect("Runtime::new");
        let start2 = Instant::now();
        let (plugin, report) = rt.load(wasm).expect("loading tests-green");
        let end2 = Instant::now();
        assert_cached(&report, &plugin);
        drop((black_box(plugin), rt));
        cached_loads += 2;
        if i > 0 {
            cached_total.push(end - start);
            runtime_new.push(mid - start);
            cached_load.push(end2 - start2);
        }
    }

    // What a cached load is made of, as far as public functions reach.
    let artifact = std::fs::read_dir(&cache_dir)
        .expect("reading the cache dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .expect("a .cwasm entry in the cache dir");
    let artifact_len = std::fs::metadata(&artifact).map(|m| m.len()).unwrap_or(0);
    let wasm_bytes = std::fs::read(wasm).unwrap();
    let artifact_bytes = std::fs::read(&artifact).unwrap();
    let part = |f: &dyn Fn() -> usize| -> Stats {
        for _ in 0..10 {
            black_box(f());
        }
        Stats::of(
            (0..100)
                .map(|_| {
                    let start = Instant::now();
                    black_box(f());
                    start.elapsed()
                })
                .collect(),
        )
    };
    let read_wasm = part(&|| std::fs::read(black_box(wasm)).unwrap().len());
    let inspect = part(&|| {
        gyre_sandbox::inspect::read(black_box(&wasm_bytes))
            .unwrap()
            .size
    });
    let info = gyre_sandbox::inspect::read(&wasm_bytes).unwrap();
    let manifest_text = info.manifest_text.clone().expect("an embedded manifest");
    let manifest = part(&|| {
        let manifest =
            gyre_sandbox::manifest::Manifest::parse(black_box(&manifest_text), "bench").unwrap();
        gyre_sandbox::inspect::check(&manifest, black_box(&info)).len()
    });
    let sha_wasm = part(&|| blake3::hash(black_box(&wasm_bytes)).as_bytes().len());
    let read_artifact = part(&|| std::fs::read(black_box(&artifact)).unwrap().len());
    let sha_artifact = part(&|| blake3::hash(black_box(&artifact_bytes)).as_bytes().len());
    let cached_load = Stats::of(cached_load);
    let known = read_wasm.median
        + inspect.median
        + manifest.median
        + sha_wasm.median
        + read_artifact.median
        + sha_artifact.median;

    println!("loading: {COLD_SAMPLES} cold compiles, {CACHED_SAMPLES} cached loads of each kind");
    header();
    Stats::of(cold_total).row("cold compile: Runtime::new + load, empty cache");
    let cold_load = Stats::of(cold_load);
    cold_load.row("cold compile: load only");
    let cached_total = Stats::of(cached_total);
    cached_total.row("cached load: Runtime::new + load");
    Stats::of(runtime_new).row("  of which Runtime::new");
    cached_load.row("cached load: load only (runtime already up)");
    println!("  cached load, load only, by part:");
    read_wasm.row(&format!(
        "    read the component ({} KiB)",
        wasm_bytes.len() / 1024
    ));
    inspect.row("    inspect::read (imports, exports, manifest)");
    manifest.row("    Manifest::parse + inspect::check");
    sha_wasm.row("    BLAKE3 of the component (cache key)");
    read_artifact.row(&format!(
        "    read the cache entry ({} KiB)",
        artifact_len / 1024
    ));
    sha_artifact.row("    BLAKE3 of the cache entry (integrity)");
    println!(
        "    rest (Component::deserialize, instantiate_pre)       ~ {}",
        fmt(cached_load.median.saturating_sub(known))
    );
    println!();

    // ---- summary -----------------------------------------------------------
    let ratio = spawn.median.as_secs_f64() / fresh.median.as_secs_f64();
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    println!("summary (medians)");
    println!("  fresh invocation          {:>10}", fmt(fresh.median));
    println!("  process spawn             {:>10}", fmt(spawn.median));
    println!("  warm call                 {:>10}", fmt(warm.median));
    println!("  cold compile (load)       {:>10}", fmt(cold_load.median));
    println!(
        "  cached load (load only)   {:>10}",
        fmt(cached_load.median)
    );
    println!(
        "  cached load + Runtime::new{:>10}",
        fmt(cached_total.median)
    );
    println!(
        "  spawn/fresh ratio = {ratio:.1}×   target ≥ {TARGET_RATIO}×: {}",
        verdict(ratio >= TARGET_RATIO)
    );
    // A spawn waits for a free core; on a busy machine its median says more
    // about the load than about the spawn. Its p10 is the quiet-machine cost.
    let quiet = spawn.p10.as_secs_f64() / fresh.median.as_secs_f64();
    println!(
        "  quiet-machine ratio (spawn p10 / fresh median) = {quiet:.1}×: {}",
        verdict(quiet >= TARGET_RATIO)
    );
    println!(
        "  cached load = {:.3} ms   target < 1 ms: {}   (with Runtime::new: {:.3} ms, {})",
        cached_load.median.as_secs_f64() * 1e3,
        verdict(cached_load.median < TARGET_CACHED_LOAD),
        cached_total.median.as_secs_f64() * 1e3,
        verdict(cached_total.median < TARGET_CACHED_LOAD)
    );
    println!(
        "  no recompilation of an unchanged plugin: ok ({cached_loads} cached loads, none compiled)"
    );
    println!(
        "  load average now {}; total bench time {:.1} s",
        loadavg(),
        started.elapsed().as_secs_f64()
    );
}

/// A runtime configuration with its compile cache in `dir`.
fn config(dir: PathBuf) -> RuntimeConfig {
    RuntimeConfig {
        cache_dir: Some(dir),
        ..RuntimeConfig::default()
    }
}

/// A realistic `cargo test` log: three test binaries, 52 test lines (two
/// ignored), their summaries and the build lines around them.
fn cargo_log() -> String {
    let mut log = String::from(
        "   Compiling calc v0.3.1 (/work/calc)\n    Finished `test` profile [unoptimized + debuginfo] target(s) in 4.21s\n     Running unittests src/lib.rs (target/debug/deps/calc-5f3a9c2e1b7d4a60)\n\nrunning 40 tests\n",
    );
    let modules = ["lexer", "parser", "eval", "format", "units"];
    let cases = [
        "empty_input",
        "whitespace",
        "nested_parens",
        "unicode_names",
        "large_numbers",
        "negative_zero",
        "precedence",
        "errors_point_at_column",
    ];
    let mut ignored = 0;
    for module in modules {
        for (i, case) in cases.iter().enumerate() {
            if (module == "eval" || module == "units") && i == 7 {
                log.push_str(&format!("test {module}::tests::{case} ... ignored, slow\n"));
                ignored += 1;
            } else {
                log.push_str(&format!("test {module}::tests::{case} ... ok\n"));
            }
        }
    }
    log.push_str(&format!(
        "\ntest result: ok. {} passed; 0 failed; {ignored} ignored; 0 measured; 0 filtered out; finished in 0.03s\n\n",
        40 - ignored
    ));
    log.push_str(
        "     Running tests/api.rs (target/debug/deps/api-0c81e6d2f4a9b357)\n\nrunning 10 tests\n",
    );
    for case in [
        "add",
        "sub",
        "mul",
        "div",
        "div_by_zero_is_an_error",
        "pow",
        "sqrt",
        "variables",
        "functions",
        "round_trip",
    ] {
        log.push_str(&format!("test api_{case} ... ok\n"));
    }
    log.push_str("\ntest result: ok. 10 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s\n\n");
    log.push_str("   Doc-tests calc\n\nrunning 2 tests\ntest src/lib.rs - eval (line 12) ... ok\ntest src/lib.rs - parse (line 40) ... ok\n");
    log.push_str("\ntest result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.52s\n\n");
    log
}

struct Stats {
    n: usize,
    median: Duration,
    p10: Duration,
    p90: Duration,
}

impl Stats {
    fn of(mut samples: Vec<Duration>) -> Self {
        assert!(!samples.is_empty());
        samples.sort_unstable();
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        Self {
            n: samples.len(),
            median: at(0.5),
            p10: at(0.1),
            p90: at(0.9),
        }
    }

    fn row(&self, name: &str) {
        println!(
            "{name:<56} {:>10} {:>10} {:>10} {:>6}",
            fmt(self.median),
            fmt(self.p10),
            fmt(self.p90),
            self.n
        );
    }
}

fn header() {
    println!(
        "{:<56} {:>10} {:>10} {:>10} {:>6}",
        "case", "median", "p10", "p90", "n"
    );
}

fn median_u64(mut values: Vec<u64>) -> u64 {
    values.sort_unstable();
    values[values.len() / 2]
}

fn fmt(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1.0 {
        format!("{:.0} ns", us * 1e3)
    } else if us < 1000.0 {
        format!("{us:.1} µs")
    } else {
        format!("{:.2} ms", us / 1e3)
    }
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// A scratch directory under the system temp dir, named with the pid,
/// removed when the bench ends (or panics).
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("gyre-bench-sandbox-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("creating the scratch dir");
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
