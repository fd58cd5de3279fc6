use std::path::PathBuf;

/// Why a registry operation was refused. Every message names the package,
/// registry or file concerned and, where the user can act, says how.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Input that does not parse: a name, a version, a key, a document.
    #[error("{0}")]
    Invalid(String),
    /// A signature, digest, index or trust check failed: the content may
    /// have been tampered with. Never retried, never overridden silently.
    #[error("{0}")]
    Refused(String),
    /// The user has not (yet) approved what the package requests.
    #[error("{0}")]
    NeedsConsent(String),
    #[error("{what} not found: {detail}")]
    NotFound { what: String, detail: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The registry server failed or could not be reached.
    #[error("registry {registry}: {message}")]
    Transport { registry: String, message: String },
}

impl RegistryError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn refused(message: impl Into<String>) -> Self {
        Self::Refused(message.into())
    }
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }
    /// True when the error means the content or metadata failed a
    /// security check (as opposed to being absent or unreachable).
    pub fn is_refusal(&self) -> bool {
        matches!(self, Self::Refused(_))
    }
}

pub type Result<T, E = RegistryError> = std::result::Result<T, E>;
