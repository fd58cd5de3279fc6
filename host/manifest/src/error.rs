use std::path::PathBuf;

/// Why a manifest or grants document was refused. Messages name the
/// document, the field and what is expected.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{origin}: {message}")]
    Syntax { origin: String, message: String },
    #[error("{origin}: field `{field}`: {message}")]
    Invalid {
        origin: String,
        field: String,
        message: String,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl ManifestError {
    pub(crate) fn invalid(
        origin: &str,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::Invalid {
            origin: origin.to_string(),
            field: field.into(),
            message: message.into(),
        }
    }

    /// A TOML error, with the line and column it points at.
    pub(crate) fn syntax(origin: &str, text: &str, err: toml::de::Error) -> Self {
        Self::Syntax {
            origin: origin.to_string(),
            message: toml_error_message(text, &err),
        }
    }
}

/// A TOML error's message, prefixed with the line and column it points at.
pub fn toml_error_message(text: &str, err: &toml::de::Error) -> String {
    let message = err.message().to_string();
    match err.span() {
        Some(span) => {
            let before = text.get(..span.start.min(text.len())).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}
