//! `gyre plugin test WASM`: the conformance battery and the author's cases
//! from gyre-test.toml beside the component.

use crate::args::Dirs;
use crate::exit::Exit;
use anyhow::{Context, Result};
use clap::Args;
use gyre_conformance::fixtures::{self, Fixtures};
use gyre_sandbox::{Runtime, RuntimeConfig};
use std::path::PathBuf;

#[derive(Args)]
pub struct TestArgs {
    /// The plugin component (.wasm).
    pub wasm: PathBuf,
    /// The author's cases [default: gyre-test.toml beside the component, if any].
    #[arg(long, value_name = "FILE")]
    pub cases: Option<PathBuf>,
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
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: dirs.cache.clone(),
        // The plugin's store is a scratch one: tests must not touch real state.
        state_dir: None,
        ..RuntimeConfig::default()
    })?;
    let (plugin, _) = runtime
        .load(&args.wasm)
        .with_context(|| format!("loading {}", args.wasm.display()))?;
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = tokio.block_on(gyre_conformance::run(&plugin, &fixtures))?;
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
