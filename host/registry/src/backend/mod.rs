//! Where packages live. Both backends, an OCI distribution registry and a
//! local directory, store the same bytes behind one trait; every check
//! (signatures, trust, digests, freshness) happens above it, in
//! [`crate::fetch`], so neither backend is trusted.

mod local;
mod oci;

pub use local::LocalRegistry;
pub use oci::OciRegistry;

use crate::artifact::{Built, Descriptor};
use crate::progress::Progress;
use crate::{Digest, Namespace, PackageName, Result};
use std::future::Future;

pub trait Backend: Send + Sync {
    /// A stable name for this registry: keys the rollback state and names
    /// it in messages, e.g. `oci+http://127.0.0.1:5000` or `dir:/srv/gyre`.
    fn id(&self) -> &str;

    /// The namespace's signed index document, if it has one.
    fn get_index(&self, ns: &Namespace) -> impl Future<Output = Result<Option<Vec<u8>>>> + Send;
    fn put_index(&self, ns: &Namespace, bytes: &[u8]) -> impl Future<Output = Result<()>> + Send;

    /// What the registry's tag for `name` currently points at.
    fn tag(
        &self,
        name: &PackageName,
        tag: &str,
    ) -> impl Future<Output = Result<Option<Digest>>> + Send;

    /// A manifest by digest; the caller checks the bytes against it.
    fn manifest(
        &self,
        name: &PackageName,
        digest: &Digest,
    ) -> impl Future<Output = Result<Vec<u8>>> + Send;

    /// A blob; the caller checks the bytes against the descriptor.
    fn blob(
        &self,
        name: &PackageName,
        desc: &Descriptor,
        progress: &dyn Progress,
    ) -> impl Future<Output = Result<Vec<u8>>> + Send;

    /// Stores a package's blobs and manifest and points `tag` at it.
    fn push(
        &self,
        name: &PackageName,
        tag: &str,
        built: &Built,
        progress: &dyn Progress,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Namespaces that have an index here (for search).
    fn namespaces(&self) -> impl Future<Output = Result<Vec<Namespace>>> + Send;
}

/// Either backend, chosen at run time.
pub enum AnyBackend {
    Local(LocalRegistry),
    Oci(OciRegistry),
}

macro_rules! each {
    ($self:ident, $b:ident => $e:expr) => {
        match $self {
            AnyBackend::Local($b) => $e,
            AnyBackend::Oci($b) => $e,
        }
    };
}

impl Backend for AnyBackend {
    fn id(&self) -> &str {
        each!(self, b => b.id())
    }
    async fn get_index(&self, ns: &Namespace) -> Result<Option<Vec<u8>>> {
        each!(self, b => b.get_index(ns).await)
    }
    async fn put_index(&self, ns: &Namespace, bytes: &[u8]) -> Result<()> {
        each!(self, b => b.put_index(ns, bytes).await)
    }
    async fn tag(&self, name: &PackageName, tag: &str) -> Result<Option<Digest>> {
        each!(self, b => b.tag(name, tag).await)
    }
    async fn manifest(&self, name: &PackageName, digest: &Digest) -> Result<Vec<u8>> {
        each!(self, b => b.manifest(name, digest).await)
    }
    async fn blob(
        &self,
        name: &PackageName,
        desc: &Descriptor,
        progress: &dyn Progress,
    ) -> Result<Vec<u8>> {
        each!(self, b => b.blob(name, desc, progress).await)
    }
    async fn push(
        &self,
        name: &PackageName,
        tag: &str,
        built: &Built,
        progress: &dyn Progress,
    ) -> Result<()> {
        each!(self, b => b.push(name, tag, built, progress).await)
    }
    async fn namespaces(&self) -> Result<Vec<Namespace>> {
        each!(self, b => b.namespaces().await)
    }
}

/// The OCI tag for a version: tags cannot hold `+`.
pub fn version_tag(version: &semver::Version) -> String {
    version.to_string().replace('+', "_")
}
