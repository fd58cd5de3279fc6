//! JSON helpers: typed configuration and inputs with errors that name the
//! offending field.

use crate::PluginError;
use serde::de::DeserializeOwned;

pub use serde_json::{Value, json};

/// Parses the user's configuration. An empty document counts as `{}`, so
/// that a config type with defaults needs no configuration at all. It must
/// be an object: serde would otherwise read a struct from an array (`[80]`)
/// by position, which no other language's SDK does.
pub fn config<T: DeserializeOwned>(text: &str) -> Result<T, PluginError> {
    let value: Value = parse(text).map_err(PluginError::InvalidConfig)?;
    if !value.is_object() {
        return Err(PluginError::InvalidConfig(
            "the configuration must be a JSON object".into(),
        ));
    }
    serde_json::from_value(value).map_err(|e| PluginError::InvalidConfig(e.to_string()))
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
    serde_json::to_string(value)
        .map_err(|e| PluginError::Internal(format!("cannot encode result: {e}")))
}

fn parse<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    let text = if text.trim().is_empty() { "{}" } else { text };
    serde_json::from_str(text).map_err(|e| e.to_string())
}

/// Typed access to the fields of a JSON object (a configuration or an
/// input), with errors that name the field and say what was expected.
///
/// Use it with `type Config = Value;` when serde's messages are not precise
/// enough (they do not name the field on a type mismatch):
///
/// ```
/// use gyre_sdk::json::{Fields, json};
/// let config = json!({"min-tests": -1});
/// let fields = Fields::config(&config).unwrap();
/// let err = fields.u64("min-tests").unwrap_err();
/// assert!(format!("{err:?}").contains("min-tests"));
/// ```
pub struct Fields<'a> {
    map: Option<&'a serde_json::Map<String, Value>>,
    what: &'static str,
    error: fn(String) -> PluginError,
}

impl<'a> Fields<'a> {
    /// The fields of a configuration; `null` counts as `{}`. Errors are
    /// `invalid-config`.
    pub fn config(value: &'a Value) -> Result<Self, PluginError> {
        Self::new(value, "config", PluginError::InvalidConfig)
    }

    /// The fields of an input object; errors are `invalid-input`.
    pub fn input(value: &'a Value) -> Result<Self, PluginError> {
        Self::new(value, "input", PluginError::InvalidInput)
    }

    fn new(
        value: &'a Value,
        what: &'static str,
        error: fn(String) -> PluginError,
    ) -> Result<Self, PluginError> {
        match value {
            Value::Object(map) => Ok(Self {
                map: Some(map),
                what,
                error,
            }),
            Value::Null => Ok(Self {
                map: None,
                what,
                error,
            }),
            other => Err(error(format!(
                "{what}: expected a JSON object, got {}",
                kind(other)
            ))),
        }
    }

    /// An error about field `key`, of this object's kind.
    pub fn error(&self, key: &str, message: impl std::fmt::Display) -> PluginError {
        (self.error)(format!("{} field {key:?}: {message}", self.what))
    }

    /// The raw value of `key`; `null` counts as absent.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map?.get(key).filter(|v| !v.is_null())
    }

    /// Refuses fields not in `known`, so that typos are not silently ignored.
    pub fn deny_unknown(&self, known: &[&str]) -> Result<(), PluginError> {
        for key in self.map.into_iter().flat_map(|m| m.keys()) {
            if !known.contains(&key.as_str()) {
                return Err((self.error)(format!(
                    "{} has unknown field {key:?}; expected one of: {}",
                    self.what,
                    known.join(", ")
                )));
            }
        }
        Ok(())
    }

    fn typed<T>(
        &self,
        key: &str,
        expected: &str,
        f: impl FnOnce(&'a Value) -> Option<T>,
    ) -> Result<Option<T>, PluginError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => f(v).map(Some).ok_or_else(|| {
                self.error(key, format!("expected {expected}, got {}", describe(v)))
            }),
        }
    }

    pub fn str(&self, key: &str) -> Result<Option<&'a str>, PluginError> {
        self.typed(key, "a string", Value::as_str)
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, PluginError> {
        self.typed(key, "true or false", Value::as_bool)
    }

    pub fn u64(&self, key: &str) -> Result<Option<u64>, PluginError> {
        self.typed(key, "a non-negative integer", Value::as_u64)
    }

    pub fn f64(&self, key: &str) -> Result<Option<f64>, PluginError> {
        self.typed(key, "a number", Value::as_f64)
    }

    pub fn object(
        &self,
        key: &str,
    ) -> Result<Option<&'a serde_json::Map<String, Value>>, PluginError> {
        self.typed(key, "an object", Value::as_object)
    }

    pub fn array(&self, key: &str) -> Result<Option<&'a Vec<Value>>, PluginError> {
        self.typed(key, "an array", Value::as_array)
    }

    /// A list of strings.
    pub fn strings(&self, key: &str) -> Result<Option<Vec<String>>, PluginError> {
        self.typed(key, "a list of strings", |v| {
            v.as_array()?
                .iter()
                .map(|s| s.as_str().map(str::to_string))
                .collect()
        })
    }

    /// `value`, or an error saying that `key` is required.
    pub fn required<T>(&self, key: &str, value: Option<T>) -> Result<T, PluginError> {
        value.ok_or_else(|| self.error(key, "is required"))
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A short rendering of a value for error messages: scalars are shown,
/// containers only named, so that errors stay short.
fn describe(v: &Value) -> String {
    match v {
        Value::Bool(_) | Value::Number(_) => v.to_string(),
        Value::String(s) if s.chars().count() <= 40 => format!("{s:?}"),
        other => kind(other).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configuration_must_be_an_object_even_where_serde_reads_arrays() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Config {
            min: f64,
        }
        assert!(matches!(
            config::<Config>("[80]"),
            Err(PluginError::InvalidConfig(_))
        ));
        assert!(matches!(
            config::<Config>(r#"{"min": 80}"#),
            Ok(Config { min: 80.0 })
        ));
    }

    #[test]
    fn fields_name_the_field_and_the_expected_type() {
        let v = json!({"n": "x", "list": ["a", 1], "ok": true});
        let f = Fields::config(&v).unwrap();
        let msg = |e: PluginError| match e {
            PluginError::InvalidConfig(m) => m,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            msg(f.u64("n").unwrap_err()),
            "config field \"n\": expected a non-negative integer, got \"x\""
        );
        assert!(msg(f.strings("list").unwrap_err()).contains("a list of strings"));
        assert_eq!(f.bool("ok").unwrap(), Some(true));
        assert_eq!(f.str("absent").unwrap(), None);
        assert!(msg(f.deny_unknown(&["n", "list"]).unwrap_err()).contains("\"ok\""));
    }

    #[test]
    fn null_config_is_empty_and_non_objects_are_refused() {
        assert!(
            Fields::config(&Value::Null)
                .unwrap()
                .deny_unknown(&[])
                .is_ok()
        );
        assert!(matches!(
            Fields::input(&json!([1])),
            Err(PluginError::InvalidInput(_))
        ));
    }
}
