//! `gyre plugin test WASM`: the conformance battery and the author's cases
//! from gyre-test.toml beside the component.
//!
//! The test file travels with the plugin, so its `[grants]` are held to
//! what cannot reach the user's machine (`Fixtures::grants`) and printed
//! before anything runs; `--grants FILE` is the user granting more.

use crate::args::Dirs;
use crate::exit::Exit;
use anyhow::{Context, Result, bail};
use clap::Args;
use gyre_conformance::fixtures::{self, Fixtures};
use gyre_manifest::{Grants, SecretSource};
use gyre_sandbox::{Runtime, RuntimeConfig};
use std::path::PathBuf;

#[derive(Args)]
pub struct TestArgs {
    /// The plugin component (.wasm).
    pub wasm: PathBuf,
    /// The author's cases [default: gyre-test.toml beside the component, if any].
    #[arg(long, value_name = "FILE")]
    pub cases: Option<PathBuf>,
    /// Grants for the author's cases, replacing the test file's [grants].
    #[arg(long, value_name = "FILE")]
    pub grants: Option<PathBuf>,
    /// Apply the [grants] of the test file (shown when it has any).
    #[arg(long, conflicts_with = "grants")]
    pub grant_cases: bool,
}

pub fn run(args: TestArgs, dirs: &Dirs) -> Result<Exit> {
    let fixtures = match &args.cases {
        Some(path) => Fixtures::load(path)?,
        None => {
            let dir = args
                .wasm
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            Fixtures::beside(dir)?.unwrap_or_default()
        }
    };
    let (grants, from) = match &args.grants {
        Some(path) => (Grants::load(path)?, path.clone()),
        None => (fixtures.grants()?, fixtures.path.clone()),
    };
    let from = crate::render::clean(&from.display().to_string());
    let lines = describe(&grants);
    // The test file came with the plugin: its grants are the plugin
    // author's wish, applied only once the user has seen and accepted them.
    if args.grants.is_none() && !lines.is_empty() && !args.grant_cases {
        for line in &lines {
            eprintln!("{from} asks to grant the cases: {line}");
        }
        bail!(
            "{from} asks for grants (above); re-run with --grant-cases to grant them, or give your own with --grants FILE"
        );
    }
    for line in &lines {
        println!("granted to the cases by {from}: {line}");
    }
    if grants.budgets != Default::default() {
        println!("budgets in {from} are ignored: the battery holds the plugin to its manifest's");
    }
    // The plugin's store is a scratch one, so kv works as in a loop but
    // tests never touch real state.
    let scratch = Scratch::new()?;
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: dirs.cache.clone(),
        state_dir: Some(scratch.0.clone()),
        ..RuntimeConfig::default()
    })?;
    let (plugin, _) = runtime
        .load(&args.wasm)
        .with_context(|| format!("loading {}", args.wasm.display()))?;
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = tokio.block_on(gyre_conformance::run(&plugin, &fixtures, &grants))?;
    println!("{report}");
    if report.passed() {
        Ok(Exit::Success)
    } else {
        if fixtures.cases.is_empty() {
            eprintln!(
                "hint: add your own cases in {} beside the component",
                fixtures::FILE_NAME
            );
        }
        Ok(Exit::Failed)
    }
}

/// One line per grant, for the user to see before the cases run.
fn describe(grants: &Grants) -> Vec<String> {
    let mut lines: Vec<String> = grants.http.iter().map(|o| format!("http {o}")).collect();
    lines.extend(grants.secrets.iter().map(|(name, source)| match source {
        SecretSource::Value(_) => format!("secret {name} (a value in the file)"),
        SecretSource::Env(var) => format!("secret {name} from ${var}"),
        SecretSource::File(path) => format!("secret {name} from {}", path.display()),
    }));
    lines.extend(grants.directories.iter().map(|d| {
        format!(
            "directory {} at {} ({})",
            d.host.display(),
            d.guest,
            d.access.as_str()
        )
    }));
    lines.extend(
        grants
            .mounts
            .iter()
            .map(|(name, m)| format!("mount {name}: {} ({})", m.host.display(), m.access.as_str())),
    );
    lines
        .into_iter()
        .map(|l| crate::render::clean(&l))
        .collect()
}

/// A fresh directory removed when the test ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let dir =
            std::env::temp_dir().join(format!("gyre-plugin-test-{}-{nanos}", std::process::id()));
        // create_dir, not create_dir_all: never adopt a directory (or a
        // symlink) someone else put there.
        std::fs::create_dir(&dir)
            .with_context(|| format!("creating the scratch state {}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
