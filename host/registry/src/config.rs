//! Which registries the user uses (`registries.toml` in the user's config):
//!
//! ```toml
//! default = "local"
//!
//! [registry.local]            # the embedded registry: a directory
//! dir = "/home/me/.local/share/gyre/registry"
//!
//! [registry.lab]              # an OCI distribution registry
//! oci = "registry.example.com"
//! prefix = "gyre"             # optional repository prefix
//! insecure = false            # true: plain HTTP (loopback registries only)
//! ```
//!
//! Without a file, the embedded registry in the data directory is the
//! default, so publish and install work offline out of the box.

use crate::backend::{AnyBackend, LocalRegistry, OciRegistry};
use crate::{RegistryError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, untagged)]
pub enum RegistrySpec {
    Dir {
        dir: PathBuf,
    },
    Oci {
        oci: String,
        #[serde(default)]
        prefix: Option<String>,
        #[serde(default)]
        insecure: bool,
    },
}

impl RegistrySpec {
    pub fn open(&self) -> AnyBackend {
        match self {
            RegistrySpec::Dir { dir } => AnyBackend::Local(LocalRegistry::new(dir)),
            RegistrySpec::Oci {
                oci,
                prefix,
                insecure,
            } => AnyBackend::Oci(OciRegistry::new(oci, prefix.as_deref(), *insecure)),
        }
    }

    /// Parses a registry given on the command line: `oci://host[:port][/prefix]`,
    /// `oci+http://…` (plain HTTP), `dir:PATH`, or an absolute or `./` path.
    pub fn parse(s: &str) -> Option<Self> {
        let oci = |rest: &str, insecure: bool| {
            let (host, prefix) = match rest.split_once('/') {
                Some((h, p)) => (h, Some(p.to_string())),
                None => (rest, None),
            };
            (!host.is_empty()).then(|| RegistrySpec::Oci {
                oci: host.to_string(),
                prefix,
                insecure,
            })
        };
        if let Some(rest) = s.strip_prefix("oci+http://") {
            return oci(rest, true);
        }
        if let Some(rest) = s.strip_prefix("oci://") {
            return oci(rest, false);
        }
        if let Some(path) = s.strip_prefix("dir:") {
            return Some(RegistrySpec::Dir { dir: path.into() });
        }
        if s.starts_with('/') || s.starts_with("./") || s.starts_with("../") {
            return Some(RegistrySpec::Dir { dir: s.into() });
        }
        None
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registries {
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default, rename = "registry")]
    pub registries: BTreeMap<String, RegistrySpec>,
}

impl Registries {
    pub fn load(path: &Path) -> Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text)
                .map_err(|e| RegistryError::invalid(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(RegistryError::io(path, e)),
        }
    }

    /// The registry named or written out in `choice`, else the default;
    /// `embedded` is where the embedded registry lives.
    pub fn pick(&self, choice: Option<&str>, embedded: &Path) -> Result<(String, RegistrySpec)> {
        let name = choice.or(self.default.as_deref()).unwrap_or("local");
        if let Some(spec) = self.registries.get(name) {
            return Ok((name.to_string(), spec.clone()));
        }
        if name == "local" {
            let dir = embedded.to_path_buf();
            return Ok(("local".into(), RegistrySpec::Dir { dir }));
        }
        RegistrySpec::parse(name)
            .map(|s| (name.to_string(), s))
            .ok_or_else(|| {
                RegistryError::invalid(format!(
                    "registry {name:?} is neither configured in registries.toml nor written as \
                     oci://HOST[/PREFIX], oci+http://HOST[/PREFIX] or dir:PATH"
                ))
            })
    }

    /// Every registry to search: the configured ones, or the embedded one.
    pub fn all(&self, embedded: &Path) -> Vec<(String, RegistrySpec)> {
        if self.registries.is_empty() {
            return vec![(
                "local".into(),
                RegistrySpec::Dir {
                    dir: embedded.to_path_buf(),
                },
            )];
        }
        self.registries
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}
