use crate::{BudgetSpec, DirRequest, ManifestError, OriginPattern, PluginName, SecretName};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// Which world a plugin implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginKind {
    Verifier,
    Connector,
    Trigger,
}

impl PluginKind {
    pub const ALL: [PluginKind; 3] = [
        PluginKind::Verifier,
        PluginKind::Connector,
        PluginKind::Trigger,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Verifier => "verifier",
            PluginKind::Connector => "connector",
            PluginKind::Trigger => "trigger",
        }
    }

    /// The interface this kind exports, e.g. `gyre:plugin/verification`.
    pub fn export_interface(self) -> &'static str {
        match self {
            PluginKind::Verifier => "gyre:plugin/verification",
            PluginKind::Connector => "gyre:plugin/operations",
            PluginKind::Trigger => "gyre:plugin/events",
        }
    }
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for PluginKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        PluginKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("kind {s:?} is not one of verifier, connector, trigger"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginInfo {
    pub name: PluginName,
    pub version: semver::Version,
    pub kind: PluginKind,
    #[serde(default)]
    pub description: String,
}

/// What a plugin asks for. Nothing here is granted until the user says so.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub directories: Vec<DirRequest>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http: Vec<OriginPattern>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<SecretName>,
}

impl Capabilities {
    pub fn is_empty(&self) -> bool {
        self.directories.is_empty() && self.http.is_empty() && self.secrets.is_empty()
    }
}

/// A plugin's `gyre.toml`, embedded in its component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub plugin: PluginInfo,
    #[serde(default)]
    pub capabilities: Capabilities,
    #[serde(default)]
    pub budgets: BudgetSpec,
}

impl Manifest {
    /// Parses and validates a manifest. `origin` names the document in
    /// errors (a file path, or "component foo.wasm").
    pub fn parse(text: &str, origin: &str) -> Result<Self, ManifestError> {
        let manifest: Manifest =
            toml::from_str(text).map_err(|e| ManifestError::syntax(origin, text, e))?;
        let mut guests = BTreeSet::new();
        for dir in &manifest.capabilities.directories {
            if !guests.insert(dir.guest.as_str()) {
                return Err(ManifestError::invalid(
                    origin,
                    "capabilities.directories",
                    format!("guest path {} is requested twice", dir.guest),
                ));
            }
        }
        for (i, a) in manifest.capabilities.secrets.iter().enumerate() {
            if manifest.capabilities.secrets[..i].contains(a) {
                return Err(ManifestError::invalid(
                    origin,
                    "capabilities.secrets",
                    format!("{a} is listed twice"),
                ));
            }
        }
        let b = &manifest.budgets;
        if b.memory_mib == Some(0) || b.timeout_ms == Some(0) || b.fuel == Some(0) {
            return Err(ManifestError::invalid(
                origin,
                "budgets",
                "fuel, memory-mib and timeout-ms must be greater than 0",
            ));
        }
        Ok(manifest)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Access, DirSource};

    const FULL: &str = r#"
[plugin]
name = "http-json"
version = "0.1.0"
kind = "connector"
description = "JSON calls"

[capabilities]
http = ["https://api.github.com", "http://127.0.0.1:*"]
secrets = ["GITHUB_TOKEN"]

[[capabilities.directories]]
mount = "workspace"
guest = "/workspace"
access = "read-only"

[budgets]
fuel = 1000
timeout-ms = 5000
memory-mib = 64
"#;

    #[test]
    fn a_complete_manifest_parses_into_types() {
        let m = Manifest::parse(FULL, "gyre.toml").unwrap();
        assert_eq!(m.plugin.name.as_str(), "http-json");
        assert_eq!(m.plugin.kind, PluginKind::Connector);
        assert_eq!(m.capabilities.http.len(), 2);
        assert_eq!(m.capabilities.directories[0].access, Access::ReadOnly);
        assert!(
            matches!(&m.capabilities.directories[0].source, DirSource::Mount(n) if n.as_str() == "workspace")
        );
        assert_eq!(m.budgets.memory_mib, Some(64));
        let again = Manifest::parse(&m.to_toml(), "round trip").unwrap();
        assert_eq!(again, m);
    }

    #[test]
    fn errors_name_the_document_line_and_value() {
        let text = FULL.replace("\"http-json\"", "\"Http JSON\"");
        let err = Manifest::parse(&text, "plugins/x/gyre.toml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("plugins/x/gyre.toml: line 3"), "{err}");
        assert!(err.contains("not a valid plugin name"), "{err}");
    }

    #[test]
    fn unknown_fields_and_kinds_are_refused() {
        assert!(Manifest::parse(&FULL.replace("description", "descripton"), "m").is_err());
        assert!(Manifest::parse(&FULL.replace("\"connector\"", "\"agent\""), "m").is_err());
        assert!(
            Manifest::parse(&FULL.replace("https://api.github.com", "https://*"), "m").is_err()
        );
    }

    #[test]
    fn a_directory_needs_exactly_one_source_and_a_clean_guest_path() {
        let both = FULL.replace(
            "mount = \"workspace\"",
            "mount = \"workspace\"\nhost = \"/x\"",
        );
        assert!(Manifest::parse(&both, "m").is_err());
        let dotdot = FULL.replace("guest = \"/workspace\"", "guest = \"/workspace/../etc\"");
        assert!(Manifest::parse(&dotdot, "m").is_err());
    }
}
