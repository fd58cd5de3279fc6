//! The `gyre:plugin/kv` interface: a small persistent store private to one
//! plugin. Files live under a cap-std directory handle, so no key can name
//! a path outside it.

use cap_std::fs::Dir;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

#[derive(Clone)]
pub struct KvStore {
    dir: Arc<Dir>,
    max_key: usize,
    max_value: usize,
    max_keys: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum KvError {
    #[error("{0}")]
    InvalidKey(String),
    #[error("{0}")]
    Quota(String),
    #[error("{0}")]
    Io(String),
}

impl KvStore {
    /// Opens (creating if needed) the store in `dir`.
    pub fn open(dir: &Path, limits: &crate::HostLimits) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let dir = Dir::open_ambient_dir(dir, cap_std::ambient_authority())?;
        Ok(Self {
            dir: Arc::new(dir),
            max_key: limits.max_kv_key_bytes,
            max_value: limits.max_kv_value_bytes,
            max_keys: limits.max_kv_keys,
        })
    }

    fn file_name(&self, key: &str) -> Result<String, KvError> {
        if key.is_empty() || key.len() > self.max_key {
            return Err(KvError::InvalidKey(format!(
                "keys must be 1 to {} bytes",
                self.max_key
            )));
        }
        // Hex keeps every key a single, harmless file name.
        Ok(format!("{}.v", hex::encode(key)))
    }

    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        let name = self.file_name(key)?;
        match self.dir.read(&name) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(KvError::Io(e.to_string())),
        }
    }

    pub fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        let name = self.file_name(key)?;
        if value.len() > self.max_value {
            return Err(KvError::Quota(format!(
                "values are limited to {} bytes",
                self.max_value
            )));
        }
        if !self.dir.exists(&name) && self.keys()?.len() >= self.max_keys {
            return Err(KvError::Quota(format!(
                "the store is limited to {} keys",
                self.max_keys
            )));
        }
        // Write then rename, so a crash never leaves half a value.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = format!("{name}.{}.{n}.tmp", std::process::id());
        let mut file = self
            .dir
            .create(&tmp)
            .map_err(|e| KvError::Io(e.to_string()))?;
        file.write_all(value)
            .and_then(|_| file.sync_all())
            .map_err(|e| KvError::Io(e.to_string()))?;
        self.dir
            .rename(&tmp, &self.dir, &name)
            .map_err(|e| KvError::Io(e.to_string()))
    }

    pub fn delete(&self, key: &str) -> Result<(), KvError> {
        let name = self.file_name(key)?;
        match self.dir.remove_file(&name) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(KvError::Io(e.to_string())),
        }
    }

    pub fn keys(&self) -> Result<Vec<String>, KvError> {
        let mut keys = Vec::new();
        for entry in self.dir.entries().map_err(|e| KvError::Io(e.to_string()))? {
            let entry = entry.map_err(|e| KvError::Io(e.to_string()))?;
            let name = entry.file_name();
            let Some(hex) = name.to_str().and_then(|n| n.strip_suffix(".v")) else {
                continue;
            };
            if let Some(key) = hex::decode(hex)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
            {
                keys.push(key);
            }
        }
        keys.sort();
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(limits: &crate::HostLimits) -> (KvStore, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "gyre-kv-test-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        (KvStore::open(&dir, limits).unwrap(), dir)
    }

    fn rand_suffix() -> u128 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    }

    #[test]
    fn values_round_trip_and_keys_cannot_escape_the_store() {
        let (kv, dir) = store(&crate::HostLimits::default());
        kv.set("../../etc/passwd", b"x").unwrap();
        assert_eq!(
            kv.get("../../etc/passwd").unwrap().as_deref(),
            Some(&b"x"[..])
        );
        assert_eq!(kv.keys().unwrap(), vec!["../../etc/passwd".to_string()]);
        // The value landed inside the store directory, nowhere else.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        kv.delete("../../etc/passwd").unwrap();
        assert_eq!(kv.get("../../etc/passwd").unwrap(), None);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn quotas_are_enforced() {
        let limits = crate::HostLimits {
            max_kv_keys: 2,
            max_kv_value_bytes: 4,
            ..Default::default()
        };
        let (kv, dir) = store(&limits);
        assert!(matches!(kv.set("a", b"12345"), Err(KvError::Quota(_))));
        kv.set("a", b"1").unwrap();
        kv.set("b", b"1").unwrap();
        assert!(matches!(kv.set("c", b"1"), Err(KvError::Quota(_))));
        kv.set("a", b"2").unwrap(); // replacing is fine
        assert!(matches!(kv.set("", b"1"), Err(KvError::InvalidKey(_))));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
