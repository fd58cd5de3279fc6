//! Publisher keys (ed25519) and signatures.
//!
//! A public key is written `ed25519:<64 hex>`. A secret key file is TOML:
//!
//! ```toml
//! # Gyre publisher key (ed25519). Secret: never share or commit it.
//! name = "acme"
//! public = "ed25519:…"
//! secret = "<64 hex>"
//! ```
//!
//! Every signature covers a context string plus the signed bytes, so a
//! signature made for one purpose (an index) can never pass as another
//! (a release).

use crate::{RegistryError, Result};
use ed25519_dalek::{Signer, Verifier};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;

/// What a signature is for; part of the signed message.
#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    Index,
    Release,
}

impl Purpose {
    fn context(self) -> &'static [u8] {
        match self {
            Purpose::Index => b"gyre-index-v1\n",
            Purpose::Release => b"gyre-release-v1\n",
        }
    }
}

fn message(purpose: Purpose, bytes: &[u8]) -> Vec<u8> {
    let mut m = purpose.context().to_vec();
    m.extend_from_slice(bytes);
    m
}

/// A publisher's public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

impl PublicKey {
    /// A short, stable fingerprint: the first 16 hex digits of the key.
    pub fn fingerprint(&self) -> String {
        hex::encode(&self.0.as_bytes()[..8])
    }

    /// Fails unless `signature` is this key's signature of `bytes` for `purpose`.
    pub fn verify(&self, purpose: Purpose, bytes: &[u8], signature: &Signature) -> Result<()> {
        self.0
            .verify(&message(purpose, bytes), &signature.0)
            .map_err(|_| {
                RegistryError::refused(format!(
                    "bad signature: the {} signature by key {self} does not verify; \
                     the content or its signature was modified",
                    match purpose {
                        Purpose::Index => "index",
                        Purpose::Release => "release",
                    }
                ))
            })
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ed25519:{}", hex::encode(self.0.as_bytes()))
    }
}

impl std::str::FromStr for PublicKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let hex_part = s
            .strip_prefix("ed25519:")
            .ok_or_else(|| format!("public key {s:?} must start with `ed25519:`"))?;
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut bytes)
            .map_err(|_| format!("public key {s:?} must be `ed25519:` and 64 hex digits"))?;
        ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map(Self)
            .map_err(|_| format!("public key {s:?} is not a valid ed25519 point"))
    }
}

impl TryFrom<String> for PublicKey {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<PublicKey> for String {
    fn from(k: PublicKey) -> String {
        k.to_string()
    }
}

/// An ed25519 signature, hex in documents.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Signature(ed25519_dalek::Signature);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0.to_bytes()))
    }
}

impl TryFrom<String> for Signature {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let mut bytes = [0u8; 64];
        hex::decode_to_slice(&s, &mut bytes)
            .map_err(|_| "a signature must be 128 hex digits".to_string())?;
        Ok(Self(ed25519_dalek::Signature::from_bytes(&bytes)))
    }
}

impl From<Signature> for String {
    fn from(s: Signature) -> String {
        hex::encode(s.0.to_bytes())
    }
}

/// A publisher's secret key, with the name it was generated under.
pub struct SecretKey {
    pub name: String,
    key: ed25519_dalek::SigningKey,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    name: String,
    public: PublicKey,
    secret: String,
}

impl SecretKey {
    pub fn generate(name: &str) -> Self {
        let key = ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng);
        Self {
            name: name.to_string(),
            key,
        }
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.key.verifying_key())
    }

    pub fn sign(&self, purpose: Purpose, bytes: &[u8]) -> Signature {
        Signature(self.key.sign(&message(purpose, bytes)))
    }

    pub fn to_file_text(&self) -> String {
        let file = KeyFile {
            name: self.name.clone(),
            public: self.public(),
            secret: hex::encode(self.key.to_bytes()),
        };
        format!(
            "# Gyre publisher key (ed25519). Secret: never share or commit it.\n{}",
            toml::to_string(&file).unwrap_or_default()
        )
    }

    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        let file: KeyFile = toml::from_str(text)
            .map_err(|e| RegistryError::invalid(format!("{origin}: not a Gyre key file: {e}")))?;
        let mut secret = [0u8; 32];
        hex::decode_to_slice(file.secret.trim(), &mut secret).map_err(|_| {
            RegistryError::invalid(format!("{origin}: field `secret` must be 64 hex digits"))
        })?;
        let key = ed25519_dalek::SigningKey::from_bytes(&secret);
        let me = Self {
            name: file.name,
            key,
        };
        if me.public() != file.public {
            return Err(RegistryError::invalid(format!(
                "{origin}: field `public` does not belong to the secret key; the file is damaged"
            )));
        }
        Ok(me)
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| RegistryError::io(path, e))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Writes the key to `path`, readable by its owner only, refusing to
    /// overwrite an existing key.
    pub fn save(&self, path: &Path) -> Result<()> {
        use std::io::Write;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| RegistryError::io(dir, e))?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|e| RegistryError::io(path, e))?;
        file.write_all(self.to_file_text().as_bytes())
            .map_err(|e| RegistryError::io(path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_key_bytes_and_purpose() {
        let key = SecretKey::generate("acme");
        let sig = key.sign(Purpose::Release, b"acme/x@1.0.0");
        assert!(
            key.public()
                .verify(Purpose::Release, b"acme/x@1.0.0", &sig)
                .is_ok()
        );
        assert!(
            key.public()
                .verify(Purpose::Release, b"acme/x@1.0.1", &sig)
                .is_err()
        );
        assert!(
            key.public()
                .verify(Purpose::Index, b"acme/x@1.0.0", &sig)
                .is_err()
        );
        let other = SecretKey::generate("mallory");
        assert!(
            other
                .public()
                .verify(Purpose::Release, b"acme/x@1.0.0", &sig)
                .is_err()
        );
    }

    #[test]
    fn key_files_round_trip_and_damage_is_detected() {
        let key = SecretKey::generate("acme");
        let text = key.to_file_text();
        let back = SecretKey::parse(&text, "acme.key").unwrap();
        assert_eq!(back.public(), key.public());
        let other = SecretKey::generate("x").public().to_string();
        let damaged = text.replace(&key.public().to_string(), &other);
        assert!(SecretKey::parse(&damaged, "acme.key").is_err());
        let pk: PublicKey = key.public().to_string().parse().unwrap();
        assert_eq!(pk, key.public());
        assert!("ed25519:zz".parse::<PublicKey>().is_err());
    }
}
