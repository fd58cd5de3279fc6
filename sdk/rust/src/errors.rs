pub use crate::host::types::{PluginError, UpstreamFailure};

impl PluginError {
    pub fn invalid_config(message: impl Into<String>) -> Self {
        Self::InvalidConfig(message.into())
    }
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::InvalidInput(message.into())
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }
    pub fn denied(message: impl Into<String>) -> Self {
        Self::Denied(message.into())
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::Unauthorized(message.into())
    }
    pub fn upstream(status: u16, message: impl Into<String>) -> Self {
        Self::Upstream(UpstreamFailure {
            status,
            message: message.into(),
        })
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::Internal(message.into())
    }
}
