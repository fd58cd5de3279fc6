//! The trust policy: which publisher keys may publish into which
//! namespaces. Lives in the user's config (`trust.toml`):
//!
//! ```toml
//! [[publisher]]
//! name = "acme"
//! key = "ed25519:…"
//! namespaces = ["acme", "acme-*"]   # exact names, or a prefix ending in `*`
//! ```

use crate::{Namespace, PublicKey, RegistryError, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Publisher {
    pub name: String,
    pub key: PublicKey,
    pub namespaces: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustPolicy {
    #[serde(default, rename = "publisher")]
    pub publishers: Vec<Publisher>,
}

/// How a signer stands under the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing<'a> {
    /// The key is trusted for this namespace.
    Trusted(&'a Publisher),
    /// The key is known, but only for other namespaces.
    WrongNamespace(&'a Publisher),
    /// The policy does not know the key.
    Unknown,
}

fn pattern_matches(pattern: &str, ns: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => ns.starts_with(prefix),
        None => pattern == ns,
    }
}

impl TrustPolicy {
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        let policy: TrustPolicy =
            toml::from_str(text).map_err(|e| RegistryError::invalid(format!("{origin}: {e}")))?;
        for p in &policy.publishers {
            for pattern in &p.namespaces {
                let bare = pattern.strip_suffix('*').unwrap_or(pattern);
                let valid =
                    bare.is_empty() || bare.trim_end_matches('-').parse::<Namespace>().is_ok();
                if !valid {
                    return Err(RegistryError::invalid(format!(
                        "{origin}: publisher {:?}: namespace pattern {pattern:?} must be a namespace, \
                         or a prefix followed by `*`",
                        p.name
                    )));
                }
            }
        }
        Ok(policy)
    }

    /// The policy at `path`; an absent file is an empty policy (which
    /// trusts nobody).
    pub fn load(path: &Path) -> Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(RegistryError::io(path, e)),
        }
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    pub fn standing(&self, key: &PublicKey, ns: &Namespace) -> Standing<'_> {
        let mut known = None;
        for p in self.publishers.iter().filter(|p| p.key == *key) {
            if p.namespaces
                .iter()
                .any(|pat| pattern_matches(pat, ns.as_str()))
            {
                return Standing::Trusted(p);
            }
            known = Some(p);
        }
        known.map_or(Standing::Unknown, Standing::WrongNamespace)
    }

    /// Fails unless `key` may publish into `ns`. `what` names the signed
    /// thing in the message.
    pub fn check(&self, key: &PublicKey, ns: &Namespace, what: &str) -> Result<&Publisher> {
        match self.standing(key, ns) {
            Standing::Trusted(p) => Ok(p),
            Standing::WrongNamespace(p) => Err(RegistryError::refused(format!(
                "{what} is signed by {key} (publisher {:?}), which your trust policy allows only for \
                 {}, not for namespace {ns}",
                p.name,
                p.namespaces.join(", ")
            ))),
            Standing::Unknown => Err(RegistryError::refused(format!(
                "{what} is signed by an untrusted key {key}: no publisher in your trust policy \
                 has it. If you know this publisher, trust them with \
                 `gyre key trust {key} --namespace {ns} --name PUBLISHER`."
            ))),
        }
    }

    /// Namespaces named exactly (not by a prefix), for searching.
    pub fn exact_namespaces(&self) -> Vec<Namespace> {
        let mut out: Vec<Namespace> = self
            .publishers
            .iter()
            .flat_map(|p| p.namespaces.iter())
            .filter_map(|n| n.parse().ok())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Adds (or extends) a publisher entry for `key`.
    pub fn trust(&mut self, name: &str, key: PublicKey, namespace: &str) {
        match self.publishers.iter_mut().find(|p| p.key == key) {
            Some(p) => {
                if !p.namespaces.iter().any(|n| n == namespace) {
                    p.namespaces.push(namespace.to_string());
                }
            }
            None => self.publishers.push(Publisher {
                name: name.to_string(),
                key,
                namespaces: vec![namespace.to_string()],
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SecretKey;

    #[test]
    fn a_key_is_trusted_only_for_its_namespaces() {
        let acme = SecretKey::generate("acme").public();
        let mut policy = TrustPolicy::default();
        policy.trust("acme", acme, "acme");
        policy.trust("acme", acme, "tools-*");
        let text = policy.to_toml();
        let policy = TrustPolicy::parse(&text, "trust.toml").unwrap();
        let ns = |s: &str| s.parse::<Namespace>().unwrap();
        assert!(policy.check(&acme, &ns("acme"), "index").is_ok());
        assert!(policy.check(&acme, &ns("tools-ci"), "index").is_ok());
        let err = policy
            .check(&acme, &ns("evil"), "index")
            .unwrap_err()
            .to_string();
        assert!(err.contains("only for"), "{err}");
        let stranger = SecretKey::generate("x").public();
        let err = policy
            .check(&stranger, &ns("acme"), "index")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("untrusted key") && err.contains("gyre key trust"),
            "{err}"
        );
    }

    #[test]
    fn malformed_patterns_are_refused() {
        let key = SecretKey::generate("a").public();
        let text =
            format!("[[publisher]]\nname = \"a\"\nkey = \"{key}\"\nnamespaces = [\"Acme Corp\"]\n");
        assert!(TrustPolicy::parse(&text, "trust.toml").is_err());
    }
}
