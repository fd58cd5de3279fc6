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
    pub fn resolve(granted: &BTreeMap<SecretName, SecretSource>) -> Result<Self, (SecretName, String)> {
        let mut values = BTreeMap::new();
        for (name, source) in granted {
            let value = match source {
                SecretSource::Env(var) => std::env::var(var)
                    .map_err(|_| (name.clone(), format!("environment variable {var} is not set")))?,
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
        self.values.iter().find(|(k, _)| k.as_str() == name).map(|(_, v)| v.as_str())
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_redacted_by_name_and_never_debug_printed() {
        let mut granted = BTreeMap::new();
        granted.insert("TOKEN".parse().unwrap(), SecretSource::Value("s3cr3t-value".into()));
        let s = SecretValues::resolve(&granted).unwrap();
        assert_eq!(s.redact("auth s3cr3t-value!"), "auth [redacted:TOKEN]!");
        assert!(!format!("{s:?}").contains("s3cr3t"));
    }

    #[test]
    fn a_missing_environment_variable_names_the_secret() {
        let mut granted = BTreeMap::new();
        granted.insert("TOKEN".parse().unwrap(), SecretSource::Env("GYRE_TEST_SURELY_UNSET_VAR".into()));
        let (name, why) = SecretValues::resolve(&granted).unwrap_err();
        assert_eq!(name.as_str(), "TOKEN");
        assert!(why.contains("GYRE_TEST_SURELY_UNSET_VAR"));
    }
}
