//! The newest index version seen per registry and namespace, kept in the
//! user's data directory so rollbacks are caught across runs.

use crate::fsx::{read_optional, write_atomic};
use crate::index::Seen;
use crate::{Namespace, RegistryError, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub struct SeenStore {
    path: PathBuf,
    map: BTreeMap<String, BTreeMap<String, Seen>>,
}

impl SeenStore {
    pub fn open(path: &Path) -> Result<Self> {
        let map = match read_optional(path)? {
            None => BTreeMap::new(),
            Some(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                toml::from_str(&text).map_err(|e| {
                    RegistryError::invalid(format!(
                        "{}: {e}. This file records the index versions seen; if it is damaged, \
                         restore it rather than deleting it (deleting it forgets rollback protection).",
                        path.display()
                    ))
                })?
            }
        };
        Ok(Self {
            path: path.to_path_buf(),
            map,
        })
    }

    pub fn get(&self, registry: &str, ns: &Namespace) -> Option<Seen> {
        self.map.get(registry)?.get(ns.as_str()).copied()
    }

    /// Records `seen` if it is newer than what was recorded.
    pub fn record(&mut self, registry: &str, ns: &Namespace, seen: Seen) -> Result<()> {
        let entry = self.map.entry(registry.to_string()).or_default();
        if entry
            .get(ns.as_str())
            .is_some_and(|old| old.version >= seen.version)
        {
            return Ok(());
        }
        entry.insert(ns.to_string(), seen);
        let text = toml::to_string_pretty(&self.map).unwrap_or_default();
        write_atomic(&self.path, text.as_bytes())
    }
}
