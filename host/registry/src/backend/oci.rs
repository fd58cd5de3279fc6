//! An OCI distribution registry (Docker's registry, GHCR, Harbor, zot, …).
//!
//! A package `ns/name` lives in repository `[prefix/]ns/name`, each version
//! under its tag. A namespace's signed index is an artifact of its own,
//! `[prefix/]ns/gyre.index:latest` (plugin names cannot contain a dot, so
//! it never collides with a package). Registries without the OCI 1.1
//! referrers API (Debian's docker-registry 2.8) work: nothing relies on it.

use super::Backend;
use crate::artifact::{self, Built, Descriptor, MANIFEST_MEDIA_TYPE};
use crate::progress::Progress;
use crate::{Digest, Namespace, PackageName, RegistryError, Result};
use futures_util::StreamExt;
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

const INDEX_REPO: &str = "gyre.index";
const INDEX_TAG: &str = "latest";

pub struct OciRegistry {
    client: Client,
    host: String,
    prefix: Option<String>,
    id: String,
}

/// Whether an OCI error means "there is nothing there".
fn is_not_found(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::ImageManifestNotFoundError(_) => true,
        OciDistributionError::RegistryError { envelope, .. } => envelope.errors.iter().any(|e| {
            matches!(
                e.code,
                OciErrorCode::ManifestUnknown
                    | OciErrorCode::NameUnknown
                    | OciErrorCode::BlobUnknown
            )
        }),
        OciDistributionError::ServerError { code, .. } => *code == 404,
        _ => false,
    }
}

impl OciRegistry {
    /// `host` is `host[:port]`; `insecure` speaks plain HTTP (for a registry
    /// on loopback). `prefix` is an optional repository path prefix.
    pub fn new(host: &str, prefix: Option<&str>, insecure: bool) -> Self {
        // reqwest is built without a bundled crypto provider; use ring, as
        // the sandbox does. Installing twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let protocol = if insecure {
            oci_client::client::ClientProtocol::Http
        } else {
            oci_client::client::ClientProtocol::Https
        };
        let client = Client::new(oci_client::client::ClientConfig {
            protocol,
            // Chunked uploads are fragile across registries; a component is
            // small enough to send in one request.
            use_monolithic_push: true,
            connect_timeout: Some(std::time::Duration::from_secs(10)),
            read_timeout: Some(std::time::Duration::from_secs(60)),
            ..Default::default()
        });
        let prefix = prefix
            .map(|p| p.trim_matches('/').to_string())
            .filter(|p| !p.is_empty());
        let scheme = if insecure { "oci+http" } else { "oci" };
        let id = match &prefix {
            Some(p) => format!("{scheme}://{host}/{p}"),
            None => format!("{scheme}://{host}"),
        };
        Self {
            client,
            host: host.to_string(),
            prefix,
            id,
        }
    }

    fn repo(&self, path: &str) -> String {
        match &self.prefix {
            Some(p) => format!("{p}/{path}"),
            None => path.to_string(),
        }
    }
    fn package_repo(&self, name: &PackageName) -> String {
        self.repo(&format!("{}/{}", name.namespace, name.name))
    }
    fn index_repo(&self, ns: &Namespace) -> String {
        self.repo(&format!("{ns}/{INDEX_REPO}"))
    }
    fn tagged(&self, repo: String, tag: &str) -> Reference {
        Reference::with_tag(self.host.clone(), repo, tag.to_string())
    }
    fn by_digest(&self, repo: String, digest: &Digest) -> Reference {
        Reference::with_digest(self.host.clone(), repo, digest.to_string())
    }
    fn transport(&self, what: &str, e: OciDistributionError) -> RegistryError {
        RegistryError::Transport {
            registry: self.id.clone(),
            message: format!("{what}: {e}"),
        }
    }

    async fn pull_manifest(&self, reference: &Reference, what: &str) -> Result<Option<Vec<u8>>> {
        match self
            .client
            .pull_manifest_raw(reference, &RegistryAuth::Anonymous, &[MANIFEST_MEDIA_TYPE])
            .await
        {
            Ok((bytes, _)) if bytes.len() > artifact::MAX_MANIFEST_BYTES => {
                Err(RegistryError::refused(format!(
                    "{what}: the manifest is {} bytes, over the limit",
                    bytes.len()
                )))
            }
            Ok((bytes, _)) => Ok(Some(bytes.to_vec())),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(OciDistributionError::DigestError(e)) => Err(RegistryError::refused(format!(
                "{what}: content does not match its digest ({e}); the registry served modified \
                 content. Nothing was installed."
            ))),
            Err(e) => Err(self.transport(what, e)),
        }
    }

    async fn pull_blob(
        &self,
        repo: String,
        desc: &Descriptor,
        what: &str,
        progress: &dyn Progress,
    ) -> Result<Vec<u8>> {
        let reference = self.by_digest(repo, &desc.digest);
        let digest = desc.digest.to_string();
        let mut stream = self
            .client
            .pull_blob_stream(&reference, digest.as_str())
            .await
            .map_err(|e| self.transport(what, e))?;
        progress.start(what, desc.size);
        let mut out = Vec::with_capacity(desc.size.min(artifact::MAX_COMPONENT_BYTES) as usize);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                let text = e.to_string();
                if text.to_lowercase().contains("digest") {
                    RegistryError::refused(format!(
                        "{what}: content does not match its digest {}; the registry served \
                         modified content. Nothing was installed.",
                        desc.digest
                    ))
                } else {
                    self.transport(what, OciDistributionError::IoError(e))
                }
            })?;
            // Never hold more than the descriptor promised.
            if (out.len() + chunk.len()) as u64 > desc.size {
                return Err(RegistryError::refused(format!(
                    "{what}: the registry sent more than the {} bytes the manifest lists",
                    desc.size
                )));
            }
            progress.advance(chunk.len() as u64);
            out.extend_from_slice(&chunk);
        }
        progress.finish();
        Ok(out)
    }

    async fn push_blob(&self, repo: &str, bytes: &[u8], digest: &Digest) -> Result<()> {
        let reference = self.tagged(repo.to_string(), "latest");
        self.client
            .push_blob(&reference, bytes.to_vec(), &digest.to_string())
            .await
            .map(|_| ())
            .map_err(|e| self.transport(&format!("pushing blob {digest} to {repo}"), e))
    }

    async fn push_manifest(&self, repo: &str, tag: &str, bytes: &[u8]) -> Result<()> {
        let reference = self.tagged(repo.to_string(), tag);
        self.client
            .push_manifest_raw(
                &reference,
                bytes.to_vec(),
                http::HeaderValue::from_static(MANIFEST_MEDIA_TYPE),
            )
            .await
            .map(|_| ())
            .map_err(|e| self.transport(&format!("pushing manifest {repo}:{tag}"), e))
    }
}

impl Backend for OciRegistry {
    fn id(&self) -> &str {
        &self.id
    }

    async fn get_index(&self, ns: &Namespace) -> Result<Option<Vec<u8>>> {
        let repo = self.index_repo(ns);
        let what = format!("index of {ns}");
        let Some(bytes) = self
            .pull_manifest(&self.tagged(repo.clone(), INDEX_TAG), &what)
            .await?
        else {
            return Ok(None);
        };
        let manifest: artifact::ImageManifest = serde_json::from_slice(&bytes)
            .map_err(|e| RegistryError::refused(format!("{what}: malformed manifest: {e}")))?;
        let layer = match manifest.layers.as_slice() {
            [layer]
                if layer.media_type == artifact::INDEX_LAYER_MEDIA_TYPE
                    && layer.size <= crate::index::MAX_INDEX_BYTES as u64 =>
            {
                layer
            }
            _ => {
                return Err(RegistryError::refused(format!(
                    "{what}: {repo}:{INDEX_TAG} is not a Gyre index artifact"
                )));
            }
        };
        let bytes = self
            .pull_blob(repo, layer, &what, &crate::progress::Quiet)
            .await?;
        layer.digest.verify(&bytes, &what)?;
        Ok(Some(bytes))
    }

    async fn put_index(&self, ns: &Namespace, bytes: &[u8]) -> Result<()> {
        let repo = self.index_repo(ns);
        let (manifest, config, layer) = artifact::index_artifact(bytes);
        self.push_blob(&repo, bytes, &layer.digest).await?;
        self.push_blob(&repo, &config, &Digest::of(&config)).await?;
        self.push_manifest(&repo, INDEX_TAG, &manifest).await
    }

    async fn tag(&self, name: &PackageName, tag: &str) -> Result<Option<Digest>> {
        let reference = self.tagged(self.package_repo(name), tag);
        match self
            .client
            .fetch_manifest_digest(&reference, &RegistryAuth::Anonymous)
            .await
        {
            Ok(d) => d
                .parse()
                .map(Some)
                .map_err(|e| RegistryError::refused(format!("{name}:{tag}: {e}"))),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(self.transport(&format!("resolving {name}:{tag}"), e)),
        }
    }

    async fn manifest(&self, name: &PackageName, digest: &Digest) -> Result<Vec<u8>> {
        let what = format!("manifest {digest} of {name}");
        self.pull_manifest(&self.by_digest(self.package_repo(name), digest), &what)
            .await?
            .ok_or_else(|| RegistryError::NotFound {
                what: format!("manifest of {name}"),
                detail: format!("{digest} is not in {}", self.id),
            })
    }

    async fn blob(
        &self,
        name: &PackageName,
        desc: &Descriptor,
        progress: &dyn Progress,
    ) -> Result<Vec<u8>> {
        let what = match desc.annotations.get("org.opencontainers.image.title") {
            Some(title) => format!("{name} {title}"),
            None => format!("{name} {}", desc.digest.short()),
        };
        self.pull_blob(self.package_repo(name), desc, &what, progress)
            .await
    }

    async fn push(
        &self,
        name: &PackageName,
        tag: &str,
        built: &Built,
        progress: &dyn Progress,
    ) -> Result<()> {
        let repo = self.package_repo(name);
        for (desc, bytes) in &built.layers {
            progress.start(&format!("{name} {}", desc.digest.short()), desc.size);
            self.push_blob(&repo, bytes, &desc.digest).await?;
            progress.advance(desc.size);
            progress.finish();
        }
        self.push_blob(&repo, &built.config, &Digest::of(&built.config))
            .await?;
        self.push_manifest(&repo, tag, &built.manifest).await
    }

    async fn namespaces(&self) -> Result<Vec<Namespace>> {
        let reference = self.tagged(self.repo("x"), "latest");
        let catalog = self
            .client
            .catalog(&reference, &RegistryAuth::Anonymous, Some(1000), None)
            .await
            .map_err(|e| self.transport("listing repositories", e))?;
        let suffix = format!("/{INDEX_REPO}");
        let prefix = self
            .prefix
            .as_ref()
            .map(|p| format!("{p}/"))
            .unwrap_or_default();
        let mut out: Vec<Namespace> = catalog
            .repositories
            .iter()
            .filter_map(|r| r.strip_prefix(&prefix)?.strip_suffix(&suffix)?.parse().ok())
            .collect();
        out.sort();
        Ok(out)
    }
}
