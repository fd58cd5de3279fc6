//! The embedded registry: a local directory, no server. Same bytes and the
//! same checks as OCI; works offline.
//!
//! ```text
//! blobs/sha256/<hex>          manifests, configs, components (content-addressed)
//! index/<namespace>.json      signed index
//! refs/<namespace>/<name>/<tag>   "sha256:…" of the tagged manifest
//! ```

use super::Backend;
use crate::artifact::{Built, Descriptor};
use crate::fsx::{read_optional, write_atomic};
use crate::progress::Progress;
use crate::{Digest, Namespace, PackageName, RegistryError, Result};
use std::path::{Path, PathBuf};

pub struct LocalRegistry {
    root: PathBuf,
    id: String,
}

impl LocalRegistry {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            id: format!("dir:{}", root.display()),
        }
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs/sha256").join(digest.hex())
    }
    pub fn index_path(&self, ns: &Namespace) -> PathBuf {
        self.root.join("index").join(format!("{ns}.json"))
    }
    pub fn tag_path(&self, name: &PackageName, tag: &str) -> PathBuf {
        self.root
            .join("refs")
            .join(name.namespace.as_str())
            .join(name.name.as_str())
            .join(tag)
    }
    fn read_blob(&self, digest: &Digest, what: &str) -> Result<Vec<u8>> {
        let path = self.blob_path(digest);
        read_optional(&path)?.ok_or_else(|| RegistryError::NotFound {
            what: what.to_string(),
            detail: format!("{digest} is not in {}", self.id),
        })
    }
    fn write_blob(&self, bytes: &[u8]) -> Result<()> {
        let path = self.blob_path(&Digest::of(bytes));
        if path.exists() {
            return Ok(());
        }
        write_atomic(&path, bytes)
    }
}

impl Backend for LocalRegistry {
    fn id(&self) -> &str {
        &self.id
    }

    async fn get_index(&self, ns: &Namespace) -> Result<Option<Vec<u8>>> {
        read_optional(&self.index_path(ns))
    }

    async fn put_index(&self, ns: &Namespace, bytes: &[u8]) -> Result<()> {
        write_atomic(&self.index_path(ns), bytes)
    }

    async fn tag(&self, name: &PackageName, tag: &str) -> Result<Option<Digest>> {
        let path = self.tag_path(name, tag);
        match read_optional(&path)? {
            None => Ok(None),
            Some(bytes) => String::from_utf8_lossy(&bytes)
                .trim()
                .parse()
                .map(Some)
                .map_err(|e| RegistryError::refused(format!("{}: {e}", path.display()))),
        }
    }

    async fn manifest(&self, name: &PackageName, digest: &Digest) -> Result<Vec<u8>> {
        self.read_blob(digest, &format!("manifest of {name}"))
    }

    async fn blob(
        &self,
        name: &PackageName,
        desc: &Descriptor,
        progress: &dyn Progress,
    ) -> Result<Vec<u8>> {
        progress.start(&format!("{name} {}", desc.digest.short()), desc.size);
        let bytes = self.read_blob(&desc.digest, &format!("blob of {name}"))?;
        progress.advance(bytes.len() as u64);
        progress.finish();
        Ok(bytes)
    }

    async fn push(
        &self,
        name: &PackageName,
        tag: &str,
        built: &Built,
        progress: &dyn Progress,
    ) -> Result<()> {
        for (desc, bytes) in &built.layers {
            progress.start(&format!("{name} {}", desc.digest.short()), desc.size);
            self.write_blob(bytes)?;
            progress.advance(desc.size);
            progress.finish();
        }
        self.write_blob(&built.config)?;
        self.write_blob(&built.manifest)?;
        write_atomic(
            &self.tag_path(name, tag),
            built.digest.to_string().as_bytes(),
        )
    }

    async fn namespaces(&self) -> Result<Vec<Namespace>> {
        let dir = self.root.join("index");
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(RegistryError::io(&dir, e)),
        };
        let mut out: Vec<Namespace> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".json")?.parse().ok()
            })
            .collect();
        out.sort();
        Ok(out)
    }
}
