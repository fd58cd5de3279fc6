//! `gyre.lock`: every installed package pinned to the digest it resolved
//! to, so a later install gets exactly the same bytes and never follows a
//! tag that moved.

use crate::fsx::{read_optional, write_atomic};
use crate::{Digest, PackageName, RegistryError, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const LOCKFILE: &str = "gyre.lock";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Locked {
    pub name: PackageName,
    pub version: semver::Version,
    pub digest: Digest,
    pub registry: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LockDoc {
    version: u32,
    #[serde(default, rename = "package")]
    packages: Vec<Locked>,
}

pub struct Lockfile {
    path: PathBuf,
    packages: Vec<Locked>,
}

impl Lockfile {
    /// The lockfile at `path`, empty if it does not exist yet.
    pub fn open(path: &Path) -> Result<Self> {
        let packages = match read_optional(path)? {
            None => Vec::new(),
            Some(bytes) => {
                let doc: LockDoc = toml::from_str(&String::from_utf8_lossy(&bytes))
                    .map_err(|e| RegistryError::invalid(format!("{}: {e}", path.display())))?;
                if doc.version != 1 {
                    return Err(RegistryError::invalid(format!(
                        "{}: lockfile version {} is not supported (this gyre writes version 1)",
                        path.display(),
                        doc.version
                    )));
                }
                doc.packages
            }
        };
        Ok(Self {
            path: path.to_path_buf(),
            packages,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn get(&self, name: &PackageName) -> Option<&Locked> {
        self.packages.iter().find(|p| p.name == *name)
    }

    pub fn packages(&self) -> &[Locked] {
        &self.packages
    }

    pub fn set(&mut self, locked: Locked) {
        self.packages.retain(|p| p.name != locked.name);
        self.packages.push(locked);
        self.packages.sort_by(|a, b| a.name.cmp(&b.name));
    }

    pub fn remove(&mut self, name: &PackageName) -> bool {
        let before = self.packages.len();
        self.packages.retain(|p| p.name != *name);
        before != self.packages.len()
    }

    pub fn save(&self) -> Result<()> {
        let doc = LockDoc {
            version: 1,
            packages: self.packages.clone(),
        };
        let text = format!(
            "# Written by gyre: each package pinned to the digest it resolved to.\n# Commit it; do not edit by hand.\n{}",
            toml::to_string_pretty(&doc).unwrap_or_default()
        );
        write_atomic(&self.path, text.as_bytes())
    }
}
