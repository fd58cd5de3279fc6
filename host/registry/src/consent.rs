//! Consent: what a package asks for, shown before install; what the user
//! approved, kept in the user's config; and what an upgrade changes, with
//! every widening called out so the user is asked again.

use crate::fsx::{read_optional, write_atomic};
use crate::{Digest, PackageName, RegistryError, Result};
use gyre_manifest::{
    Access, BudgetSpec, Capabilities, HostPattern, Manifest, OriginPattern, PluginKind, PluginName,
    PortPattern,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What one component asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub kind: PluginKind,
    #[serde(default)]
    pub capabilities: Capabilities,
    #[serde(default)]
    pub budgets: BudgetSpec,
}

impl Request {
    pub fn of(manifest: &Manifest) -> Self {
        Self {
            kind: manifest.plugin.kind,
            capabilities: manifest.capabilities.clone(),
            budgets: manifest.budgets,
        }
    }

    /// One line per request, for people.
    pub fn describe(&self) -> Vec<String> {
        let c = &self.capabilities;
        let mut out: Vec<String> = c
            .directories
            .iter()
            .map(|d| format!("directory {d}"))
            .collect();
        out.extend(c.http.iter().map(|o| format!("network {o}")));
        out.extend(c.secrets.iter().map(|s| format!("secret {s}")));
        let b = &self.budgets;
        let mut budgets = Vec::new();
        if let Some(f) = b.fuel {
            budgets.push(format!("fuel {f}"));
        }
        if let Some(t) = b.timeout_ms {
            budgets.push(format!("timeout {t} ms"));
        }
        if let Some(m) = b.memory_mib {
            budgets.push(format!("memory {m} MiB"));
        }
        if !budgets.is_empty() {
            out.push(format!("budgets {}", budgets.join(", ")));
        }
        out
    }
}

/// What a package's components ask for, by component.
pub type Requests = BTreeMap<PluginName, Request>;

/// One change between what was approved and what is asked now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub component: PluginName,
    /// True when the new version may do something the old could not.
    pub widens: bool,
    pub text: String,
}

/// Whether every origin `inner` matches is also matched by `outer`.
fn origin_within(inner: &OriginPattern, outer: &OriginPattern) -> bool {
    let port = matches!(outer.port, PortPattern::Any) || outer.port == inner.port;
    let host = match (&outer.host, &inner.host) {
        (a, b) if a == b => true,
        (HostPattern::Subdomains(p), HostPattern::Name(n) | HostPattern::Subdomains(n)) => {
            n.ends_with(&format!(".{p}"))
        }
        _ => false,
    };
    outer.scheme == inner.scheme && port && host
}

/// A budget the manifest leaves unset runs at the host's default, which is
/// at least any value a manifest may set: unset counts as the most.
fn budget_widens(old: Option<u64>, new: Option<u64>) -> bool {
    new.unwrap_or(u64::MAX) > old.unwrap_or(u64::MAX)
}

/// Every change from `old` (approved) to `new` (requested) for one
/// component; `old` is `None` for a component new to the package.
pub fn changes(component: &PluginName, old: Option<&Request>, new: &Request) -> Vec<Change> {
    let mut out = Vec::new();
    let mut push = |widens: bool, text: String| {
        out.push(Change {
            component: component.clone(),
            widens,
            text,
        })
    };
    let empty;
    let old = match old {
        Some(o) => o,
        None => {
            push(false, format!("new component ({})", new.kind));
            empty = Request {
                kind: new.kind,
                capabilities: Capabilities::default(),
                budgets: BudgetSpec::default(),
            };
            &empty
        }
    };
    if old.kind != new.kind {
        push(
            true,
            format!("kind changes from {} to {}", old.kind, new.kind),
        );
    }
    let (oc, nc) = (&old.capabilities, &new.capabilities);
    for d in &nc.directories {
        match oc
            .directories
            .iter()
            .find(|o| o.source == d.source && o.guest == d.guest)
        {
            None => push(true, format!("+ directory {d}")),
            Some(o) if o.access == Access::ReadOnly && d.access == Access::ReadWrite => {
                push(true, format!("directory {} becomes read-write", d.guest))
            }
            Some(o) if o.access != d.access => {
                push(false, format!("directory {} becomes read-only", d.guest))
            }
            Some(_) => {}
        }
    }
    for d in &oc.directories {
        if !nc
            .directories
            .iter()
            .any(|n| n.source == d.source && n.guest == d.guest)
        {
            push(false, format!("- directory {d}"));
        }
    }
    for o in &nc.http {
        if !oc.http.iter().any(|old| origin_within(o, old)) {
            push(true, format!("+ network {o}"));
        }
    }
    for o in &oc.http {
        if !nc.http.contains(o) && !nc.http.iter().any(|n| origin_within(o, n)) {
            push(false, format!("- network {o}"));
        }
    }
    for s in &nc.secrets {
        if !oc.secrets.contains(s) {
            push(true, format!("+ secret {s}"));
        }
    }
    for s in &oc.secrets {
        if !nc.secrets.contains(s) {
            push(false, format!("- secret {s}"));
        }
    }
    let show = |v: Option<u64>| v.map_or("host default".to_string(), |v| v.to_string());
    for (name, o, n) in [
        ("fuel", old.budgets.fuel, new.budgets.fuel),
        ("timeout-ms", old.budgets.timeout_ms, new.budgets.timeout_ms),
        ("memory-mib", old.budgets.memory_mib, new.budgets.memory_mib),
    ] {
        if o != n {
            push(
                budget_widens(o, n),
                format!("budget {name}: {} -> {}", show(o), show(n)),
            );
        }
    }
    out
}

/// Every change across a package's components.
pub fn diff(old: &Requests, new: &Requests) -> Vec<Change> {
    let mut out = Vec::new();
    for (name, req) in new {
        out.extend(changes(name, old.get(name), req));
    }
    for name in old.keys().filter(|n| !new.contains_key(*n)) {
        out.push(Change {
            component: name.clone(),
            widens: false,
            text: "component removed".into(),
        });
    }
    out
}

/// Whether `approved` covers everything `requested` asks for.
pub fn covers(approved: &Requests, requested: &Requests) -> bool {
    diff(approved, requested).iter().all(|c| !c.widens)
}

/// What the user approved for an installed package, stored as
/// `<config>/consent/<namespace>/<name>.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    pub package: PackageName,
    pub version: semver::Version,
    pub digest: Digest,
    pub components: Requests,
}

/// A file of pre-approved requests for unattended installs:
///
/// ```toml
/// [packages."acme/http-json".http-json]
/// kind = "connector"
/// capabilities = { http = ["https://api.github.com"], secrets = ["TOKEN"] }
/// ```
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalFile {
    #[serde(default)]
    pub packages: BTreeMap<PackageName, Requests>,
}

impl ApprovalFile {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| RegistryError::io(path, e))?;
        toml::from_str(&text)
            .map_err(|e| RegistryError::invalid(format!("{}: {e}", path.display())))
    }
}

/// The consent records in the user's config directory.
pub struct ConsentStore {
    root: PathBuf,
}

impl ConsentStore {
    /// `config_dir` is the user's Gyre config directory; no plugin is ever
    /// granted it.
    pub fn new(config_dir: &Path) -> Self {
        Self {
            root: config_dir.join("consent"),
        }
    }
    fn path(&self, name: &PackageName) -> PathBuf {
        self.root
            .join(name.namespace.as_str())
            .join(format!("{}.toml", name.name))
    }
    pub fn get(&self, name: &PackageName) -> Result<Option<Approval>> {
        let path = self.path(name);
        match read_optional(&path)? {
            None => Ok(None),
            Some(bytes) => toml::from_str(&String::from_utf8_lossy(&bytes))
                .map(Some)
                .map_err(|e| RegistryError::invalid(format!("{}: {e}", path.display()))),
        }
    }
    pub fn put(&self, approval: &Approval) -> Result<()> {
        let text = toml::to_string_pretty(approval).unwrap_or_default();
        write_atomic(&self.path(&approval.package), text.as_bytes())
    }
    pub fn remove(&self, name: &PackageName) -> Result<()> {
        let path = self.path(name);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(RegistryError::io(path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(kind: PluginKind, caps: &str) -> Request {
        Request {
            kind,
            capabilities: toml::from_str(caps).unwrap(),
            budgets: BudgetSpec::default(),
        }
    }

    #[test]
    fn new_origins_secrets_and_write_access_widen() {
        let old = req(
            PluginKind::Connector,
            "http = [\"https://*.example.com\"]\n[[directories]]\nmount = \"workspace\"\nguest = \"/w\"\naccess = \"read-only\"",
        );
        let same_or_narrower = req(
            PluginKind::Connector,
            "http = [\"https://api.example.com\"]",
        );
        let name: PluginName = "p".parse().unwrap();
        assert!(
            changes(&name, Some(&old), &same_or_narrower)
                .iter()
                .all(|c| !c.widens)
        );
        for wider in [
            "http = [\"https://evil.example\"]",
            "secrets = [\"TOKEN\"]",
            "[[directories]]\nmount = \"workspace\"\nguest = \"/w\"\naccess = \"read-write\"",
            "[[directories]]\nhost = \"/etc\"\nguest = \"/etc\"\naccess = \"read-only\"",
        ] {
            let new = req(PluginKind::Connector, wider);
            assert!(
                changes(&name, Some(&old), &new).iter().any(|c| c.widens),
                "{wider}"
            );
        }
        let verifier = req(PluginKind::Verifier, "");
        assert!(
            changes(&name, Some(&verifier), &req(PluginKind::Connector, ""))
                .iter()
                .any(|c| c.widens)
        );
    }

    #[test]
    fn raising_a_budget_widens_and_lowering_does_not() {
        let name: PluginName = "p".parse().unwrap();
        let mut old = req(PluginKind::Verifier, "");
        old.budgets.fuel = Some(1000);
        let mut new = old.clone();
        new.budgets.fuel = Some(10);
        assert!(changes(&name, Some(&old), &new).iter().all(|c| !c.widens));
        new.budgets.fuel = None;
        assert!(changes(&name, Some(&old), &new).iter().any(|c| c.widens));
    }
}
