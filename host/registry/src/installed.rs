//! Installed packages in the user's data directory, and the API the
//! recipe runner uses to find them.
//!
//! ```text
//! <data>/packages/<namespace>/<name>/package.toml   the install record
//! <data>/packages/<namespace>/<name>/<plugin>.wasm  its components
//! ```
//!
//! An install is staged in a hidden directory beside the others and moved
//! into place with one rename, so a failed or refused install leaves
//! nothing behind, and an upgrade replaces the old version whole.

use crate::fetch::Fetched;
use crate::fsx::unique;
use crate::index::Release;
use crate::{Digest, PackageId, PackageName, PublicKey, RegistryError, Result, Timestamp};
use gyre_manifest::{Manifest, PluginKind, PluginName};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const RECORD: &str = "package.toml";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstalledComponent {
    pub plugin: PluginName,
    pub kind: PluginKind,
    pub file: String,
    pub digest: Digest,
}

/// What was installed, from where, signed by whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstallRecord {
    pub package: PackageName,
    pub version: semver::Version,
    pub digest: Digest,
    pub registry: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The trusted publisher key, absent when installed with the override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<PublicKey>,
    pub installed: Timestamp,
    // Tables last: TOML writes plain values before tables.
    pub release: Release,
    pub components: Vec<InstalledComponent>,
}

impl InstallRecord {
    pub fn id(&self) -> PackageId {
        PackageId {
            name: self.package.clone(),
            version: self.version.clone(),
        }
    }
}

/// One installed component, ready to load into the sandbox.
#[derive(Debug, Clone)]
pub struct InstalledPlugin {
    pub package: PackageId,
    pub plugin: PluginName,
    pub wasm: PathBuf,
    pub manifest: Manifest,
    /// sha256 of the component file, checked when it was found.
    pub digest: Digest,
    pub publisher: Option<PublicKey>,
}

impl InstalledPlugin {
    /// The key its private state is stored under: its signed identity
    /// (namespace, package, component and publisher key), so state survives
    /// upgrades, and a package of the same name from another publisher, or
    /// installed unsigned, never sees it. `None` when it was installed
    /// without a trusted signature: then state follows the content digest.
    pub fn state_key(&self) -> Option<String> {
        let key = self.publisher?;
        Some(format!(
            "pkg.{}.{}.{}.{}",
            self.package.name.namespace,
            self.package.name.name,
            self.plugin,
            key.fingerprint()
        ))
    }
}

/// The installed packages under a data directory.
pub struct Installed {
    root: PathBuf,
}

impl Installed {
    pub fn open(data_dir: &Path) -> Self {
        Self {
            root: data_dir.join("packages"),
        }
    }

    pub fn dir(&self, name: &PackageName) -> PathBuf {
        self.root
            .join(name.namespace.as_str())
            .join(name.name.as_str())
    }

    pub fn get(&self, name: &PackageName) -> Result<Option<InstallRecord>> {
        let path = self.dir(name).join(RECORD);
        match crate::fsx::read_optional(&path)? {
            None => Ok(None),
            Some(bytes) => toml::from_str(&String::from_utf8_lossy(&bytes))
                .map(Some)
                .map_err(|e| RegistryError::invalid(format!("{}: {e}", path.display()))),
        }
    }

    pub fn list(&self) -> Result<Vec<InstallRecord>> {
        let mut out = Vec::new();
        for ns in read_dirs(&self.root)? {
            for pkg in read_dirs(&ns)? {
                let name = format!(
                    "{}/{}",
                    ns.file_name().unwrap_or_default().to_string_lossy(),
                    pkg.file_name().unwrap_or_default().to_string_lossy()
                );
                if let Ok(name) = name.parse::<PackageName>()
                    && let Some(record) = self.get(&name)?
                {
                    out.push(record);
                }
            }
        }
        out.sort_by(|a, b| a.package.cmp(&b.package));
        Ok(out)
    }

    /// The components of an installed package, each file checked against
    /// its recorded digest.
    pub fn find(&self, name: &PackageName) -> Result<Vec<InstalledPlugin>> {
        let record = self.get(name)?.ok_or_else(|| RegistryError::NotFound {
            what: format!("package {name}"),
            detail: format!("it is not installed; run `gyre install {name}`"),
        })?;
        let dir = self.dir(name);
        record
            .components
            .iter()
            .map(|c| {
                let wasm = dir.join(&c.file);
                let bytes = std::fs::read(&wasm).map_err(|e| RegistryError::io(&wasm, e))?;
                c.digest.verify(&bytes, &format!("installed {name}: {}", c.file)).map_err(|_| {
                    RegistryError::refused(format!(
                        "installed {name}: {} was modified after install; run `gyre verify` and reinstall",
                        wasm.display()
                    ))
                })?;
                let info = gyre_sandbox::inspect::read(&bytes)
                    .map_err(|e| RegistryError::refused(format!("{}: {e}", wasm.display())))?;
                let text = info.manifest_text.unwrap_or_default();
                let manifest = Manifest::parse(&text, &wasm.display().to_string())
                    .map_err(|e| RegistryError::refused(e.to_string()))?;
                Ok(InstalledPlugin {
                    package: record.id(),
                    plugin: c.plugin.clone(),
                    wasm,
                    manifest,
                    digest: c.digest,
                    publisher: record.publisher,
                })
            })
            .collect()
    }

    /// The one component of a single-component package.
    pub fn plugin(&self, name: &PackageName) -> Result<InstalledPlugin> {
        let mut plugins = self.find(name)?;
        match plugins.len() {
            1 => Ok(plugins.remove(0)),
            n => Err(RegistryError::invalid(format!(
                "{name} holds {n} components; name one of them"
            ))),
        }
    }

    /// Installs (or replaces) a fetched package atomically.
    pub fn commit(&self, fetched: &Fetched, now: Timestamp) -> Result<InstallRecord> {
        std::fs::create_dir_all(&self.root).map_err(|e| RegistryError::io(&self.root, e))?;
        let staging = self.root.join(unique("staging"));
        let result = self.stage_and_swap(fetched, now, &staging);
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        result
    }

    fn stage_and_swap(
        &self,
        fetched: &Fetched,
        now: Timestamp,
        staging: &Path,
    ) -> Result<InstallRecord> {
        std::fs::create_dir(staging).map_err(|e| RegistryError::io(staging, e))?;
        let mut components = Vec::new();
        for c in &fetched.components {
            let file = format!("{}.wasm", c.entry.plugin);
            let path = staging.join(&file);
            std::fs::write(&path, &c.bytes).map_err(|e| RegistryError::io(&path, e))?;
            components.push(InstalledComponent {
                plugin: c.entry.plugin.clone(),
                kind: c.entry.kind,
                file,
                digest: c.entry.digest,
            });
        }
        let record = InstallRecord {
            package: fetched.id.name.clone(),
            version: fetched.id.version.clone(),
            digest: fetched.digest,
            registry: fetched.registry.clone(),
            description: fetched.description.clone(),
            publisher: fetched.publisher,
            installed: now,
            release: fetched.release.clone(),
            components,
        };
        let text = toml::to_string_pretty(&record).unwrap_or_default();
        let path = staging.join(RECORD);
        std::fs::write(&path, text).map_err(|e| RegistryError::io(&path, e))?;

        let dest = self.dir(&fetched.id.name);
        let parent = dest.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(parent).map_err(|e| RegistryError::io(parent, e))?;
        let old = self.root.join(unique("old"));
        let had_old = dest.exists();
        if had_old {
            std::fs::rename(&dest, &old).map_err(|e| RegistryError::io(&dest, e))?;
        }
        if let Err(e) = std::fs::rename(staging, &dest) {
            if had_old {
                let _ = std::fs::rename(&old, &dest);
            }
            return Err(RegistryError::io(&dest, e));
        }
        if had_old {
            let _ = std::fs::remove_dir_all(&old);
        }
        Ok(record)
    }

    /// Re-checks an installed package: every file against its digest and
    /// the release signature against the trust policy as it is now.
    pub fn verify(&self, name: &PackageName, policy: &crate::TrustPolicy) -> Result<InstallRecord> {
        let record = self.get(name)?.ok_or_else(|| RegistryError::NotFound {
            what: format!("package {name}"),
            detail: "it is not installed".into(),
        })?;
        self.find(name)?;
        if record.release.digest != record.digest {
            return Err(RegistryError::refused(format!(
                "installed {name}: the record's release signature covers {}, not {}",
                record.release.digest, record.digest
            )));
        }
        // Installed with the override: the signature must still verify, but
        // its signer need not be trusted.
        let untrusted_ok = record.publisher.is_none();
        let signer = record.release.verify(&record.id(), policy, untrusted_ok)?;
        if record.publisher.is_some() && signer != record.publisher {
            return Err(RegistryError::refused(format!(
                "installed {name}: signed by {}, which your trust policy no longer trusts",
                record.release.key
            )));
        }
        Ok(record)
    }

    /// Removes an installed package; returns whether it was there.
    pub fn remove(&self, name: &PackageName) -> Result<bool> {
        let dest = self.dir(name);
        if !dest.exists() {
            return Ok(false);
        }
        let trash = self.root.join(unique("removed"));
        std::fs::rename(&dest, &trash).map_err(|e| RegistryError::io(&dest, e))?;
        std::fs::remove_dir_all(&trash).map_err(|e| RegistryError::io(&trash, e))?;
        Ok(true)
    }

    /// Leftovers of interrupted installs (hidden staging directories).
    pub fn leftovers(&self) -> Vec<PathBuf> {
        std::fs::read_dir(&self.root)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
                    .map(|e| e.path())
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn read_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    match std::fs::read_dir(dir) {
        Ok(entries) => Ok(entries
            .filter_map(|e| e.ok())
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.path())
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(RegistryError::io(dir, e)),
    }
}
