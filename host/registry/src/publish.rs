//! Publishing: push a package, then sign the namespace's index with the
//! new release in it. Versions are immutable: republishing a version with
//! other content is refused.

use crate::artifact::{self, Built};
use crate::backend::{Backend, version_tag};
use crate::index::{IndexBody, IndexCheck, Release};
use crate::progress::Progress;
use crate::trust::TrustPolicy;
use crate::{
    Digest, Namespace, PackageId, PackageName, RegistryError, Result, SecretKey, Timestamp,
};

/// How long an index stays valid unless the publisher says otherwise.
pub const DEFAULT_VALIDITY_SECS: u64 = 90 * 86_400;

pub struct PublishOptions<'a> {
    pub key: &'a SecretKey,
    /// Keys besides `key` whose earlier indexes of the namespace are
    /// accepted (co-publishers).
    pub policy: &'a TrustPolicy,
    pub now: Timestamp,
    pub valid_for: u64,
}

#[derive(Debug, Clone)]
pub struct Published {
    pub id: PackageId,
    pub digest: Digest,
    pub index_version: u64,
    pub expires: Timestamp,
    /// False when this exact release was already there.
    pub new: bool,
}

/// The namespace's current index, checked: it must be signed by this key or
/// one the policy trusts for the namespace, or absent.
async fn current_index<B: Backend>(
    backend: &B,
    ns: &Namespace,
    opts: &PublishOptions<'_>,
) -> Result<IndexBody> {
    let Some(bytes) = backend.get_index(ns).await? else {
        return Ok(IndexBody::new(ns.clone()));
    };
    let mut policy = opts.policy.clone();
    policy.trust(&opts.key.name, opts.key.public(), ns.as_str());
    let check = IndexCheck {
        namespace: ns,
        registry: backend.id(),
        policy: &policy,
        allow_untrusted: false,
        // Republishing refreshes an expired index.
        now: Timestamp(0),
        last_seen: None,
    };
    check.open(&bytes).map(|v| v.body).map_err(|e| {
        RegistryError::refused(format!(
            "cannot publish into namespace {ns} of {}: {e}",
            backend.id()
        ))
    })
}

/// Pushes `built` and signs it into the index.
pub async fn publish_built<B: Backend>(
    backend: &B,
    built: &Built,
    opts: &PublishOptions<'_>,
    progress: &dyn Progress,
) -> Result<Published> {
    let name = &built.id.name;
    let version = &built.id.version;
    let mut body = current_index(backend, &name.namespace, opts).await?;
    if let Some(existing) = body.release(&name.name, version) {
        if existing.digest != built.digest {
            return Err(RegistryError::refused(format!(
                "{} is already published with other content ({}); versions are immutable, \
                 so bump the version in gyre.toml",
                built.id, existing.digest
            )));
        }
        return Ok(Published {
            id: built.id.clone(),
            digest: built.digest,
            index_version: body.version,
            expires: body.expires,
            new: false,
        });
    }
    backend
        .push(name, &version_tag(version), built, progress)
        .await?;
    let entry = body.packages.entry(name.name.clone()).or_default();
    entry.description = built.description.clone();
    entry.releases.insert(
        version.clone(),
        Release::sign(&built.id, built.digest, opts.key, opts.now),
    );
    let (body, bytes) = body.sign(opts.key, opts.now, opts.valid_for);
    backend.put_index(&name.namespace, &bytes).await?;
    Ok(Published {
        id: built.id.clone(),
        digest: built.digest,
        index_version: body.version,
        expires: body.expires,
        new: true,
    })
}

/// Builds a package from component files and publishes it.
pub async fn publish<B: Backend>(
    backend: &B,
    name: &PackageName,
    components: Vec<(String, Vec<u8>)>,
    opts: &PublishOptions<'_>,
    progress: &dyn Progress,
) -> Result<Published> {
    let built = artifact::build(name, components)?;
    publish_built(backend, &built, opts, progress).await
}

/// Re-signs a namespace's index with a fresh expiry and the next version,
/// changing nothing else.
pub async fn refresh<B: Backend>(
    backend: &B,
    ns: &Namespace,
    opts: &PublishOptions<'_>,
) -> Result<(u64, Timestamp)> {
    let body = current_index(backend, ns, opts).await?;
    let (body, bytes) = body.sign(opts.key, opts.now, opts.valid_for);
    backend.put_index(ns, &bytes).await?;
    Ok((body.version, body.expires))
}
