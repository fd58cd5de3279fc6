//! The registry commands: publish, install, upgrade, remove, list, search,
//! verify and key. The checks all live in `gyre-registry`; this module
//! reads the user's files, asks for consent and shows results.

pub mod install;
pub mod key;
pub mod manage;
mod progress;
pub mod publish;

use crate::exit::Exit;
use anyhow::{Context, Result};
use clap::Args;
use gyre_registry::config::{Registries, RegistrySpec};
use gyre_registry::seen::SeenStore;
use gyre_registry::{AnyBackend, RegistryError, TrustPolicy};
use std::path::PathBuf;

/// The flag that accepts unsigned packages and unknown signers. Its name is
/// meant to be read aloud in code review.
pub const DANGER_FLAG: &str = "--dangerously-allow-untrusted";

/// Where the user's config lives.
#[derive(Args, Debug, Clone, Default)]
pub struct ConfigArgs {
    /// The user's Gyre config: trust.toml, registries.toml, keys/, consent/
    /// [default: $XDG_CONFIG_HOME/gyre].
    #[arg(long, env = "GYRE_CONFIG_DIR", global = true)]
    pub config_dir: Option<PathBuf>,
}

/// Paths of the user's registry files. Plugins never get any of them.
pub struct Home {
    pub config: PathBuf,
    pub data: PathBuf,
}

impl Home {
    pub fn new(config: &ConfigArgs, dirs: &crate::args::Dirs) -> Self {
        let config = config
            .config_dir
            .clone()
            .unwrap_or_else(crate::args::default_config_dir);
        Self {
            config,
            data: dirs.state.clone(),
        }
    }
    pub fn trust_path(&self) -> PathBuf {
        self.config.join("trust.toml")
    }
    pub fn trust(&self) -> Result<TrustPolicy> {
        Ok(TrustPolicy::load(&self.trust_path())?)
    }
    pub fn keys_dir(&self) -> PathBuf {
        self.config.join("keys")
    }
    pub fn registries(&self) -> Result<Registries> {
        Ok(Registries::load(&self.config.join("registries.toml"))?)
    }
    pub fn embedded_registry(&self) -> PathBuf {
        self.data.join("registry")
    }
    pub fn seen(&self) -> Result<SeenStore> {
        Ok(SeenStore::open(&self.data.join("registry-seen.toml"))?)
    }
    pub fn installed(&self) -> gyre_registry::Installed {
        gyre_registry::Installed::open(&self.data)
    }
    pub fn consent(&self) -> gyre_registry::consent::ConsentStore {
        gyre_registry::consent::ConsentStore::new(&self.config)
    }
    /// The registry named on the command line, or the default.
    pub fn registry(&self, choice: Option<&str>) -> Result<(String, AnyBackend)> {
        let (name, spec) = self.registries()?.pick(choice, &self.embedded_registry())?;
        Ok((name, spec.open()))
    }
    pub fn all_registries(&self) -> Result<Vec<(String, RegistrySpec)>> {
        Ok(self.registries()?.all(&self.embedded_registry()))
    }
}

/// One runtime for the async registry clients.
pub fn block_on<F: std::future::Future>(f: F) -> Result<F::Output> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(f))
}

/// Prints an error and maps it to the documented exit codes: a refused
/// security check 1, missing consent 4, anything else 2.
pub fn finish(result: Result<Exit>) -> Result<Exit> {
    match result {
        Ok(exit) => Ok(exit),
        Err(e) => {
            let code = match e.downcast_ref::<RegistryError>() {
                Some(RegistryError::Refused(_)) => Exit::Failed,
                Some(RegistryError::NeedsConsent(_)) => Exit::Denied,
                Some(RegistryError::NotFound { .. } | RegistryError::Transport { .. }) => {
                    Exit::Failed
                }
                _ => Exit::Usage,
            };
            eprintln!("error: {e:#}");
            Ok(code)
        }
    }
}

/// Writes `value` as pretty JSON on stdout.
pub fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}
