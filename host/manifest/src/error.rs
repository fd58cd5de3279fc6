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
        let mut message = err.message().to_string();
        if let Some(span) = err.span() {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            message = format!("line {line}, column {column}: {message}");
        }
        Self::Syntax {
            origin: origin.to_string(),
            message,
        }
    }
}
