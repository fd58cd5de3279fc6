//! The loop commands: `run`, `daemon`, `runs`, `show`, `stop`, `inbox`,
//! `resume`.

pub mod daemon;
pub mod history;
pub mod run;

use crate::args::Dirs;
use anyhow::{Context as _, Result};
use clap::Args;
use gyre_recipe::Project;
use gyre_runner::{Context, Journal, RunRecord};
use gyre_sandbox::{Runtime, RuntimeConfig, SystemResolver};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Args, Debug, Clone, Default)]
pub struct ProjectArgs {
    /// The project directory holding gyre.toml [default: the nearest one
    /// above the current directory].
    #[arg(long, global = true)]
    pub project: Option<PathBuf>,
}

impl ProjectArgs {
    pub fn load(&self) -> Result<Project> {
        let start = match &self.project {
            Some(p) => p.clone(),
            None => std::env::current_dir().context("cannot read the current directory")?,
        };
        Ok(Project::discover(&start)?)
    }
}

/// A runtime context for runs; `observer` sees each journal entry.
pub fn context(project: Project, dirs: &Dirs, observer: gyre_runner::Observer) -> Result<Context> {
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: dirs.cache.clone(),
        state_dir: Some(dirs.state.clone()),
        // No grant may reach the user's keys, trust policy or consent.
        protected: vec![crate::args::default_config_dir()],
        ..RuntimeConfig::default()
    })?;
    Ok(Context {
        runtime,
        resolver: Arc::new(SystemResolver),
        project: Arc::new(project),
        observer,
        data_dir: Some(dirs.state.clone()),
    })
}

pub fn tokio() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// `HH:MM:SS` (UTC) of a time in ms since the epoch.
pub fn clock(ms: u64) -> String {
    let s = (ms / 1000) % 86_400;
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// `YYYY-MM-DD HH:MM:SS UTC` of a time in ms since the epoch.
pub fn date_time(ms: u64) -> String {
    gyre_registry::Timestamp(ms / 1000).to_string()
}

/// A progress line for one journal entry.
pub fn journal_line(run: &RunRecord, j: &Journal) -> String {
    format!(
        "{} {} {:<10} {}",
        clock(j.at_ms),
        short(run.id.as_str()),
        j.kind,
        crate::render::clean(&j.message)
    )
}

/// Run ids are long; this many characters identify one in practice.
pub fn short(id: &str) -> &str {
    &id[..id.len().min(15)]
}
