//! The signed package index of one namespace in one registry.
//!
//! It maps every release (`name@version`) to the digest of its manifest,
//! each with the publisher's release signature, and carries a version that
//! only grows and an expiry. A client remembers the newest index version it
//! has seen, so a registry that serves older metadata (a rollback) or keeps
//! serving the same metadata forever (a freeze) is caught.

use crate::keys::Purpose;
use crate::trust::TrustPolicy;
use crate::{
    Digest, Namespace, PackageId, PublicKey, RegistryError, Result, SecretKey, Signature, Timestamp,
};
use gyre_manifest::PluginName;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Largest index document accepted.
pub const MAX_INDEX_BYTES: usize = 16 << 20;

/// One release: the manifest digest and its publisher's signature over
/// `namespace/name@version` and that digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    pub digest: Digest,
    pub key: PublicKey,
    pub signature: Signature,
    pub published: Timestamp,
}

/// The bytes a release signature covers.
pub fn release_statement(id: &PackageId, digest: &Digest) -> Vec<u8> {
    format!("{id}\n{digest}\n").into_bytes()
}

impl Release {
    pub fn sign(id: &PackageId, digest: Digest, key: &SecretKey, now: Timestamp) -> Self {
        Self {
            digest,
            key: key.public(),
            signature: key.sign(Purpose::Release, &release_statement(id, &digest)),
            published: now,
        }
    }

    /// Checks the signature, then the signer against the policy. A bad
    /// signature is refused always; an untrusted signer unless
    /// `allow_untrusted`. Returns the signer when trusted.
    pub fn verify(
        &self,
        id: &PackageId,
        policy: &TrustPolicy,
        allow_untrusted: bool,
    ) -> Result<Option<PublicKey>> {
        self.key
            .verify(
                Purpose::Release,
                &release_statement(id, &self.digest),
                &self.signature,
            )
            .map_err(|e| RegistryError::refused(format!("{id}: {e}")))?;
        match policy.check(&self.key, &id.name.namespace, &format!("release {id}")) {
            Ok(_) => Ok(Some(self.key)),
            Err(_) if allow_untrusted => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageEntry {
    #[serde(default)]
    pub description: String,
    pub releases: BTreeMap<semver::Version, Release>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexBody {
    pub namespace: Namespace,
    /// Grows by one with every publish.
    pub version: u64,
    pub issued: Timestamp,
    pub expires: Timestamp,
    #[serde(default)]
    pub packages: BTreeMap<PluginName, PackageEntry>,
}

/// The document stored in a registry: the index body as exact bytes, and
/// the signature over them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedIndex {
    pub payload: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<PublicKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature>,
}

impl IndexBody {
    pub fn new(namespace: Namespace) -> Self {
        Self {
            namespace,
            version: 0,
            issued: Timestamp(0),
            expires: Timestamp(0),
            packages: BTreeMap::new(),
        }
    }

    /// Serializes and signs this body as the next version, valid for
    /// `valid_for` seconds from `now`.
    pub fn sign(mut self, key: &SecretKey, now: Timestamp, valid_for: u64) -> (Self, Vec<u8>) {
        self.version += 1;
        self.issued = now;
        self.expires = now.plus(valid_for);
        let bytes = self.sign_as_is(key);
        (self, bytes)
    }

    /// Signs this body exactly as it is (version and dates untouched).
    pub fn sign_as_is(&self, key: &SecretKey) -> Vec<u8> {
        let payload = serde_json::to_string(self).unwrap_or_default();
        let signed = SignedIndex {
            signature: Some(key.sign(Purpose::Index, payload.as_bytes())),
            key: Some(key.public()),
            payload,
        };
        serde_json::to_vec_pretty(&signed).unwrap_or_default()
    }

    pub fn release(&self, name: &PluginName, version: &semver::Version) -> Option<&Release> {
        self.packages.get(name)?.releases.get(version)
    }
}

/// What the client remembers of an index it accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub version: u64,
    pub digest: Digest,
}

/// An index whose signature, signer, namespace, version and expiry passed.
#[derive(Debug, Clone)]
pub struct VerifiedIndex {
    pub body: IndexBody,
    /// The signer, when the trust policy trusts it for the namespace.
    pub signer: Option<PublicKey>,
    pub seen: Seen,
}

/// What to check an index against.
pub struct IndexCheck<'a> {
    pub namespace: &'a Namespace,
    /// Names the registry in messages.
    pub registry: &'a str,
    pub policy: &'a TrustPolicy,
    pub allow_untrusted: bool,
    pub now: Timestamp,
    pub last_seen: Option<Seen>,
}

impl IndexCheck<'_> {
    pub fn open(&self, bytes: &[u8]) -> Result<VerifiedIndex> {
        let what = format!(
            "the index of namespace {} in {}",
            self.namespace, self.registry
        );
        if bytes.len() > MAX_INDEX_BYTES {
            return Err(RegistryError::refused(format!(
                "{what} is {} bytes, over the {MAX_INDEX_BYTES}-byte limit",
                bytes.len()
            )));
        }
        let signed: SignedIndex = serde_json::from_slice(bytes)
            .map_err(|e| RegistryError::refused(format!("{what} is malformed: {e}")))?;
        let signer = match (&signed.key, &signed.signature) {
            (Some(key), Some(sig)) => {
                key.verify(Purpose::Index, signed.payload.as_bytes(), sig)
                    .map_err(|e| RegistryError::refused(format!("{what}: {e}")))?;
                match self.policy.check(key, self.namespace, &what) {
                    Ok(_) => Some(*key),
                    Err(_) if self.allow_untrusted => None,
                    Err(e) => return Err(e),
                }
            }
            _ if self.allow_untrusted => None,
            _ => {
                return Err(RegistryError::refused(format!(
                    "{what} is unsigned. Gyre installs only signed packages from trusted publishers."
                )));
            }
        };
        let body: IndexBody = serde_json::from_str(&signed.payload)
            .map_err(|e| RegistryError::refused(format!("{what} has a malformed body: {e}")))?;
        if &body.namespace != self.namespace {
            return Err(RegistryError::refused(format!(
                "{what} is in fact the index of namespace {}: the registry swapped indexes",
                body.namespace
            )));
        }
        let seen = Seen {
            version: body.version,
            digest: Digest::of(signed.payload.as_bytes()),
        };
        if let Some(last) = self.last_seen {
            if body.version < last.version {
                return Err(RegistryError::refused(format!(
                    "rollback refused: {what} is at version {}, but version {} was seen before; \
                     the registry is serving old metadata",
                    body.version, last.version
                )));
            }
            if body.version == last.version && seen.digest != last.digest {
                return Err(RegistryError::refused(format!(
                    "{what}: two different indexes both claim version {}; the registry is \
                     serving forked metadata",
                    body.version
                )));
            }
        }
        if body.expires <= self.now {
            return Err(RegistryError::refused(format!(
                "{what} expired at {} (version {}): the registry may be frozen or replaying \
                 stale metadata. Ask the publisher to republish (a new publish refreshes the index).",
                body.expires, body.version
            )));
        }
        Ok(VerifiedIndex { body, signer, seen })
    }
}
