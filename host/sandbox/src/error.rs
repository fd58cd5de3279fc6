use std::path::PathBuf;

/// Errors loading plugins or preparing grants. Failures *inside* a call are
/// not errors: they are [`crate::Failure`] outcomes.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot read plugin {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{plugin}: not a WebAssembly component ({reason}); build it for wasm32-wasip2 or with `wasm-tools component new`"
    )]
    NotAComponent { plugin: String, reason: String },
    #[error(
        "{plugin}: has no embedded gyre.toml manifest (custom section `gyre-manifest`); export it with the gyre SDK's export macro"
    )]
    NoManifest { plugin: String },
    #[error("{plugin}: {reason}")]
    BadManifest { plugin: String, reason: String },
    #[error("{plugin}: {reason}")]
    Incompatible { plugin: String, reason: String },
    #[error("{plugin}: failed to compile: {reason}")]
    Compile { plugin: String, reason: String },
    #[error("{plugin}: grant for {what} is unusable: {reason}")]
    Grant {
        plugin: String,
        what: String,
        reason: String,
    },
    #[error("engine setup failed: {0}")]
    Engine(String),
    #[error("compile cache at {path}: {reason}")]
    Cache { path: PathBuf, reason: String },
}
