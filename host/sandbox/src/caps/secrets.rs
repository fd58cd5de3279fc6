//! The `gyre:plugin/secrets` interface. Only granted names resolve, and
//! every granted value is redacted from whatever the host shows.

use gyre_manifest::{SecretName, SecretSource};
use std::collections::BTreeMap;

#[derive(Default)]
pub struct SecretValues {
    values: BTreeMap<SecretName, String>,
}

impl std::fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only: values never reach a debug print.
        f.debug_list().entries(self.values.keys()).finish()
    }
}

/// Values this short would redact ordinary words; they are still served to
/// the plugin but cannot be redacted reliably.
const MIN_REDACTED_LEN: usize = 4;

impl SecretValues {
    /// Reads every granted secret now, so that a missing one is reported
    /// before the plugin runs, naming the secret but never its value.
    pub fn resolve(
        granted: &BTreeMap<SecretName, SecretSource>,
    ) -> Result<Self, (SecretName, String)> {
        let mut values = BTreeMap::new();
        for (name, source) in granted {
            let value = match source {
                SecretSource::Env(var) => std::env::var(var).map_err(|_| {
                    (
                        name.clone(),
                        format!("environment variable {var} is not set"),
                    )
                })?,
                SecretSource::File(path) => std::fs::read_to_string(path)
                    .map(|v| v.trim_end_matches(['\n', '\r']).to_string())
                    .map_err(|e| (name.clone(), format!("cannot read {}: {e}", path.display())))?,
                SecretSource::Value(v) => v.clone(),
            };
            values.insert(name.clone(), value);
        }
        Ok(Self { values })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(k, _)| k.as_str() == name)
            .map(|(_, v)| v.as_str())
    }

    /// `text` with every granted value replaced by `[redacted:NAME]`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (name, value) in &self.values {
            if value.len() >= MIN_REDACTED_LEN && out.contains(value.as_str()) {
                out = out.replace(value.as_str(), &format!("[redacted:{name}]"));
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The longest granted value: output keeps this much beyond its cap so
    /// that a value straddling the cut is still redacted whole.
    pub fn longest(&self) -> usize {
        self.values.values().map(String::len).max().unwrap_or(0)
    }

    /// A JSON document with every string (keys included) redacted after
    /// decoding, so escapes such as `\u0073` cannot smuggle a value past the
    /// redaction. Text that is not JSON is redacted as text.
    pub fn redact_json(&self, text: &str) -> String {
        if self.is_empty() {
            return text.to_string();
        }
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(mut value) => {
                self.redact_value(&mut value);
                serde_json::to_string(&value).unwrap_or_else(|_| self.redact(text))
            }
            Err(_) => self.redact(text),
        }
    }

    fn redact_value(&self, value: &mut serde_json::Value) {
        use serde_json::Value;
        match value {
            Value::String(s) => *s = self.redact(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_value(v)),
            Value::Object(map) => {
                let entries = std::mem::take(map);
                for (k, mut v) in entries {
                    self.redact_value(&mut v);
                    map.insert(self.redact(&k), v);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_redacted_by_name_and_never_debug_printed() {
        let mut granted = BTreeMap::new();
        granted.insert(
            "TOKEN".parse().unwrap(),
            SecretSource::Value("s3cr3t-value".into()),
        );
        let s = SecretValues::resolve(&granted).unwrap();
        assert_eq!(s.redact("auth s3cr3t-value!"), "auth [redacted:TOKEN]!");
        assert!(!format!("{s:?}").contains("s3cr3t"));
    }

    #[test]
    fn json_escapes_cannot_hide_a_value() {
        let mut granted = BTreeMap::new();
        granted.insert(
            "TOKEN".parse().unwrap(),
            SecretSource::Value("s3cr3t-value".into()),
        );
        let s = SecretValues::resolve(&granted).unwrap();
        let sneaky = r#"{"\u0073" : "\u0073\u0033cr3t-value", "s3cr3t-value": [1]}"#;
        let out = s.redact_json(sneaky);
        assert!(
            !out.contains("s3cr3t") && out.matches("[redacted:TOKEN]").count() == 2,
            "{out}"
        );
    }

    #[test]
    fn a_missing_environment_variable_names_the_secret() {
        let mut granted = BTreeMap::new();
        granted.insert(
            "TOKEN".parse().unwrap(),
            SecretSource::Env("GYRE_TEST_SURELY_UNSET_VAR".into()),
        );
        let (name, why) = SecretValues::resolve(&granted).unwrap_err();
        assert_eq!(name.as_str(), "TOKEN");
        assert!(why.contains("GYRE_TEST_SURELY_UNSET_VAR"));
    }
}
