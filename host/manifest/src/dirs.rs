use crate::MountName;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Whether a directory may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    ReadOnly,
    ReadWrite,
}

impl Access {
    /// The narrower of two accesses: a read-write grant of a read-only
    /// request stays read-only, and the reverse.
    pub fn narrowest(self, other: Access) -> Access {
        self.min(other)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Access::ReadOnly => "read-only",
            Access::ReadWrite => "read-write",
        }
    }
}

impl std::str::FromStr for Access {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ro" | "read-only" => Ok(Access::ReadOnly),
            "rw" | "read-write" => Ok(Access::ReadWrite),
            other => Err(format!(
                "access {other:?} is not one of read-only (ro), read-write (rw)"
            )),
        }
    }
}

/// An absolute path inside the sandbox, such as `/workspace`: normalized,
/// with no `.` or `..` components.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GuestPath(String);

impl GuestPath {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for GuestPath {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        let trimmed = value.trim_end_matches('/');
        // Paths are shown to people deciding what to grant: no control
        // characters that could rewrite the terminal around them.
        if value.chars().any(char::is_control) {
            return Err(format!(
                "guest path {value:?} must not contain control characters"
            ));
        }
        if !value.starts_with('/') || trimmed.is_empty() {
            return Err(format!("guest path {value:?} must be absolute and not `/`"));
        }
        if trimmed
            .split('/')
            .skip(1)
            .any(|c| c.is_empty() || c == "." || c == "..")
        {
            return Err(format!(
                "guest path {value:?} must be normalized: no empty, `.` or `..` components"
            ));
        }
        Ok(Self(trimmed.to_string()))
    }
}

impl std::str::FromStr for GuestPath {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::try_from(s.to_string())
    }
}

impl From<GuestPath> for String {
    fn from(value: GuestPath) -> String {
        value.0
    }
}

impl fmt::Display for GuestPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a requested directory comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DirSource {
    /// A directory the host binds by name, e.g. the run's `workspace`.
    Mount(MountName),
    /// A host path (or pattern, with `*` for one component) the plugin
    /// suggests; the user's grant decides the real path.
    Host(String),
}

/// A directory a plugin asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawDirRequest", into = "RawDirRequest")]
pub struct DirRequest {
    pub source: DirSource,
    pub guest: GuestPath,
    pub access: Access,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDirRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mount: Option<MountName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    host: Option<String>,
    guest: GuestPath,
    access: Access,
}

impl TryFrom<RawDirRequest> for DirRequest {
    type Error = String;
    fn try_from(raw: RawDirRequest) -> Result<Self, String> {
        let source = match (raw.mount, raw.host) {
            (Some(m), None) => DirSource::Mount(m),
            (None, Some(h)) if h.chars().any(char::is_control) => {
                return Err(format!(
                    "directory host path {h:?} must not contain control characters"
                ));
            }
            (None, Some(h)) if h.starts_with('/') || h.starts_with('~') => DirSource::Host(h),
            (None, Some(h)) => return Err(format!("directory host path {h:?} must be absolute")),
            _ => {
                return Err(format!(
                    "directory {}: give exactly one of `mount` or `host`",
                    raw.guest
                ));
            }
        };
        Ok(Self {
            source,
            guest: raw.guest,
            access: raw.access,
        })
    }
}

impl From<DirRequest> for RawDirRequest {
    fn from(d: DirRequest) -> Self {
        let (mount, host) = match d.source {
            DirSource::Mount(m) => (Some(m), None),
            DirSource::Host(h) => (None, Some(h)),
        };
        Self {
            mount,
            host,
            guest: d.guest,
            access: d.access,
        }
    }
}

impl DirSource {
    /// Whether `path` fits a host pattern (`*` matches one component).
    pub fn host_pattern_matches(pattern: &str, path: &str) -> bool {
        let p: Vec<&str> = pattern.trim_end_matches('/').split('/').collect();
        let h: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        p.len() == h.len() && p.iter().zip(&h).all(|(p, h)| *p == "*" || p == h)
    }
}

impl fmt::Display for DirRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            DirSource::Mount(m) => write!(
                f,
                "mount `{m}` at {} ({})",
                self.guest,
                self.access.as_str()
            ),
            DirSource::Host(h) => write!(f, "{h} at {} ({})", self.guest, self.access.as_str()),
        }
    }
}

#[cfg(test)]
mod control_characters {
    use super::*;

    #[test]
    fn paths_shown_for_consent_cannot_carry_terminal_control_characters() {
        assert!(GuestPath::try_from("/data\u{1b}[2K".to_string()).is_err());
        assert!(GuestPath::try_from("/da\nta".to_string()).is_err());
        let raw = RawDirRequest {
            mount: None,
            host: Some("/srv\r/x".into()),
            guest: "/data".parse().unwrap(),
            access: Access::ReadOnly,
        };
        assert!(
            DirRequest::try_from(raw)
                .unwrap_err()
                .contains("control characters")
        );
    }
}
