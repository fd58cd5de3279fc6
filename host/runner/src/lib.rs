//! Runs loop recipes.
//!
//! A run works in its own git worktree ([`worktree`]), drives the maker
//! and the checks the user bound ([`process`]) and the recipe's plugins
//! with per-step grants ([`stages`]), and writes every transition to the
//! run database ([`store`]) before acting on it ([`run`]). The [`daemon`]
//! fires loops from schedules, polls and webhooks.

pub mod daemon;
pub mod process;
pub mod record;
pub mod run;
pub mod spec;
pub mod stages;
pub mod store;
pub mod worktree;

pub use record::{Journal, Phase, RunRecord, StopReason};
pub use run::{Context, Observer};
pub use spec::LoopSpec;
pub use store::Store;

use serde::{Deserialize, Serialize};
use std::fmt;

/// A run's id: time-ordered, unique, short enough to type a prefix of.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(String);

impl RunId {
    pub fn new() -> Self {
        let mut noise = [0u8; 3];
        let _ = std::fs::File::open("/dev/urandom")
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut noise));
        Self(format!("{:011x}{}", now_ms(), hex::encode(noise)))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub(crate) fn from_stored(s: String) -> Self {
        Self(s)
    }
}

impl Default for RunId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The recipe or the config is wrong.
    #[error("{0}")]
    Config(String),
    /// Refused before anything ran (unbound role, missing plugin, live run).
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Git(#[from] worktree::GitError),
    #[error("{0}")]
    Io(String),
    /// A step failed in a way that ends the run.
    #[error("{0}")]
    Step(String),
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
