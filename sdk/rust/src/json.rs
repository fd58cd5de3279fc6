//! JSON helpers: typed configuration and inputs with errors that name the
//! offending field.

use crate::PluginError;
use serde::de::DeserializeOwned;

pub use serde_json::{Value, json};

/// Parses the user's configuration. An empty document counts as `{}`, so
/// that a config type with defaults needs no configuration at all.
pub fn config<T: DeserializeOwned>(text: &str) -> Result<T, PluginError> {
    parse(text).map_err(PluginError::InvalidConfig)
}

/// Parses an input document (connector input, event payload).
pub fn input<T: DeserializeOwned>(text: &str) -> Result<T, PluginError> {
    parse(text).map_err(PluginError::InvalidInput)
}

/// Converts an already parsed value into `T`.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, PluginError> {
    serde_json::from_value(value).map_err(|e| PluginError::InvalidInput(e.to_string()))
}

/// Serializes a result value.
pub fn to_string<T: serde::Serialize>(value: &T) -> Result<String, PluginError> {
    serde_json::to_string(value).map_err(|e| PluginError::Internal(format!("cannot encode result: {e}")))
}

fn parse<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    let text = if text.trim().is_empty() { "{}" } else { text };
    serde_json::from_str(text).map_err(|e| e.to_string())
}
