use crate::{
    Access, BudgetSpec, DirSource, GuestPath, Manifest, ManifestError, MountName, Origin,
    OriginPattern, SecretName,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where the host reads a granted secret's value from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum SecretSource {
    /// An environment variable of the host process.
    Env(String),
    /// A file holding the value (trailing newline trimmed).
    File(PathBuf),
    /// The value itself. Handy for tests; prefer `env` or `file`.
    Value(String),
}

/// A host directory the user grants at a guest path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirGrant {
    pub host: PathBuf,
    pub guest: GuestPath,
    pub access: Access,
}

/// A named mount the user binds (e.g. `workspace` to a checkout).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MountGrant {
    pub host: PathBuf,
    pub access: Access,
}

/// What the user allows one plugin. Read from a grants file or built from
/// command-line flags; lives in the user's config, out of every plugin's
/// reach.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grants {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http: Vec<OriginPattern>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub directories: Vec<DirGrant>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mounts: BTreeMap<MountName, MountGrant>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<SecretName, SecretSource>,
    #[serde(default)]
    pub budgets: BudgetSpec,
}

/// A directory the sandbox will preopen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveDir {
    pub host: PathBuf,
    pub guest: GuestPath,
    pub access: Access,
}

/// What a plugin actually gets: the intersection of its requests and the
/// user's grants.
#[derive(Debug, Clone, Default)]
pub struct Effective {
    pub dirs: Vec<EffectiveDir>,
    /// Origins the user granted that the plugin also requested.
    pub http_granted: Vec<OriginPattern>,
    /// Origins the plugin requested; a destination must match both lists.
    pub http_requested: Vec<OriginPattern>,
    pub secrets: BTreeMap<SecretName, SecretSource>,
    /// Budget settings the user made.
    pub budgets: BudgetSpec,
    /// Budget settings the manifest asked for. The host lets these lower a
    /// budget, or raise it only as far as its own defaults.
    pub requested_budgets: BudgetSpec,
    /// Requests left ungranted and grants left unused, for the user to read.
    pub notes: Vec<String>,
    /// Origins the step using the plugin requested (a recipe step may ask
    /// for less than its plugin). None: no further limit.
    pub http_stage: Option<Vec<OriginPattern>>,
}

impl Grants {
    pub fn parse(text: &str, origin: &str) -> Result<Self, ManifestError> {
        toml::from_str(text).map_err(|e| ManifestError::syntax(origin, text, e))
    }

    pub fn load(path: &std::path::Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: path.into(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Adds `other`'s grants to these (command-line flags on top of a file).
    pub fn merge(&mut self, other: Grants) {
        self.http.extend(other.http);
        self.directories.extend(other.directories);
        self.mounts.extend(other.mounts);
        self.secrets.extend(other.secrets);
        self.budgets = other.budgets.or(self.budgets);
    }

    /// Intersects these grants with what `manifest` requests.
    pub fn resolve(&self, manifest: &Manifest) -> Effective {
        let requested = &manifest.capabilities;
        let mut out = Effective {
            budgets: self.budgets,
            requested_budgets: manifest.budgets,
            ..Effective::default()
        };
        // A verifier judges the work; it never changes it.
        let ceiling = match manifest.plugin.kind {
            crate::PluginKind::Verifier => crate::Access::ReadOnly,
            _ => crate::Access::ReadWrite,
        };

        for request in &requested.directories {
            let grant = match &request.source {
                DirSource::Mount(name) => self.mounts.get(name).map(|m| (m.host.clone(), m.access)),
                DirSource::Host(_) => self
                    .directories
                    .iter()
                    .find(|d| d.guest == request.guest)
                    .map(|d| (d.host.clone(), d.access)),
            };
            match grant {
                Some((host, access)) => {
                    if let DirSource::Host(pattern) = &request.source {
                        if !DirSource::host_pattern_matches(pattern, &host.to_string_lossy()) {
                            out.notes.push(format!(
                                "directory {}: the plugin suggested {pattern}, you granted {}",
                                request.guest,
                                host.display()
                            ));
                        }
                    }
                    let access = access.narrowest(request.access).narrowest(ceiling);
                    out.dirs.push(EffectiveDir {
                        host,
                        guest: request.guest.clone(),
                        access,
                    });
                }
                None => out
                    .notes
                    .push(format!("requested but not granted: directory {request}")),
            }
        }
        for grant in &self.directories {
            if !requested
                .directories
                .iter()
                .any(|r| matches!(r.source, DirSource::Host(_)) && r.guest == grant.guest)
            {
                out.notes.push(format!(
                    "granted but not requested (ignored): directory {}",
                    grant.guest
                ));
            }
        }

        out.http_requested = requested.http.clone();
        for grant in &self.http {
            if requested.http.iter().any(|r| covers(r, grant)) {
                out.http_granted.push(grant.clone());
            } else {
                out.notes.push(format!(
                    "granted but not requested (ignored): origin {grant}"
                ));
            }
        }
        for request in &requested.http {
            if !out
                .http_granted
                .iter()
                .any(|g| covers(request, g) || covers(g, request))
            {
                out.notes
                    .push(format!("requested but not granted: origin {request}"));
            }
        }

        for name in &requested.secrets {
            match self.secrets.get(name) {
                Some(source) => {
                    out.secrets.insert(name.clone(), source.clone());
                }
                None => out
                    .notes
                    .push(format!("requested but not granted: secret {name}")),
            }
        }
        for name in self.secrets.keys() {
            if !requested.secrets.contains(name) {
                out.notes.push(format!(
                    "granted but not requested (ignored): secret {name}"
                ));
            }
        }
        out
    }
}

/// Whether every origin `inner` matches is also matched by `outer`, or at
/// least overlaps with it enough that the grant is meaningful. Grants are
/// checked against both lists at request time, so overlap is enough here.
fn covers(outer: &OriginPattern, inner: &OriginPattern) -> bool {
    use crate::{HostPattern, PortPattern};
    if outer.scheme != inner.scheme {
        return false;
    }
    let ports = matches!(outer.port, PortPattern::Any)
        || matches!(inner.port, PortPattern::Any)
        || outer.port == inner.port;
    let hosts = match (&outer.host, &inner.host) {
        (a, b) if a == b => true,
        (HostPattern::Subdomains(parent), HostPattern::Name(n))
        | (HostPattern::Name(n), HostPattern::Subdomains(parent)) => {
            n.ends_with(&format!(".{parent}"))
        }
        _ => false,
    };
    ports && hosts
}

impl Effective {
    /// Limits this set further to what one step of a loop requests: a
    /// destination must then match the step's origins too, and secrets and
    /// directories the step did not ask for are dropped.
    pub fn narrow(mut self, step: &crate::Capabilities) -> Self {
        let mut notes = Vec::new();
        self.secrets.retain(|name, _| {
            let keep = step.secrets.contains(name);
            if !keep {
                notes.push(format!("not requested by this step: secret {name}"));
            }
            keep
        });
        self.dirs.retain_mut(|d| {
            let Some(request) = step.directories.iter().find(|r| r.guest == d.guest) else {
                notes.push(format!("not requested by this step: directory {}", d.guest));
                return false;
            };
            // A step that asked to read gets to read only.
            if request.access == crate::Access::ReadOnly {
                d.access = crate::Access::ReadOnly;
            }
            true
        });
        self.notes.extend(notes);
        self.http_stage = Some(step.http.clone());
        self
    }

    /// The granted pattern that allows `origin`, if the plugin both
    /// requested and was granted it.
    pub fn allowed_origin(&self, origin: &Origin) -> Option<&OriginPattern> {
        if !self.http_requested.iter().any(|r| r.matches(origin)) {
            return None;
        }
        if let Some(stage) = &self.http_stage
            && !stage.iter().any(|s| s.matches(origin))
        {
            return None;
        }
        self.http_granted.iter().find(|g| g.matches(origin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest::parse(
            r#"
[plugin]
name = "p"
version = "1.0.0"
kind = "connector"
[capabilities]
http = ["http://127.0.0.1:*", "https://api.github.com"]
secrets = ["TOKEN"]
[[capabilities.directories]]
host = "/srv/*"
guest = "/data"
access = "read-write"
[[capabilities.directories]]
mount = "workspace"
guest = "/workspace"
access = "read-only"
[budgets]
fuel = 100
timeout-ms = 1000
"#,
            "test",
        )
        .unwrap()
    }

    #[test]
    fn nothing_is_granted_without_a_grant() {
        let eff = Grants::default().resolve(&manifest());
        assert!(eff.dirs.is_empty() && eff.http_granted.is_empty() && eff.secrets.is_empty());
        assert!(
            eff.allowed_origin(&Origin::from_url("http://127.0.0.1:80/").unwrap())
                .is_none()
        );
        assert_eq!(
            eff.notes
                .iter()
                .filter(|n| n.starts_with("requested but not granted"))
                .count(),
            5
        );
    }

    #[test]
    fn a_plugin_never_gets_more_than_the_user_allowed() {
        let grants = Grants::parse(
            r#"
http = ["http://127.0.0.1:8080"]
[[directories]]
host = "/srv/app"
guest = "/data"
access = "read-only"
[mounts.workspace]
host = "/home/me/repo"
access = "read-write"
"#,
            "grants.toml",
        )
        .unwrap();
        let eff = grants.resolve(&manifest());
        // The user narrowed a read-write request to read-only...
        assert_eq!(eff.dirs[0].access, Access::ReadOnly);
        // ...and a read-write mount of a read-only request stays read-only.
        assert_eq!(eff.dirs[1].access, Access::ReadOnly);
        assert!(
            eff.allowed_origin(&Origin::from_url("http://127.0.0.1:8080/x").unwrap())
                .is_some()
        );
        assert!(
            eff.allowed_origin(&Origin::from_url("http://127.0.0.1:9090/x").unwrap())
                .is_none()
        );
        assert!(
            eff.allowed_origin(&Origin::from_url("https://api.github.com/").unwrap())
                .is_none()
        );
    }

    #[test]
    fn grants_the_plugin_did_not_request_are_ignored() {
        let mut grants = Grants::default();
        grants
            .http
            .push(OriginPattern::parse("https://evil.example").unwrap());
        grants
            .secrets
            .insert("OTHER".parse().unwrap(), SecretSource::Value("x".into()));
        let eff = grants.resolve(&manifest());
        assert!(eff.http_granted.is_empty());
        assert!(eff.secrets.is_empty());
        assert!(
            eff.allowed_origin(&Origin::from_url("https://evil.example/").unwrap())
                .is_none()
        );
    }

    #[test]
    fn user_and_manifest_budgets_are_kept_apart() {
        let mut grants = Grants::default();
        grants.budgets.fuel = Some(5);
        let eff = grants.resolve(&manifest());
        assert_eq!(eff.budgets.fuel, Some(5));
        assert_eq!(eff.budgets.timeout_ms, None);
        assert_eq!(eff.requested_budgets.timeout_ms, Some(1000));
    }

    #[test]
    fn a_verifier_never_gets_a_writable_directory() {
        let text = manifest()
            .to_toml()
            .replace("kind = \"connector\"", "kind = \"verifier\"");
        let verifier = Manifest::parse(&text, "test").unwrap();
        let mut grants = Grants::default();
        grants.directories.push(DirGrant {
            host: "/srv/app".into(),
            guest: "/data".parse().unwrap(),
            access: Access::ReadWrite,
        });
        let eff = grants.resolve(&verifier);
        assert_eq!(eff.dirs[0].access, Access::ReadOnly);
    }
}
