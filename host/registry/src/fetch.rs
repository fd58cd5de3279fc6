//! Fetching a package with every check, the same for every backend:
//! the namespace index (signature, trusted signer, namespace, no rollback,
//! not expired), the release (signature by a key trusted for the
//! namespace), the registry's tag (must agree with the signed index and the
//! lockfile), then the manifest, config and every component by digest, and
//! finally each component's own manifest, read without running anything.

use crate::artifact::{self, CheckedComponent, ComponentEntry};
use crate::backend::{Backend, version_tag};
use crate::consent::{Request, Requests};
use crate::index::{IndexCheck, Release, VerifiedIndex};
use crate::progress::Progress;
use crate::seen::SeenStore;
use crate::trust::TrustPolicy;
use crate::{
    Digest, Namespace, PackageId, PackageName, PublicKey, RegistryError, Result, Timestamp, Want,
};

/// What the checks are made against.
pub struct Checks<'a> {
    pub policy: &'a TrustPolicy,
    pub seen: &'a mut SeenStore,
    /// The loudly named override: accept unsigned indexes and signers the
    /// policy does not trust. Bad signatures and digests are never accepted.
    pub allow_untrusted: bool,
    pub now: Timestamp,
}

/// Which release to fetch.
#[derive(Debug, Clone)]
pub enum Pin {
    /// The newest release the range allows.
    Want(Want),
    /// Exactly this release, as a lockfile recorded it.
    Locked {
        version: semver::Version,
        digest: Digest,
    },
}

pub struct FetchedComponent {
    pub entry: ComponentEntry,
    pub bytes: Vec<u8>,
    pub checked: CheckedComponent,
}

/// A package that passed every check, in memory, not yet installed.
pub struct Fetched {
    pub id: PackageId,
    /// The manifest digest the release signature covers.
    pub digest: Digest,
    pub registry: String,
    pub release: Release,
    /// The release signer, when the trust policy trusts it.
    pub publisher: Option<PublicKey>,
    pub description: String,
    pub components: Vec<FetchedComponent>,
}

impl Fetched {
    pub fn requests(&self) -> Requests {
        self.components
            .iter()
            .map(|c| (c.entry.plugin.clone(), Request::of(&c.checked.manifest)))
            .collect()
    }
}

/// Fetches and verifies the index of `ns`, and remembers its version.
pub async fn index<B: Backend>(
    backend: &B,
    ns: &Namespace,
    checks: &mut Checks<'_>,
) -> Result<VerifiedIndex> {
    let bytes = backend
        .get_index(ns)
        .await?
        .ok_or_else(|| RegistryError::NotFound {
            what: format!("namespace {ns}"),
            detail: format!(
                "{} has no index for it; nothing was published there",
                backend.id()
            ),
        })?;
    let verified = IndexCheck {
        namespace: ns,
        registry: backend.id(),
        policy: checks.policy,
        allow_untrusted: checks.allow_untrusted,
        now: checks.now,
        last_seen: checks.seen.get(backend.id(), ns),
    }
    .open(&bytes)?;
    checks.seen.record(backend.id(), ns, verified.seen)?;
    Ok(verified)
}

/// Picks the release a pin asks for from a verified index.
pub fn resolve(
    index: &VerifiedIndex,
    name: &PackageName,
    pin: &Pin,
) -> Result<(semver::Version, Release)> {
    let entry = index
        .body
        .packages
        .get(&name.name)
        .ok_or_else(|| RegistryError::NotFound {
            what: format!("package {name}"),
            detail: format!(
                "namespace {} has {}",
                name.namespace,
                if index.body.packages.is_empty() {
                    "no packages".to_string()
                } else {
                    index
                        .body
                        .packages
                        .keys()
                        .map(|k| k.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
        })?;
    match pin {
        Pin::Want(want) => entry
            .releases
            .iter()
            .rev()
            .find(|(v, _)| want.matches(v))
            .map(|(v, r)| (v.clone(), r.clone()))
            .ok_or_else(|| RegistryError::NotFound {
                what: format!("a release of {name} matching {want}"),
                detail: format!(
                    "published: {}",
                    entry
                        .releases
                        .keys()
                        .map(|v| v.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
        Pin::Locked { version, digest } => {
            let release = entry
                .releases
                .get(version)
                .ok_or_else(|| RegistryError::NotFound {
                    what: format!("{name}@{version} (pinned by gyre.lock)"),
                    detail: "the signed index no longer lists it".into(),
                })?;
            if release.digest != *digest {
                return Err(RegistryError::refused(format!(
                    "{name}@{version} moved: gyre.lock pins {digest}, but the registry now says \
                     {}. A published version must never change; nothing was installed. If you \
                     expected this, review the new release and remove its entry from gyre.lock.",
                    release.digest
                )));
            }
            Ok((version.clone(), release.clone()))
        }
    }
}

/// Fetches `name` as `pin` says, checking everything on the way.
pub async fn fetch<B: Backend>(
    backend: &B,
    name: &PackageName,
    pin: &Pin,
    checks: &mut Checks<'_>,
    progress: &dyn Progress,
) -> Result<Fetched> {
    let index = index(backend, &name.namespace, checks).await?;
    let (version, release) = resolve(&index, name, pin)?;
    let id = PackageId {
        name: name.clone(),
        version: version.clone(),
    };
    let publisher = release.verify(&id, checks.policy, checks.allow_untrusted)?;
    let digest = release.digest;

    // The registry's own tag must agree with the signed index: a tag that
    // was repointed (the tj-actions attack) is refused, never followed.
    let tag = version_tag(&version);
    if let Some(tagged) = backend.tag(name, &tag).await?
        && tagged != digest
    {
        return Err(RegistryError::refused(format!(
            "moved tag: {name}:{tag} in {} points at {tagged}, but the signed release is {digest}. \
             Someone repointed the tag; nothing was installed.",
            backend.id()
        )));
    }

    let manifest_bytes = backend.manifest(name, &digest).await?;
    digest.verify(&manifest_bytes, &format!("manifest of {id}"))?;
    let manifest = artifact::parse_manifest(&manifest_bytes, &id)?;
    let config_bytes = backend
        .blob(name, &manifest.config, &crate::progress::Quiet)
        .await?;
    manifest
        .config
        .digest
        .verify(&config_bytes, &format!("config of {id}"))?;
    let config = artifact::parse_config(&config_bytes, &manifest, &id)?;

    let mut components = Vec::new();
    for (layer, entry) in manifest.layers.iter().zip(config.components) {
        let bytes = backend.blob(name, layer, progress).await?;
        layer
            .digest
            .verify(&bytes, &format!("{id}: component {}", entry.file))?;
        if bytes.len() as u64 != layer.size {
            return Err(RegistryError::refused(format!(
                "{id}: component {} has {} bytes, the manifest says {}",
                entry.file,
                bytes.len(),
                layer.size
            )));
        }
        let checked = artifact::check_fetched(&bytes, &entry, &id)?;
        components.push(FetchedComponent {
            entry,
            bytes,
            checked,
        });
    }
    Ok(Fetched {
        id,
        digest,
        registry: backend.id().to_string(),
        release,
        publisher,
        description: config.description,
        components,
    })
}
