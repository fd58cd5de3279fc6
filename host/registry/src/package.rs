//! Package identity: `namespace/name@version`, and what a user asks for
//! (`namespace/name`, `namespace/name@^1.2`, `namespace/name@=1.2.3`).

use gyre_manifest::PluginName;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A publisher's namespace, e.g. `acme`: lowercase letters, digits and
/// dashes. The trust policy says which keys may publish into which.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Namespace(String);

impl Namespace {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Namespace {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        // The same rules as a plugin name: they end up in OCI repository
        // paths and file names.
        PluginName::try_from(s.clone()).map_err(|e| e.replace("plugin name", "namespace"))?;
        Ok(Self(s))
    }
}

impl std::str::FromStr for Namespace {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::try_from(s.to_string())
    }
}

impl From<Namespace> for String {
    fn from(n: Namespace) -> String {
        n.0
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A package's name, `namespace/name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PackageName {
    pub namespace: Namespace,
    pub name: PluginName,
}

impl PackageName {
    pub fn new(namespace: Namespace, name: PluginName) -> Self {
        Self { namespace, name }
    }
}

impl std::str::FromStr for PackageName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (ns, name) = s.split_once('/').ok_or_else(|| {
            format!("package {s:?} must be written namespace/name, e.g. acme/{s}")
        })?;
        Ok(Self {
            namespace: ns.parse().map_err(|e| format!("package {s:?}: {e}"))?,
            name: name.parse().map_err(|e| format!("package {s:?}: {e}"))?,
        })
    }
}

impl TryFrom<String> for PackageName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<PackageName> for String {
    fn from(n: PackageName) -> String {
        n.to_string()
    }
}

impl fmt::Display for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// One release of a package: `namespace/name@version`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PackageId {
    pub name: PackageName,
    pub version: semver::Version,
}

impl fmt::Display for PackageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.version)
    }
}

/// Which versions a user asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Want {
    /// The newest release that is not a pre-release (`@latest`, or nothing).
    Latest,
    /// A semver range, cargo-style: `1.2` means `^1.2`, `=1.2.3` is exact.
    Range(semver::VersionReq),
}

impl Want {
    pub fn matches(&self, v: &semver::Version) -> bool {
        match self {
            Want::Latest => v.pre.is_empty(),
            Want::Range(r) => r.matches(v),
        }
    }
}

impl fmt::Display for Want {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Want::Latest => f.write_str("latest"),
            Want::Range(r) => write!(f, "{r}"),
        }
    }
}

/// A package and the versions wanted: `acme/tests-green@^1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageRef {
    pub name: PackageName,
    pub want: Want,
}

impl std::str::FromStr for PackageRef {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, want) = match s.split_once('@') {
            None => (s, Want::Latest),
            Some((name, "latest")) => (name, Want::Latest),
            Some((name, range)) => (
                name,
                Want::Range(range.parse().map_err(|e| {
                    format!(
                        "{s:?}: {range:?} is not a version or range (e.g. 1.2, ^1, =1.2.3): {e}"
                    )
                })?),
            ),
        };
        Ok(Self {
            name: name.parse()?,
            want,
        })
    }
}

impl fmt::Display for PackageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.want)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_names_and_ranges() {
        let r: PackageRef = "acme/tests-green@1.2".parse().unwrap();
        assert_eq!(r.name.to_string(), "acme/tests-green");
        assert!(r.want.matches(&"1.9.0".parse().unwrap()));
        assert!(!r.want.matches(&"2.0.0".parse().unwrap()));
        let exact: PackageRef = "acme/x@=1.0.0".parse().unwrap();
        assert!(!exact.want.matches(&"1.0.1".parse().unwrap()));
        let latest: PackageRef = "acme/x".parse().unwrap();
        assert_eq!(latest.want, Want::Latest);
        assert!(!latest.want.matches(&"2.0.0-rc.1".parse().unwrap()));
    }

    #[test]
    fn malformed_names_are_refused_with_the_reason() {
        for bad in [
            "tests-green",
            "Acme/x",
            "acme/x/y",
            "acme/../x",
            "acme/x@banana",
        ] {
            let err = bad.parse::<PackageRef>().unwrap_err();
            assert!(!err.is_empty(), "{bad}");
        }
        assert!(
            "tests-green"
                .parse::<PackageName>()
                .unwrap_err()
                .contains("namespace/name")
        );
    }
}
