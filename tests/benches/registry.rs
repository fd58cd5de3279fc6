//! What an install costs, from the embedded registry and from a real OCI
//! registry (Debian's docker-registry on 127.0.0.1): fetch with every check
//! (signed index, release signature, tag, digests, component manifest
//! checks) plus the atomic install, for the `http-json` package.
//!
//! Run with `cargo bench -p gyre-tests --bench registry`. Reported, not
//! asserted; the median, p10 and p90 of interleaved samples.

use gyre_registry::backend::{AnyBackend, LocalRegistry, OciRegistry};
use gyre_registry::fetch::{self, Checks, Pin};
use gyre_registry::publish::{self, PublishOptions};
use gyre_registry::seen::SeenStore;
use gyre_registry::{Installed, PackageName, SecretKey, Timestamp, TrustPolicy, Want};
use gyre_tests::TempDir;
use gyre_tests::registry::DockerRegistry;
use std::time::{Duration, Instant};

const COMMAND: &str = "cargo bench -p gyre-tests --bench registry";
const ROUNDS: usize = 40;

fn main() {
    let dir = TempDir::new("bench-registry");
    let server = DockerRegistry::start();
    let key = SecretKey::generate("acme");
    let mut policy = TrustPolicy::default();
    policy.trust("acme", key.public(), "acme");
    let name: PackageName = "acme/http-json".parse().unwrap();
    let wasm = std::fs::read(gyre_tests::artifacts::HTTP_JSON).unwrap();
    let backends = [
        (
            "embedded",
            AnyBackend::Local(LocalRegistry::new(&dir.join("registry"))),
        ),
        (
            "oci",
            AnyBackend::Oci(OciRegistry::new(&server.host(), None, true)),
        ),
    ];
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("gyre registry benchmark: {COMMAND}");
    println!(
        "package  acme/http-json ({} bytes, one component)",
        wasm.len()
    );
    for (_, backend) in &backends {
        let opts = PublishOptions {
            key: &key,
            policy: &policy,
            now: Timestamp::now(),
            valid_for: 86_400,
        };
        rt.block_on(publish::publish(
            backend,
            &name,
            vec![("c.wasm".into(), wasm.clone())],
            &opts,
            &gyre_registry::progress::Quiet,
        ))
        .expect("publishing");
    }
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); backends.len()];
    for round in 0..ROUNDS + 3 {
        for (i, (label, backend)) in backends.iter().enumerate() {
            let data = dir.join(&format!("data-{label}-{round}"));
            let mut seen = SeenStore::open(&data.join("seen.toml")).unwrap();
            let start = Instant::now();
            let mut checks = Checks {
                policy: &policy,
                seen: &mut seen,
                allow_untrusted: false,
                now: Timestamp::now(),
            };
            let fetched = rt
                .block_on(fetch::fetch(
                    backend,
                    &name,
                    &Pin::Want(Want::Latest),
                    &mut checks,
                    &gyre_registry::progress::Quiet,
                ))
                .expect("fetching");
            Installed::open(&data)
                .commit(&fetched, Timestamp::now())
                .expect("installing");
            let took = start.elapsed();
            if round >= 3 {
                samples[i].push(took);
            }
        }
    }
    println!(
        "{:<10} {:>10} {:>10} {:>10}",
        "install", "median", "p10", "p90"
    );
    for ((label, _), mut s) in backends.iter().zip(samples) {
        s.sort();
        let at = |q: f64| s[((s.len() - 1) as f64 * q).round() as usize];
        println!(
            "{label:<10} {:>10.2?} {:>10.2?} {:>10.2?}",
            at(0.5),
            at(0.1),
            at(0.9)
        );
    }
}
