//! What the host provides to every plugin: logging, a private key-value
//! store and granted secrets.

mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "gyre:plugin/imports",
    });
}

pub use bindings::gyre::plugin::types;

/// Structured logging into the host's bounded, per-invocation log buffer.
pub mod log {
    pub use super::bindings::gyre::plugin::log::{Field, Level, emit};

    fn line(level: Level, message: &str, fields: &[(&str, &str)]) {
        let fields: Vec<Field> = fields
            .iter()
            .map(|(k, v)| Field {
                key: (*k).to_string(),
                value: (*v).to_string(),
            })
            .collect();
        emit(level, message, &fields);
    }
    pub fn debug(message: &str) {
        line(Level::Debug, message, &[]);
    }
    pub fn info(message: &str) {
        line(Level::Info, message, &[]);
    }
    pub fn warn(message: &str) {
        line(Level::Warn, message, &[]);
    }
    pub fn error(message: &str) {
        line(Level::Error, message, &[]);
    }
    /// A line with structured fields, e.g. `with(Level::Info, "sent", &[("status", "200")])`.
    pub fn with(level: Level, message: &str, fields: &[(&str, &str)]) {
        line(level, message, fields);
    }
}

/// The plugin's private, persistent key-value store.
pub mod kv {
    pub use super::bindings::gyre::plugin::kv::{KvError, delete, get, keys, set};

    /// The value under `key` as UTF-8 text.
    pub fn get_string(key: &str) -> Result<Option<String>, KvError> {
        Ok(get(key)?.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
    }
}

/// Secrets the user granted to this plugin by name.
pub mod secrets {
    pub use super::bindings::gyre::plugin::secrets::{SecretError, get};

    /// The secret `name`, or a [`PluginError::Denied`](crate::PluginError)
    /// naming it, ready to return from a plugin call.
    pub fn require(name: &str) -> Result<String, crate::PluginError> {
        get(name).map_err(|e| match e {
            SecretError::NotGranted(m) | SecretError::Unavailable(m) => {
                crate::PluginError::denied(format!("secret {name}: {m}"))
            }
        })
    }
}
