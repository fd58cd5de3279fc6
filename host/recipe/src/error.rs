use std::path::PathBuf;

/// Why a recipe or project config was refused. Messages name the document,
/// the line or field, and what to do.
#[derive(Debug, thiserror::Error)]
pub enum RecipeError {
    #[error("{origin}: {message}")]
    Syntax { origin: String, message: String },
    #[error("{origin}: `{field}`: {message}")]
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

impl RecipeError {
    pub fn invalid(origin: &str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            origin: origin.to_string(),
            field: field.into(),
            message: message.into(),
        }
    }

    pub(crate) fn syntax(origin: &str, text: &str, err: &toml::de::Error) -> Self {
        Self::Syntax {
            origin: origin.to_string(),
            message: gyre_manifest::toml_error_message(text, err),
        }
    }
}

/// Reads a TOML document of type `T`, naming `path` in every error.
pub(crate) fn read_toml<T: serde::de::DeserializeOwned>(
    path: &std::path::Path,
) -> Result<(T, String), RecipeError> {
    let text = std::fs::read_to_string(path).map_err(|source| RecipeError::Read {
        path: path.into(),
        source,
    })?;
    let origin = path.display().to_string();
    let value = toml::from_str(&text).map_err(|e| RecipeError::syntax(&origin, &text, &e))?;
    Ok((value, text))
}
