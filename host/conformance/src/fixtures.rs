//! Author fixtures: `gyre-test.toml` beside a plugin lists cases (an input
//! and the outcome it must have) that `gyre plugin test` runs after the
//! standard battery.
//!
//! ```toml
//! # Grants for every case (the syntax of a grants file); none by default.
//! # A file beside a plugin travels with it: its grants are shown and
//! # applied only with `--grant-cases`, and may hold only loopback IP
//! # origins, secrets given by value and read-only directories beside it;
//! # never budgets. `--grants FILE` replaces them with the user's own.
//! [grants]
//! http = ["http://127.0.0.1:*"]
//!
//! [[case]]
//! name = "passes at the minimum"
//! config = { min = 80 }
//! evidence = [{ name = "report", json = { coverage = 80 } }]
//! expect = { passed = true, score = 80.0 }
//!
//! [[case]]
//! name = "an origin that is not granted"
//! operation = "get"
//! config = { base-url = "http://127.0.0.1:9" }
//! input = { path = "/" }
//! expect = { error = "denied", denied = true }
//! ```

use gyre_manifest::{Access, Grants, HostPattern, PluginKind, SecretSource};
use serde::Deserialize;
use std::path::{Component, Path, PathBuf};

/// The file name `gyre plugin test` looks for beside a plugin.
pub const FILE_NAME: &str = "gyre-test.toml";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixtures {
    /// Grants for every case, as in a grants file.
    #[serde(default)]
    pub grants: Option<toml::Table>,
    #[serde(default, rename = "case")]
    pub cases: Vec<Case>,
    /// Where the cases were read from (empty when there is no file).
    #[serde(skip)]
    pub path: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Case {
    pub name: String,
    /// The plugin's configuration, as a TOML table (sent as JSON).
    #[serde(default)]
    pub config: Option<toml::Value>,
    /// Verifiers: the evidence.
    #[serde(default)]
    pub evidence: Vec<EvidenceCase>,
    /// Connectors: the operation and its input (sent as JSON).
    #[serde(default)]
    pub operation: Option<String>,
    #[serde(default)]
    pub input: Option<toml::Value>,
    pub expect: Expect,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EvidenceCase {
    pub name: String,
    #[serde(default)]
    pub content_type: Option<String>,
    /// The data as text...
    #[serde(default)]
    pub text: Option<String>,
    /// ...or as a JSON value written in TOML.
    #[serde(default)]
    pub json: Option<toml::Value>,
}

/// What a case must produce. Unset fields are not checked; a case must set
/// at least one.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Expect {
    /// Verifiers: whether the verdict passes.
    pub passed: Option<bool>,
    /// Verifiers: the verdict's score.
    pub score: Option<f64>,
    /// The plugin error's kind, e.g. `invalid-input`, `denied`.
    pub error: Option<String>,
    /// Connectors: the JSON result (compared as JSON, not as text).
    pub output: Option<toml::Value>,
    /// Whether the host must have refused a capability during the call.
    pub denied: Option<bool>,
}

#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

impl Fixtures {
    pub fn parse(text: &str, path: &Path) -> Result<Self, FixtureError> {
        let mut fixtures: Fixtures = toml::from_str(text).map_err(|e| FixtureError::Invalid {
            path: path.into(),
            message: e.to_string(),
        })?;
        fixtures.path = path.into();
        for case in &fixtures.cases {
            let e = &case.expect;
            if e.passed.is_none()
                && e.score.is_none()
                && e.error.is_none()
                && e.output.is_none()
                && e.denied.is_none()
            {
                return Err(FixtureError::Invalid {
                    path: path.into(),
                    message: format!(
                        "case {:?} expects nothing; set expect.passed, score, error, output or denied",
                        case.name
                    ),
                });
            }
            if let Some(ev) = case
                .evidence
                .iter()
                .find(|ev| ev.text.is_some() == ev.json.is_some())
            {
                return Err(FixtureError::Invalid {
                    path: path.into(),
                    message: format!(
                        "case {:?}, evidence {:?}: give exactly one of text or json",
                        case.name, ev.name
                    ),
                });
            }
        }
        Ok(fixtures)
    }

    pub fn load(path: &Path) -> Result<Self, FixtureError> {
        let text = std::fs::read_to_string(path).map_err(|source| FixtureError::Read {
            path: path.into(),
            source,
        })?;
        Self::parse(&text, path)
    }

    fn invalid(&self, message: String) -> FixtureError {
        FixtureError::Invalid {
            path: self.path.clone(),
            message,
        }
    }

    /// Refuses expectations the plugin's kind cannot meet, which would
    /// otherwise pass unchecked: a verdict from a connector, an output from
    /// a verifier, a connector case without an operation.
    pub fn check_kind(&self, kind: PluginKind) -> Result<(), FixtureError> {
        for case in &self.cases {
            let e = &case.expect;
            let mut wrong: Vec<&str> = Vec::new();
            match kind {
                PluginKind::Verifier => {
                    wrong.extend(case.operation.as_ref().map(|_| "operation"));
                    wrong.extend(case.input.as_ref().map(|_| "input"));
                    wrong.extend(e.output.as_ref().map(|_| "expect.output"));
                }
                PluginKind::Connector => {
                    if case.operation.is_none() {
                        return Err(self.invalid(format!(
                            "case {:?}: a connector case needs `operation`",
                            case.name
                        )));
                    }
                    wrong.extend((!case.evidence.is_empty()).then_some("evidence"));
                    wrong.extend(e.passed.map(|_| "expect.passed"));
                    wrong.extend(e.score.map(|_| "expect.score"));
                }
                PluginKind::Trigger => {
                    wrong.extend(case.operation.as_ref().map(|_| "operation"));
                    wrong.extend(case.input.as_ref().map(|_| "input"));
                    wrong.extend((!case.evidence.is_empty()).then_some("evidence"));
                    wrong.extend(e.passed.map(|_| "expect.passed"));
                    wrong.extend(e.score.map(|_| "expect.score"));
                    wrong.extend(e.output.as_ref().map(|_| "expect.output"));
                }
            }
            if let Some(field) = wrong.first() {
                return Err(self.invalid(format!(
                    "case {:?}: `{field}` does not apply to a {kind}; remove it",
                    case.name
                )));
            }
            if let Some(kind_name) = &e.error
                && !ERROR_KINDS.contains(&kind_name.as_str())
            {
                return Err(self.invalid(format!(
                    "case {:?}: expect.error {kind_name:?} is not an error kind; use one of {}",
                    case.name,
                    ERROR_KINDS.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// The grants of the `[grants]` table, refused unless every one stays
    /// off the user's machine (see the module docs). Relative directories
    /// are taken from the file's own directory.
    pub fn grants(&self) -> Result<Grants, FixtureError> {
        let Some(table) = &self.grants else {
            return Ok(Grants::default());
        };
        let mut grants = Grants::parse(&table.to_string(), "[grants]")
            .map_err(|e| self.invalid(e.to_string()))?;
        let hint = "a test file beside a plugin may grant only loopback IP origins, secrets by value and read-only directories beside it; pass --grants FILE to grant more yourself";
        if grants.budgets != Default::default() {
            return Err(self.invalid(format!(
                "[grants] budgets: a test file may not change budgets (the battery holds the plugin to its manifest's); {hint}"
            )));
        }
        for origin in &grants.http {
            // An IP literal: a name (even `localhost`) is only as loopback
            // as the resolver says.
            let loopback = matches!(&origin.host, HostPattern::Ip(ip) if ip.is_loopback());
            if !loopback {
                return Err(self.invalid(format!(
                    "[grants] http: {origin} is not a loopback origin; {hint}"
                )));
            }
        }
        for (name, source) in &grants.secrets {
            if !matches!(source, SecretSource::Value(_)) {
                return Err(self.invalid(format!(
                    "[grants] secrets.{name}: only `value = \"...\"` is allowed (env and file would hand the plugin the user's own); {hint}"
                )));
            }
        }
        let base = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let here = base
            .canonicalize()
            .map_err(|e| self.invalid(format!("cannot resolve its directory: {e}")))?;
        let beside = |field: String, host: &mut PathBuf, access: Access| {
            let relative = host.is_relative()
                && host
                    .components()
                    .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
            if !relative || access != Access::ReadOnly {
                return Err(self.invalid(format!(
                    "[grants] {field}: {} is not a read-only directory beside the file; {hint}",
                    host.display()
                )));
            }
            // Canonical, so a symlink beside the file cannot lead out.
            let path = base.join(&*host).canonicalize().map_err(|e| {
                self.invalid(format!(
                    "[grants] {field}: cannot open {}: {e}",
                    host.display()
                ))
            })?;
            if !path.starts_with(&here) {
                return Err(self.invalid(format!(
                    "[grants] {field}: {} leads out of {} (to {}); {hint}",
                    host.display(),
                    here.display(),
                    path.display()
                )));
            }
            *host = path;
            Ok(())
        };
        for d in &mut grants.directories {
            beside(format!("directories ({})", d.guest), &mut d.host, d.access)?;
        }
        for (name, m) in &mut grants.mounts {
            beside(format!("mounts.{name}"), &mut m.host, m.access)?;
        }
        Ok(grants)
    }

    /// `gyre-test.toml` in `dir`, if there is one.
    pub fn beside(dir: &Path) -> Result<Option<Self>, FixtureError> {
        let path = dir.join(FILE_NAME);
        if path.is_file() {
            Self::load(&path).map(Some)
        } else {
            Ok(None)
        }
    }
}

/// The kinds of `plugin-error` in the WIT, as `expect.error` spells them.
pub const ERROR_KINDS: &[&str] = &[
    "invalid-config",
    "invalid-input",
    "not-found",
    "denied",
    "unauthorized",
    "upstream",
    "internal",
];

/// A TOML value as JSON text.
pub(crate) fn json_text(value: Option<&toml::Value>, default: &str) -> String {
    match value {
        Some(v) => serde_json::to_string(v).unwrap_or_else(|_| default.to_string()),
        None => default.to_string(),
    }
}

impl EvidenceCase {
    pub(crate) fn data(&self) -> Vec<u8> {
        match (&self.text, &self.json) {
            (Some(text), _) => text.clone().into_bytes(),
            (None, json) => json_text(json.as_ref(), "null").into_bytes(),
        }
    }

    pub(crate) fn content_type(&self) -> String {
        self.content_type.clone().unwrap_or_else(|| {
            if self.json.is_some() {
                "application/json".into()
            } else {
                "text/plain".into()
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_read_as_toml() {
        let f = Fixtures::parse(
            r#"
            [[case]]
            name = "passes"
            config = { min = 80 }
            evidence = [{ name = "report", json = { coverage = 80 } }]
            expect = { passed = true, score = 80.0 }
            "#,
            Path::new("gyre-test.toml"),
        )
        .unwrap();
        let case = &f.cases[0];
        assert_eq!(json_text(case.config.as_ref(), "{}"), r#"{"min":80}"#);
        assert_eq!(case.evidence[0].data(), br#"{"coverage":80}"#);
        assert_eq!(case.evidence[0].content_type(), "application/json");
        assert_eq!(case.expect.passed, Some(true));
    }

    #[test]
    fn a_case_that_expects_nothing_is_refused() {
        let err = Fixtures::parse(
            "[[case]]\nname = \"vacuous\"\nexpect = {}\n",
            Path::new("gyre-test.toml"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("expects nothing"), "{err}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(
            Fixtures::parse(
                "[[case]]\nname = \"x\"\nexpected = { passed = true }\nexpect = { passed = true }\n",
                Path::new("gyre-test.toml"),
            )
            .is_err()
        );
    }
}
